//! DynamoDB failing under the handlers: unreachable, throttling, slow. Each
//! such request ends in a 503 `store_unavailable` inside the time budget,
//! says nothing of the cause, and leaves nothing half-written: no send flag
//! without its code, no user without its mobile guard.

use shared::clock::Clock;
use shared::domain::{Mobile, Username};
use shared::service::keys;
use shared::store::{DynamoStore, Store};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tests::harness::{Harness, TestResponse};
use tests::proxy::{Fault, FaultProxy};

const MOBILE: &str = "13800138000";

/// The same table twice: through a fault proxy, and directly for checking.
async fn through_proxy(
    fault: Fault,
    pick: impl Fn(&str, &str) -> bool + Send + Sync + 'static,
) -> (Harness<DynamoStore>, DynamoStore, FaultProxy, Arc<AtomicBool>) {
    let direct = tests::dynamo_store().await;
    let enabled = Arc::new(AtomicBool::new(true));
    let switch = Arc::clone(&enabled);
    let proxy = FaultProxy::start(
        tests::dynamodb_endpoint(),
        fault,
        Arc::new(move |operation, body| switch.load(Ordering::SeqCst) && pick(operation, body)),
    )
    .await;
    let config = tests::dynamo_client().await.config().to_builder().endpoint_url(proxy.url()).build();
    let proxied = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), direct.table());
    (Harness::new(Arc::new(proxied)), direct, proxy, enabled)
}

fn assert_unavailable(response: &TestResponse) {
    assert_eq!((response.status, response.error().as_str()), (503, "store_unavailable"), "{:?}", response.json());
    let message = response.json()["errmsg"].as_str().unwrap().to_owned();
    assert!(!message.contains("Throttl") && !message.contains("dispatch"), "the cause must not leak: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unreachable_store_is_503_on_every_route() {
    let config =
        tests::dynamo_client().await.config().to_builder().endpoint_url(tests::faults::closed_port_url()).build();
    let h = Harness::new(Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), "any")));
    // A guard against a hang, not a timing: the SDK's bounded retries end each request.
    tokio::time::timeout(Duration::from_secs(120), async {
        assert_unavailable(&h.get(&format!("/image_codes/{}/", uuid::Uuid::new_v4())).await);
        assert_unavailable(
            &h.get(&format!("/sms_codes/{MOBILE}/?image_code=abcd&image_code_id={}", uuid::Uuid::new_v4())).await,
        );
        assert_unavailable(&h.register("alice_01", MOBILE, "123456").await);
        assert_unavailable(&h.request("GET", "/session", Some(&"A".repeat(43)), None).await);
    })
    .await
    .expect("every route answers despite the unreachable store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_throttled_send_is_503_leaves_no_flag_or_code_and_can_be_retried() {
    let (h, direct, proxy, enabled) = through_proxy(Fault::Throttle, |operation, body| {
        operation == "TransactWriteItems" && body.contains("sendflag#")
    })
    .await;
    let (id, answer) = h.captcha().await;
    let uri = format!("/sms_codes/{MOBILE}/?image_code={answer}&image_code_id={id}");
    assert_unavailable(&h.get(&uri).await);
    assert_eq!(proxy.injected(), 3, "the SDK's bounded retry: three attempts");
    let mobile = Mobile::parse(MOBILE).unwrap();
    let now = h.clock.now();
    assert!(direct.get(&keys::send_flag(&mobile), now).await.unwrap().is_none(), "no flag");
    assert!(direct.get(&keys::sms_code(&mobile), now).await.unwrap().is_none(), "no code");
    assert!(h.sender.sent().is_empty(), "no SMS");
    enabled.store(false, Ordering::SeqCst);
    assert_eq!(h.get(&uri).await.error(), "captcha_expired", "the captcha was judged once, before the outage");
    assert_eq!(h.send_sms(MOBILE).await.status, 200, "the failed transaction left no flag behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_throttled_registration_leaves_no_user_without_its_guard_and_keeps_the_code() {
    let (h, direct, _proxy, enabled) =
        through_proxy(Fault::Throttle, |operation, body| operation == "TransactWriteItems" && body.contains("user#"))
            .await;
    let mobile = Mobile::parse(MOBILE).unwrap();
    let now = h.clock.now();
    h.seed_code(MOBILE, "123456").await;
    assert_unavailable(&h.register("alice_01", MOBILE, "123456").await);
    let user = keys::user(&Username::parse("alice_01").unwrap());
    assert!(direct.get(&user, now).await.unwrap().is_none(), "no user");
    assert!(direct.get(&keys::mobile_guard(&mobile), now).await.unwrap().is_none(), "no guard");
    let kept = direct.get(&keys::sms_code(&mobile), now).await.unwrap().unwrap();
    assert_eq!(kept.n(keys::ATTEMPTS).unwrap(), 0, "an outage is not a wrong guess");
    enabled.store(false, Ordering::SeqCst);
    assert_eq!(h.register("alice_01", MOBILE, "123456").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_store_is_503_inside_the_time_budget() {
    let (h, _direct, proxy, _enabled) =
        through_proxy(Fault::Delay(Duration::from_secs(3)), |operation, _| operation == "GetItem").await;
    let answer =
        tokio::time::timeout(Duration::from_secs(120), h.request("GET", "/session", Some(&"A".repeat(43)), None))
            .await
            .expect("the SDK's timeouts end the request");
    assert_unavailable(&answer);
    assert!((2..=3).contains(&proxy.injected()), "each 2 s attempt timed out and was retried, at most three");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_throttled_login_or_reset_is_503_and_leaves_no_session_and_the_account_as_it_was() {
    let (h, direct, _proxy, enabled) = through_proxy(Fault::Throttle, |operation, body| {
        operation == "TransactWriteItems" && body.contains("session#")
    })
    .await;
    enabled.store(false, Ordering::SeqCst);
    assert_eq!(h.send_sms(MOBILE).await.status, 200);
    assert_eq!(h.register("alice_01", MOBILE, &h.last_code(MOBILE)).await.status, 200);
    let now = h.clock.now();
    let user = keys::user(&Username::parse("alice_01").unwrap());
    let before = direct.get(&user, now).await.unwrap().unwrap();
    enabled.store(true, Ordering::SeqCst);

    let login = serde_json::json!({"account": "alice_01", "password": "correct horse battery", "session": "token"});
    assert_unavailable(&h.post("/login/", &login).await);
    let id = h.seed_code_for(MOBILE, "123456", "reset").await;
    let reset = serde_json::json!({"mobile": MOBILE, "sms_code": "123456", "sms_code_id": id,
        "password": "a new secret", "password2": "a new secret", "session": "token"});
    assert_unavailable(&h.post("/password_reset/", &reset).await);
    assert_eq!(direct.get(&user, now).await.unwrap(), Some(before), "nothing half-written");
    let code = direct.get(&keys::sms_code(&Mobile::parse(MOBILE).unwrap()), now).await.unwrap().unwrap();
    assert_eq!(code.n(keys::ATTEMPTS).unwrap(), 0, "an outage is not a wrong guess");

    enabled.store(false, Ordering::SeqCst);
    let response = h.post("/password_reset/", &reset).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    assert_eq!(
        h.post("/login/", &serde_json::json!({"account": MOBILE, "password": "a new secret"})).await.status,
        200
    );
}
