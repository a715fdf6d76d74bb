//! Returning users on both stores: log in by password or SMS code, app
//! tokens, reset, log out everywhere, close the account; the captcha past
//! five failures, the same answer for an unknown account, and the races
//! between them.

use serde_json::{Value, json};
use shared::clock::Clock;
use shared::domain::{Mobile, Username};
use shared::service::keys;
use shared::store::{Cond, Item, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tests::flows_on_both_stores;
use tests::harness::{Harness, TestResponse};

const MOBILE: &str = "13800138000";
const PASSWORD: &str = "correct horse battery";

fn assert_refused(response: &TestResponse, status: u16, key: &str) {
    assert_eq!((response.status, response.error().as_str()), (status, key), "{:?}", response.json());
}

/// Signs alice up and returns her session token.
async fn sign_up<S: Store + 'static>(h: &Harness<S>, username: &str, mobile: &str) -> String {
    assert_eq!(h.send_sms(mobile).await.status, 200);
    let response = h.register(username, mobile, &h.last_code(mobile)).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    response.session_cookie().unwrap()
}

async fn login<S: Store + 'static>(h: &Harness<S>, account: &str, password: &str) -> TestResponse {
    h.post("/login/", &json!({"account": account, "password": password})).await
}

async fn whoami<S: Store + 'static>(h: &Harness<S>, token: &str) -> TestResponse {
    h.request("GET", "/session", Some(token), None).await
}

/// Sends a code for `purpose` and returns the JSON to verify it with.
async fn code_form<S: Store + 'static>(h: &Harness<S>, purpose: &str) -> Value {
    let sent = h.send_sms_for(MOBILE, purpose).await;
    assert_eq!(sent.status, 200, "{:?}", sent.json());
    json!({"mobile": MOBILE, "sms_code": h.last_code(MOBILE), "sms_code_id": h.sms_code_id(MOBILE)})
}

async fn a_user_logs_back_in_by_username_or_number<S: Store + 'static>(h: Harness<S>) {
    let first = sign_up(&h, "Alice_01", MOBILE).await;
    h.request("DELETE", "/session", Some(&first), None).await;
    for account in ["alice_01", "ALICE_01", MOBILE, " 13800138000 "] {
        let response = login(&h, account, PASSWORD).await;
        assert_eq!(response.status, 200, "{account}: {:?}", response.json());
        let token = response.session_cookie().expect("a browser gets the cookie");
        let who = whoami(&h, &token).await.json();
        assert_eq!((who["username"].as_str(), who["mobile"].as_str()), (Some("Alice_01"), Some("138****8000")));
    }
    assert_refused(&h.post("/login", &json!({"password": PASSWORD})).await, 400, "invalid_account");
}

async fn an_unknown_account_and_a_wrong_password_get_the_same_answer<S: Store + 'static>(h: Harness<S>) {
    sign_up(&h, "alice_01", MOBILE).await;
    let wrong = login(&h, "alice_01", "not the password").await;
    let unknown = login(&h, "nobody_01", PASSWORD).await;
    let unknown_number = login(&h, "13900139000", PASSWORD).await;
    let nonsense = login(&h, "!!", PASSWORD).await;
    for response in [&wrong, &unknown, &unknown_number, &nonsense] {
        assert_refused(response, 401, "login_failed");
        assert_eq!(response.json(), wrong.json());
    }
}

