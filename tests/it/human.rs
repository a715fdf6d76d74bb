//! The human checks (`CAPTCHA_PROVIDER`): the Tencent Cloud captcha and
//! GeeTest v4 clients against loopback servers that check what the services
//! check, every class of answer; then the SMS send through each on both
//! stores: a valid pass sends, a reused, forged or mismatched one is a 4xx
//! and sends nothing, a stalled or unreachable verifier is a 503 and sends
//! nothing; the password login past its name's failures (and closing the
//! account by password) through each the same way: a valid pass from the
//! client's address logs in once, a forged, mismatched or spent one and a
//! stalled or unreachable verifier never do, asking the provider nothing for
//! a spent one; and the built-in image's look-alike characters.

use serde_json::{Value, json};
use shared::clock::Clock;
use shared::config::VerifierConfig;
use shared::domain::{CaptchaAnswer, CaptchaId};
use shared::human::{AnyVerifier, GeetestClient, Proof, TencentCaptchaClient, Verdict, Verifier, VerifierError};
use shared::service::keys;
use shared::sms::{ClientOptions, ConsoleSender};
use shared::store::Store;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;
use tests::geetest::{self, GeetestServer};
use tests::harness::{Harness, TestResponse, config};
use tests::on_both_stores;
use tests::tencent_captcha::{self, TencentCaptchaServer, code};

/// The address the harness's requests come from.
const CLIENT: &str = "127.0.0.9";
const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9));
const OTHER_CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 77));
const MOBILE: &str = "13800138000";
const OTHER_MOBILE: &str = "13900139000";
/// The timeout the stalled cases take, so no test waits the real 5 s.
const TIMEOUT: Duration = Duration::from_millis(300);

fn options() -> ClientOptions {
    ClientOptions { timeout: TIMEOUT, ..ClientOptions::default() }
}

fn tencent_proof(ticket: &str, randstr: &str) -> Proof {
    Proof::Tencent { ticket: ticket.to_owned(), randstr: randstr.to_owned() }
}

fn geetest_proof(pass: &geetest::Pass) -> Proof {
    Proof::Geetest {
        lot_number: pass.lot_number.clone(),
        captcha_output: pass.captcha_output.clone(),
        pass_token: pass.pass_token.clone(),
        gen_time: pass.gen_time.clone(),
    }
}

fn is_unavailable(result: &Result<Verdict, VerifierError>) -> bool {
    result.is_err()
}

fn is_fail(result: &Result<Verdict, VerifierError>) -> bool {
    matches!(result, Ok(Verdict::Fail { .. }))
}

// --- The Tencent Cloud captcha client -------------------------------------

#[tokio::test]
async fn tencent_passes_a_ticket_it_issued_to_that_address_signed_for_captcha() {
    let server = TencentCaptchaServer::start().await;
    let client = TencentCaptchaClient::new(server.config(), options());
    let (ticket, randstr) = server.issue(CLIENT);
    let verdict = client.verify(&tencent_proof(&ticket, &randstr), None, Some(CLIENT)).await;
    assert_eq!(verdict.unwrap(), Verdict::Pass, "{:?}", server.refusals());
    assert_eq!(server.passed(), std::slice::from_ref(&ticket));
    // The service itself would pass it again: spending it once is ours.
    assert_eq!(client.verify(&tencent_proof(&ticket, &randstr), None, Some(CLIENT)).await.unwrap(), Verdict::Pass);
}

#[tokio::test]
async fn tencent_refuses_a_forged_ticket_another_randstr_and_another_address() {
    let server = TencentCaptchaServer::start().await;
    let client = TencentCaptchaClient::new(server.config(), options());
    let (ticket, randstr) = server.issue(CLIENT);
    for (proof, ip, expected) in [
        (tencent_proof("t03forged*", &randstr), CLIENT, code::DECRYPT_FAIL),
        (tencent_proof(&ticket, "@other"), CLIENT, code::RANDSTR_MISMATCH),
        (tencent_proof(&ticket, &randstr), "203.0.113.5", code::IP_MISMATCH),
    ] {
        let verdict = client.verify(&proof, None, Some(ip)).await;
        assert!(is_fail(&verdict), "{expected}: {verdict:?}");
        assert!(server.refusals().last().unwrap().starts_with(&format!("{expected}:")), "{:?}", server.refusals());
    }
    assert!(server.passed().is_empty());
}

