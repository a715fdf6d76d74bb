//! Cold starts: each release bootstrap started afresh under a loopback
//! Runtime API, timed to its first `/next` and its first response.

use crate::fixtures::{
    event, form, fresh_mobile, fresh_username, invoke, lambda_env, login_form, seed_login_user, uuid,
};
use tests::report::{Report, Samples, Table, mib, millis};
use tests::runtime_api::Function;

/// Each function's first request and the status it answers.
async fn first_request(name: &str, store: &shared::store::DynamoStore) -> (serde_json::Value, u16) {
    match name {
        "captcha" => (event("GET", &format!("/image_codes/{}/", uuid()), None, None), 200),
        "sms" => {
            let uri = format!("/sms_codes/{}/?image_code=abcd&image_code_id={}", fresh_mobile(), uuid());
            (event("GET", &uri, None, None), 400)
        }
        "register" => {
            let mobile = fresh_mobile();
            let id = tests::seed::sms_code(store, &mobile, "123456").await;
            (event("POST", "/register/", None, Some(&form(&fresh_username(), &mobile, "123456", &id))), 200)
        }
        "account" => (event("POST", "/login/", None, Some(&login_form())), 200),
        _ => (event("GET", "/session", Some(&"A".repeat(43)), None), 401),
    }
}

pub async fn run(report: &mut Report, runs: usize) {
    let store = tests::dynamo_store().await;
    let ronglian = tests::ronglian::RonglianServer::start().await;
    report.section(&format!("Cold start (release bootstrap under a loopback Runtime API, {runs} starts each)"));
    report.paragraph("First request: captcha happy path; SMS with an unknown captcha (one transaction); a registration with the right code (claim, Argon2id, transaction); session lookup with an unknown cookie; a password login (the attempt counted while the user is read, Argon2id verify, transaction).");
    let mut table = Table::new(&[
        "function",
        "init → first `/next` p50",
        "p90",
        "first response p50",
        "p90",
        "peak RSS p50",
        "max",
    ]);
    let (mut slowest_ready, mut largest_rss) = (std::time::Duration::ZERO, 0);
    seed_login_user(&store).await;
    for name in ["captcha", "sms", "register", "session", "account"] {
        let env = lambda_env(&store, (name == "sms").then_some(&ronglian));
        let (mut ready, mut first, mut rss) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let function = Function::start(name, &env).await;
            ready.push(function.ready().await);
            let (request, status) = first_request(name, &store).await;
            invoke(&function, request, status).await;
            first.push(function.started.elapsed());
            rss.push(function.peak_rss_kib());
            function.stop().await;
        }
        rss.sort_unstable();
        let (ready, first) = (Samples::new(ready), Samples::new(first));
        slowest_ready = slowest_ready.max(ready.p50());
        largest_rss = largest_rss.max(rss[rss.len() / 2]);
        table.row([
            name.to_owned(),
            millis(ready.p50()),
            millis(ready.p90()),
            millis(first.p50()),
            millis(first.p90()),
            mib(rss[rss.len() / 2]),
            mib(rss[rss.len() - 1]),
        ]);
    }
    report.table(table);
    report.goal(
        "cold start to first `/next` ≤ 15 ms (median; 10 ms aimed)",
        format!("slowest function's median {}", millis(slowest_ready)),
    );
    report.goal(
        "peak RSS after the first invocation ≤ 30 MB",
        format!("largest median {} (register: Argon2id's 19 MiB)", mib(largest_rss)),
    );
}