/// Five failures under a name ask for a captcha on its next logins, for
/// 15 minutes; with one the right password gets in at once, and clears them.
async fn five_failures_ask_for_a_captcha_and_with_one_the_right_password_gets_in<S: Store + 'static>(h: Harness<S>) {
    sign_up(&h, "alice_01", MOBILE).await;
    for account in ["alice_01", "ALICE_01", "alice_01", "Alice_01", "alice_01"] {
        assert_refused(&login(&h, account, "not the password").await, 401, "login_failed");
    }
    let asked = login(&h, "alice_01", PASSWORD).await;
    assert_refused(&asked, 429, "captcha_required");
    let retry_after = asked.json()["retry_after"].as_i64().unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    assert_eq!(asked.header("retry-after").unwrap(), retry_after.to_string());
    let (id, answer) = h.captcha().await;
    let form = json!({"account": "ALICE_01", "password": PASSWORD, "image_code": answer, "image_code_id": id});
    assert_eq!(h.post("/login/", &form).await.status, 200, "the owner gets in with a captcha");
    assert_refused(&h.post("/login/", &form).await, 400, "captcha_expired");
    // The success cleared the name's failures: four more (from another client, whose own
    // failures stay below the count that asks it for a captcha) ask for nothing.
    let from = |ip: [u8; 4], account: &'static str, password: &'static str| {
        let h = &h;
        async move {
            let form = json!({"account": account, "password": password});
            h.request_from(ip.into(), "POST", "/login/", None, Some(&form)).await
        }
    };
    for _ in 0..4 {
        assert_refused(&from([192, 0, 2, 1], "alice_01", "not the password").await, 401, "login_failed");
    }
    assert_eq!(from([192, 0, 2, 1], "alice_01", PASSWORD).await.status, 200);
    // Or the window ends.
    for _ in 0..5 {
        assert_refused(&from([192, 0, 2, 2], MOBILE, "not the password").await, 401, "login_failed");
    }
    let asked = from([192, 0, 2, 2], MOBILE, PASSWORD).await;
    assert_refused(&asked, 429, "captcha_required");
    h.clock.advance(asked.json()["retry_after"].as_i64().unwrap());
    assert_eq!(from([192, 0, 2, 2], MOBILE, PASSWORD).await.status, 200);
}

async fn ten_concurrent_wrong_passwords_are_five_failures_and_never_pass_the_cap<S: Store + 'static>(h: Harness<S>) {
    sign_up(&h, "alice_01", MOBILE).await;
    let hashed = h.api.account.hasher.computed();
    let h = Arc::new(h);
    let tasks: Vec<_> = (0..10)
        .map(|n| {
            let h = Arc::clone(&h);
            tokio::spawn(async move { login(&h, "alice_01", &format!("wrong password {n}")).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap().error());
    }
    answers.sort();
    assert_eq!(answers.iter().filter(|a| *a == "login_failed").count(), 5, "{answers:?}");
    assert_eq!(answers.iter().filter(|a| *a == "captcha_required").count(), 5, "{answers:?}");
    assert_eq!(h.api.account.hasher.computed() - hashed, 5, "only the admitted five were hashed");
    let now = h.clock.now();
    let counter = format!("limit#login-failures-account#alice_01#{}", now.div_euclid(900));
    assert_eq!(h.store.get(&counter, now).await.unwrap().unwrap().n(keys::COUNT).unwrap(), 5);
}

async fn an_app_gets_a_token_and_uses_it_as_a_bearer<S: Store + 'static>(h: Harness<S>) {
    let browser = sign_up(&h, "alice_01", MOBILE).await;
    let response = h.post("/login/", &json!({"account": "alice_01", "password": PASSWORD, "session": "token"})).await;
    assert_eq!(response.status, 200);
    assert!(response.header("set-cookie").is_none(), "a token session sets no cookie");
    let token = response.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 43);
    assert_eq!(h.request_bearer("GET", "/session", &token, None).await.status, 200);
    assert_refused(&h.request_bearer("GET", "/session", "not-a-token", None).await, 401, "not_logged_in");
    // Log out everywhere from the app: the browser's session ends too.
    assert_eq!(h.request_bearer("DELETE", "/sessions", &token, None).await.status, 200);
    assert_refused(&whoami(&h, &browser).await, 401, "not_logged_in");
    assert_refused(&h.request_bearer("GET", "/session", &token, None).await, 401, "not_logged_in");
    assert_eq!(login(&h, "alice_01", PASSWORD).await.status, 200, "the account itself is fine");
}

async fn a_code_logs_in_only_for_its_purpose_and_only_a_registered_number<S: Store + 'static>(h: Harness<S>) {
    assert_refused(&h.send_sms_for(MOBILE, "login").await, 404, "mobile_not_registered");
    assert_refused(&h.send_sms_for(MOBILE, "sideways").await, 400, "invalid_purpose");
    h.clock.advance(180);
    sign_up(&h, "alice_01", MOBILE).await;
    h.clock.advance(180);
    // A sign-up code (sent before the number was taken) cannot log in.
    let seeded = h.seed_code_for(MOBILE, "123456", "register").await;
    let form = json!({"mobile": MOBILE, "sms_code": "123456", "sms_code_id": seeded});
    assert_refused(&h.post("/sms_login/", &form).await, 400, "sms_code_wrong_purpose");
    let form = code_form(&h, "login").await;
    let response = h.post("/sms_login", &form).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    assert_eq!(whoami(&h, &response.session_cookie().unwrap()).await.json()["username"], "alice_01");
    assert_refused(&h.post("/sms_login/", &form).await, 400, "sms_code_expired");
}

