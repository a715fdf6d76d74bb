//! `GET /sms_codes/{mobile}/` on both stores: the flow, its failure paths,
//! the provider failing, and twenty concurrent senders.

use shared::clock::Clock;
use shared::domain::Mobile;
use shared::service::keys;
use shared::sms::RonglianClient;
use shared::store::Store;
use std::sync::Arc;
use tests::flows_on_both_stores;
use tests::harness::Harness;
use tests::ronglian::{Mode, RonglianServer};

const MOBILE: &str = "13800138000";

fn mobile() -> Mobile {
    Mobile::parse(MOBILE).unwrap()
}

async fn a_right_answer_sends_a_six_digit_code_and_spends_the_captcha<S: Store + 'static>(h: Harness<S>) {
    let (id, answer) = h.captcha().await;
    let response = h.get(&format!("/sms_codes/{MOBILE}/?image_code={answer}&image_code_id={id}")).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    let body = response.json();
    assert_eq!((body["code"].as_i64(), body["errmsg"].as_str()), (Some(0), Some("ok")));
    let sms_code_id = body["sms_code_id"].as_str().unwrap();
    assert_eq!((body["retry_after"].as_i64(), body["expires_in"].as_i64()), (Some(180), Some(180)), "{body}");
    assert!(sms_code_id.len() == 32 && sms_code_id.bytes().all(|b| b.is_ascii_hexdigit()), "{body}");
    let sent = h.sender.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, mobile());
    assert_eq!(sent[0].minutes, 3);
    let code = h.last_code(MOBILE);
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");

    let now = h.clock.now();
    let stored = h.store.get(&keys::sms_code(&mobile()), now).await.unwrap().unwrap();
    let tag = stored.s(keys::CODE).unwrap();
    assert!(tag.len() == 64 && !tag.contains(&code), "only an HMAC of the code is stored: {tag}");
    assert_eq!(stored.s(keys::SEND_ID).unwrap(), sms_code_id);
    assert_eq!(stored.n(keys::ATTEMPTS).unwrap(), 0);
    assert_eq!(stored.expires_at(), Some(now + 180));
    let flag = h.store.get(&keys::send_flag(&mobile()), now).await.unwrap().unwrap();
    assert_eq!(flag.expires_at(), Some(now + 180));
    assert_eq!(flag.s(keys::SEND_ID).unwrap(), stored.s(keys::SEND_ID).unwrap(), "flag and code belong to one send");
    assert_eq!(h.captcha_answer(&id).await, None, "the captcha is single use");
}

async fn the_answer_is_case_insensitive<S: Store + 'static>(h: Harness<S>) {
    let (id, answer) = h.captcha().await;
    let response = h.get(&format!("/sms_codes/{MOBILE}?image_code={}&image_code_id={id}", answer.to_uppercase())).await;
    assert_eq!(response.status, 200);
}

async fn missing_or_malformed_parameters_are_named<S: Store + 'static>(h: Harness<S>) {
    let (id, answer) = h.captcha().await;
    let cases = [
        (format!("/sms_codes/{MOBILE}/?image_code_id={id}"), "missing_parameters"),
        (format!("/sms_codes/{MOBILE}/?image_code={answer}"), "missing_parameters"),
        (format!("/sms_codes/{MOBILE}/?image_code=&image_code_id={id}"), "missing_parameters"),
        (format!("/sms_codes/12345/?image_code={answer}&image_code_id={id}"), "invalid_mobile"),
        (format!("/sms_codes/{MOBILE}/?image_code={answer}&image_code_id=nope"), "invalid_captcha_id"),
        (format!("/sms_codes/{MOBILE}/?image_code=%27%3B--&image_code_id={id}"), "invalid_image_code"),
    ];
    for (uri, key) in cases {
        let response = h.get(&uri).await;
        assert_eq!((response.status, response.error().as_str()), (400, key), "{uri}");
    }
    assert_eq!(response_json_message(&h, &format!("/sms_codes/{MOBILE}/")).await, "Incomplete parameters");
    assert!(h.sender.sent().is_empty());
    assert_eq!(h.captcha_answer(&id).await, Some(answer), "requests refused before the check leave the captcha");
}

