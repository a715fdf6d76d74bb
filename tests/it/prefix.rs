//! Conversion-guarded sending on both stores: each number prefix may be
//! sent `SMS_PREFIX_FREE_SENDS` sign-up codes an hour, and each verified
//! under it earns it `SMS_PREFIX_CREDIT_PER_VERIFY` more; codes to numbers
//! with an account (login, reset, close) neither pay nor earn. A pumping run (sends
//! nobody enters) stops after the free sends; real sign-ups never notice.

use serde_json::json;
use shared::clock::{Clock, EpochSeconds};
use shared::domain::Mobile;
use shared::service::keys;
use shared::store::Store;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tests::harness::{Harness, TestResponse, config};
use tests::on_both_stores;
use tests::ronglian::{Mode, RonglianServer};

/// The 7-digit prefix the pumping runs aim at, and one they leave alone.
const PREFIX: &str = "1380013";
const OTHER_PREFIX: &str = "1390013";
/// The defaults of `SMS_PREFIX_FREE_SENDS` and `SMS_PREFIX_CREDIT_PER_VERIFY`.
const FREE: i64 = 30;
const CREDIT: i64 = 3;
const HOUR: i64 = 3_600;
const PASSWORD: &str = "correct horse battery";

/// Every other cap on sending raised out of the way, so that whatever
/// stops a run is the prefix allowance.
const UNCAPPED: [(&str, &str); 6] = [
    ("SMS_PER_MOBILE_PER_DAY", "1000000"),
    ("SMS_PER_IP_PER_HOUR", "1000000"),
    ("SMS_PER_MINUTE", "1000000"),
    ("CAPTCHAS_PER_IP_PER_MINUTE", "1000000"),
    ("CAPTCHA_FAILURES_PER_IP_PER_HOUR", "1000000"),
    ("SMS_CODE_FAILURES_PER_IP_PER_HOUR", "1000000"),
];

fn uncapped(vars: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    UNCAPPED.iter().chain(vars).copied().collect()
}

/// A harness at the default prefix allowance plus `vars`, every other cap
/// out of the way, its clock `into_hour` seconds into an hour that starts
/// after the wall clock (DynamoDB Local's TTL follows the wall clock).
fn harness<S: Store + 'static>(store: Arc<S>, vars: &[(&'static str, &'static str)], into_hour: i64) -> Harness<S> {
    let h = Harness::with_vars(store, &uncapped(vars));
    set_into_next_hour(&h.clock, into_hour);
    h
}

fn set_into_next_hour(clock: &shared::clock::ManualClock, into_hour: i64) {
    let now = clock.now();
    clock.set(now - now.rem_euclid(HOUR) + HOUR + into_hour);
}

/// The `n`th number under `prefix`.
fn number(prefix: &str, n: usize) -> String {
    format!("{prefix}{n:0width$}", width = 11 - prefix.len())
}

fn numbers(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|n| number(prefix, n)).collect()
}

/// The counter of `prefix` in the hour `at` falls in, as the store holds it.
fn counter_key(prefix: &str, at: EpochSeconds) -> String {
    format!("limit#sms-prefix-hour#{prefix}#{}", at.div_euclid(HOUR))
}

async fn count<S: Store, M>(h: &Harness<S, M>, prefix: &str) -> Option<i64> {
    let now = h.clock.now();
    let item = h.store.get(&counter_key(prefix, now), now).await.unwrap()?;
    Some(item.n(keys::COUNT).unwrap())
}

fn assert_sent(response: &TestResponse) {
    assert_eq!(response.status, 200, "{:?}", response.json());
    let body = response.json();
    assert_eq!((body["code"].as_i64(), body["errmsg"].as_str()), (Some(0), Some("ok")), "{body}");
    assert_eq!(body["sms_code_id"].as_str().map(str::len), Some(32), "{body}");
    assert_eq!((body["retry_after"].as_i64(), body["expires_in"].as_i64()), (Some(180), Some(180)), "{body}");
}

/// A 429 `prefix_suspended` that says to come back in `retry_after` seconds,
/// in the header and in the body.
fn assert_suspended(response: &TestResponse, retry_after: i64) {
    assert_eq!((response.status, response.error().as_str()), (429, "prefix_suspended"), "{:?}", response.json());
    assert_eq!(response.header("retry-after"), Some(retry_after.to_string().as_str()), "{:?}", response.json());
    assert_eq!(response.json()["retry_after"].as_i64(), Some(retry_after), "{:?}", response.json());
}