#[tokio::test]
async fn tencent_refusing_our_keys_or_failing_inside_is_unavailable_never_a_pass() {
    let server = TencentCaptchaServer::start().await;
    let (ticket, randstr) = server.issue(CLIENT);
    let proof = tencent_proof(&ticket, &randstr);
    let configs = [
        shared::config::TencentCaptchaConfig { secret_key: "wrong".to_owned().into(), ..server.config() },
        shared::config::TencentCaptchaConfig { secret_id: "AKIDother".to_owned(), ..server.config() },
        shared::config::TencentCaptchaConfig { app_secret_key: "wrong".to_owned().into(), ..server.config() },
        shared::config::TencentCaptchaConfig { app_id: 1, ..server.config() },
    ];
    for config in configs {
        let verdict = TencentCaptchaClient::new(config, options()).verify(&proof, None, Some(CLIENT)).await;
        assert!(is_unavailable(&verdict), "{verdict:?}");
    }
    let refusals = server.refusals();
    assert!(refusals[0].starts_with("AuthFailure.SignatureFailure"), "{refusals:?}");
    assert!(refusals[1].starts_with("AuthFailure.SecretIdNotFound"), "{refusals:?}");
    assert!(refusals[2].starts_with("100:") && refusals[3].starts_with("100:"), "{refusals:?}");
    let client = TencentCaptchaClient::new(server.config(), options());
    for mode in [
        tencent_captcha::Mode::Code(code::INTERNAL_ERROR),
        tencent_captcha::Mode::ServerError,
        tencent_captcha::Mode::Garbage,
        tencent_captcha::Mode::Stall(TIMEOUT * 20),
    ] {
        server.set_mode(mode.clone());
        let verdict = client.verify(&proof, None, Some(CLIENT)).await;
        assert!(is_unavailable(&verdict), "{mode:?}: {verdict:?}");
    }
    let closed = shared::config::TencentCaptchaConfig { base_url: tests::faults::closed_port_url(), ..server.config() };
    let error = TencentCaptchaClient::new(closed, options()).verify(&proof, None, Some(CLIENT)).await.unwrap_err();
    let shown = format!("{error} {error:?} {}", shared::http::cause_chain(&error));
    for secret in [tencent_captcha::SECRET_KEY, tencent_captcha::APP_SECRET_KEY, ticket.as_str()] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[tokio::test]
async fn tencent_refuses_a_clock_off_by_more_than_5_minutes() {
    let server = TencentCaptchaServer::start().await;
    let clock = Arc::new(shared::clock::ManualClock::new(shared::clock::SystemClock.now() + 6 * 60));
    let client = TencentCaptchaClient::new(server.config(), ClientOptions { clock, ..options() });
    let (ticket, randstr) = server.issue(CLIENT);
    assert!(is_unavailable(&client.verify(&tencent_proof(&ticket, &randstr), None, Some(CLIENT)).await));
    assert!(server.refusals()[0].starts_with("AuthFailure.SignatureExpire"), "{:?}", server.refusals());
}

// --- The GeeTest v4 client -------------------------------------------------

#[tokio::test]
async fn geetest_passes_the_four_fields_it_issued_with_the_sign_token_of_our_key() {
    let server = GeetestServer::start().await;
    let client = GeetestClient::new(server.config(), options());
    let pass = server.issue();
    assert_eq!(
        client.verify(&geetest_proof(&pass), None, None).await.unwrap(),
        Verdict::Pass,
        "{:?}",
        server.refusals()
    );
    assert_eq!(
        client.verify(&geetest_proof(&pass), None, None).await.unwrap(),
        Verdict::Pass,
        "the service's own reuse"
    );
    assert_eq!(server.passed(), [pass.lot_number.clone(), pass.lot_number]);
}

#[tokio::test]
async fn geetest_refuses_forged_or_mixed_fields_and_a_sign_token_of_another_key() {
    let server = GeetestServer::start().await;
    let client = GeetestClient::new(server.config(), options());
    let (pass, other) = (server.issue(), server.issue());
    let forged = geetest::Pass { lot_number: "f".repeat(32), ..pass.clone() };
    let mixed = geetest::Pass { pass_token: other.pass_token.clone(), ..pass.clone() };
    let output = geetest::Pass { captcha_output: other.captcha_output.clone(), ..pass.clone() };
    for proof in [&forged, &mixed, &output].map(geetest_proof) {
        let verdict = client.verify(&proof, None, None).await;
        assert!(is_fail(&verdict), "{verdict:?}");
    }
    let wrong_key = GeetestClient::new(
        shared::config::GeetestConfig { captcha_key: "wrong".to_owned().into(), ..server.config() },
        options(),
    );
    assert!(is_fail(&wrong_key.verify(&geetest_proof(&pass), None, None).await));
    assert_eq!(
        server.refusals(),
        [
            "fail: lot_number is not found",
            "fail: pass_token check failed",
            "fail: captcha_output check failed",
            "fail: sign_token check failed"
        ]
    );
    assert!(server.passed().is_empty());
}

#[tokio::test]
async fn geetest_not_judging_is_unavailable_never_a_pass() {
    let server = GeetestServer::start().await;
    let pass = server.issue();
    let proof = geetest_proof(&pass);
    let other_id = GeetestClient::new(
        shared::config::GeetestConfig { captcha_id: "another".to_owned(), ..server.config() },
        options(),
    );
    assert!(is_unavailable(&other_id.verify(&proof, None, None).await));
    assert!(server.refusals()[0].starts_with("-50101"), "{:?}", server.refusals());
    let client = GeetestClient::new(server.config(), options());
    for mode in [
        geetest::Mode::Error("-50005"),
        geetest::Mode::ServerError,
        geetest::Mode::Garbage,
        geetest::Mode::Stall(TIMEOUT * 20),
    ] {
        server.set_mode(mode.clone());
        let verdict = client.verify(&proof, None, None).await;
        assert!(is_unavailable(&verdict), "{mode:?}: {verdict:?}");
    }
    let closed = shared::config::GeetestConfig { base_url: tests::faults::closed_port_url(), ..server.config() };
    let error = GeetestClient::new(closed, options()).verify(&proof, None, None).await.unwrap_err();
    let shown = format!("{error} {error:?} {}", shared::http::cause_chain(&error));
    for secret in [geetest::CAPTCHA_KEY, pass.pass_token.as_str()] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

// --- The built-in image ----------------------------------------------------

#[tokio::test]
async fn the_builtin_image_takes_look_alikes_and_still_refuses_a_wrong_answer() {
    let verifier = AnyVerifier::with_options(&VerifierConfig::Builtin, ClientOptions::default());
    let id = CaptchaId::parse("3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c").unwrap();
    let judge = |answer: &str| {
        let proof = Proof::Image { id: id.clone(), answer: CaptchaAnswer::parse(answer).unwrap() };
        let verifier = verifier.clone();
        async move { verifier.verify(&proof, Some("ktc2"), None).await.unwrap() }
    };
    for read in ["ktc2", "KTC2", "X7G2", "xtcz", "K7C2"] {
        assert_eq!(judge(read).await, Verdict::Pass, "{read}");
    }
    for wrong in ["ktc3", "ktc", "ktc22", "htc2", "k7c3", "kyc2"] {
        assert!(matches!(judge(wrong).await, Verdict::Fail { .. }), "{wrong}");
    }
}

// --- The send through each, on both stores --------------------------------

fn harness<S: Store + 'static>(store: Arc<S>, vars: &[(&'static str, String)]) -> Harness<S> {
    let mut vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("CAPTCHA_TIMEOUT_MS", "300"));
    Harness::with_config(store, Arc::new(ConsoleSender::new()), &config(&vars))
}

