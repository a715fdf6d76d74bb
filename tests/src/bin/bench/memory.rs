//! Peak RSS of every function after its first invocation and after 300 more
//! warm ones on its happy path: what Lambda bills by once memory is tuned,
//! and where growth would show before it ends in an out-of-memory kill.

use crate::fixtures::{
    event, form, fresh_mobile, fresh_username, invoke, lambda_env, login_form, seed_login_user, session_token, uuid,
};
use serde_json::Value;
use shared::store::DynamoStore;
use tests::report::{Report, Table, mib};
use tests::ronglian::RonglianServer;
use tests::runtime_api::Function;

const WARM: usize = 300;
/// The goals: growth over the warm calls, and the peak itself.
const GROWTH_KIB: u64 = 2 * 1024;
const PEAK_KIB: u64 = 30 * 1024;

/// The next happy-path request for `name`, seeded as it needs.
async fn happy(name: &str, store: &DynamoStore, token: Option<&str>) -> Value {
    match name {
        "captcha" => event("GET", &format!("/image_codes/{}/", uuid()), None, None),
        "sms" => {
            let id = uuid();
            tests::seed::captcha(store, &id, "abcd").await;
            event("GET", &format!("/sms_codes/{}/?image_code=abcd&image_code_id={id}", fresh_mobile()), None, None)
        }
        "register" => {
            let mobile = fresh_mobile();
            let id = tests::seed::sms_code(store, &mobile, "123456").await;
            event("POST", "/register/", None, Some(&form(&fresh_username(), &mobile, "123456", &id)))
        }
        "account" => event("POST", "/login/", None, Some(&login_form())),
        _ => event("GET", "/session", token, None),
    }
}

pub async fn run(report: &mut Report) {
    let store = tests::dynamo_store().await;
    let ronglian = RonglianServer::start().await;
    report.subsection(&format!("Peak RSS: after the first invocation and after {WARM} more, warm (happy paths)"));
    let mut table =
        Table::new(&["function: happy path", "peak RSS after the first", &format!("after 1 + {WARM}"), "growth"]);
    let mut token = None;
    let (mut worst_growth, mut worst_peak) = ((0, ""), (0, ""));
    for (name, path) in [
        ("captcha", "captcha: 200"),
        ("sms", "sms: 200 (loopback Ronglian)"),
        ("register", "register: 200 (Argon2id)"),
        ("session", "session: 200 (the session and its generation)"),
        ("account", "account: login 200 (Argon2id verify)"),
    ] {
        if name == "account" {
            seed_login_user(&store).await;
        }
        let function = Function::start(name, &lambda_env(&store, (name == "sms").then_some(&ronglian))).await;
        let (response, _) = invoke(&function, happy(name, &store, token.as_deref()).await, 200).await;
        if name == "register" {
            token = Some(session_token(&response));
        }
        let first = function.peak_rss_kib();
        for _ in 0..WARM {
            invoke(&function, happy(name, &store, token.as_deref()).await, 200).await;
        }
        let warm = function.peak_rss_kib();
        function.stop().await;
        let growth = warm.saturating_sub(first);
        worst_growth = worst_growth.max((growth, name));
        worst_peak = worst_peak.max((warm, name));
        table.row([
            path.to_owned(),
            mib(first),
            mib(warm),
            format!("{:+.1} MiB", (warm as f64 - first as f64) / 1024.0),
        ]);
    }
    report.table(table);
    report.goal(
        format!(
            "peak RSS after {WARM} warm invocations ≤ after the first + {} and ≤ {}, every function",
            mib(GROWTH_KIB),
            mib(PEAK_KIB)
        ),
        format!(
            "largest growth {} ({}), largest peak {} ({}): {}",
            mib(worst_growth.0),
            worst_growth.1,
            mib(worst_peak.0),
            worst_peak.1,
            if worst_growth.0 <= GROWTH_KIB && worst_peak.0 <= PEAK_KIB { "met" } else { "not met" }
        ),
    );
}
