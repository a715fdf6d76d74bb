//! Carrier one-tap login on both stores, through the local API against a
//! loopback `GetMobile` that checks the Aliyun signature and spends each
//! token once: a registered number logs in, a new one gets a signup ticket
//! that `/register/` takes once, for that number only; every refusal has
//! its key and writes nothing.

use serde_json::{Value, json};
use shared::clock::Clock;
use shared::domain::{Mobile, Username};
use shared::one_tap::{AnyCarrier, StandInCarrier};
use shared::service::keys;
use shared::sms::ConsoleSender;
use shared::store::Store;
use std::sync::Arc;
use tests::dypns::{DypnsServer, Mode};
use tests::harness::{Harness, TestResponse, config};
use tests::on_both_stores;

const MOBILE: &str = "13900001234";
const OTHER: &str = "13700005678";
const PASSWORD: &str = "correct horse battery";

fn assert_refused(response: &TestResponse, status: u16, key: &str) {
    assert_eq!((response.status, response.error().as_str()), (status, key), "{:?}", response.json());
}

/// The local API with one-tap through `server`, and `extra` variables.
fn harness<S: Store + 'static>(store: Arc<S>, server: &DypnsServer, extra: &[(&str, &str)]) -> Harness<S> {
    let env = server.env();
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    vars.extend_from_slice(extra);
    Harness::with_config(store, Arc::new(ConsoleSender::new()), &config(&vars))
}

async fn one_tap<S: Store + 'static>(h: &Harness<S>, token: &str) -> TestResponse {
    h.post("/one_tap_login/", &json!({"token": token})).await
}

async fn register_with_ticket<S: Store + 'static>(
    h: &Harness<S>,
    username: &str,
    mobile: &str,
    ticket: &str,
) -> TestResponse {
    let form = json!({
        "username": username, "password": PASSWORD, "password2": PASSWORD,
        "mobile": mobile, "signup_ticket": ticket, "allow": true
    });
    h.post("/register/", &form).await
}

/// A ticket for `mobile` from a one-tap of a fresh token.
async fn ticket_for<S: Store + 'static>(h: &Harness<S>, server: &DypnsServer, mobile: &str) -> String {
    let response = one_tap(h, &server.issue(mobile)).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    response.json()["signup_ticket"].as_str().expect("a new number gets a signup ticket").to_owned()
}

async fn has_account<S: Store + 'static>(h: &Harness<S>, username: &str, mobile: &str) -> (bool, bool) {
    let now = h.clock.now();
    let user = h.store.get(&keys::user(&Username::parse(username).unwrap()), now).await.unwrap();
    let mirror = h.store.get(&keys::mobile_guard(&Mobile::parse(mobile).unwrap()), now).await.unwrap();
    (user.is_some(), mirror.is_some())
}

async fn sign_up_by_sms<S: Store + 'static>(h: &Harness<S>, username: &str, mobile: &str) {
    assert_eq!(h.send_sms(mobile).await.status, 200);
    let response = h.register(username, mobile, &h.last_code(mobile)).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
}

async fn a_registered_number_logs_in_with_a_session_like_login<S: Store + 'static>(store: Arc<S>) {
    let server = DypnsServer::start().await;
    let h = harness(store, &server, &[]);
    sign_up_by_sms(&h, "alice_01", MOBILE).await;

    let response = one_tap(&h, &server.issue(MOBILE)).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    assert!(response.json().get("signup_ticket").is_none());
    let cookie = response.session_cookie().expect("a browser gets the cookie, as from /login/");
    let who = h.request("GET", "/session", Some(&cookie), None).await.json();
    assert_eq!((who["username"].as_str(), who["mobile"].as_str()), (Some("alice_01"), Some("139****1234")));

    // A native app asks for the token in the body, as on /login/.
    let response = h.post("/one_tap_login", &json!({"token": server.issue(MOBILE), "session": "token"})).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    assert!(response.session_cookie().is_none());
    let token = response.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(h.request_bearer("GET", "/session", &token, None).await.json()["username"], "alice_01");
    assert_eq!(server.exchanged(), [MOBILE, MOBILE]);
    assert!(server.refusals().is_empty(), "{:?}", server.refusals());
}