async fn a_reset_ends_every_older_session_and_changes_the_password<S: Store + 'static>(h: Harness<S>) {
    let first = sign_up(&h, "alice_01", MOBILE).await;
    let second = login(&h, MOBILE, PASSWORD).await.session_cookie().unwrap();
    h.clock.advance(180);
    let mut form = code_form(&h, "reset").await;
    form["password"] = json!("a brand new secret");
    form["password2"] = json!("a brand new secret");
    let response = h.post("/password_reset/", &form).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    let fresh = response.session_cookie().unwrap();
    assert_eq!(whoami(&h, &fresh).await.status, 200);
    for old in [&first, &second] {
        assert_refused(&whoami(&h, old).await, 401, "not_logged_in");
    }
    assert_refused(&login(&h, "alice_01", PASSWORD).await, 401, "login_failed");
    assert_eq!(login(&h, "alice_01", "a brand new secret").await.status, 200);
}

async fn closing_the_account_frees_the_username_and_the_number<S: Store + 'static>(h: Harness<S>) {
    let token = sign_up(&h, "alice_01", MOBILE).await;
    let other = login(&h, "alice_01", PASSWORD).await.session_cookie().unwrap();
    let wrong = h.request("DELETE", "/account", Some(&token), Some(&json!({"password": "not the password"}))).await;
    assert_refused(&wrong, 401, "login_failed");
    assert_refused(
        &h.request("DELETE", "/account", None, Some(&json!({"password": PASSWORD}))).await,
        401,
        "not_logged_in",
    );
    let closed = h.request("DELETE", "/account", Some(&token), Some(&json!({"password": PASSWORD}))).await;
    assert_eq!(closed.status, 200, "{:?}", closed.json());
    assert!(closed.header("set-cookie").unwrap().contains("Max-Age=0"));
    for session in [&token, &other] {
        assert_refused(&whoami(&h, session).await, 401, "not_logged_in");
    }
    let now = h.clock.now();
    assert!(h.store.get(&keys::user(&Username::parse("alice_01").unwrap()), now).await.unwrap().is_none());
    assert!(h.store.get(&keys::mobile_guard(&Mobile::parse(MOBILE).unwrap()), now).await.unwrap().is_none());
    assert_refused(&login(&h, "alice_01", PASSWORD).await, 401, "login_failed");
    h.clock.advance(180);
    let again = sign_up(&h, "alice_01", MOBILE).await;
    assert_eq!(whoami(&h, &again).await.status, 200, "the username and the number sign up again");
}

async fn closing_with_a_close_code_works_and_a_login_code_does_not<S: Store + 'static>(h: Harness<S>) {
    let token = sign_up(&h, "alice_01", MOBILE).await;
    h.clock.advance(180);
    let login_code = code_form(&h, "login").await;
    let refused = h.request("DELETE", "/account", Some(&token), Some(&login_code)).await;
    assert_refused(&refused, 400, "sms_code_wrong_purpose");
    h.clock.advance(180);
    let close_code = code_form(&h, "close").await;
    let closed = h.request("DELETE", "/account", Some(&token), Some(&close_code)).await;
    assert_eq!(closed.status, 200, "{:?}", closed.json());
    assert_refused(&login(&h, MOBILE, PASSWORD).await, 401, "login_failed");
}

async fn a_hash_with_older_parameters_is_redone_on_login<S: Store + 'static>(h: Harness<S>) {
    sign_up(&h, "alice_01", MOBILE).await;
    let now = h.clock.now();
    let old = shared::crypto::password::PasswordHasher::with_params(8 * 1024, 1, 1)
        .unwrap()
        .hash_blocking(&shared::domain::Password::parse(PASSWORD).unwrap(), &shared::random::OsRandom)
        .unwrap();
    for key in [keys::user(&Username::parse("alice_01").unwrap()), keys::mobile_guard(&Mobile::parse(MOBILE).unwrap())]
    {
        let item = h.store.get(&key, now).await.unwrap().unwrap();
        let mut rewritten = Item::new(key.as_str());
        for (name, value) in item.attributes().filter(|(name, _)| *name != "pk" && *name != keys::PASSWORD_HASH) {
            rewritten = match value {
                shared::store::Value::S(s) => rewritten.with_s(name, s.clone()),
                shared::store::Value::N(n) => rewritten.with_n(name, *n),
            };
        }
        h.store.put(rewritten.with_s(keys::PASSWORD_HASH, &old), Cond::Always, now).await.unwrap();
    }
    assert_eq!(login(&h, "alice_01", PASSWORD).await.status, 200);
    let user = h.store.get(&keys::user(&Username::parse("alice_01").unwrap()), now).await.unwrap().unwrap();
    assert!(user.s(keys::PASSWORD_HASH).unwrap().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_eq!(login(&h, MOBILE, PASSWORD).await.status, 200, "the mirror was rehashed with it");
}

