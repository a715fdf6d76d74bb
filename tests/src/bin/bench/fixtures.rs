//! What every section needs: events, forms, fresh phone numbers, the
//! configuration without abuse limits, and the functions' environments.

use serde_json::{Value, json};
use shared::store::DynamoStore;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tests::ronglian::RonglianServer;
use tests::runtime_api::{Function, Outcome};

pub fn event(method: &str, uri: &str, cookie: Option<&str>, body: Option<&Value>) -> Value {
    tests::events::v2(method, uri, cookie.map(|token| format!("__Host-sessionid={token}")).as_deref(), body)
}

pub fn form(username: &str, mobile: &str, code: &str, sms_code_id: &str) -> Value {
    json!({"username": username, "password": "correct horse battery", "password2": "correct horse battery",
        "mobile": mobile, "sms_code": code, "sms_code_id": sms_code_id, "allow": true})
}

/// The account every login of the benchmark uses: [`seed_login_user`].
const LOGIN: (&str, &str, &str) = ("bench_login", "13000000001", "correct horse battery");

pub fn login_form() -> Value {
    json!({"account": LOGIN.0, "password": LOGIN.2})
}

/// Registers [`LOGIN`]'s account straight into the store.
pub async fn seed_login_user(store: &DynamoStore) {
    tests::seed::user(store, LOGIN.0, LOGIN.1, LOGIN.2).await;
}

/// A phone number no earlier request of this run has used.
pub fn fresh_mobile() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("139{:08}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A username no earlier request of this run has used.
pub fn fresh_username() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("user_{:06}", NEXT.fetch_add(1, Ordering::Relaxed))
}

pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The session token in a register response's cookie.
pub fn session_token(response: &Value) -> String {
    let cookie = response["cookies"][0].as_str().expect("a session cookie");
    cookie.trim_start_matches("__Host-sessionid=").split(';').next().unwrap_or_default().to_owned()
}

/// One client address sends every request here: the abuse limits are lifted.
pub const UNLIMITED: [(&str, &str); 9] = [
    ("SMS_PER_IP_PER_HOUR", "1000000"),
    ("SMS_PER_MINUTE", "1000000"),
    ("CAPTCHAS_PER_IP_PER_MINUTE", "1000000"),
    ("CAPTCHA_FAILURES_PER_IP_PER_HOUR", "1000000"),
    ("SMS_CODE_FAILURES_PER_IP_PER_HOUR", "1000000"),
    ("LOGIN_FAILURES_PER_ACCOUNT", "1000000"),
    ("LOGIN_FAILURES_PER_IP_PER_HOUR", "1000000"),
    ("LOGIN_FAILURES_PER_IP_BEFORE_CAPTCHA", "1000000"),
    // Every bench number shares one prefix: its allowance would stop the run at 30 sends.
    ("SMS_PREFIX_FREE_SENDS", "1000000"),
];

pub fn unlimited() -> shared::config::Config {
    tests::harness::config(&UNLIMITED)
}

/// A function's environment on `store`'s table, with the limits lifted, and
/// for sms the loopback Ronglian server.
pub fn lambda_env(store: &DynamoStore, ronglian: Option<&RonglianServer>) -> Vec<(&'static str, String)> {
    let mut env =
        vec![("TABLE_NAME", store.table().to_owned()), ("AWS_ENDPOINT_URL_DYNAMODB", tests::dynamodb_endpoint())];
    env.extend(UNLIMITED.iter().map(|(k, v)| (*k, (*v).to_owned())));
    env.push(("SMS_CODE_KEY", tests::harness::TEST_CODE_KEY.to_owned()));
    if let Some(ronglian) = ronglian {
        env.extend(ronglian.env());
    }
    env
}

/// Invokes `function` through its Runtime API, checks the status and
/// returns the response with the round trip's time.
pub async fn invoke(function: &Function, event: Value, status: u16) -> (Value, Duration) {
    let t = Instant::now();
    let outcome = function.api.invoke(event).await;
    let elapsed = t.elapsed();
    match outcome {
        Outcome::Response(r) if r["statusCode"] == status => (r, elapsed),
        other => panic!("expected {status}, got {other:?}"),
    }
}