async fn a_new_number_gets_a_ticket_and_signs_up_with_it_without_an_sms<S: Store + 'static>(store: Arc<S>) {
    let server = DypnsServer::start().await;
    let h = harness(store, &server, &[]);
    let response = one_tap(&h, &server.issue(MOBILE)).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    assert!(response.session_cookie().is_none(), "no session before the account exists");
    let body = response.json();
    assert_eq!((body["code"].as_i64(), body["errmsg"].as_str()), (Some(0), Some("ok")));
    assert_eq!(body["mobile"], "139****1234");
    assert_eq!(body["expires_in"], 600);
    assert!(body.get("token").is_none());
    let ticket = body["signup_ticket"].as_str().unwrap();
    assert_eq!(ticket.len(), 43);
    assert_eq!(has_account(&h, "alice_01", MOBILE).await, (false, false));

    let response = register_with_ticket(&h, "alice_01", MOBILE, ticket).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    let cookie = response.session_cookie().unwrap();
    let who = h.request("GET", "/session", Some(&cookie), None).await.json();
    assert_eq!((who["username"].as_str(), who["mobile"].as_str()), (Some("alice_01"), Some("139****1234")));
    assert!(h.sender.last_code_for(&Mobile::parse(MOBILE).unwrap()).is_none(), "no SMS for a proven number");
    // The account is an ordinary one: its password works and one-tap now logs it in.
    let login = h.post("/login/", &json!({"account": MOBILE, "password": PASSWORD})).await;
    assert_eq!(login.status, 200, "{:?}", login.json());
    let again = one_tap(&h, &server.issue(MOBILE)).await;
    assert!(again.session_cookie().is_some() && again.json().get("signup_ticket").is_none());
}

async fn a_used_token_is_refused_and_writes_nothing<S: Store + 'static>(store: Arc<S>) {
    let server = DypnsServer::start().await;
    let h = harness(store, &server, &[]);
    let token = server.issue(MOBILE);
    let first = one_tap(&h, &token).await;
    assert_eq!(first.status, 200);
    for token in [token.as_str(), "STS.made-up-token"] {
        let refused = one_tap(&h, token).await;
        assert_refused(&refused, 401, "one_tap_refused");
        assert!(refused.session_cookie().is_none() && refused.json().get("signup_ticket").is_none());
    }
    assert_eq!(server.exchanged(), [MOBILE], "only the first exchange proved the number");
    assert_eq!(server.refusals().len(), 2, "{:?}", server.refusals());
    assert_eq!(has_account(&h, "alice_01", MOBILE).await, (false, false));
    assert_refused(&one_tap(&h, "").await, 400, "invalid_one_tap_token");
    assert_refused(&h.post("/one_tap_login/", &json!({"token": 12})).await, 400, "invalid_one_tap_token");
    assert_eq!(server.received(), 3, "a malformed token never reaches GetMobile");
}

async fn a_ticket_for_another_number_is_refused_and_stays_unspent<S: Store + 'static>(store: Arc<S>) {
    let server = DypnsServer::start().await;
    let h = harness(store, &server, &[]);
    let ticket = ticket_for(&h, &server, MOBILE).await;
    let refused = register_with_ticket(&h, "mallory_1", OTHER, &ticket).await;
    assert_refused(&refused, 400, "signup_ticket_mismatch");
    assert!(refused.session_cookie().is_none());
    assert_eq!(has_account(&h, "mallory_1", OTHER).await, (false, false));
    assert_eq!(has_account(&h, "mallory_1", MOBILE).await, (false, false));
    // Its own number may still use it.
    assert_eq!(register_with_ticket(&h, "alice_01", MOBILE, &ticket).await.status, 200);
}