async fn a_reset_racing_a_login_never_leaves_the_login_session_alive<S: Store + 'static>(h: Harness<S>) {
    sign_up(&h, "alice_01", MOBILE).await;
    let h = Arc::new(h);
    for round in 0..4 {
        h.clock.advance(180);
        let mut form = code_form(&h, "reset").await;
        let password = format!("new password {round}");
        form["password"] = json!(password);
        form["password2"] = json!(password);
        let old_password = if round == 0 { PASSWORD.to_owned() } else { format!("new password {}", round - 1) };
        let (a, b) = (Arc::clone(&h), Arc::clone(&h));
        let login = tokio::spawn(async move { login(&a, "alice_01", &old_password).await });
        let reset = tokio::spawn(async move { b.post("/password_reset/", &form).await });
        let (login, reset) = (login.await.unwrap(), reset.await.unwrap());
        assert_eq!(reset.status, 200, "{:?}", reset.json());
        if let Some(token) = login.session_cookie() {
            assert_refused(&whoami(&h, &token).await, 401, "not_logged_in");
        }
    }
}

async fn closing_racing_a_sign_up_of_the_number_leaves_no_orphan<S: Store + 'static>(h: Harness<S>) {
    for round in 0..3 {
        let name = format!("alice_{round:02}");
        let token = sign_up(&h, &name, MOBILE).await;
        let seeded = h.seed_code(MOBILE, "654321").await;
        let (proof, bob_name) = (json!({"password": PASSWORD}), format!("bob_{round:04}"));
        let (close, sign_up) = tokio::join!(
            h.request("DELETE", "/account", Some(&token), Some(&proof)),
            h.register_with_id(&bob_name, MOBILE, "654321", &seeded),
        );
        assert_eq!(close.status, 200, "{:?}", close.json());
        assert!(sign_up.status == 200 || sign_up.error() == "mobile_taken", "{:?}", sign_up.json());
        let now = h.clock.now();
        let guard = h.store.get(&keys::mobile_guard(&Mobile::parse(MOBILE).unwrap()), now).await.unwrap();
        let bob = h.store.get(&keys::user(&Username::parse(&format!("bob_{round:04}")).unwrap()), now).await.unwrap();
        let alice = h.store.get(&keys::user(&Username::parse(&name).unwrap()), now).await.unwrap();
        assert!(alice.is_none(), "alice is closed");
        assert_eq!(guard.is_some(), bob.is_some(), "a guard exactly when bob exists");
        if let Some(guard) = guard {
            assert_eq!(guard.s(keys::USERNAME).unwrap(), format!("bob_{round:04}"));
            let closed = h
                .request(
                    "DELETE",
                    "/account",
                    sign_up.session_cookie().as_deref(),
                    Some(&json!({"password": PASSWORD})),
                )
                .await;
            assert_eq!(closed.status, 200);
        }
        h.clock.advance(180);
    }
}

