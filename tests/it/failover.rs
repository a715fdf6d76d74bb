//! Issue 25's done-when scenarios: `GET /sms_codes/{mobile}/` through the
//! configured providers in failover order, against the loopback Aliyun and
//! Tencent Cloud servers, on both stores. A provider-side refusal moves the
//! send on and the person sees only the success; a number-side refusal or an
//! unknown outcome never reaches the next provider.

use shared::clock::Clock;
use shared::config::{Config, SMS_PROVIDERS};
use shared::domain::Mobile;
use shared::service::keys;
use shared::sms::{AnySender, ClientOptions};
use shared::store::Store;
use std::sync::Arc;
use std::time::Duration;
use tests::aliyun::{self, AliyunServer};
use tests::harness::{self, Harness};
use tests::tencent::{self, TencentServer};

const MOBILE: &str = "13800138000";
/// Each provider call's timeout here: short, so a stall costs the suite little.
const TIMEOUT: Duration = Duration::from_millis(300);

fn mobile() -> Mobile {
    Mobile::parse(MOBILE).unwrap()
}

/// Both loopback servers and a harness sending through them in `order`.
struct Providers<S> {
    aliyun: AliyunServer,
    tencent: TencentServer,
    h: Harness<S, AnySender>,
}

async fn providers<S: Store + 'static>(store: Arc<S>, order: &str) -> Providers<S> {
    providers_with(store, order, |_| {}).await
}

/// As [`providers`], with the variables changed by `edit` before they are read.
async fn providers_with<S: Store + 'static>(
    store: Arc<S>,
    order: &str,
    edit: impl FnOnce(&mut Vec<(&'static str, String)>),
) -> Providers<S> {
    let (aliyun, tencent) = (AliyunServer::start().await, TencentServer::start().await);
    let mut vars: Vec<(&'static str, String)> = vec![(SMS_PROVIDERS, order.to_owned())];
    vars.extend(aliyun.env());
    vars.extend(tencent.env());
    edit(&mut vars);
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let config: Config = harness::config(&pairs);
    let options = ClientOptions { timeout: TIMEOUT, ..ClientOptions::default() };
    let sender = AnySender::with_options(&config.providers, options).unwrap();
    let h = Harness::with_config(store, Arc::new(sender), &config);
    Providers { aliyun, tencent, h }
}

/// The code Tencent accepted last for the number (its first template parameter).
fn tencent_code(server: &TencentServer) -> String {
    let accepted = server.accepted();
    let last = accepted.iter().rev().find(|a| a.phone_number == format!("+86{MOBILE}")).expect("Tencent sent nothing");
    last.params[0].clone()
}

async fn aliyun_out_of_credit_sends_through_tencent_and_the_code_registers<S: Store + 'static>(store: Arc<S>) {
    let p = providers(store, "aliyun,tencent").await;
    p.aliyun.set_mode(aliyun::Mode::Code("isv.AMOUNT_NOT_ENOUGH"));
    let response = p.h.send_sms(MOBILE).await;
    assert_eq!(response.status, 200, "the person sees only the success: {:?}", response.json());
    assert_eq!((p.aliyun.received(), p.aliyun.accepted().len()), (1, 0));
    assert_eq!(p.tencent.accepted().len(), 1);
    let registered = p.h.register("alice_01", MOBILE, &tencent_code(&p.tencent)).await;
    assert_eq!(registered.status, 200, "{:?}", registered.json());
    assert!(registered.session_cookie().is_some());
}

async fn aliyun_refusing_the_number_for_its_limit_asks_no_one_else_and_gives_the_send_back<S: Store + 'static>(
    store: Arc<S>,
) {
    let p = providers(store, "aliyun,tencent").await;
    p.aliyun.set_mode(aliyun::Mode::Code("isv.BUSINESS_LIMIT_CONTROL"));
    let response = p.h.send_sms(MOBILE).await;
    assert_eq!((response.status, response.error().as_str()), (429, "sms_provider_limit"), "{:?}", response.json());
    assert_eq!(response.header("retry-after"), Some("180"));
    assert_eq!(response.json()["retry_after"], 180);
    assert_eq!(p.tencent.received(), 0, "no other provider is asked: that would launder Aliyun's limit");
    let now = p.h.clock.now();
    assert!(p.h.store.get(&keys::send_flag(&mobile()), now).await.unwrap().is_none(), "nothing was sent");
    assert!(p.h.store.get(&keys::sms_code(&mobile()), now).await.unwrap().is_none());
}

async fn aliyun_refusing_the_number_as_invalid_is_invalid_mobile<S: Store + 'static>(store: Arc<S>) {
    let p = providers(store, "aliyun,tencent").await;
    p.aliyun.set_mode(aliyun::Mode::Code("isv.MOBILE_NUMBER_ILLEGAL"));
    let response = p.h.send_sms(MOBILE).await;
    assert_eq!((response.status, response.error().as_str()), (400, "invalid_mobile"), "{:?}", response.json());
    assert_eq!(p.tencent.received(), 0);
    assert!(p.h.store.get(&keys::send_flag(&mobile()), p.h.clock.now()).await.unwrap().is_none());
}

