//! Test numbers for app-store review on both stores (`SMS_TEST_NUMBERS`):
//! a listed number gets its fixed code and no SMS, and everything else
//! about the send and the code holds as for any number: the captcha, the
//! cooldown, the caps, the purpose rules, the id and the five attempts. Only
//! the prefix allowance leaves it out.

use serde_json::{Value, json};
use shared::clock::{Clock, SystemClock};
use shared::config::SMS_TEST_NUMBERS;
use shared::domain::{CaptchaId, Mobile};
use shared::service::keys;
use shared::sms::ConsoleSender;
use shared::store::Store;
use std::sync::Arc;
use tests::harness::{Harness, TestResponse, config};
use tests::on_both_stores;
use tests::runtime_api::{Function, Outcome};

const REVIEWER: &str = "13800000000";
const FIXED_CODE: &str = "246810";
/// A second test number, whose code is 135790.
const OTHER_REVIEWER: &str = "13900000009";
const TEST_NUMBERS: &str = "13800000000:246810, 13900000009:135790";
/// Not listed, and in the reviewer's 7-digit prefix (`1380000`).
const NEIGHBOUR: &str = "13800000001";

fn harness<S: Store + 'static>(store: Arc<S>, vars: &[(&str, &str)]) -> Harness<S> {
    let mut vars = vars.to_vec();
    vars.push((SMS_TEST_NUMBERS, TEST_NUMBERS));
    Harness::with_config(store, Arc::new(ConsoleSender::new()), &config(&vars))
}

fn assert_refused(response: &TestResponse, status: u16, key: &str) {
    assert_eq!((response.status, response.error().as_str()), (status, key), "{:?}", response.json());
}

fn mobile(number: &str) -> Mobile {
    Mobile::parse(number).unwrap()
}

/// A sms_code_id of a send that passed.
fn sent_id(response: &TestResponse) -> String {
    assert_eq!(response.status, 200, "{:?}", response.json());
    response.json()["sms_code_id"].as_str().expect("a send answers its sms_code_id").to_owned()
}

async fn a_test_number_gets_a_send_id_and_no_sms<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    let response = h.send_sms(REVIEWER).await;
    let id = sent_id(&response);
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_eq!(
        (response.json()["retry_after"].as_i64(), response.json()["expires_in"].as_i64()),
        (Some(180), Some(180))
    );
    assert!(h.sender.sent().is_empty(), "no SMS: {:?}", h.sender.sent());
    let code = h.store.get(&keys::sms_code(&mobile(REVIEWER)), h.clock.now()).await.unwrap().unwrap();
    assert_eq!(code.s(keys::SEND_ID).unwrap(), id);
    assert!(!code.s(keys::CODE).unwrap().contains(FIXED_CODE), "only an HMAC of the fixed code is stored");
    assert!(code.s(keys::PREFIX).is_err(), "a test number's code earns its prefix nothing");
}

async fn the_fixed_code_registers_with_the_returned_id<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    assert_eq!(h.send_sms(REVIEWER).await.status, 200);
    let response = h.register("reviewer_01", REVIEWER, FIXED_CODE).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    let token = response.session_cookie().unwrap();
    let who = h.request("GET", "/session", Some(&token), None).await.json();
    assert_eq!(who["username"], "reviewer_01");
    assert!(h.sender.sent().is_empty());
}

async fn the_fixed_code_is_only_good_with_its_own_send_id<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    assert_eq!(h.send_sms(REVIEWER).await.status, 200);
    let forged = h.register_with_id("reviewer_01", REVIEWER, FIXED_CODE, &"0".repeat(32)).await;
    assert_refused(&forged, 400, "sms_code_expired");
    assert_eq!(forged.json()["attempts_left"], 0, "another id is answered as if no code were live");
    assert_eq!(h.register("reviewer_01", REVIEWER, FIXED_CODE).await.status, 200);
}