fn tencent_query(ticket: &str, randstr: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("ticket", ticket)
        .append_pair("randstr", randstr)
        .finish()
}

fn sent_to<S: Store>(h: &Harness<S>, mobile: &str) -> usize {
    h.sender.sent().iter().filter(|sms| sms.to.as_str() == mobile).count()
}

async fn send<S: Store + 'static>(h: &Harness<S>, mobile: &str, query: &str) -> (u16, Value) {
    let response = h.get(&format!("/sms_codes/{mobile}/?{query}")).await;
    (response.status, response.json())
}

async fn a_tencent_pass_sends_once_and_is_spent<S: Store + 'static>(store: Arc<S>) {
    let server = TencentCaptchaServer::start().await;
    let h = harness(store, &server.env());
    let (ticket, randstr) = server.issue(CLIENT);
    let query = tencent_query(&ticket, &randstr);
    let (status, body) = send(&h, MOBILE, &query).await;
    assert_eq!(status, 200, "{body} {:?}", server.refusals());
    assert_eq!((sent_to(&h, MOBILE), server.passed().len()), (1, 1));
    // The same send again (an app that lost the answer) is the first one's answer, asking no one.
    let (status, again) = send(&h, MOBILE, &query).await;
    assert_eq!((status, &again["sms_code_id"]), (200, &body["sms_code_id"]), "{again}");
    assert_eq!((sent_to(&h, MOBILE), server.received()), (1, 1));
    // Anything else with that ticket finds it spent, though the service would pass it again.
    let (status, reused) = send(&h, OTHER_MOBILE, &query).await;
    assert_eq!((status, reused["error"].as_str()), (400, Some("captcha_expired")), "{reused}");
    let reused =
        h.request_from(OTHER_CLIENT, "GET", &format!("/sms_codes/{MOBILE}/?{query}&purpose=login"), None, None).await;
    assert_eq!((reused.status, reused.error().as_str()), (400, "captcha_expired"));
    assert_eq!((sent_to(&h, OTHER_MOBILE), server.received()), (0, 1));
    // The pass is kept under a hash of the ticket, never the ticket itself.
    let key = keys::pass("tencent", &ticket);
    let marker = h.store.get(&key, h.clock.now()).await.unwrap().expect("the spent pass is kept");
    assert!(!format!("{marker:?}").contains(&ticket));
    // And the code it sent registers.
    let code = h.last_code(MOBILE);
    let registered = h.register_with_id("alice_01", MOBILE, &code, body["sms_code_id"].as_str().unwrap()).await;
    assert_eq!(registered.status, 200, "{:?}", registered.json());
    // Past the cooldown the same send is no repeat: the pass stays spent.
    h.clock.advance(181);
    let (status, late) = send(&h, MOBILE, &query).await;
    assert_eq!((status, late["error"].as_str()), (400, Some("captcha_expired")), "{late}");
    assert_eq!((sent_to(&h, MOBILE), server.received()), (1, 1));
}