async fn aliyun_accepting_then_stalling_is_a_502_and_the_cooldown_holds<S: Store + 'static>(store: Arc<S>) {
    let p = providers(store, "aliyun,tencent").await;
    p.aliyun.set_mode(aliyun::Mode::Stall(TIMEOUT * 4));
    let response = p.h.send_sms(MOBILE).await;
    assert_eq!((response.status, response.error().as_str()), (502, "sms_failed"), "{:?}", response.json());
    assert_eq!(response.header("retry-after"), Some("180"));
    assert_eq!(p.aliyun.accepted().len(), 1, "Aliyun took the message: it may be on its way");
    assert_eq!(p.tencent.received(), 0, "a timeout never moves the send: two codes would reach the phone");
    p.aliyun.set_mode(aliyun::Mode::Normal);
    let again = p.h.send_sms(MOBILE).await;
    assert_eq!((again.status, again.error().as_str()), (429, "too_frequent"));
    assert_eq!((p.aliyun.received(), p.tencent.received()), (1, 0));
}

async fn aliyun_answering_garbage_or_5xx_is_unknown_and_moves_nothing<S: Store + 'static>(store: Arc<S>) {
    for (i, mode) in [aliyun::Mode::Garbage, aliyun::Mode::ServerError].into_iter().enumerate() {
        let p = providers(Arc::clone(&store), "aliyun,tencent").await;
        p.aliyun.set_mode(mode.clone());
        let mobile = format!("1390013000{i}");
        let response = p.h.send_sms(&mobile).await;
        assert_eq!((response.status, response.error().as_str()), (502, "sms_failed"), "{mode:?}");
        assert_eq!(response.json()["retry_after"], 180, "{mode:?}");
        assert_eq!(p.tencent.received(), 0, "{mode:?}");
    }
}

async fn aliyun_unreachable_sends_through_tencent<S: Store + 'static>(store: Arc<S>) {
    let closed = tests::faults::closed_port_url();
    let p = providers_with(store, "aliyun,tencent", |vars| {
        vars.retain(|(name, _)| *name != "ALIYUN_SMS_BASE_URL");
        vars.push(("ALIYUN_SMS_BASE_URL", closed));
    })
    .await;
    let response = p.h.send_sms(MOBILE).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    assert_eq!(p.aliyun.received(), 0);
    assert_eq!(p.tencent.accepted().len(), 1);
}

async fn tencent_in_arrears_sends_through_aliyun<S: Store + 'static>(store: Arc<S>) {
    let p = providers(store, "tencent,aliyun").await;
    p.tencent.set_mode(tencent::Mode::Error("UnauthorizedOperation.SerivceSuspendDueToArrears"));
    let response = p.h.send_sms(MOBILE).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    assert_eq!((p.tencent.received(), p.tencent.accepted().len()), (1, 0));
    let code = p.aliyun.last_code_for(MOBILE).expect("Aliyun sent nothing");
    let registered = p.h.register("bob_02", MOBILE, &code).await;
    assert_eq!(registered.status, 200, "{:?}", registered.json());
}

async fn when_every_provider_refuses_the_send_is_given_back_and_a_retry_goes_out<S: Store + 'static>(store: Arc<S>) {
    let p = providers(store, "aliyun,tencent").await;
    p.aliyun.set_mode(aliyun::Mode::Code("isv.AMOUNT_NOT_ENOUGH"));
    p.tencent.set_mode(tencent::Mode::Error("FailedOperation.InsufficientBalanceInSmsPackage"));
    let response = p.h.send_sms(MOBILE).await;
    assert_eq!((response.status, response.error().as_str()), (502, "sms_failed"), "{:?}", response.json());
    assert_eq!(response.header("retry-after"), None, "nothing was sent: the person may retry at once");
    assert_eq!((p.aliyun.received(), p.tencent.received()), (1, 1));
    p.tencent.set_mode(tencent::Mode::Normal);
    let retry = p.h.send_sms(MOBILE).await;
    assert_eq!(retry.status, 200, "{:?}", retry.json());
    assert_eq!(p.tencent.accepted().len(), 1);
}

async fn two_concurrent_sends_to_one_number_reach_one_provider_once<S: Store + 'static>(store: Arc<S>) {
    let p = Arc::new(providers(store, "aliyun,tencent").await);
    p.aliyun.set_mode(aliyun::Mode::Code("isv.AMOUNT_NOT_ENOUGH"));
    let sends = (0..2).map(|_| {
        let p = Arc::clone(&p);
        tokio::spawn(async move { p.h.send_sms(MOBILE).await })
    });
    let mut statuses: Vec<u16> = Vec::new();
    for send in sends.collect::<Vec<_>>() {
        statuses.push(send.await.unwrap().status);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 429], "one send wins the cooldown, the other is too frequent");
    assert_eq!((p.aliyun.received(), p.tencent.accepted().len()), (1, 1), "one attempt per provider");
}