/// The numbers the console sender sent an SMS to, under `prefix`.
fn texted<S>(h: &Harness<S>, prefix: &str) -> BTreeSet<String> {
    h.sender.sent().iter().map(|sms| sms.to.as_str().to_owned()).filter(|to| to.starts_with(prefix)).collect()
}

async fn register<S: Store + 'static, M: shared::sms::SmsSender + 'static>(
    h: &Harness<S, M>,
    n: usize,
    mobile: &str,
    code: &str,
) -> TestResponse {
    h.register(&format!("user_{n:04}"), mobile, code).await
}

/// Reads `prefix`'s counter until told to stop; the highest count it saw.
fn watch_counter<S: Store + 'static>(
    h: &Arc<Harness<S>>,
    prefix: &'static str,
) -> (Arc<AtomicBool>, tokio::task::JoinHandle<i64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let (h, stopped) = (Arc::clone(h), Arc::clone(&stop));
    let highest = tokio::spawn(async move {
        let mut highest = 0;
        while !stopped.load(Ordering::SeqCst) {
            highest = highest.max(count(&h, prefix).await.unwrap_or(0));
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
        highest
    });
    (stop, highest)
}

async fn a_pumping_run_gets_exactly_the_free_sends_and_leaves_other_prefixes_alone<S: Store + 'static>(store: Arc<S>) {
    let h = Arc::new(harness(store, &[], 1_234));
    let (stop, highest) = watch_counter(&h, PREFIX);
    let mobiles = numbers(PREFIX, 0..1_000);
    let responses = h.send_sms_to_each(&mobiles, 20).await;
    stop.store(true, Ordering::SeqCst);

    let mut delivered = BTreeSet::new();
    for (mobile, response) in mobiles.iter().zip(&responses) {
        if response.status == 200 {
            assert_sent(response);
            delivered.insert(mobile.clone());
        } else {
            assert_suspended(response, HOUR - 1_234);
        }
    }
    assert_eq!(delivered.len(), FREE as usize, "exactly the free sends went through");
    let spent = mobiles.iter().rposition(|mobile| delivered.contains(mobile)).unwrap();
    assert!(spent < 40, "the first two batches of 20 spend the allowance; the {spent}th send went out");
    assert_eq!(texted(&h, PREFIX), delivered, "an SMS went out for each 200 and for nothing else");
    assert_eq!(count(&h, PREFIX).await, Some(FREE), "the counter stops at the allowance");
    let highest = highest.await.unwrap();
    assert_eq!(highest, FREE, "read all through the run, the counter never went past the allowance");

    let refused = Mobile::parse(&mobiles[mobiles.iter().position(|m| !delivered.contains(m)).unwrap()]).unwrap();
    let now = h.clock.now();
    assert_eq!(h.store.get(&keys::send_flag(&refused), now).await.unwrap(), None, "a refused send holds no flag");
    assert_eq!(h.store.get(&keys::sms_code(&refused), now).await.unwrap(), None, "and stores no code");

    let other = h.send_sms_seeded(&number(OTHER_PREFIX, 0), "register").await;
    assert_sent(&other);
    assert_eq!(count(&h, OTHER_PREFIX).await, Some(1), "another prefix has its own allowance");
    assert_suspended(&h.send_sms_seeded(&number(PREFIX, 1_000), "register").await, HOUR - 1_234);
}

async fn the_prefix_length_and_the_free_sends_follow_the_configuration<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("SMS_PREFIX_DIGITS", "8"), ("SMS_PREFIX_FREE_SENDS", "5")], 60);
    let (first, second) = ("13800131", "13800132");
    for prefix in [first, second] {
        for n in 0..5 {
            assert_sent(&h.send_sms_seeded(&number(prefix, n), "register").await);
        }
        assert_suspended(&h.send_sms_seeded(&number(prefix, 5), "register").await, HOUR - 60);
        assert_eq!(count(&h, prefix).await, Some(5), "{prefix}");
    }
    assert_eq!(count(&h, PREFIX).await, None, "the 7-digit prefix counts nothing");
    assert_eq!(h.sender.sent().len(), 10);
}

