//! The attacks of the abuse-guarantees issue, replayed on both stores: one
//! judgement per captcha, failures counted per client, garbage that touches
//! no shared item, codes only their requester can guess, JSON-only posts,
//! cookies that cannot be shadowed, IPv6 clients keyed by /64.

use serde_json::json;
use shared::clock::Clock;
use shared::domain::Mobile;
use shared::service::keys;
use shared::sms::ConsoleSender;
use shared::store::Store;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use tests::harness::{Harness, TestResponse, config};
use tests::on_both_stores;

const MOBILE: &str = "13800138000";
const MALLORY: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 66));
const VICTIM: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));

fn harness<S: Store + 'static>(store: Arc<S>, vars: &[(&str, &str)]) -> Harness<S> {
    Harness::with_config(store, Arc::new(ConsoleSender::new()), &config(vars))
}

fn assert_refused(response: &TestResponse, status: u16, key: &str) {
    assert_eq!((response.status, response.error().as_str()), (status, key), "{:?}", response.json());
}

fn assert_limited(response: &TestResponse, key: &str) {
    assert_refused(response, 429, key);
    let header: i64 = response.header("retry-after").unwrap().parse().unwrap();
    assert!(header >= 1);
    assert_eq!(response.json()["retry_after"], header, "the body repeats Retry-After");
}

async fn sms_from<S: Store + 'static>(h: &Harness<S>, ip: IpAddr, answer: &str, id: &str) -> TestResponse {
    h.request_from(ip, "GET", &format!("/sms_codes/{MOBILE}/?image_code={answer}&image_code_id={id}"), None, None).await
}

async fn fifty_concurrent_answers_on_one_captcha_are_judged_once<S: Store + 'static>(store: Arc<S>) {
    let h = Arc::new(harness(store, &[("CAPTCHA_FAILURES_PER_IP_PER_HOUR", "1000")]));
    for _trial in 0..3 {
        let (id, answer) = h.captcha().await;
        let mut answers: Vec<String> = (0..49).map(|n| format!("w{n:02}x")).collect();
        answers.insert(17, answer);
        let tasks: Vec<_> = answers
            .into_iter()
            .map(|answer| {
                let (h, id) = (Arc::clone(&h), id.clone());
                tokio::spawn(async move { sms_from(&h, VICTIM, &answer, &id).await })
            })
            .collect();
        let mut judged = Vec::new();
        for task in tasks {
            let response = task.await.unwrap();
            if response.error() != "captcha_expired" {
                judged.push((response.status, response.error()));
            }
        }
        assert_eq!(judged.len(), 1, "exactly one request may be judged: {judged:?}");
        assert!(judged[0] == (200, String::new()) || judged[0] == (400, "captcha_incorrect".to_owned()), "{judged:?}");
        h.clock.advance(180);
    }
}

async fn failed_captcha_answers_count_against_the_client<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("CAPTCHA_FAILURES_PER_IP_PER_HOUR", "30")]);
    let mut statuses = Vec::new();
    for _ in 0..100 {
        let response = sms_from(&h, MALLORY, "abcd", &uuid::Uuid::new_v4().to_string()).await;
        if response.status == 429 {
            assert_limited(&response, "captcha_failure_limit");
        } else {
            assert_refused(&response, 400, "captcha_expired");
        }
        statuses.push(response.status);
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 400).count(), 30, "{statuses:?}");
    // Over the cap, even a right answer from that client sends nothing…
    let id = uuid::Uuid::new_v4().to_string();
    h.request_from(MALLORY, "GET", &format!("/image_codes/{id}/"), None, None).await;
    let answer = h.captcha_answer(&id).await.unwrap();
    assert_limited(&sms_from(&h, MALLORY, &answer, &id).await, "captcha_failure_limit");
    assert!(h.sender.sent().is_empty());
    // …while everyone else is unaffected.
    let id = uuid::Uuid::new_v4().to_string();
    h.request_from(VICTIM, "GET", &format!("/image_codes/{id}/"), None, None).await;
    let answer = h.captcha_answer(&id).await.unwrap();
    assert_eq!(sms_from(&h, VICTIM, &answer, &id).await.status, 200);
}

async fn only_the_requester_can_guess_a_code<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    assert_eq!(h.send_sms(MOBILE).await.status, 200);
    let (code, id) = (h.last_code(MOBILE), h.sms_code_id(MOBILE));
    let register_from = |ip: IpAddr, form: serde_json::Value| {
        let h = &h;
        async move { h.request_from(ip, "POST", "/register/", None, Some(&form)).await }
    };
    let form = |username: String, code: &str, id: &str| {
        json!({"username": username, "password": "correct horse", "password2": "correct horse",
            "mobile": MOBILE, "sms_code": code, "sms_code_id": id, "allow": true})
    };
    for n in 0..30 {
        let guess = format!("{:06}", n * 7919 % 1_000_000);
        let forged = format!("{n:032x}");
        let response = register_from(MALLORY, form(format!("mallory{n:02}"), &guess, &forged)).await;
        assert_refused(&response, 400, "sms_code_expired");
        assert_eq!(response.json()["attempts_left"], 0, "a guess without the id learns nothing of the live code");
    }
    let over = register_from(MALLORY, form("mallory99".into(), "123456", &format!("{:032x}", 99))).await;
    assert_limited(&over, "sms_code_failure_limit");
    let mut without_id = form("mallory".into(), &code, "");
    without_id.as_object_mut().unwrap().remove("sms_code_id");
    assert_refused(&register_from(VICTIM, without_id).await, 400, "invalid_sms_code_id");
    let response = register_from(VICTIM, form("victim_01".into(), &code, &id)).await;
    assert_eq!(response.status, 200, "the victim signs up: {:?}", response.json());
}