async fn the_fixed_code_logs_in_by_sms_and_the_purpose_rules_hold<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    assert_refused(&h.send_sms_for(REVIEWER, "login").await, 404, "mobile_not_registered");
    tests::seed::user(&*h.store, "reviewer_01", REVIEWER, "correct horse battery").await;
    assert_refused(&h.send_sms_for(REVIEWER, "register").await, 409, "mobile_taken");
    assert_eq!(h.send_sms_for(REVIEWER, "login").await.status, 200);
    let form = json!({"mobile": REVIEWER, "sms_code": FIXED_CODE, "sms_code_id": h.sms_code_id(REVIEWER)});
    let response = h.post("/sms_login/", &form).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    let who = h.request("GET", "/session", Some(&response.session_cookie().unwrap()), None).await.json();
    assert_eq!(who["username"], "reviewer_01");
    assert!(h.sender.sent().is_empty());
}

async fn a_wrong_captcha_is_still_refused<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    let (id, answer) = h.captcha().await;
    let response = h.get(&format!("/sms_codes/{REVIEWER}/?image_code={answer}x&image_code_id={id}")).await;
    assert_refused(&response, 400, "captcha_incorrect");
    let unknown = format!("/sms_codes/{REVIEWER}/?image_code=abcd&image_code_id={}", uuid::Uuid::new_v4());
    assert_refused(&h.get(&unknown).await, 400, "captcha_expired");
    let code = h.store.get(&keys::sms_code(&mobile(REVIEWER)), h.clock.now()).await.unwrap();
    assert!(code.is_none(), "no code without a right answer");
}

async fn the_cooldown_still_applies<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    assert_eq!(h.send_sms(REVIEWER).await.status, 200);
    h.clock.advance(60);
    let second = h.send_sms(REVIEWER).await;
    assert_refused(&second, 429, "too_frequent");
    assert_eq!(second.header("retry-after"), Some("120"));
    h.clock.advance(120);
    assert_eq!(h.send_sms(REVIEWER).await.status, 200);
}

/// Each cap set to 1 in turn, each on a day of its own: the first send
/// fills it, the next is refused by it.
async fn the_per_number_per_client_and_global_caps_still_count<S: Store + 'static>(store: Arc<S>) {
    let cases = [
        ("SMS_PER_MOBILE_PER_DAY", "mobile_daily_limit", REVIEWER, 180),
        ("SMS_PER_IP_PER_HOUR", "ip_sms_limit", OTHER_REVIEWER, 0),
        ("SMS_PER_MINUTE", "sms_busy", OTHER_REVIEWER, 0),
    ];
    for (day, (var, key, next, wait)) in (1..).zip(cases) {
        let h = harness(Arc::clone(&store), &[(var, "1")]);
        h.clock.set((h.clock.now().div_euclid(86_400) + day) * 86_400 + 3_600);
        assert_eq!(h.send_sms(REVIEWER).await.status, 200, "{var}");
        h.clock.advance(wait);
        assert_refused(&h.send_sms(next).await, 429, key);
        assert!(h.sender.sent().is_empty(), "{var}");
    }
}

/// Three test-number sends fill no prefix allowance of 1: a real number in
/// the same prefix still gets its SMS, which then fills it.
async fn test_numbers_do_not_count_against_the_prefix_allowance<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("SMS_PREFIX_FREE_SENDS", "1")]);
    h.clock.set((h.clock.now().div_euclid(3_600) + 1) * 3_600);
    for _ in 0..3 {
        assert_eq!(h.send_sms(REVIEWER).await.status, 200);
        h.clock.advance(180);
    }
    let neighbour = h.send_sms(NEIGHBOUR).await;
    assert_eq!(neighbour.status, 200, "{:?}", neighbour.json());
    assert_refused(&h.send_sms("13800000002").await, 429, "prefix_suspended");
}

async fn a_number_not_in_the_list_gets_a_real_sms<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    assert_eq!(h.send_sms(NEIGHBOUR).await.status, 200);
    let sent = h.sender.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, mobile(NEIGHBOUR));
    let response = h.register("neighbour_01", NEIGHBOUR, &h.last_code(NEIGHBOUR)).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
}