/// 300 sends in one prefix; the recipients of two in five sign up with their
/// code once the next 20 sends have gone out.
async fn a_population_that_verifies_two_codes_in_five_is_never_suspended<S: Store + 'static>(store: Arc<S>) {
    const SENDS: usize = 300;
    const LAG: usize = 20;
    let h = harness(store, &[], 5);
    let verifies = |n: usize| matches!(n % 5, 0 | 2);
    let mut highest = i64::MIN;
    let mut verified = 0;
    for n in 0..SENDS + LAG {
        if n < SENDS {
            let mobile = number(PREFIX, n);
            let response = h.send_sms_seeded(&mobile, "register").await;
            assert_sent(&response);
        }
        if let Some(earlier) = n.checked_sub(LAG).filter(|&earlier| verifies(earlier)) {
            let mobile = number(PREFIX, earlier);
            let response = register(&h, earlier, &mobile, &h.last_code(&mobile)).await;
            assert_eq!(response.status, 200, "{mobile}: {:?}", response.json());
            verified += 1;
        }
        highest = highest.max(count(&h, PREFIX).await.unwrap());
    }
    assert_eq!(verified, SENDS * 2 / 5);
    assert!(highest < FREE, "the counter peaked at {highest}");
    let expected = SENDS as i64 - CREDIT * verified as i64;
    assert_eq!(count(&h, PREFIX).await, Some(expected), "sends count 1, verifications take 3 off");
}

async fn a_verified_code_lets_exactly_its_credit_more_sends_through<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[], 600);
    for n in 0..FREE as usize {
        assert_sent(&h.send_sms_seeded(&number(PREFIX, n), "register").await);
    }
    assert_suspended(&h.send_sms_seeded(&number(PREFIX, 100), "register").await, HOUR - 600);

    let first = number(PREFIX, 0);
    let wrong = if h.last_code(&first) == "000000" { "111111" } else { "000000" };
    assert_eq!(register(&h, 0, &first, wrong).await.error(), "sms_code_incorrect");
    assert_eq!(count(&h, PREFIX).await, Some(FREE), "a wrong guess earns nothing");
    assert_eq!(register(&h, 0, &first, &h.last_code(&first)).await.status, 200);
    assert_eq!(count(&h, PREFIX).await, Some(FREE - CREDIT));

    for n in 101..101 + CREDIT as usize {
        assert_sent(&h.send_sms_seeded(&number(PREFIX, n), "register").await);
    }
    assert_suspended(&h.send_sms_seeded(&number(PREFIX, 200), "register").await, HOUR - 600);
    assert_eq!(count(&h, PREFIX).await, Some(FREE));
    assert_eq!(texted(&h, PREFIX).len(), (FREE + CREDIT) as usize);
}

/// Issue 24: 32 unverified sign-up sends from two clients suspend a 7-digit
/// prefix, 10,000 numbers with registered users among them. Its members'
/// logins, resets and closings still get their codes: a number with an
/// account proved itself, so its sends neither pay nor earn the allowance,
/// while every sign-up send to the prefix keeps paying it.
async fn a_suspended_prefix_still_sends_its_members_login_reset_and_close_codes<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[], 10);
    let member = number(PREFIX, 9_999);
    tests::seed::user(&*h.store, "member_01", &member, PASSWORD).await;
    let pumpers = [std::net::Ipv4Addr::new(198, 51, 100, 1), std::net::Ipv4Addr::new(203, 0, 113, 2)];
    let mut suspended = 0;
    for n in 0..32 {
        let (id, answer) = h.seed_captcha().await;
        let uri = format!("/sms_codes/{}/?image_code={answer}&image_code_id={id}", number(PREFIX, n));
        let response = h.request_from(pumpers[n % 2].into(), "GET", &uri, None, None).await;
        suspended += usize::from(response.error() == "prefix_suspended");
    }
    assert_eq!(suspended, 32 - FREE as usize, "the pumping run is stopped by the allowance");
    assert_suspended(&h.send_sms_seeded(&number(PREFIX, 100), "register").await, HOUR - 10);

    let code_form =
        |mobile: &str| json!({"mobile": mobile, "sms_code": h.last_code(mobile), "sms_code_id": h.sms_code_id(mobile)});
    assert_sent(&h.send_sms_seeded(&member, "login").await);
    assert_eq!(h.post("/sms_login/", &code_form(&member)).await.status, 200);
    assert_eq!(count(&h, PREFIX).await, Some(FREE), "a login code neither pays nor earns");

    h.clock.advance(180);
    assert_sent(&h.send_sms_seeded(&member, "reset").await);
    let mut reset = code_form(&member);
    reset["password"] = json!("a new secret");
    reset["password2"] = json!("a new secret");
    let reset = h.post("/password_reset/", &reset).await;
    assert_eq!(reset.status, 200, "{:?}", reset.json());

    h.clock.advance(180);
    assert_sent(&h.send_sms_seeded(&member, "close").await);
    let mut close = code_form(&member);
    close.as_object_mut().unwrap().remove("mobile");
    let session = reset.session_cookie().unwrap();
    let closed = h.request("DELETE", "/account", Some(&session), Some(&close)).await;
    assert_eq!(closed.status, 200, "{:?}", closed.json());
    assert_eq!(count(&h, PREFIX).await, Some(FREE), "nor do reset and close codes");
    assert_suspended(&h.send_sms_seeded(&number(PREFIX, 101), "register").await, HOUR - 10 - 360);
}

