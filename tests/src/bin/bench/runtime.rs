//! Warm latency end to end: release bootstraps under a loopback Runtime API
//! on DynamoDB Local, each request a full Lambda invocation.

use crate::fixtures::{
    event, form, fresh_mobile, fresh_username, invoke, lambda_env, login_form, seed_login_user, uuid,
};
use serde_json::Value;
use tests::report::{Report, Samples, Table, micros};
use tests::runtime_api::Function;

/// p50 and p99 of invoking `function` with each event, checking every status.
async fn invoke_all(function: &Function, events: Vec<Value>, status: u16) -> Samples {
    let mut samples = Vec::with_capacity(events.len());
    for e in events {
        samples.push(invoke(function, e, status).await.1);
    }
    Samples::new(samples)
}

pub async fn run(report: &mut Report, n: usize) {
    let store = tests::dynamo_store().await;
    let env = lambda_env(&store, None);
    report.section(&format!(
        "Warm latency end to end through the Runtime API (release bootstrap, DynamoDB Local, {n} requests)"
    ));
    let mut table = Table::new(&["route: outcome", "p50", "p99"]);
    let mut row =
        |label: &str, samples: Samples| table.row([label.to_owned(), micros(samples.p50()), micros(samples.p99())]);

    let captcha = Function::start("captcha", &env).await;
    let events = (0..n).map(|_| event("GET", &format!("/image_codes/{}/", uuid()), None, None)).collect();
    row("captcha: 200", invoke_all(&captcha, events, 200).await);
    captcha.stop().await;

    let session = Function::start("session", &env).await;
    let events = (0..n).map(|_| event("GET", "/session", Some(&"A".repeat(43)), None)).collect();
    row("session: 401 (GetItem, unknown token)", invoke_all(&session, events, 401).await);
    session.stop().await;

    let register = Function::start("register", &env).await;
    let mut events = Vec::with_capacity(n);
    for _ in 0..n {
        let mobile = fresh_mobile();
        let id = tests::seed::sms_code(&store, &mobile, "123456").await;
        events.push(event("POST", "/register/", None, Some(&form(&fresh_username(), &mobile, "123456", &id))));
    }
    row("register: 200 (claim, Argon2id, transaction)", invoke_all(&register, events, 200).await);
    register.stop().await;

    seed_login_user(&store).await;
    let account = Function::start("account", &env).await;
    let events = (0..n).map(|_| event("POST", "/login/", None, Some(&login_form()))).collect();
    row(
        "login: 200 (the attempt counted while the user is read, Argon2id verify, transaction)",
        invoke_all(&account, events, 200).await,
    );
    let wrong = serde_json::json!({"account": "bench_login", "password": "not the password"});
    let events = (0..n).map(|_| event("POST", "/login/", None, Some(&wrong))).collect();
    row(
        "login: 401 wrong password (the attempt counted while the user is read, Argon2id verify)",
        invoke_all(&account, events, 401).await,
    );
    account.stop().await;
    report.table(table);
}