async fn a_forged_or_mismatched_tencent_pass_is_a_400_and_sends_nothing<S: Store + 'static>(store: Arc<S>) {
    let server = TencentCaptchaServer::start().await;
    let h = harness(store, &server.env());
    let (ticket, randstr) = server.issue(CLIENT);
    let (status, body) = send(&h, MOBILE, &tencent_query("t03forged*", &randstr)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("captcha_incorrect")), "{body}");
    let (status, body) = send(&h, MOBILE, &tencent_query(&ticket, "@other")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("captcha_incorrect")), "{body}");
    // Issued to another address: the service sees UserIp as the API saw the client.
    let (other_ticket, other_randstr) = server.issue("203.0.113.5");
    let (status, body) = send(&h, MOBILE, &tencent_query(&other_ticket, &other_randstr)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("captcha_incorrect")), "{body}");
    // Missing or malformed fields are named before anyone is asked.
    for (query, key) in [
        (format!("ticket={ticket}"), "missing_parameters"),
        (format!("image_code=abcd&image_code_id={}", uuid::Uuid::new_v4()), "missing_parameters"),
        (tencent_query(&ticket, "r s"), "invalid_captcha_response"),
    ] {
        let (status, body) = send(&h, MOBILE, &query).await;
        assert_eq!((status, body["error"].as_str()), (400, Some(key)), "{query}: {body}");
    }
    assert_eq!((sent_to(&h, MOBILE), server.received()), (0, 3));
    let refusals = server.refusals();
    assert!(refusals.iter().all(|r| !r.starts_with("AuthFailure")), "every request was signed right: {refusals:?}");
}

async fn a_stalled_or_unreachable_tencent_is_a_503_and_sends_nothing<S: Store + 'static>(store: Arc<S>) {
    let server = TencentCaptchaServer::start().await;
    let h = harness(Arc::clone(&store), &server.env());
    server.set_mode(tencent_captcha::Mode::Stall(TIMEOUT * 20));
    let (ticket, randstr) = server.issue(CLIENT);
    let (status, body) = send(&h, MOBILE, &tencent_query(&ticket, &randstr)).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("captcha_unavailable")), "{body}");
    server.set_mode(tencent_captcha::Mode::Code(code::INTERNAL_ERROR));
    let (ticket, randstr) = server.issue(CLIENT);
    let (status, body) = send(&h, MOBILE, &tencent_query(&ticket, &randstr)).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("captcha_unavailable")), "{body}");
    assert_eq!(sent_to(&h, MOBILE), 0);

    let mut down = server.env().to_vec();
    down.retain(|(name, _)| *name != "TENCENT_CAPTCHA_BASE_URL");
    down.push(("TENCENT_CAPTCHA_BASE_URL", tests::faults::closed_port_url()));
    let h = harness(store, &down);
    let (ticket, randstr) = server.issue(CLIENT);
    let (status, body) = send(&h, MOBILE, &tencent_query(&ticket, &randstr)).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("captcha_unavailable")), "{body}");
    assert_eq!(sent_to(&h, MOBILE), 0);
}

async fn a_geetest_pass_sends_once_and_is_spent<S: Store + 'static>(store: Arc<S>) {
    let server = GeetestServer::start().await;
    let h = harness(store, &server.env());
    let pass = server.issue();
    let (status, body) = send(&h, MOBILE, &pass.query()).await;
    assert_eq!(status, 200, "{body} {:?}", server.refusals());
    assert_eq!((sent_to(&h, MOBILE), server.passed().len()), (1, 1));
    let (status, reused) = send(&h, OTHER_MOBILE, &pass.query()).await;
    assert_eq!((status, reused["error"].as_str()), (400, Some("captcha_expired")), "{reused}");
    // Another pass_token on the same lot_number is the same pass, spent.
    let other = geetest::Pass { pass_token: server.issue().pass_token, ..pass.clone() };
    let (status, reused) = send(&h, OTHER_MOBILE, &other.query()).await;
    assert_eq!((status, reused["error"].as_str()), (400, Some("captcha_expired")), "{reused}");
    assert_eq!((sent_to(&h, OTHER_MOBILE), server.received()), (0, 1));
}

async fn a_forged_or_mismatched_geetest_pass_is_a_400_and_sends_nothing<S: Store + 'static>(store: Arc<S>) {
    let server = GeetestServer::start().await;
    let h = harness(Arc::clone(&store), &server.env());
    let (pass, other) = (server.issue(), server.issue());
    let forged = geetest::Pass { lot_number: "f".repeat(32), ..pass.clone() };
    let mixed = geetest::Pass { pass_token: other.pass_token.clone(), ..pass.clone() };
    for bad in [forged, mixed] {
        let (status, body) = send(&h, MOBILE, &bad.query()).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("captcha_incorrect")), "{body}");
    }
    let (status, body) =
        send(&h, MOBILE, &geetest::Pass { gen_time: "soon".to_owned(), ..other.clone() }.query()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_captcha_response")), "{body}");
    // A deployment with another captcha_key signs sign_tokens GeeTest refuses.
    let mut wrong_key = server.env().to_vec();
    wrong_key.retain(|(name, _)| *name != "GEETEST_CAPTCHA_KEY");
    wrong_key.push(("GEETEST_CAPTCHA_KEY", "another key".to_owned()));
    let wrong = harness(store, &wrong_key);
    let (status, body) = send(&wrong, MOBILE, &other.query()).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("captcha_incorrect")), "{body}");
    assert_eq!(server.refusals().last().map(String::as_str), Some("fail: sign_token check failed"));
    assert_eq!((sent_to(&h, MOBILE) + sent_to(&wrong, MOBILE), server.passed().len()), (0, 0));
}