async fn a_ticket_is_single_use_and_a_taken_name_leaves_it_unspent<S: Store + 'static>(store: Arc<S>) {
    let server = DypnsServer::start().await;
    let h = harness(store, &server, &[]);
    sign_up_by_sms(&h, "bob_0001", OTHER).await;
    let ticket = ticket_for(&h, &server, MOBILE).await;
    assert_refused(&register_with_ticket(&h, "bob_0001", MOBILE, &ticket).await, 409, "username_taken");
    assert_eq!(has_account(&h, "bob_0001", MOBILE).await, (true, false));

    assert_eq!(register_with_ticket(&h, "alice_01", MOBILE, &ticket).await.status, 200);
    let reused = register_with_ticket(&h, "alice_02", MOBILE, &ticket).await;
    assert_refused(&reused, 400, "signup_ticket_expired");
    assert_eq!(has_account(&h, "alice_02", MOBILE).await, (false, true), "no second account");
    assert_refused(&register_with_ticket(&h, "alice_03", MOBILE, &"A".repeat(43)).await, 400, "signup_ticket_expired");
    assert_refused(&register_with_ticket(&h, "alice_03", MOBILE, "short").await, 400, "invalid_signup_ticket");
}

async fn concurrent_sign_ups_with_one_ticket_make_one_account<S: Store + 'static>(store: Arc<S>) {
    let server = DypnsServer::start().await;
    let h = Arc::new(harness(store, &server, &[]));
    let ticket = ticket_for(&h, &server, MOBILE).await;
    let tasks: Vec<_> = (0..5)
        .map(|i| {
            let (h, ticket) = (Arc::clone(&h), ticket.clone());
            tokio::spawn(async move { register_with_ticket(&h, &format!("racer_{i:02}"), MOBILE, &ticket).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let response = task.await.unwrap();
        if response.status != 200 {
            assert!(
                ["signup_ticket_expired", "mobile_taken"].contains(&response.error().as_str()),
                "{:?}",
                response.json()
            );
        }
        statuses.push(response.status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
}

async fn an_expired_ticket_is_refused_before_ttl_deletes_it<S: Store + 'static>(store: Arc<S>) {
    let server = DypnsServer::start().await;
    let h = harness(store, &server, &[("SIGNUP_TICKET_TTL_SECONDS", "60")]);
    let ticket = ticket_for(&h, &server, MOBILE).await;
    h.clock.advance(60);
    assert_refused(&register_with_ticket(&h, "alice_01", MOBILE, &ticket).await, 400, "signup_ticket_expired");
    assert_eq!(has_account(&h, "alice_01", MOBILE).await, (false, false));
}

async fn get_mobile_failing_or_unreachable_is_a_502<S: Store + 'static>(store: Arc<S>) {
    let server = DypnsServer::start().await;
    let h = harness(Arc::clone(&store), &server, &[]);
    sign_up_by_sms(&h, "alice_01", MOBILE).await;
    for mode in [Mode::ServerError, Mode::Code("isp.SYSTEM_ERROR"), Mode::Code("InvalidAccessKeyId.NotFound")] {
        server.set_mode(mode.clone());
        let response = one_tap(&h, &server.issue(MOBILE)).await;
        assert_refused(&response, 502, "one_tap_failed");
        assert!(response.session_cookie().is_none(), "{mode:?}");
    }
    // Nothing listens there any more.
    let base_url = server.base_url();
    drop(server);
    let vars = [
        ("ALIYUN_ACCESS_KEY_ID", tests::aliyun::ACCESS_KEY_ID),
        ("ALIYUN_ACCESS_KEY_SECRET", tests::aliyun::ACCESS_KEY_SECRET),
        ("ALIYUN_DYPNS_BASE_URL", base_url.as_str()),
    ];
    let h = Harness::with_config(store, Arc::new(ConsoleSender::new()), &config(&vars));
    assert_refused(&one_tap(&h, "STS.any").await, 502, "one_tap_failed");
}

async fn one_tap_is_capped_per_client<S: Store + 'static>(store: Arc<S>) {
    let server = DypnsServer::start().await;
    let h = harness(store, &server, &[("ONE_TAP_PER_IP_PER_HOUR", "2")]);
    for _ in 0..2 {
        assert_eq!(one_tap(&h, &server.issue(MOBILE)).await.status, 200);
    }
    let capped = one_tap(&h, &server.issue(MOBILE)).await;
    assert_refused(&capped, 429, "one_tap_ip_limit");
    let retry_after = capped.json()["retry_after"].as_i64().unwrap();
    assert!((1..=3_600).contains(&retry_after), "{retry_after}");
    assert_eq!(capped.header("retry-after"), Some(retry_after.to_string().as_str()));
    assert_eq!(server.received(), 2, "a capped client costs no GetMobile call");
    // Another client is not held up.
    let elsewhere = h
        .request_from(
            "203.0.113.7".parse().unwrap(),
            "POST",
            "/one_tap_login/",
            None,
            Some(&json!({"token": server.issue(MOBILE)})),
        )
        .await;
    assert_eq!(elsewhere.status, 200, "{:?}", elsewhere.json());
}

async fn without_the_aliyun_keys_one_tap_is_off<S: Store + 'static>(store: Arc<S>) {
    let h = Harness::new(store);
    assert_refused(&one_tap(&h, "STS.any").await, 404, "one_tap_disabled");
}