/// The ladder of issue 24: tokens an earlier owner of a name and number kept
/// at generations 0, 1 and 2 never become sessions of the next owner, not
/// at sign-up and not after each of her log-outs everywhere and resets.
async fn a_closed_account_s_tokens_never_come_back_for_a_new_owner_of_its_name<S: Store + 'static>(h: Harness<S>) {
    let mut kept = vec![sign_up(&h, "alice_01", MOBILE).await];
    for _ in 0..2 {
        let token = login(&h, "alice_01", PASSWORD).await.session_cookie().unwrap();
        assert_eq!(h.request("DELETE", "/sessions", Some(&token), None).await.status, 200);
        kept.push(login(&h, "alice_01", PASSWORD).await.session_cookie().unwrap());
    }
    let closing = login(&h, MOBILE, PASSWORD).await.session_cookie().unwrap();
    let closed = h.request("DELETE", "/account", Some(&closing), Some(&json!({"password": PASSWORD}))).await;
    assert_eq!(closed.status, 200, "{:?}", closed.json());
    let user = h.store.get(&keys::user(&Username::parse("alice_01").unwrap()), h.clock.now()).await.unwrap();
    assert!(user.is_none(), "closed");

    h.clock.advance(180);
    let victim = sign_up(&h, "ALICE_01", MOBILE).await;
    assert_dead(&h, &kept, victim.clone(), "sign-up").await;
    assert_eq!(h.request("DELETE", "/sessions", Some(&victim), None).await.status, 200);
    let victim = login(&h, "alice_01", PASSWORD).await.session_cookie().unwrap();
    assert_dead(&h, &kept, victim.clone(), "log-out everywhere").await;
    h.clock.advance(180);
    let mut form = code_form(&h, "reset").await;
    form["password"] = json!(PASSWORD);
    form["password2"] = json!(PASSWORD);
    let reset = h.post("/password_reset/", &form).await;
    assert_eq!(reset.status, 200, "{:?}", reset.json());
    assert_dead(&h, &kept, reset.session_cookie().unwrap(), "reset").await;
    assert_eq!(h.request("DELETE", "/sessions", Some(&reset.session_cookie().unwrap()), None).await.status, 200);
    assert_dead(&h, &kept, login(&h, "alice_01", PASSWORD).await.session_cookie().unwrap(), "generation 3").await;
}

/// Each of `kept` is no session and can do nothing a session can, while `owner`'s is.
async fn assert_dead<S: Store + 'static>(h: &Harness<S>, kept: &[String], owner: String, step: &str) {
    for (generation, token) in kept.iter().enumerate() {
        assert_refused(&whoami(h, token).await, 401, "not_logged_in");
        assert_refused(&h.request("DELETE", "/sessions", Some(token), None).await, 401, "not_logged_in");
        let close = h.request("DELETE", "/account", Some(token), Some(&json!({"password": PASSWORD}))).await;
        assert_refused(&close, 401, "not_logged_in");
        assert_eq!(whoami(h, &owner).await.status, 200, "{step}: generation {generation}");
    }
}

/// Each account draws its own id; its name, number, generation and
/// sessions all point at it.
async fn every_item_of_an_account_points_at_its_own_id<S: Store + 'static>(h: Harness<S>) {
    let token = sign_up(&h, "alice_01", MOBILE).await;
    let now = h.clock.now();
    let user = h.store.get(&keys::user(&Username::parse("alice_01").unwrap()), now).await.unwrap().unwrap();
    let id = shared::domain::AccountId::parse(user.s(keys::ACCOUNT_ID).unwrap()).unwrap();
    let guard = h.store.get(&keys::mobile_guard(&Mobile::parse(MOBILE).unwrap()), now).await.unwrap().unwrap();
    assert_eq!(guard.s(keys::ACCOUNT_ID).unwrap(), id.as_str());
    assert_eq!(h.store.get(&keys::generation(&id), now).await.unwrap().unwrap().n(keys::GEN).unwrap(), 0);
    let hash = shared::domain::SessionToken::parse(&token).unwrap().hash();
    let session = h.store.get(&keys::session(&hash), now).await.unwrap().unwrap();
    assert_eq!(session.s(keys::ACCOUNT_ID).unwrap(), id.as_str());
    sign_up(&h, "bob_0001", "13900139000").await;
    let bob = h.store.get(&keys::user(&Username::parse("bob_0001").unwrap()), now).await.unwrap().unwrap();
    assert_ne!(bob.s(keys::ACCOUNT_ID).unwrap(), id.as_str());
}

flows_on_both_stores!(
    a_closed_account_s_tokens_never_come_back_for_a_new_owner_of_its_name,
    every_item_of_an_account_points_at_its_own_id,
    a_user_logs_back_in_by_username_or_number,
    an_unknown_account_and_a_wrong_password_get_the_same_answer,
    five_failures_ask_for_a_captcha_and_with_one_the_right_password_gets_in,
    ten_concurrent_wrong_passwords_are_five_failures_and_never_pass_the_cap,
    an_app_gets_a_token_and_uses_it_as_a_bearer,
    a_code_logs_in_only_for_its_purpose_and_only_a_registered_number,
    a_reset_ends_every_older_session_and_changes_the_password,
    closing_the_account_frees_the_username_and_the_number,
    closing_with_a_close_code_works_and_a_login_code_does_not,
    a_hash_with_older_parameters_is_redone_on_login,
    a_reset_racing_a_login_never_leaves_the_login_session_alive,
    closing_racing_a_sign_up_of_the_number_leaves_no_orphan,
);

