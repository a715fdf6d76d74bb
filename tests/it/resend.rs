//! Idempotent resend on both stores: the same send repeated within its
//! cooldown (same captcha, answer, number and purpose: an app retrying a
//! send whose answer it lost) answers with the first send's `sms_code_id`
//! and sends nothing; anything else naming that captcha finds it spent and
//! counts a failure; a send the provider certainly refused is not answered
//! as sent.

use shared::clock::Clock;
use shared::domain::{Mobile, SmsCode};
use shared::service::keys;
use shared::sms::{ConsoleSender, Provider, RonglianClient, SmsError, SmsSender};
use shared::store::{Item, Store};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;
use tests::harness::{Harness, TestResponse, config};
use tests::on_both_stores;
use tests::ronglian::{Mode, RonglianServer};
use tokio::sync::Notify;

const MOBILE: &str = "13800138000";
const OTHER: &str = "13900139000";
/// The address [`Harness::get`] sends from.
const HARNESS_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9));

fn mobile(number: &str) -> Mobile {
    Mobile::parse(number).unwrap()
}

fn harness<S: Store + 'static>(store: Arc<S>, vars: &[(&str, &str)]) -> Harness<S> {
    Harness::with_config(store, Arc::new(ConsoleSender::new()), &config(vars))
}

/// A send as an app makes it; `purpose: None` leaves the parameter out.
async fn send<S: Store + 'static, M: SmsSender + 'static>(
    h: &Harness<S, M>,
    number: &str,
    captcha: &(String, String),
    purpose: Option<&str>,
) -> TestResponse {
    send_from(h, HARNESS_CLIENT, number, captcha, purpose).await
}

async fn send_from<S: Store + 'static, M: SmsSender + 'static>(
    h: &Harness<S, M>,
    ip: IpAddr,
    number: &str,
    (id, answer): &(String, String),
    purpose: Option<&str>,
) -> TestResponse {
    let purpose = purpose.map(|p| format!("&purpose={p}")).unwrap_or_default();
    let uri = format!("/sms_codes/{number}/?image_code={answer}&image_code_id={id}{purpose}");
    h.request_from(ip, "GET", &uri, None, None).await
}

/// The `sms_code_id` of a send that passed.
fn sent_id(response: &TestResponse) -> String {
    assert_eq!(response.status, 200, "{:?}", response.json());
    response.json()["sms_code_id"].as_str().expect("a send answers its sms_code_id").to_owned()
}

fn assert_refused(response: &TestResponse, status: u16, key: &str) {
    assert_eq!((response.status, response.error().as_str()), (status, key), "{:?}", response.json());
}

/// The send flag and the code item of `number`, as stored.
async fn send_state<S: Store + 'static, M: SmsSender + 'static>(
    h: &Harness<S, M>,
    number: &str,
) -> (Option<Item>, Option<Item>) {
    let now = h.clock.now();
    let flag = h.store.get(&keys::send_flag(&mobile(number)), now).await.unwrap();
    let code = h.store.get(&keys::sms_code(&mobile(number)), now).await.unwrap();
    (flag, code)
}

async fn a_repeat_answers_the_first_sends_id_and_sends_nothing<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    let captcha = h.captcha().await;
    let first = sent_id(&send(&h, MOBILE, &captcha, None).await);
    let before = send_state(&h, MOBILE).await;
    h.clock.advance(60);
    let repeat = send(&h, MOBILE, &captcha, None).await;
    assert_eq!(sent_id(&repeat), first, "the same send, the same id");
    assert_eq!(repeat.json()["retry_after"], 120, "what is left of the cooldown: {:?}", repeat.json());
    assert_eq!(h.sender.sent().len(), 1, "a repeat sends no SMS");
    assert_eq!(send_state(&h, MOBILE).await, before, "flag, code, attempts and expiries untouched");
}

async fn a_repeat_spelled_differently_is_still_the_same_send<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    let (id, answer) = h.captcha().await;
    let first = sent_id(&send(&h, MOBILE, &(id.clone(), answer.clone()), None).await);
    let shouted = (id, answer.to_uppercase());
    assert_eq!(sent_id(&send(&h, MOBILE, &shouted, Some("register")).await), first, "answer case, default purpose");
    assert_eq!(h.sender.sent().len(), 1);
}