async fn a_stalled_or_unreachable_geetest_is_a_503_and_sends_nothing<S: Store + 'static>(store: Arc<S>) {
    let server = GeetestServer::start().await;
    let h = harness(Arc::clone(&store), &server.env());
    for mode in [geetest::Mode::Stall(TIMEOUT * 20), geetest::Mode::Error("-50005"), geetest::Mode::ServerError] {
        server.set_mode(mode.clone());
        let (status, body) = send(&h, MOBILE, &server.issue().query()).await;
        assert_eq!((status, body["error"].as_str()), (503, Some("captcha_unavailable")), "{mode:?}: {body}");
    }
    let mut down = server.env().to_vec();
    down.retain(|(name, _)| *name != "GEETEST_BASE_URL");
    down.push(("GEETEST_BASE_URL", tests::faults::closed_port_url()));
    let h2 = harness(store, &down);
    let (status, body) = send(&h2, MOBILE, &server.issue().query()).await;
    assert_eq!((status, body["error"].as_str()), (503, Some("captcha_unavailable")), "{body}");
    assert_eq!(sent_to(&h, MOBILE) + sent_to(&h2, MOBILE), 0);
}

async fn the_builtin_send_takes_look_alikes_once<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    let id = uuid::Uuid::new_v4().to_string();
    tests::seed::captcha_at(&*h.store, &id, "ktc2", h.clock.now()).await;
    let (status, body) = send(&h, MOBILE, &format!("image_code=X7G2&image_code_id={id}")).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(&h, OTHER_MOBILE, &format!("image_code=ktc2&image_code_id={id}")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("captcha_expired")), "judged once: {body}");
    let id = uuid::Uuid::new_v4().to_string();
    tests::seed::captcha_at(&*h.store, &id, "ktc2", h.clock.now()).await;
    let (status, body) = send(&h, OTHER_MOBILE, &format!("image_code=X7G3&image_code_id={id}")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("captcha_incorrect")), "{body}");
    assert_eq!((sent_to(&h, MOBILE), sent_to(&h, OTHER_MOBILE)), (1, 0));
}

// --- The login past its failures through each, on both stores ------------

const OWNER: &str = "alice_01";
const PASSWORD: &str = "correct horse battery";
const WRONG: &str = "not the password";

/// The provider's variables, with the client's own failures out of the way
/// (its cap before a captcha is its hard cap): only the name asks for one.
fn login_harness<S: Store + 'static>(store: Arc<S>, env: &[(&'static str, String)]) -> Harness<S> {
    let mut vars = env.to_vec();
    vars.push(("LOGIN_FAILURES_PER_IP_BEFORE_CAPTCHA", "50".to_owned()));
    harness(store, &vars)
}

/// `env` with `name` set to `value` instead.
fn with_var(env: &[(&'static str, String)], name: &'static str, value: String) -> Vec<(&'static str, String)> {
    let mut vars: Vec<_> = env.iter().filter(|(n, _)| *n != name).cloned().collect();
    vars.push((name, value));
    vars
}

fn tencent_fields(ticket: &str, randstr: &str) -> Value {
    json!({"ticket": ticket, "randstr": randstr})
}

fn geetest_fields(pass: &geetest::Pass) -> Value {
    json!({"lot_number": pass.lot_number, "captcha_output": pass.captcha_output,
        "pass_token": pass.pass_token, "gen_time": pass.gen_time})
}

/// `fields` (a JSON object, maybe empty) added to `form`.
fn with_fields(mut form: Value, fields: &Value) -> Value {
    form.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    form
}

/// The owner's password login from `ip` carrying the human check's `fields`.
async fn login<S: Store + 'static>(h: &Harness<S>, ip: IpAddr, password: &str, fields: &Value) -> TestResponse {
    let form = with_fields(json!({"account": OWNER, "password": password}), fields);
    h.request_from(ip, "POST", "/login/", None, Some(&form)).await
}

/// Refused with `key`, and no session.
fn assert_refused(response: &TestResponse, status: u16, key: &str) {
    assert_eq!((response.status, response.error().as_str()), (status, key), "{:?}", response.json());
    assert!(response.session_cookie().is_none(), "a refusal starts no session");
}

/// A login that started a live session of the owner's; its token.
async fn assert_logged_in<S: Store + 'static>(h: &Harness<S>, response: &TestResponse) -> String {
    assert_eq!(response.status, 200, "{:?}", response.json());
    let token = response.session_cookie().expect("a session cookie");
    let session = h.request("GET", "/session", Some(&token), None).await;
    assert_eq!((session.status, &session.json()["username"]), (200, &json!(OWNER)), "{:?}", session.json());
    token
}