/// A sign-up pays the allowance and its verification earns the credit.
async fn a_verified_sign_up_code_credits_its_prefix<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[], 10);
    let newcomer = number(PREFIX, 1);
    assert_sent(&h.send_sms_seeded(&newcomer, "register").await);
    assert_eq!(count(&h, PREFIX).await, Some(1));
    assert_eq!(register(&h, 1, &newcomer, &h.last_code(&newcomer)).await.status, 200);
    assert_eq!(count(&h, PREFIX).await, Some(1 - CREDIT));
}

/// Ten concurrent sign-ups with one right code: one spends it, and the
/// prefix is credited once, in that one's transaction.
async fn a_right_code_spent_by_racing_requests_credits_once<S: Store + 'static>(store: Arc<S>) {
    let h = Arc::new(harness(store, &[], 10));
    let newcomer = number(PREFIX, 2);
    assert_sent(&h.send_sms_seeded(&newcomer, "register").await);
    let code = h.last_code(&newcomer);
    let tasks: Vec<_> = (0..10)
        .map(|n| {
            let (h, newcomer, code) = (Arc::clone(&h), newcomer.clone(), code.clone());
            tokio::spawn(async move { register(&h, n, &newcomer, &code).await.status })
        })
        .collect();
    let mut signed_up = 0;
    for task in tasks {
        signed_up += usize::from(task.await.unwrap() == 200);
    }
    assert_eq!(signed_up, 1);
    assert_eq!(count(&h, PREFIX).await, Some(1 - CREDIT), "one send, one verification");
}

async fn concurrent_sends_at_the_edge_get_exactly_the_sends_left<S: Store + 'static>(store: Arc<S>) {
    let h = Arc::new(harness(store, &[], 900));
    for (prefix, left) in [("1380014", 1), ("1380015", 3)] {
        let used = FREE as usize - left;
        for mobile in numbers(prefix, 0..used) {
            assert_sent(&h.send_sms_seeded(&mobile, "register").await);
        }
        let racing = numbers(prefix, used..used + 20);
        let responses = h.send_sms_to_each(&racing, 20).await;
        let winners: BTreeSet<String> =
            racing.iter().zip(&responses).filter(|(_, r)| r.status == 200).map(|(m, _)| m.clone()).collect();
        assert_eq!(winners.len(), left, "{prefix}: {:?}", responses.iter().map(|r| r.status).collect::<Vec<_>>());
        for response in responses.iter().filter(|r| r.status != 200) {
            assert_suspended(response, HOUR - 900);
        }
        assert_eq!(count(&h, prefix).await, Some(FREE), "{prefix}");
        let texted = texted(&h, prefix);
        assert_eq!(texted.len(), FREE as usize, "{prefix}");
        assert!(winners.is_subset(&texted), "{prefix}");
    }
}

async fn the_allowance_opens_again_when_the_hour_ends<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[], 1_234);
    for mobile in numbers(PREFIX, 0..FREE as usize) {
        assert_sent(&h.send_sms_seeded(&mobile, "register").await);
    }
    assert_suspended(&h.send_sms_seeded(&number(PREFIX, 100), "register").await, HOUR - 1_234);
    h.clock.advance(HOUR - 1_234 - 1);
    assert_suspended(&h.send_sms_seeded(&number(PREFIX, 101), "register").await, 1);
    h.clock.advance(1);
    assert_eq!(count(&h, PREFIX).await, None, "a new hour, a new counter");
    assert_sent(&h.send_sms_seeded(&number(PREFIX, 102), "register").await);
    assert_eq!(count(&h, PREFIX).await, Some(1));
    assert_eq!(texted(&h, PREFIX).len(), FREE as usize + 1);
}