/// A ticket proves a number for signing up only: the routes that change an
/// account want an SMS code, and one-tap never stands in for it.
async fn a_ticket_neither_resets_a_password_nor_closes_an_account<S: Store + 'static>(store: Arc<S>) {
    let server = DypnsServer::start().await;
    let h = harness(store, &server, &[]);
    sign_up_by_sms(&h, "alice_01", MOBILE).await;
    let session = one_tap(&h, &server.issue(MOBILE)).await.session_cookie().unwrap();
    let reset = json!({"mobile": MOBILE, "signup_ticket": "A".repeat(43), "token": server.issue(MOBILE),
                       "password": "a new password", "password2": "a new password"});
    assert_refused(&h.post("/password_reset/", &reset).await, 400, "invalid_sms_code");
    let close: Value = json!({"token": server.issue(MOBILE)});
    assert_refused(&h.request("DELETE", "/account", Some(&session), Some(&close)).await, 400, "invalid_sms_code");
    assert_eq!(has_account(&h, "alice_01", MOBILE).await, (true, true));
}

/// The stand-in carrier the local API offers the page behaves as the real
/// one: a token proves its number once.
async fn the_stand_in_carrier_proves_each_token_once<S: Store + 'static>(store: Arc<S>) {
    let mut h = Harness::new(store);
    let carrier = StandInCarrier::new();
    let token = carrier.issue(&Mobile::parse(MOBILE).unwrap());
    h.api.carrier = Some(AnyCarrier::StandIn(carrier));
    let response = one_tap(&h, token.expose()).await;
    assert!(response.json()["signup_ticket"].is_string(), "{:?}", response.json());
    assert_refused(&one_tap(&h, token.expose()).await, 401, "one_tap_refused");
}

/// Main's register caps hold for a ticket too: each taken name a ticket
/// probes counts against the client, and with its cap full every sign-up
/// from it is 429 before any hashing, taken name or free; the ticket stays.
async fn a_ticket_probing_taken_names_pays_the_clients_failure_cap<S: Store + 'static>(store: Arc<S>) {
    let server = DypnsServer::start().await;
    let h = harness(store, &server, &[("SMS_CODE_FAILURES_PER_IP_PER_HOUR", "2")]);
    sign_up_by_sms(&h, "bob_0001", OTHER).await;
    let ticket = ticket_for(&h, &server, MOBILE).await;
    for _ in 0..2 {
        assert_refused(&register_with_ticket(&h, "bob_0001", MOBILE, &ticket).await, 409, "username_taken");
    }
    assert_refused(&register_with_ticket(&h, "bob_0001", MOBILE, &ticket).await, 429, "sms_code_failure_limit");
    assert_refused(&register_with_ticket(&h, "alice_01", MOBILE, &ticket).await, 429, "sms_code_failure_limit");
    assert_eq!(has_account(&h, "alice_01", MOBILE).await, (false, false));
    // The window passes (and the ticket with it): a fresh ticket signs up.
    h.clock.advance(3_600);
    let ticket = ticket_for(&h, &server, MOBILE).await;
    assert_eq!(register_with_ticket(&h, "alice_01", MOBILE, &ticket).await.status, 200);
}