/// Five wrong passwords under the owner's name from the client: the right
/// one alone is then `captcha_required`.
async fn fail_the_name<S: Store + 'static>(h: &Harness<S>) {
    for _ in 0..5 {
        assert_refused(&login(h, CLIENT_IP, WRONG, &json!({})).await, 401, "login_failed");
    }
    assert_refused(&login(h, CLIENT_IP, PASSWORD, &json!({})).await, 429, "captcha_required");
}

async fn owner_needing_a_captcha<S: Store + 'static>(h: &Harness<S>) {
    tests::seed::user(&*h.store, OWNER, MOBILE, PASSWORD).await;
    fail_the_name(h).await;
}

/// The client's refused human checks this hour.
async fn captcha_failures<S: Store + 'static>(h: &Harness<S>, ip: &str) -> i64 {
    let now = h.clock.now();
    let counter = format!("limit#captcha-failures-ip-hour#{ip}#{}", now.div_euclid(3_600));
    h.store.get(&counter, now).await.unwrap().map_or(0, |item| item.n(keys::COUNT).unwrap())
}

async fn a_tencent_pass_logs_in_past_the_names_failures_once<S: Store + 'static>(store: Arc<S>) {
    let server = TencentCaptchaServer::start().await;
    let h = login_harness(store, &server.env());
    owner_needing_a_captcha(&h).await;
    assert_eq!(server.received(), 0, "no fields, nobody asked");
    let (ticket, randstr) = server.issue(CLIENT);
    let pass = tencent_fields(&ticket, &randstr);
    assert_logged_in(&h, &login(&h, CLIENT_IP, PASSWORD, &pass).await).await;
    assert_eq!((server.received(), server.passed()), (1, vec![ticket.clone()]), "{:?}", server.refusals());
    // Asked again, the spent ticket opens no login, though the service would pass it again.
    fail_the_name(&h).await;
    assert_refused(&login(&h, CLIENT_IP, PASSWORD, &pass).await, 400, "captcha_expired");
    assert_refused(&login(&h, OTHER_CLIENT, PASSWORD, &pass).await, 400, "captcha_expired");
    assert_eq!(server.received(), 1, "a spent pass asks the provider nothing");
    assert_eq!(captcha_failures(&h, CLIENT).await, 1, "the reuse counts as the client's captcha failure");
    assert_refused(&login(&h, CLIENT_IP, PASSWORD, &json!({})).await, 429, "captcha_required");
    let (ticket, randstr) = server.issue(CLIENT);
    assert_logged_in(&h, &login(&h, CLIENT_IP, PASSWORD, &tencent_fields(&ticket, &randstr)).await).await;
    assert_eq!(server.received(), 2);
}

async fn a_forged_or_mismatched_tencent_pass_never_logs_in<S: Store + 'static>(store: Arc<S>) {
    let server = TencentCaptchaServer::start().await;
    let h = login_harness(store, &server.env());
    owner_needing_a_captcha(&h).await;
    let (ticket, randstr) = server.issue(CLIENT);
    let (other_ticket, _) = server.issue(CLIENT);
    let (elsewhere, elsewhere_randstr) = server.issue("203.0.113.5");
    let (theirs, theirs_randstr) = server.issue(CLIENT);
    for (ip, fields, expected) in [
        (CLIENT_IP, tencent_fields("t03forged*", &randstr), code::DECRYPT_FAIL),
        (CLIENT_IP, tencent_fields(&other_ticket, "@other"), code::RANDSTR_MISMATCH),
        (CLIENT_IP, tencent_fields(&elsewhere, &elsewhere_randstr), code::IP_MISMATCH),
        // Issued to the client, carried by another: UserIp is the address the API saw.
        (OTHER_CLIENT, tencent_fields(&theirs, &theirs_randstr), code::IP_MISMATCH),
    ] {
        assert_refused(&login(&h, ip, PASSWORD, &fields).await, 400, "captcha_incorrect");
        let refusals = server.refusals();
        assert!(refusals.last().is_some_and(|r| r.starts_with(&format!("{expected}:"))), "{expected}: {refusals:?}");
    }
    // A malformed one is named before anyone is asked.
    assert_refused(
        &login(&h, CLIENT_IP, PASSWORD, &tencent_fields(&ticket, "r s")).await,
        400,
        "invalid_captcha_response",
    );
    assert_refused(&login(&h, CLIENT_IP, PASSWORD, &json!({"ticket": ticket})).await, 400, "missing_parameters");
    assert_eq!((server.received(), server.passed().len()), (4, 0));
    assert_eq!(captcha_failures(&h, CLIENT).await, 3);
    assert_eq!(captcha_failures(&h, "127.0.0.77").await, 1);
    // None of that cleared the name's failures; the client's own pass still gets her in.
    assert_refused(&login(&h, CLIENT_IP, PASSWORD, &json!({})).await, 429, "captcha_required");
    assert_logged_in(&h, &login(&h, CLIENT_IP, PASSWORD, &tencent_fields(&ticket, &randstr)).await).await;
}