async fn three_repeats_each_answer_the_first_id_and_its_code_still_registers<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    let captcha = h.captcha().await;
    let first = sent_id(&send(&h, MOBILE, &captcha, None).await);
    for n in 1..=3 {
        h.clock.advance(30);
        let repeat = send(&h, MOBILE, &captcha, None).await;
        assert_eq!(sent_id(&repeat), first, "repeat {n}");
        assert_eq!(repeat.json()["retry_after"], 180 - 30 * n, "repeat {n}");
    }
    assert_eq!(h.sender.sent().len(), 1);
    let response = h.register_with_id("alice_01", MOBILE, &h.last_code(MOBILE), &first).await;
    assert_eq!(response.status, 200, "the first send's code: {:?}", response.json());
    assert!(response.session_cookie().is_some());
}

/// A repeat counts against no cap: here, one more count of the client's
/// SMS cap or one captcha failure would refuse the next requests.
async fn repeats_count_against_no_cap<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("SMS_PER_IP_PER_HOUR", "2"), ("CAPTCHA_FAILURES_PER_IP_PER_HOUR", "1")]);
    let captcha = h.captcha().await;
    let first = sent_id(&send(&h, MOBILE, &captcha, None).await);
    for _ in 0..3 {
        assert_eq!(sent_id(&send(&h, MOBILE, &captcha, None).await), first);
    }
    let second = send(&h, OTHER, &h.captcha().await, None).await;
    assert_eq!(second.status, 200, "the client's second SMS of its two: {:?}", second.json());
    let (id, answer) = h.captcha().await;
    let wrong = (id, format!("{answer}x"));
    assert_refused(&send(&h, MOBILE, &wrong, None).await, 400, "captcha_incorrect");
    assert_eq!(h.sender.sent().len(), 2);
}

/// Concurrent repeats all read the marker, which no take removes: every one
/// gets the first send's id, none sends and none counts as a failure.
async fn ten_concurrent_repeats_all_answer_the_id_and_never_send_a_second_sms<S: Store + 'static>(store: Arc<S>) {
    let h = Arc::new(harness(store, &[("CAPTCHA_FAILURES_PER_IP_PER_HOUR", "1")]));
    let captcha = h.captcha().await;
    let first = sent_id(&send(&*h, MOBILE, &captcha, None).await);
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (h, captcha) = (Arc::clone(&h), captcha.clone());
            tokio::spawn(async move { send(&*h, MOBILE, &captcha, None).await })
        })
        .collect();
    for task in tasks {
        assert_eq!(sent_id(&task.await.unwrap()), first);
    }
    assert_eq!(h.sender.sent().len(), 1, "no repeat sends");
    let (id, answer) = h.captcha().await;
    let wrong = send(&*h, OTHER, &(id, format!("{answer}x")), None).await;
    assert_refused(&wrong, 400, "captcha_incorrect");
}

async fn a_repeat_with_another_number_answer_or_purpose_is_expired_and_counted<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("CAPTCHA_FAILURES_PER_IP_PER_HOUR", "1")]);
    for (n, (what, number)) in
        [("another number", "13800138001"), ("another answer", "13800138002"), ("another purpose", "13800138003")]
            .into_iter()
            .enumerate()
    {
        let ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10 + u8::try_from(n).unwrap()));
        let captcha = h.captcha().await;
        let first = sent_id(&send_from(&h, ip, number, &captcha, Some("register")).await);
        let variant = match what {
            "another number" => send_from(&h, ip, OTHER, &captcha, Some("register")).await,
            "another answer" => {
                let (id, answer) = &captcha;
                send_from(&h, ip, number, &(id.clone(), format!("{answer}x")), Some("register")).await
            }
            _ => send_from(&h, ip, number, &captcha, Some("login")).await,
        };
        assert_refused(&variant, 400, "captcha_expired");
        assert_eq!(h.sender.sent().len(), n + 1, "{what}: nothing sent");
        let (_, code) = send_state(&h, number).await;
        assert_eq!(code.unwrap().s(keys::SEND_ID).unwrap(), first, "{what}: the first send is undisturbed");
        let repeat = send_from(&h, ip, number, &captcha, Some("register")).await;
        assert_eq!(sent_id(&repeat), first, "{what}: the marker outlives a request that names it wrongly");
        let (id, answer) = h.captcha().await;
        let wrong = send_from(&h, ip, MOBILE, &(id, format!("{answer}x")), None).await;
        assert_refused(&wrong, 429, "captcha_failure_limit");
    }
    assert_eq!(send_state(&h, OTHER).await, (None, None), "the other number was never sent to");
}