on_both_stores!(
    a_ticket_probing_taken_names_pays_the_clients_failure_cap,
    a_registered_number_logs_in_with_a_session_like_login,
    a_new_number_gets_a_ticket_and_signs_up_with_it_without_an_sms,
    a_used_token_is_refused_and_writes_nothing,
    a_ticket_for_another_number_is_refused_and_stays_unspent,
    a_ticket_is_single_use_and_a_taken_name_leaves_it_unspent,
    concurrent_sign_ups_with_one_ticket_make_one_account,
    an_expired_ticket_is_refused_before_ttl_deletes_it,
    get_mobile_failing_or_unreachable_is_a_502,
    one_tap_is_capped_per_client,
    without_the_aliyun_keys_one_tap_is_off,
    a_ticket_neither_resets_a_password_nor_closes_an_account,
    the_stand_in_carrier_proves_each_token_once,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_tap_and_a_ticket_sign_up_make_the_fewest_dynamodb_calls() {
    let (mut h, calls) = tests::harness::on_dynamodb().await;
    let carrier = StandInCarrier::new();
    let mobile = Mobile::parse(MOBILE).unwrap();
    let (first, second) = (carrier.issue(&mobile), carrier.issue(&mobile));
    h.api.carrier = Some(AnyCarrier::StandIn(carrier));

    let ticket = one_tap(&h, first.expose()).await.json()["signup_ticket"].as_str().unwrap().to_owned();
    assert_eq!(calls.take(), ["UpdateItem", "GetItem", "PutItem"], "count, mirror, ticket");
    assert_eq!(register_with_ticket(&h, "alice_01", MOBILE, &ticket).await.status, 200);
    let mut taken = calls.take();
    taken[..2].sort();
    assert_eq!(
        taken,
        ["GetItem", "UpdateItem", "TransactWriteItems"],
        "ticket and cap ask, then spend it with the account"
    );
    assert!(one_tap(&h, second.expose()).await.session_cookie().is_some());
    assert_eq!(calls.take(), ["UpdateItem", "GetItem", "TransactWriteItems"], "count, mirror, session");
}

/// The page's one-tap button asks the local API's stand-in carrier for a
/// token, as an app asks the carrier's SDK; deployed, that route does not exist.
#[tokio::test]
async fn the_page_gets_its_token_from_the_local_stand_in_carrier_only() {
    let mut h = tests::harness::on_memory();
    assert_eq!(h.get("/_stand_in_carrier").await.status, 404, "no stand-in unless the local API has one");
    h.api.carrier = Some(AnyCarrier::StandIn(StandInCarrier::new()));
    assert_eq!(h.get("/_stand_in_carrier").await.status, 200);
    assert_refused(&h.post("/_stand_in_carrier/token", &json!({"mobile": "123"})).await, 400, "invalid_mobile");
    let issued = h.post("/_stand_in_carrier/token", &json!({"mobile": MOBILE})).await;
    let token = issued.json()["token"].as_str().unwrap().to_owned();
    let response = one_tap(&h, &token).await;
    assert_eq!(response.json()["mobile"], "139****1234", "{:?}", response.json());
    assert!(tests::harness::on_memory().api.carrier.is_none(), "no Aliyun keys, no carrier: one-tap is off");
}