async fn a_stalled_or_unreachable_tencent_never_logs_in<S: Store + 'static>(store: Arc<S>) {
    let server = TencentCaptchaServer::start().await;
    let h = login_harness(Arc::clone(&store), &server.env());
    owner_needing_a_captcha(&h).await;
    for mode in [
        tencent_captcha::Mode::Stall(TIMEOUT * 20),
        tencent_captcha::Mode::Code(code::INTERNAL_ERROR),
        tencent_captcha::Mode::ServerError,
    ] {
        server.set_mode(mode.clone());
        let (ticket, randstr) = server.issue(CLIENT);
        let response = login(&h, CLIENT_IP, PASSWORD, &tencent_fields(&ticket, &randstr)).await;
        assert_refused(&response, 503, "captcha_unavailable");
    }
    server.set_mode(tencent_captcha::Mode::Normal);
    let down =
        login_harness(store, &with_var(&server.env(), "TENCENT_CAPTCHA_BASE_URL", tests::faults::closed_port_url()));
    let (ticket, randstr) = server.issue(CLIENT);
    assert_refused(
        &login(&down, CLIENT_IP, PASSWORD, &tencent_fields(&ticket, &randstr)).await,
        503,
        "captcha_unavailable",
    );
    // The stalled one was judged a pass, too late: the closed port heard nothing.
    assert_eq!((server.received(), server.passed().len()), (3, 1), "{:?}", server.refusals());
    assert_refused(&login(&h, CLIENT_IP, PASSWORD, &json!({})).await, 429, "captcha_required");
    let (ticket, randstr) = server.issue(CLIENT);
    assert_logged_in(&h, &login(&h, CLIENT_IP, PASSWORD, &tencent_fields(&ticket, &randstr)).await).await;
}

async fn a_geetest_pass_logs_in_past_the_names_failures_once<S: Store + 'static>(store: Arc<S>) {
    let server = GeetestServer::start().await;
    let h = login_harness(store, &server.env());
    owner_needing_a_captcha(&h).await;
    assert_eq!(server.received(), 0, "no fields, nobody asked");
    let pass = server.issue();
    assert_logged_in(&h, &login(&h, CLIENT_IP, PASSWORD, &geetest_fields(&pass)).await).await;
    assert_eq!((server.received(), server.passed()), (1, vec![pass.lot_number.clone()]), "{:?}", server.refusals());
    fail_the_name(&h).await;
    assert_refused(&login(&h, CLIENT_IP, PASSWORD, &geetest_fields(&pass)).await, 400, "captcha_expired");
    // Another pass_token on the same lot_number is the same pass, spent.
    let other = geetest::Pass { pass_token: server.issue().pass_token, ..pass.clone() };
    assert_refused(&login(&h, CLIENT_IP, PASSWORD, &geetest_fields(&other)).await, 400, "captcha_expired");
    assert_eq!(server.received(), 1, "a spent pass asks the provider nothing");
    assert_refused(&login(&h, CLIENT_IP, PASSWORD, &json!({})).await, 429, "captcha_required");
    assert_logged_in(&h, &login(&h, CLIENT_IP, PASSWORD, &geetest_fields(&server.issue())).await).await;
    assert_eq!(server.received(), 2);
}

async fn a_forged_or_mismatched_geetest_pass_never_logs_in<S: Store + 'static>(store: Arc<S>) {
    let server = GeetestServer::start().await;
    let h = login_harness(Arc::clone(&store), &server.env());
    owner_needing_a_captcha(&h).await;
    let (good, a, b, c, d) = (server.issue(), server.issue(), server.issue(), server.issue(), server.issue());
    for (bad, expected) in [
        (geetest::Pass { lot_number: "f".repeat(32), ..a.clone() }, "fail: lot_number is not found"),
        (geetest::Pass { pass_token: a.pass_token.clone(), ..b.clone() }, "fail: pass_token check failed"),
        (geetest::Pass { captcha_output: a.captcha_output.clone(), ..c.clone() }, "fail: captcha_output check failed"),
    ] {
        assert_refused(&login(&h, CLIENT_IP, PASSWORD, &geetest_fields(&bad)).await, 400, "captcha_incorrect");
        assert_eq!(server.refusals().last().map(String::as_str), Some(expected));
    }
    let malformed = geetest::Pass { gen_time: "soon".to_owned(), ..good.clone() };
    assert_refused(&login(&h, CLIENT_IP, PASSWORD, &geetest_fields(&malformed)).await, 400, "invalid_captcha_response");
    let partial = json!({"lot_number": good.lot_number, "pass_token": good.pass_token});
    assert_refused(&login(&h, CLIENT_IP, PASSWORD, &partial).await, 400, "missing_parameters");
    assert_eq!(server.received(), 3, "nobody asked about a malformed or partial one");
    // A deployment with another captcha_key signs sign_tokens GeeTest refuses.
    let wrong = login_harness(store, &with_var(&server.env(), "GEETEST_CAPTCHA_KEY", "another key".to_owned()));
    assert_refused(&login(&wrong, CLIENT_IP, PASSWORD, &geetest_fields(&d)).await, 400, "captcha_incorrect");
    assert_eq!(server.refusals().last().map(String::as_str), Some("fail: sign_token check failed"));
    assert!(server.passed().is_empty());
    assert_eq!(captcha_failures(&h, CLIENT).await, 4);
    assert_refused(&login(&h, CLIENT_IP, PASSWORD, &json!({})).await, 429, "captcha_required");
    assert_logged_in(&h, &login(&h, CLIENT_IP, PASSWORD, &geetest_fields(&good)).await).await;
}