async fn after_the_cooldown_a_repeat_is_expired_and_a_new_captcha_is_needed<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    let captcha = h.captcha().await;
    let first = sent_id(&send(&h, MOBILE, &captcha, None).await);
    h.clock.advance(179);
    let last_second = send(&h, MOBILE, &captcha, None).await;
    assert_eq!(sent_id(&last_second), first);
    assert_eq!(last_second.json()["retry_after"], 1);
    h.clock.advance(1);
    assert_refused(&send(&h, MOBILE, &captcha, None).await, 400, "captcha_expired");
    assert_eq!(h.sender.sent().len(), 1);
    let second = sent_id(&send(&h, MOBILE, &h.captcha().await, None).await);
    assert_ne!(second, first, "a new captcha, a new send");
    assert_eq!(h.sender.sent().len(), 2);
}

/// A send the provider certainly refused gives back its flag, code and
/// counts; a repeat of it must not answer as if it had been sent.
async fn a_repeat_after_a_certain_refusal_is_not_answered_as_sent<S: Store + 'static>(store: Arc<S>) {
    let server = RonglianServer::start().await;
    let h = Harness::with_sender(store, Arc::new(RonglianClient::new(server.config()).unwrap()));
    server.set_mode(Mode::StatusCode("111142"));
    let captcha = h.captcha().await;
    assert_refused(&send(&h, MOBILE, &captcha, None).await, 502, "sms_failed");
    server.set_mode(Mode::Normal);
    assert_refused(&send(&h, MOBILE, &captcha, None).await, 400, "captcha_expired");
    assert!(server.accepted().is_empty(), "the repeat sent nothing: {:?}", server.accepted());
    assert_eq!(send_state(&h, MOBILE).await, (None, None));
    assert_eq!(send(&h, MOBILE, &h.captcha().await, None).await.status, 200, "a new captcha may send at once");
}

/// After an unknown outcome the message may be on its way: the flag and
/// code stay, and a repeat answers with that send's id rather than sending
/// a second message.
async fn a_repeat_after_an_unknown_outcome_answers_its_id_and_sends_nothing<S: Store + 'static>(store: Arc<S>) {
    let server = RonglianServer::start().await;
    let h = Harness::with_sender(store, Arc::new(RonglianClient::new(server.config()).unwrap()));
    server.set_mode(Mode::ServerError);
    let captcha = h.captcha().await;
    let unknown = send(&h, MOBILE, &captcha, None).await;
    assert_refused(&unknown, 502, "sms_failed");
    server.set_mode(Mode::Normal);
    let repeat = send(&h, MOBILE, &captcha, None).await;
    let (_, code) = send_state(&h, MOBILE).await;
    assert_eq!(sent_id(&repeat), code.unwrap().s(keys::SEND_ID).unwrap());
    assert!(server.accepted().is_empty(), "no second message: {:?}", server.accepted());
}

/// A sender that waits at the provider until told, then is refused for
/// certain: a send in flight.
#[derive(Default)]
struct RefusingWhenTold {
    called: Notify,
    answer: Notify,
    calls: std::sync::atomic::AtomicUsize,
}

impl RefusingWhenTold {
    fn called_times(&self) -> usize {
        self.calls.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl SmsSender for RefusingWhenTold {
    async fn send(&self, _to: &Mobile, _code: &SmsCode, _minutes: u32) -> Result<(), SmsError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.called.notify_one();
        self.answer.notified().await;
        Err(SmsError::ProviderRefused {
            provider: Provider::Ronglian,
            code: "111142".to_owned(),
            message: "refused by test".to_owned(),
        })
    }
}

/// Waits for a step of a choreographed race, which fails rather than hangs
/// if the code under test no longer takes that step.
async fn within<T>(step: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future).await.unwrap_or_else(|_| panic!("{step}: not within 10 s"))
}