async fn response_json_message<S: Store + 'static>(h: &Harness<S>, uri: &str) -> String {
    h.get(uri).await.json()["errmsg"].as_str().unwrap().to_owned()
}

async fn a_wrong_answer_is_refused_and_spends_the_captcha<S: Store + 'static>(h: Harness<S>) {
    let (id, answer) = h.captcha().await;
    let wrong = if answer == "aaaa" { "bbbb" } else { "aaaa" };
    let response = h.get(&format!("/sms_codes/{MOBILE}/?image_code={wrong}&image_code_id={id}")).await;
    assert_eq!((response.status, response.error().as_str()), (400, "captcha_incorrect"));
    assert_eq!(response.json()["errmsg"], "Incorrect verification code");
    let retry = h.get(&format!("/sms_codes/{MOBILE}/?image_code={answer}&image_code_id={id}")).await;
    assert_eq!(retry.error(), "captcha_expired", "a wrong answer uses the captcha up");
    assert!(h.sender.sent().is_empty());
    assert!(h.store.get(&keys::send_flag(&mobile()), h.clock.now()).await.unwrap().is_none());
}

async fn an_unknown_captcha_is_expired<S: Store + 'static>(h: Harness<S>) {
    let response = h.get(&format!("/sms_codes/{MOBILE}/?image_code=abcd&image_code_id={}", uuid::Uuid::new_v4())).await;
    assert_eq!((response.status, response.error().as_str()), (400, "captcha_expired"));
}

async fn a_second_send_within_the_cooldown_is_429_with_retry_after<S: Store + 'static>(h: Harness<S>) {
    assert_eq!(h.send_sms(MOBILE).await.status, 200);
    h.clock.advance(60);
    let (id, answer) = h.captcha().await;
    let response = h.get(&format!("/sms_codes/{MOBILE}/?image_code={answer}&image_code_id={id}")).await;
    assert_eq!((response.status, response.error().as_str()), (429, "too_frequent"));
    assert_eq!(response.header("retry-after"), Some("120"));
    assert_eq!(h.captcha_answer(&id).await, None, "the captcha is spent here too");
    assert_eq!(h.sender.sent().len(), 1);
}

async fn after_the_cooldown_a_new_code_replaces_the_old<S: Store + 'static>(h: Harness<S>) {
    assert_eq!(h.send_sms(MOBILE).await.status, 200);
    let first = h.sms_code_id(MOBILE);
    h.clock.advance(180);
    assert_eq!(h.send_sms(MOBILE).await.status, 200);
    assert_eq!(h.sender.sent().len(), 2);
    let stored = h.store.get(&keys::sms_code(&mobile()), h.clock.now()).await.unwrap().unwrap();
    assert_eq!(stored.s(keys::SEND_ID).unwrap(), h.sms_code_id(MOBILE));
    assert_ne!(h.sms_code_id(MOBILE), first, "the new send has its own id");
}