async fn a_stalled_or_unreachable_geetest_never_logs_in<S: Store + 'static>(store: Arc<S>) {
    let server = GeetestServer::start().await;
    let h = login_harness(Arc::clone(&store), &server.env());
    owner_needing_a_captcha(&h).await;
    for mode in [geetest::Mode::Stall(TIMEOUT * 20), geetest::Mode::Error("-50005"), geetest::Mode::ServerError] {
        server.set_mode(mode.clone());
        let response = login(&h, CLIENT_IP, PASSWORD, &geetest_fields(&server.issue())).await;
        assert_refused(&response, 503, "captcha_unavailable");
    }
    server.set_mode(geetest::Mode::Normal);
    let down = login_harness(store, &with_var(&server.env(), "GEETEST_BASE_URL", tests::faults::closed_port_url()));
    assert_refused(
        &login(&down, CLIENT_IP, PASSWORD, &geetest_fields(&server.issue())).await,
        503,
        "captcha_unavailable",
    );
    assert_refused(&login(&h, CLIENT_IP, PASSWORD, &json!({})).await, 429, "captcha_required");
    assert_logged_in(&h, &login(&h, CLIENT_IP, PASSWORD, &geetest_fields(&server.issue())).await).await;
}

/// Closing the account by password takes the same pass the same way: asked
/// for past the name's failures, refused forged or from elsewhere (the
/// account stays), and a valid one closes it, spent.
async fn closing_by_password_takes_a_tencent_pass_once_asked<S: Store + 'static>(store: Arc<S>) {
    let server = TencentCaptchaServer::start().await;
    let h = login_harness(store, &server.env());
    tests::seed::user(&*h.store, OWNER, MOBILE, PASSWORD).await;
    let token = assert_logged_in(&h, &login(&h, CLIENT_IP, PASSWORD, &json!({})).await).await;
    let close = |password: &'static str, fields: Value| {
        let (h, token) = (&h, token.clone());
        async move {
            let body = with_fields(json!({"password": password}), &fields);
            h.request_from(CLIENT_IP, "DELETE", "/account", Some(&token), Some(&body)).await
        }
    };
    for _ in 0..5 {
        assert_refused(&close(WRONG, json!({})).await, 401, "login_failed");
    }
    assert_refused(&close(PASSWORD, json!({})).await, 429, "captcha_required");
    let (ticket, randstr) = server.issue(CLIENT);
    let (elsewhere, elsewhere_randstr) = server.issue("203.0.113.5");
    assert_refused(&close(PASSWORD, tencent_fields("t03forged*", &randstr)).await, 400, "captcha_incorrect");
    assert_refused(&close(PASSWORD, tencent_fields(&elsewhere, &elsewhere_randstr)).await, 400, "captcha_incorrect");
    assert_eq!(h.request("GET", "/session", Some(&token), None).await.status, 200, "the account stays");
    let pass = tencent_fields(&ticket, &randstr);
    let closed = close(PASSWORD, pass.clone()).await;
    assert_eq!(closed.status, 200, "{:?} {:?}", closed.json(), server.refusals());
    assert_eq!(server.passed(), [ticket]);
    assert_eq!(h.request("GET", "/session", Some(&token), None).await.status, 401, "the account is gone");
    assert_refused(&login(&h, CLIENT_IP, PASSWORD, &pass).await, 400, "captcha_expired");
    assert_eq!(server.received(), 3, "the spent pass asked no one");
}

on_both_stores!(
    a_tencent_pass_sends_once_and_is_spent,
    a_forged_or_mismatched_tencent_pass_is_a_400_and_sends_nothing,
    a_stalled_or_unreachable_tencent_is_a_503_and_sends_nothing,
    a_geetest_pass_sends_once_and_is_spent,
    a_forged_or_mismatched_geetest_pass_is_a_400_and_sends_nothing,
    a_stalled_or_unreachable_geetest_is_a_503_and_sends_nothing,
    the_builtin_send_takes_look_alikes_once,
    a_tencent_pass_logs_in_past_the_names_failures_once,
    a_forged_or_mismatched_tencent_pass_never_logs_in,
    a_stalled_or_unreachable_tencent_never_logs_in,
    a_geetest_pass_logs_in_past_the_names_failures_once,
    a_forged_or_mismatched_geetest_pass_never_logs_in,
    a_stalled_or_unreachable_geetest_never_logs_in,
    closing_by_password_takes_a_tencent_pass_once_asked,
);