async fn wrong_guesses_of_the_fixed_code_still_count<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    assert_eq!(h.send_sms(REVIEWER).await.status, 200);
    for left in (0..5).rev() {
        let wrong = h.register("reviewer_01", REVIEWER, "000000").await;
        assert_refused(&wrong, 400, "sms_code_incorrect");
        assert_eq!(wrong.json()["attempts_left"], left);
    }
    assert_refused(&h.register("reviewer_01", REVIEWER, FIXED_CODE).await, 400, "sms_code_expired");
    h.clock.advance(180);
    assert_eq!(h.send_sms(REVIEWER).await.status, 200, "a new send, a fresh five");
    assert_eq!(h.register("reviewer_01", REVIEWER, FIXED_CODE).await.status, 200);
}

on_both_stores!(
    a_test_number_gets_a_send_id_and_no_sms,
    the_fixed_code_registers_with_the_returned_id,
    the_fixed_code_is_only_good_with_its_own_send_id,
    the_fixed_code_logs_in_by_sms_and_the_purpose_rules_hold,
    a_wrong_captcha_is_still_refused,
    the_cooldown_still_applies,
    the_per_number_per_client_and_global_caps_still_count,
    test_numbers_do_not_count_against_the_prefix_allowance,
    a_number_not_in_the_list_gets_a_real_sms,
    wrong_guesses_of_the_fixed_code_still_count,
);

async fn call(function: &Function, event: Value) -> Value {
    match function.api.invoke(event).await {
        Outcome::Response(response) => response,
        Outcome::Error(error) => panic!("the function reported an error: {error}"),
    }
}

fn body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().unwrap()).unwrap()
}

/// The real sms and register functions under the Lambda Runtime API, at
/// TRACE, with a test number configured: the reviewer signs up with the
/// fixed code, Ronglian is never called, and no log line shows the fixed
/// code or the full number.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_fixed_code_never_appears_in_the_functions_logs() {
    let store = tests::dynamo_store().await;
    let ronglian = tests::ronglian::RonglianServer::start().await;
    let mut env = vec![
        ("TABLE_NAME", store.table().to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", tests::dynamodb_endpoint()),
        ("AWS_LAMBDA_LOG_LEVEL", "TRACE".to_owned()),
        ("SMS_CODE_KEY", "the test numbers suite's code key, 32+ bytes".to_owned()),
        ("SMS_TEST_NUMBERS", TEST_NUMBERS.to_owned()),
    ];
    env.extend(ronglian.env());
    let sms = Function::start("sms", &env).await;
    let register = Function::start("register", &env).await;

    let id = uuid::Uuid::new_v4().to_string();
    tests::seed::captcha(&store, &id, "abcd").await;
    let uri = format!("/sms_codes/{REVIEWER}/?image_code=abcd&image_code_id={id}");
    let response = call(&sms, tests::events::v2("GET", &uri, None, None)).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    let sms_code_id = body(&response)["sms_code_id"].as_str().unwrap().to_owned();
    assert!(ronglian.accepted().is_empty() && ronglian.refusals().is_empty(), "Ronglian was never called");
    let marker = store.get(&keys::captcha(&CaptchaId::parse(&id).unwrap()), SystemClock.now()).await.unwrap();
    assert!(marker.is_some_and(|m| m.s(keys::REQUEST).is_ok()), "the captcha is left as a marker of the send");

    let form = json!({"username": "reviewer_01", "password": "correct horse", "password2": "correct horse",
        "mobile": REVIEWER, "sms_code": FIXED_CODE, "sms_code_id": sms_code_id, "allow": true});
    let response = call(&register, tests::events::v2("POST", "/register/", None, Some(&form))).await;
    assert_eq!(response["statusCode"], 200, "{response}");

    let mut logs = sms.stop().await;
    logs.push_str(&register.stop().await);
    for secret in [FIXED_CODE, "135790", REVIEWER, OTHER_REVIEWER, &sms_code_id] {
        assert!(!logs.contains(secret), "{secret:?} appears in the logs:\n{logs}");
    }
    assert!(logs.contains("138****0000"), "the masked number is logged: {logs}");
    assert!(logs.contains("a test number was given its fixed code"), "{logs}");
}