/// A provider that certainly refused the message (an error `statusCode`)
/// gives the send's count back; after an unknown outcome (a 500) the
/// message may be on its way, and the count stays.
async fn a_send_the_provider_refused_gives_its_allowance_back<S: Store + 'static>(store: Arc<S>) {
    let server = RonglianServer::start().await;
    let client = shared::sms::RonglianClient::new(server.config()).unwrap();
    let vars = uncapped(&[("SMS_PREFIX_FREE_SENDS", "3")]);
    let h = Harness::with_config(store, Arc::new(client), &config(&vars));
    set_into_next_hour(&h.clock, 30);
    for n in 0..2 {
        assert_sent(&h.send_sms_seeded(&number(PREFIX, n), "register").await);
    }
    server.set_mode(Mode::StatusCode("111142"));
    let refused = h.send_sms_seeded(&number(PREFIX, 2), "register").await;
    assert_eq!((refused.status, refused.error().as_str()), (502, "sms_failed"));
    assert_eq!(count(&h, PREFIX).await, Some(2), "the refused send gave its count back");
    server.set_mode(Mode::Normal);
    assert_sent(&h.send_sms_seeded(&number(PREFIX, 3), "register").await);
    assert_suspended(&h.send_sms_seeded(&number(PREFIX, 4), "register").await, HOUR - 30);
    assert_eq!(server.accepted().len(), 3);

    server.set_mode(Mode::ServerError);
    let unknown = h.send_sms_seeded(&number(OTHER_PREFIX, 0), "register").await;
    assert_eq!((unknown.status, unknown.error().as_str()), (502, "sms_failed"));
    assert_eq!(count(&h, OTHER_PREFIX).await, Some(1), "an unknown outcome keeps its count");
}

async fn a_test_number_neither_counts_against_nor_earns_for_its_prefix<S: Store + 'static>(store: Arc<S>) {
    let test_number = number(PREFIX, 7);
    let h = harness(store, &[("SMS_TEST_NUMBERS", "13800130007:246810")], 10);
    for send in 0..3 {
        if send > 0 {
            h.clock.advance(180);
        }
        assert_sent(&h.send_sms_seeded(&test_number, "register").await);
    }
    assert_eq!(count(&h, PREFIX).await, None, "a test number's sends count nothing");
    assert_eq!(register(&h, 7, &test_number, "246810").await.status, 200);
    assert_eq!(count(&h, PREFIX).await, None, "a test number's verification earns nothing");
    assert!(h.sender.sent().is_empty(), "a test number gets no SMS");

    for mobile in numbers(PREFIX, 100..100 + FREE as usize) {
        assert_sent(&h.send_sms_seeded(&mobile, "register").await);
    }
    let retry_after = HOUR - 10 - 2 * 180;
    assert_suspended(&h.send_sms_seeded(&number(PREFIX, 200), "register").await, retry_after);
    h.clock.advance(180);
    assert_sent(&h.send_sms_seeded(&test_number, "login").await);
    assert_eq!(count(&h, PREFIX).await, Some(FREE), "the suspended prefix still serves its test number");
    assert_eq!(texted(&h, PREFIX).len(), FREE as usize);
}

on_both_stores!(
    a_pumping_run_gets_exactly_the_free_sends_and_leaves_other_prefixes_alone,
    the_prefix_length_and_the_free_sends_follow_the_configuration,
    a_population_that_verifies_two_codes_in_five_is_never_suspended,
    a_verified_code_lets_exactly_its_credit_more_sends_through,
    a_suspended_prefix_still_sends_its_members_login_reset_and_close_codes,
    a_verified_sign_up_code_credits_its_prefix,
    a_right_code_spent_by_racing_requests_credits_once,
    concurrent_sends_at_the_edge_get_exactly_the_sends_left,
    the_allowance_opens_again_when_the_hour_ends,
    a_send_the_provider_refused_gives_its_allowance_back,
    a_test_number_neither_counts_against_nor_earns_for_its_prefix,
);