/// An app retries while its first send waits at the provider: the retry is
/// answered with the send's id (the outcome is not known yet). Once the
/// provider refuses for certain and the send is released, no repeat is
/// answered as sent.
async fn a_repeat_after_the_release_of_a_send_in_flight_is_expired<S: Store + 'static>(store: Arc<S>) {
    let h = Arc::new(Harness::with_sender(store, Arc::new(RefusingWhenTold::default())));
    let captcha = h.captcha().await;
    let first = tokio::spawn({
        let (h, captcha) = (Arc::clone(&h), captcha.clone());
        async move { send(&*h, MOBILE, &captcha, None).await }
    });
    within("the first send reaching the provider", h.sender.called.notified()).await;
    let in_flight = send(&*h, MOBILE, &captcha, None).await;
    assert_eq!(in_flight.status, 200, "{:?}", in_flight.json());
    h.sender.answer.notify_one();
    assert_refused(&within("the first send", first).await.unwrap(), 502, "sms_failed");
    assert_eq!(send_state(&h, MOBILE).await, (None, None), "the send was released");
    let later = send(&*h, MOBILE, &captcha, None).await;
    assert_refused(&later, 400, "captcha_expired");
    let (id, answer) = h.captcha().await;
    h.sender.answer.notify_one();
    let again = within("a new send", send(&*h, MOBILE, &(id, answer), None)).await;
    assert_refused(&again, 502, "sms_failed");
    assert_eq!(h.sender.called_times(), 2, "the cooldown was given back: a new captcha reaches the provider at once");
}

on_both_stores!(
    a_repeat_answers_the_first_sends_id_and_sends_nothing,
    a_repeat_spelled_differently_is_still_the_same_send,
    three_repeats_each_answer_the_first_id_and_its_code_still_registers,
    repeats_count_against_no_cap,
    ten_concurrent_repeats_all_answer_the_id_and_never_send_a_second_sms,
    a_repeat_with_another_number_answer_or_purpose_is_expired_and_counted,
    after_the_cooldown_a_repeat_is_expired_and_a_new_captcha_is_needed,
    a_repeat_after_a_certain_refusal_is_not_answered_as_sent,
    a_repeat_after_an_unknown_outcome_answers_its_id_and_sends_nothing,
    a_repeat_after_the_release_of_a_send_in_flight_is_expired,
);

/// A repeat's `expires_in` is what is left of the first send's code, as its
/// `retry_after` is what is left of the cooldown.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_repeats_expires_in_is_what_is_left_of_the_first_code() {
    let h = harness(Arc::new(tests::memory_store()), &[]);
    let captcha = h.captcha().await;
    sent_id(&send(&h, MOBILE, &captcha, None).await);
    let (_, code) = send_state(&h, MOBILE).await;
    let code_expires_at = code.unwrap().expires_at().unwrap();
    h.clock.advance(60);
    let repeat = send(&h, MOBILE, &captcha, None).await;
    assert_eq!(repeat.json()["expires_in"], code_expires_at - h.clock.now(), "{:?}", repeat.json());
}

/// Counted with an SDK interceptor: a repeat is one DeleteItem that finds
/// the marker and leaves it, naming nothing but its captcha; the first
/// send is still the take and one transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_a_repeat_is_one_call_on_its_captcha() {
    let (h, calls) = tests::harness::on_dynamodb().await;
    let captcha = h.captcha().await;
    calls.take();
    let first = sent_id(&send(&h, MOBILE, &captcha, None).await);
    assert_eq!(calls.take(), vec!["DeleteItem", "TransactWriteItems"], "the first send is unchanged");
    let repeat = send(&h, MOBILE, &captcha, None).await;
    assert_eq!(sent_id(&repeat), first);
    let bodies = calls.bodies();
    assert_eq!(calls.take(), vec!["DeleteItem"], "a take that finds the marker and leaves it");
    for body in &bodies {
        assert!(body.contains(&format!("captcha#{}", captcha.0)), "{body}");
        for other in ["sendflag#", "smscode#", "limit#", "mobile#"] {
            assert!(!body.contains(other), "a repeat named {other}: {body}");
        }
    }
    let variant = send(&h, OTHER, &captcha, None).await;
    assert_refused(&variant, 400, "captcha_expired");
    assert_eq!(calls.take(), vec!["DeleteItem", "UpdateItem"], "find the marker, count the failure");
}
