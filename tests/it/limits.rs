//! The SMS-pumping caps on both stores: per number per day, per client IP
//! per hour, the deployment-wide circuit breaker, and captchas per IP per
//! minute. Each answers 429 with its own key and a Retry-After.

use shared::clock::Clock;
use shared::sms::ConsoleSender;
use shared::store::Store;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use tests::harness::{Harness, TestResponse, config};
use tests::on_both_stores;

const ALICE: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
const BOB: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2));

fn harness<S: Store + 'static>(store: Arc<S>, vars: &[(&str, &str)]) -> Harness<S> {
    Harness::with_config(store, Arc::new(ConsoleSender::new()), &config(vars))
}

/// A captcha fetched and answered from `ip`, then an SMS request for `mobile`.
async fn send_from<S: Store + 'static, M: shared::sms::SmsSender + 'static>(
    h: &Harness<S, M>,
    ip: IpAddr,
    mobile: &str,
) -> TestResponse {
    let id = uuid::Uuid::new_v4();
    let captcha = h.request_from(ip, "GET", &format!("/image_codes/{id}/"), None, None).await;
    assert_eq!(captcha.status, 200, "{:?}", captcha.json());
    let answer = h.captcha_answer(&id.to_string()).await.unwrap();
    h.request_from(ip, "GET", &format!("/sms_codes/{mobile}/?image_code={answer}&image_code_id={id}"), None, None).await
}

fn assert_limited(response: &TestResponse, key: &str) {
    assert_eq!((response.status, response.error().as_str()), (429, key), "{:?}", response.json());
    let retry: i64 = response.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1, "{retry}");
}

async fn a_number_gets_at_most_its_daily_count<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("SMS_PER_MOBILE_PER_DAY", "2"), ("SMS_COOLDOWN_SECONDS", "1")]);
    // Start early in a UTC day so the three sends share one day window.
    let day_start = h.clock.now() - h.clock.now().rem_euclid(86_400) + 86_400;
    h.clock.set(day_start + 10);
    for _ in 0..2 {
        assert_eq!(send_from(&h, ALICE, "13800138000").await.status, 200);
        h.clock.advance(2);
    }
    let third = send_from(&h, BOB, "13800138000").await;
    assert_limited(&third, "mobile_daily_limit");
    assert_eq!(third.header("retry-after"), Some((86_400 - 14).to_string().as_str()));
    assert_eq!(h.sender.sent().len(), 2);
    assert_eq!(send_from(&h, BOB, "13900139000").await.status, 200, "other numbers are not affected");
    h.clock.set(day_start + 86_400);
    assert_eq!(send_from(&h, BOB, "13800138000").await.status, 200, "a new day, a new count");
}

async fn an_ip_gets_at_most_its_hourly_count<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("SMS_PER_IP_PER_HOUR", "2")]);
    assert_eq!(send_from(&h, ALICE, "13800000001").await.status, 200);
    assert_eq!(send_from(&h, ALICE, "13800000002").await.status, 200);
    assert_limited(&send_from(&h, ALICE, "13800000003").await, "ip_sms_limit");
    assert_eq!(send_from(&h, BOB, "13800000003").await.status, 200, "another client is not affected");
    assert_eq!(h.sender.sent().len(), 3);
}

async fn the_circuit_breaker_caps_sms_per_minute_for_everyone<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("SMS_PER_MINUTE", "3")]);
    let minute_start = h.clock.now() - h.clock.now().rem_euclid(60) + 60;
    h.clock.set(minute_start);
    for (n, ip) in [ALICE, BOB, ALICE].into_iter().enumerate() {
        assert_eq!(send_from(&h, ip, &format!("1370000000{n}")).await.status, 200);
    }
    assert_limited(&send_from(&h, BOB, "13700000009").await, "sms_busy");
    h.clock.advance(60);
    assert_eq!(send_from(&h, BOB, "13700000009").await.status, 200, "the next minute opens again");
    assert_eq!(h.sender.sent().len(), 4);
}

async fn an_ip_gets_at_most_its_captchas_per_minute<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("CAPTCHAS_PER_IP_PER_MINUTE", "3")]);
    let minute_start = h.clock.now() - h.clock.now().rem_euclid(60) + 60;
    h.clock.set(minute_start);
    for _ in 0..3 {
        let r = h.request_from(ALICE, "GET", &format!("/image_codes/{}/", uuid::Uuid::new_v4()), None, None).await;
        assert_eq!(r.status, 200);
    }
    let id = uuid::Uuid::new_v4().to_string();
    let refused = h.request_from(ALICE, "GET", &format!("/image_codes/{id}/"), None, None).await;
    assert_limited(&refused, "ip_captcha_limit");
    assert_eq!(h.captcha_answer(&id).await, None, "a refused captcha is not stored");
    assert_eq!(h.request_from(BOB, "GET", &format!("/image_codes/{id}/"), None, None).await.status, 200);
    h.clock.advance(60);
    assert_eq!(h.request_from(ALICE, "GET", &format!("/image_codes/{id}/"), None, None).await.status, 200);
}

async fn a_send_the_provider_refused_is_not_counted_but_an_unknown_outcome_is<S: Store + 'static>(store: Arc<S>) {
    let server = tests::ronglian::RonglianServer::start().await;
    let client = shared::sms::RonglianClient::new(server.config()).unwrap();
    let h = Harness::with_config(store, Arc::new(client), &config(&[("SMS_PER_IP_PER_HOUR", "1")]));
    server.set_mode(tests::ronglian::Mode::StatusCode("111142"));
    assert_eq!(send_from(&h, ALICE, "13800138000").await.status, 502);
    server.set_mode(tests::ronglian::Mode::Normal);
    assert_eq!(send_from(&h, ALICE, "13800138000").await.status, 200, "the refused send gave its count back");
    assert_limited(&send_from(&h, ALICE, "13900139000").await, "ip_sms_limit");

    server.set_mode(tests::ronglian::Mode::ServerError);
    assert_eq!(send_from(&h, BOB, "13700137000").await.status, 502);
    server.set_mode(tests::ronglian::Mode::Normal);
    assert_limited(&send_from(&h, BOB, "13600136000").await, "ip_sms_limit");
}

async fn only_numbers_with_an_allowed_prefix_get_an_sms<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("SMS_NUMBER_PREFIXES", "139,186")]);
    let refused = send_from(&h, ALICE, "13800138000").await;
    assert_eq!((refused.status, refused.error().as_str()), (400, "mobile_not_allowed"));
    assert!(h.sender.sent().is_empty());
    assert_eq!(send_from(&h, ALICE, "13900139000").await.status, 200);
    assert_eq!(send_from(&h, ALICE, "18600186000").await.status, 200);
}

on_both_stores!(
    only_numbers_with_an_allowed_prefix_get_an_sms,
    a_number_gets_at_most_its_daily_count,
    an_ip_gets_at_most_its_hourly_count,
    the_circuit_breaker_caps_sms_per_minute_for_everyone,
    an_ip_gets_at_most_its_captchas_per_minute,
    a_send_the_provider_refused_is_not_counted_but_an_unknown_outcome_is,
);