async fn wrong_guesses_say_what_is_left_and_count_against_the_client<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("SMS_CODE_FAILURES_PER_IP_PER_HOUR", "2")]);
    assert_eq!(h.send_sms(MOBILE).await.status, 200);
    let code = h.last_code(MOBILE);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let first = h.register("alice_01", MOBILE, wrong).await;
    assert_refused(&first, 400, "sms_code_incorrect");
    assert_eq!(first.json()["attempts_left"], 4);
    assert_eq!(h.register("alice_01", MOBILE, wrong).await.json()["attempts_left"], 3);
    assert_limited(&h.register("alice_01", MOBILE, wrong).await, "sms_code_failure_limit");
    assert_limited(&h.register("alice_01", MOBILE, &code).await, "sms_code_failure_limit");
    h.clock.advance(3_600);
    assert_eq!(h.register("alice_01", MOBILE, &code).await.status, 400, "the code expired meanwhile");
}

async fn a_planted_second_session_cookie_logs_nobody_in<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    assert_eq!(h.send_sms(MOBILE).await.status, 200);
    let token = h.register("alice_01", MOBILE, &h.last_code(MOBILE)).await.session_cookie().unwrap();
    assert_eq!(h.request("GET", "/session", Some(&token), None).await.status, 200);
    let both = format!("{}; __Host-sessionid={token}", "B".repeat(43));
    assert_eq!(h.request("GET", "/session", Some(&both), None).await.status, 401);
}

async fn ipv6_clients_in_one_slash_64_share_their_caps<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("CAPTCHAS_PER_IP_PER_MINUTE", "2")]);
    let fetch = |ip: &str| {
        let ip: IpAddr = ip.parse().unwrap();
        let h = &h;
        async move { h.request_from(ip, "GET", &format!("/image_codes/{}/", uuid::Uuid::new_v4()), None, None).await }
    };
    assert_eq!(fetch("2001:db8:1:2::1").await.status, 200);
    assert_eq!(fetch("2001:db8:1:2:ffff::9").await.status, 200);
    assert_limited(&fetch("2001:db8:1:2:abcd:1:2:3").await, "ip_captcha_limit");
    assert_eq!(fetch("2001:db8:1:3::1").await.status, 200, "the next /64 is another client");
}

on_both_stores!(
    fifty_concurrent_answers_on_one_captcha_are_judged_once,
    failed_captcha_answers_count_against_the_client,
    only_the_requester_can_guess_a_code,
    wrong_guesses_say_what_is_left_and_count_against_the_client,
    a_planted_second_session_cookie_logs_nobody_in,
    ipv6_clients_in_one_slash_64_share_their_caps,
);

/// Until its captcha has passed, a request names no item but its captcha
/// and its own client's counter: garbage cannot contend for a victim's
/// number or the deployment-wide counter.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_garbage_names_no_shared_item() {
    let (h, calls) = tests::harness::on_dynamodb().await;
    let id = uuid::Uuid::new_v4().to_string();
    let wrong = h.get(&format!("/sms_codes/{MOBILE}/?image_code=abcd&image_code_id={id}")).await;
    assert_refused(&wrong, 400, "captcha_expired");
    assert_eq!(calls.bodies().len(), 2, "{:?}", calls.bodies());
    let operations = calls.take();
    assert_eq!(operations, vec!["DeleteItem", "UpdateItem"], "take the captcha, count the failure");
    let (captcha_id, _) = h.captcha().await;
    calls.take();
    let incorrect = h.get(&format!("/sms_codes/{MOBILE}/?image_code=zzzz&image_code_id={captcha_id}")).await;
    assert_refused(&incorrect, 400, "captcha_incorrect");
    let bodies = calls.bodies().join("\n");
    for shared_item in ["sendflag#", "smscode#", "mobile#", "limit#sms-", "user#"] {
        assert!(!bodies.contains(shared_item), "{shared_item} named by a request that failed its captcha: {bodies}");
    }
    assert!(bodies.contains(&format!("captcha#{captcha_id}")) && bodies.contains("limit#captcha-failures-ip-hour#"));
    let mobile = Mobile::parse(MOBILE).unwrap();
    assert!(h.store.get(&keys::send_flag(&mobile), h.clock.now()).await.unwrap().is_none());
}