tests::on_both_stores!(
    aliyun_out_of_credit_sends_through_tencent_and_the_code_registers,
    aliyun_refusing_the_number_for_its_limit_asks_no_one_else_and_gives_the_send_back,
    aliyun_refusing_the_number_as_invalid_is_invalid_mobile,
    aliyun_accepting_then_stalling_is_a_502_and_the_cooldown_holds,
    aliyun_answering_garbage_or_5xx_is_unknown_and_moves_nothing,
    aliyun_unreachable_sends_through_tencent,
    tencent_in_arrears_sends_through_aliyun,
    when_every_provider_refuses_the_send_is_given_back_and_a_retry_goes_out,
    two_concurrent_sends_to_one_number_reach_one_provider_once,
);

/// The send service's answer to each class of provider outcome, with a fake
/// provider: what the person sees, and what stays held.
mod classes {
    use super::*;
    use shared::domain::SmsCode;
    use shared::sms::{NumberRefusal, Provider, SmsError, SmsSender};
    use std::sync::Mutex;

    /// Answers each send with the class it is set to and counts the sends.
    #[derive(Debug, Default)]
    struct Scripted {
        answer: Mutex<Option<fn() -> SmsError>>,
        sends: Mutex<usize>,
    }

    impl SmsSender for Scripted {
        async fn send(&self, _: &Mobile, _: &SmsCode, _: u32) -> Result<(), SmsError> {
            *self.sends.lock().unwrap() += 1;
            self.answer.lock().unwrap().map_or(Ok(()), |answer| Err(answer()))
        }
    }

    fn provider_side() -> SmsError {
        SmsError::ProviderRefused {
            provider: Provider::Aliyun,
            code: "isv.AMOUNT_NOT_ENOUGH".into(),
            message: String::new(),
        }
    }
    fn number_limit() -> SmsError {
        let code = "isv.BUSINESS_LIMIT_CONTROL".into();
        SmsError::NumberRefused {
            provider: Provider::Aliyun,
            reason: NumberRefusal::RateLimited,
            code,
            message: String::new(),
        }
    }
    fn number_invalid() -> SmsError {
        let code = "isv.MOBILE_NUMBER_ILLEGAL".into();
        SmsError::NumberRefused {
            provider: Provider::Aliyun,
            reason: NumberRefusal::InvalidNumber,
            code,
            message: String::new(),
        }
    }
    fn unknown() -> SmsError {
        SmsError::Unknown { provider: Provider::Tencent, detail: "HTTP status 500".into(), source: None }
    }

    /// The status, key and `Retry-After` of a send answered `answer`, whether
    /// the send flag and the code were kept, and the status of the next send
    /// once the provider sends again.
    async fn outcome<S: Store + 'static>(
        store: Arc<S>,
        answer: fn() -> SmsError,
    ) -> (u16, String, Option<String>, bool, u16) {
        let sender = Arc::new(Scripted::default());
        let h = Harness::with_sender(store, Arc::clone(&sender));
        *sender.answer.lock().unwrap() = Some(answer);
        let response = h.send_sms(MOBILE).await;
        let now = h.clock.now();
        let flag = h.store.get(&keys::send_flag(&mobile()), now).await.unwrap();
        let code = h.store.get(&keys::sms_code(&mobile()), now).await.unwrap();
        assert_eq!(flag.is_some(), code.is_some(), "the flag and the code go together");
        *sender.answer.lock().unwrap() = None;
        let next = h.send_sms(MOBILE).await;
        let retry_after = response.header("retry-after").map(str::to_owned);
        (response.status, response.error(), retry_after, flag.is_some(), next.status)
    }

    async fn a_provider_side_refusal_of_every_provider_is_a_502_with_everything_given_back<S: Store + 'static>(
        store: Arc<S>,
    ) {
        assert_eq!(outcome(store, provider_side).await, (502, "sms_failed".into(), None, false, 200));
    }

    async fn a_number_side_limit_is_a_429_sms_provider_limit_with_everything_given_back<S: Store + 'static>(
        store: Arc<S>,
    ) {
        let expected = (429, "sms_provider_limit".into(), Some("180".into()), false, 200);
        assert_eq!(outcome(store, number_limit).await, expected);
    }

    async fn a_number_refused_as_invalid_is_a_400_invalid_mobile_with_everything_given_back<S: Store + 'static>(
        store: Arc<S>,
    ) {
        assert_eq!(outcome(store, number_invalid).await, (400, "invalid_mobile".into(), None, false, 200));
    }

    async fn an_unknown_outcome_is_a_502_that_keeps_the_cooldown<S: Store + 'static>(store: Arc<S>) {
        assert_eq!(outcome(store, unknown).await, (502, "sms_failed".into(), Some("180".into()), true, 429));
    }

    tests::on_both_stores!(
        a_provider_side_refusal_of_every_provider_is_a_502_with_everything_given_back,
        a_number_side_limit_is_a_429_sms_provider_limit_with_everything_given_back,
        a_number_refused_as_invalid_is_a_400_invalid_mobile_with_everything_given_back,
        an_unknown_outcome_is_a_502_that_keeps_the_cooldown,
    );
}