/// Without the dummy hash an unknown account would answer in microseconds
/// and a wrong password in tens of milliseconds: interleaved, their medians
/// stay within a factor that such a gap could never meet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_account_takes_as_long_as_a_wrong_password() {
    let h = tests::harness::Harness::with_config(
        Arc::new(tests::memory_store()),
        Arc::new(shared::sms::ConsoleSender::new()),
        &tests::harness::config(&[
            ("LOGIN_FAILURES_PER_ACCOUNT", "1000"),
            ("LOGIN_FAILURES_PER_IP_PER_HOUR", "1000"),
            ("LOGIN_FAILURES_PER_IP_BEFORE_CAPTCHA", "1000"),
        ]),
    );
    sign_up(&h, "alice_01", MOBILE).await;
    let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
    for n in 0..15 {
        let started = Instant::now();
        assert_eq!(login(&h, &format!("nobody_{n:03}"), PASSWORD).await.status, 401);
        unknown.push(started.elapsed());
        let started = Instant::now();
        assert_eq!(login(&h, "alice_01", "not the password").await.status, 401);
        wrong.push(started.elapsed());
    }
    let median = |samples: &mut Vec<Duration>| {
        samples.sort();
        samples[samples.len() / 2]
    };
    let (unknown, wrong) = (median(&mut unknown), median(&mut wrong));
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    assert!((1.0 / 3.0..=3.0).contains(&ratio), "unknown {unknown:?} vs wrong {wrong:?}");
}

/// Counted with an SDK interceptor: a password login counts its attempt in
/// one transaction while it reads the user, then writes the session in
/// another; a failed one has nothing left to count.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_login_happy_path_is_three_calls_in_two_round_trips() {
    let (h, calls) = tests::harness::on_dynamodb().await;
    sign_up(&h, "alice_01", MOBILE).await;
    calls.take();
    let sorted = |mut calls: Vec<String>| {
        calls[..2].sort();
        calls
    };
    let admitted_and_read = ["GetItem", "TransactWriteItems"];
    assert_eq!(login(&h, "alice_01", PASSWORD).await.status, 200);
    assert_eq!(sorted(calls.take()), [&admitted_and_read[..], &["TransactWriteItems"]].concat(), "by username");
    assert_eq!(login(&h, MOBILE, PASSWORD).await.status, 200);
    assert_eq!(sorted(calls.take()), [&admitted_and_read[..], &["TransactWriteItems"]].concat(), "by number");
    assert_eq!(login(&h, "alice_01", "not the password").await.status, 401);
    assert_eq!(sorted(calls.take()), admitted_and_read, "counted before the hash: nothing after it");
    h.clock.advance(180);
    let form = code_form(&h, "login").await;
    calls.take();
    assert_eq!(h.post("/sms_login/", &form).await.status, 200);
    assert_eq!(calls.take(), vec!["UpdateItem", "GetItem", "TransactWriteItems"], "sms login: claim, mirror, session");
}

/// A login code follows the send rules of every code: only a certain
/// refusal by the provider gives the cooldown back; an unknown outcome
/// keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_provider_failure_on_a_login_code_follows_the_release_rules() {
    let server = tests::ronglian::RonglianServer::start().await;
    let client = shared::sms::RonglianClient::new(server.config()).unwrap();
    let h = Harness::with_sender(Arc::new(tests::memory_store()), Arc::new(client));
    tests::seed::user(&*h.store, "alice_01", MOBILE, PASSWORD).await;
    server.set_mode(tests::ronglian::Mode::StatusCode("111142"));
    assert_refused(&h.send_sms_for(MOBILE, "login").await, 502, "sms_failed");
    server.set_mode(tests::ronglian::Mode::Normal);
    assert_eq!(h.send_sms_for(MOBILE, "login").await.status, 200, "a certain refusal released the cooldown");
    h.clock.advance(180);
    server.set_mode(tests::ronglian::Mode::ServerError);
    let unknown = h.send_sms_for(MOBILE, "login").await;
    assert_refused(&unknown, 502, "sms_failed");
    assert_eq!(unknown.json()["retry_after"], 180);
    server.set_mode(tests::ronglian::Mode::Normal);
    assert_refused(&h.send_sms_for(MOBILE, "login").await, 429, "too_frequent");
}