async fn twenty_concurrent_sends_to_one_number_send_exactly_one_sms<S: Store + 'static>(h: Harness<S>) {
    let mut captchas = Vec::new();
    for _ in 0..20 {
        captchas.push(h.captcha().await);
    }
    let h = Arc::new(h);
    let tasks: Vec<_> = captchas
        .into_iter()
        .map(|(id, answer)| {
            let h = Arc::clone(&h);
            tokio::spawn(async move {
                h.get(&format!("/sms_codes/{MOBILE}/?image_code={answer}&image_code_id={id}")).await.status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses.sort();
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    let limited = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!((ok, limited), (1, 19), "{statuses:?}");
    assert_eq!(h.sender.sent().len(), 1);
}

flows_on_both_stores!(
    a_right_answer_sends_a_six_digit_code_and_spends_the_captcha,
    the_answer_is_case_insensitive,
    missing_or_malformed_parameters_are_named,
    a_wrong_answer_is_refused_and_spends_the_captcha,
    an_unknown_captcha_is_expired,
    a_second_send_within_the_cooldown_is_429_with_retry_after,
    after_the_cooldown_a_new_code_replaces_the_old,
    twenty_concurrent_sends_to_one_number_send_exactly_one_sms,
);

/// With Ronglian failing, the person gets a 502. A certain refusal (an
/// error `statusCode`, no connection) releases the flag and the code, so the
/// person can retry at once; after an unknown outcome (5xx, garbage, a
/// timeout) the message may be on its way, so flag, code and counts stay and
/// the 502 says when to retry.
mod provider_failures {
    use super::*;
    use shared::sms::ClientOptions;
    use std::time::Duration;

    async fn check<S: Store + 'static>(store: Arc<S>, mode: Mode) {
        let server = RonglianServer::start().await;
        let options = ClientOptions { timeout: Duration::from_millis(300), ..ClientOptions::default() };
        let client = RonglianClient::with_options(server.config(), options).unwrap();
        let h = Harness::with_sender(store, Arc::new(client));
        server.set_mode(mode.clone());
        let response = h.send_sms(MOBILE).await;
        // Ronglian's per-number limit is the number's, not the provider's.
        let expected =
            if matches!(mode, Mode::StatusCode("160038")) { (429, "sms_provider_limit") } else { (502, "sms_failed") };
        assert_eq!((response.status, response.error().as_str()), expected, "{mode:?}");
        let now = h.clock.now();
        let certain = matches!(mode, Mode::StatusCode(_));
        let flag = h.store.get(&keys::send_flag(&mobile()), now).await.unwrap();
        let code = h.store.get(&keys::sms_code(&mobile()), now).await.unwrap();
        server.set_mode(Mode::Normal);
        let retry = h.send_sms(MOBILE).await;
        if certain {
            assert!(flag.is_none() && code.is_none(), "{mode:?}: flag and code released");
            let retry_after = (expected.0 == 429).then_some("180");
            assert_eq!(response.header("retry-after"), retry_after, "{mode:?}");
            assert_eq!(retry.status, 200, "{mode:?}: {:?}", retry.json());
            let stored = h.store.get(&keys::sms_code(&mobile()), now).await.unwrap().unwrap();
            assert_eq!(stored.s(keys::SEND_ID).unwrap(), h.sms_code_id(MOBILE));
            assert!(server.refusals().is_empty(), "{:?}", server.refusals());
        } else {
            assert!(flag.is_some() && code.is_some(), "{mode:?}: an unknown outcome keeps flag and code");
            assert_eq!(response.header("retry-after"), Some("180"), "{mode:?}");
            assert_eq!(response.json()["retry_after"], 180, "{mode:?}");
            assert_eq!((retry.status, retry.error().as_str()), (429, "too_frequent"), "{mode:?}");
        }
    }

    fn modes() -> Vec<Mode> {
        vec![
            Mode::StatusCode("160038"),
            Mode::StatusCode("111142"),
            Mode::ServerError,
            Mode::Garbage,
            Mode::Slow(Duration::from_millis(1_200)),
        ]
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn memory() {
        for mode in modes() {
            check(Arc::new(tests::memory_store()), mode).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn dynamodb() {
        for mode in modes() {
            check(Arc::new(tests::dynamo_store().await), mode).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn refused_connection() {
        let config = shared::config::RonglianConfig {
            base_url: tests::faults::closed_port_url(),
            ..RonglianServer::start().await.config()
        };
        let h = Harness::with_sender(Arc::new(tests::memory_store()), Arc::new(RonglianClient::new(config).unwrap()));
        let response = h.send_sms(MOBILE).await;
        assert_eq!((response.status, response.error().as_str()), (502, "sms_failed"));
        assert!(h.store.get(&keys::send_flag(&mobile()), h.clock.now()).await.unwrap().is_none());
    }
}
