//! Issue 24 §3 and §4, replayed on both stores: nobody but the owner can
//! keep the owner out, and no answer is a free oracle. A stranger failing an
//! account's name makes its logins ask for a captcha, never refuses its
//! right password; what a login answers depends on the name as typed and
//! the client only; a made-up `sms_code_id` learns nothing and pays; one
//! right sign-up code probes five names at most; and no refused request
//! costs an Argon2id hash.

use serde_json::{Value, json};
use shared::clock::Clock;
use shared::domain::Mobile;
use shared::service::keys;
use shared::store::Store;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use tests::harness::{Harness, TestResponse, config};
use tests::on_both_stores;

const MOBILE: &str = "13800138000";
const PASSWORD: &str = "correct horse battery";
const WRONG: &str = "not the password";
const MALLORY: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 66));
const OWNER: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));

fn harness<S: Store + 'static>(store: Arc<S>, vars: &[(&str, &str)]) -> Harness<S> {
    Harness::with_config(store, Arc::new(shared::sms::ConsoleSender::new()), &config(vars))
}

fn assert_refused(response: &TestResponse, status: u16, key: &str) {
    assert_eq!((response.status, response.error().as_str()), (status, key), "{:?}", response.json());
}

/// Argon2id computations the account service has run so far.
fn hashed<S: Store + 'static>(h: &Harness<S>) -> u64 {
    h.api.account.hasher.computed()
}

async fn login_from<S: Store + 'static>(h: &Harness<S>, ip: IpAddr, account: &str, password: &str) -> TestResponse {
    let form = json!({"account": account, "password": password});
    h.request_from(ip, "POST", "/login/", None, Some(&form)).await
}

/// A login carrying a captcha fetched by `ip` and answered right.
async fn login_solving<S: Store + 'static>(h: &Harness<S>, ip: IpAddr, account: &str, password: &str) -> TestResponse {
    let id = uuid::Uuid::new_v4().to_string();
    assert_eq!(h.request_from(ip, "GET", &format!("/image_codes/{id}/"), None, None).await.status, 200);
    let answer = h.captcha_answer(&id).await.unwrap();
    let form = json!({"account": account, "password": password, "image_code": answer, "image_code_id": id});
    h.request_from(ip, "POST", "/login/", None, Some(&form)).await
}

async fn sign_up<S: Store + 'static>(h: &Harness<S>, username: &str, mobile: &str) {
    assert_eq!(h.send_sms(mobile).await.status, 200);
    let response = h.register(username, mobile, &h.last_code(mobile)).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
}

/// §3: a stranger with neither the password nor the phone fails the
/// owner's name and number over and over, with captchas too; the owner,
/// from her own network, gets in with her password and one captcha every
/// time, and the stranger's guesses stop at his client's hard cap.
async fn a_stranger_failing_a_name_never_keeps_its_owner_out<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[]);
    sign_up(&h, "alice_01", MOBILE).await;
    let before = hashed(&h);
    let mut failed = 0;
    for round in 0..60 {
        let account = if round % 2 == 0 { "alice_01" } else { MOBILE };
        let response = if round < 10 {
            login_from(&h, MALLORY, account, WRONG).await
        } else {
            login_solving(&h, MALLORY, account, WRONG).await
        };
        match response.error().as_str() {
            "login_failed" => failed += 1,
            "captcha_required" | "login_ip_limit" => {}
            other => panic!("round {round}: {other}"),
        }
        if round == 59 {
            assert_refused(&response, 429, "login_ip_limit");
        }
    }
    assert_eq!(failed, 50, "the client's hard cap bounds the guesses, captcha or not");
    assert_eq!(hashed(&h) - before, 50, "each refused attempt was refused before its hash");

    assert_refused(&login_from(&h, OWNER, "alice_01", PASSWORD).await, 429, "captcha_required");
    assert_eq!(login_solving(&h, OWNER, "alice_01", PASSWORD).await.status, 200, "by name");
    let by_number = login_solving(&h, OWNER, MOBILE, PASSWORD).await;
    assert_eq!(by_number.status, 200, "{:?}", by_number.json());
    assert_refused(&login_solving(&h, MALLORY, MOBILE, PASSWORD).await, 429, "login_ip_limit");
}

/// §3: a client past its own failures needs a captcha for any name, even
/// a fresh one, and with captchas stops at its hard cap; a wrong or reused
/// captcha is refused and counted as a captcha failure, unhashed.
async fn a_client_past_its_failures_needs_a_captcha_for_every_name<S: Store + 'static>(store: Arc<S>) {
    let vars = [("LOGIN_FAILURES_PER_IP_BEFORE_CAPTCHA", "3"), ("LOGIN_FAILURES_PER_IP_PER_HOUR", "5")];
    let h = harness(store, &vars);
    sign_up(&h, "alice_01", MOBILE).await;
    let before = hashed(&h);
    for n in 0..3 {
        assert_refused(&login_from(&h, MALLORY, &format!("sprayed_{n:02}"), WRONG).await, 401, "login_failed");
    }
    assert_refused(&login_from(&h, MALLORY, "fresh_name", WRONG).await, 429, "captcha_required");
    assert_refused(&login_from(&h, MALLORY, "alice_01", PASSWORD).await, 429, "captcha_required");
    assert_refused(&login_solving(&h, MALLORY, "sprayed_03", WRONG).await, 401, "login_failed");

    let (id, _) = h.captcha().await;
    let wrong = json!({"account": "alice_01", "password": PASSWORD, "image_code": "zzzz", "image_code_id": id});
    assert_refused(&h.request_from(MALLORY, "POST", "/login/", None, Some(&wrong)).await, 400, "captcha_incorrect");
    assert_refused(&h.request_from(MALLORY, "POST", "/login/", None, Some(&wrong)).await, 400, "captcha_expired");
    let half = json!({"account": "alice_01", "password": PASSWORD, "image_code_id": id});
    assert_refused(&h.request_from(MALLORY, "POST", "/login/", None, Some(&half)).await, 400, "missing_parameters");

    assert_eq!(login_solving(&h, MALLORY, "alice_01", PASSWORD).await.status, 200, "a right one still gets in");
    assert_refused(&login_solving(&h, MALLORY, "sprayed_04", WRONG).await, 401, "login_failed");
    assert_refused(&login_solving(&h, MALLORY, "alice_01", PASSWORD).await, 429, "login_ip_limit");
    assert_eq!(hashed(&h) - before, 6, "five failures and one success were hashed, nothing else");
    let now = h.clock.now();
    let counter = format!("limit#captcha-failures-ip-hour#198.51.100.66#{}", now.div_euclid(3_600));
    assert_eq!(h.store.get(&counter, now).await.unwrap().unwrap().n(keys::COUNT).unwrap(), 2);
    assert_eq!(login_from(&h, OWNER, "alice_01", PASSWORD).await.status, 200, "another client is untouched");
}

/// §4: the attacker fills the username's failures, then tries candidate
/// numbers: the account's own number answers exactly as every other one,
/// wrong password or unknown number alike.
async fn failing_a_username_does_not_single_out_its_number<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("LOGIN_FAILURES_PER_IP_BEFORE_CAPTCHA", "100")]);
    sign_up(&h, "alice_01", MOBILE).await;
    sign_up(&h, "bob_0001", "13900139000").await;
    for _ in 0..5 {
        login_from(&h, MALLORY, "alice_01", WRONG).await;
    }
    assert_refused(&login_from(&h, MALLORY, "alice_01", WRONG).await, 429, "captcha_required");
    let answers: Vec<(u16, Value, Option<String>)> = {
        let mut answers = Vec::new();
        for candidate in ["13700137000", MOBILE, "13900139000", "13600136000"] {
            let response = login_from(&h, MALLORY, candidate, WRONG).await;
            answers.push((response.status, response.json(), response.header("retry-after").map(str::to_owned)));
        }
        answers
    };
    for answer in &answers {
        assert_eq!(answer, &answers[0], "{answers:?}");
    }
    assert_eq!(answers[0].1["error"], "login_failed");
}

/// §4: a guess with a made-up `sms_code_id` answers alike on a number with
/// a live code and on one without, shows nothing of the owner's guesses,
/// uses none of them, and counts against the guessing client.
async fn a_made_up_code_id_learns_nothing_and_counts_against_the_client<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("SMS_CODE_FAILURES_PER_IP_PER_HOUR", "4")]);
    let (live, dead) = (MOBILE, "13900139000");
    sign_up(&h, "alice_01", live).await;
    sign_up(&h, "bob_0001", dead).await;
    h.clock.advance(180);
    assert_eq!(h.send_sms_for(live, "login").await.status, 200);
    let (code, id) = (h.last_code(live), h.sms_code_id(live));
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let own = json!({"mobile": live, "sms_code": wrong, "sms_code_id": id});
    assert_eq!(h.post("/sms_login/", &own).await.json()["attempts_left"], 4, "the owner's one wrong guess");

    let guess = |mobile: &str, n: u32| json!({"mobile": mobile, "sms_code": code, "sms_code_id": format!("{n:032x}")});
    let mut answers = Vec::new();
    for (n, mobile) in [live, dead, live, dead].into_iter().enumerate() {
        let response = h.request_from(MALLORY, "POST", "/sms_login/", None, Some(&guess(mobile, n as u32))).await;
        assert_refused(&response, 400, "sms_code_expired");
        answers.push(response.json());
    }
    assert!(answers.iter().all(|answer| *answer == answers[0]), "{answers:?}");
    assert_eq!(answers[0]["attempts_left"], 0);
    for mobile in [live, dead] {
        let over = h.request_from(MALLORY, "POST", "/sms_login/", None, Some(&guess(mobile, 9))).await;
        assert_refused(&over, 429, "sms_code_failure_limit");
    }
    let stored = h.store.get(&keys::sms_code(&Mobile::parse(live).unwrap()), h.clock.now()).await.unwrap().unwrap();
    assert_eq!(stored.n(keys::ATTEMPTS).unwrap(), 1, "the made-up ids used none of the owner's guesses");
    let right = json!({"mobile": live, "sms_code": code, "sms_code_id": id});
    assert_eq!(h.request_from(OWNER, "POST", "/sms_login/", None, Some(&right)).await.status, 200);
}

/// §4: one right sign-up code used to probe usernames without end, one
/// Argon2id hash a probe, and with the client's failure cap full a taken
/// name answered 409 and a free one 429. Now each failed sign-up keeps the
/// attempt it used and counts against the client: five probes per code at
/// most, and once a cap refuses, taken and free names answer alike, unhashed.
async fn one_right_sign_up_code_probes_five_names_at_most_and_none_past_a_cap<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("SMS_CODE_FAILURES_PER_IP_PER_HOUR", "1000")]);
    for n in 0..6 {
        tests::seed::user(&*h.store, &format!("taken_{n:02}"), &format!("1370013700{n}"), PASSWORD).await;
    }
    let own = "13800138001";
    assert_eq!(h.send_sms(own).await.status, 200);
    let code = h.last_code(own);
    let before = hashed(&h);
    for n in 0..5 {
        assert_refused(&h.register(&format!("taken_{n:02}"), own, &code).await, 409, "username_taken");
    }
    assert_refused(&h.register("free_name", own, &code).await, 400, "sms_code_expired");
    assert_eq!(hashed(&h) - before, 5, "the sixth probe was refused before its hash");

    let h = harness(Arc::clone(&h.store), &[("SMS_CODE_FAILURES_PER_IP_PER_HOUR", "2")]);
    let own = "13800138002";
    assert_eq!(h.send_sms(own).await.status, 200);
    let code = h.last_code(own);
    let probe = |username: &'static str| {
        let (h, code) = (&h, code.clone());
        async move {
            let form = json!({"username": username, "password": PASSWORD, "password2": PASSWORD,
                "mobile": own, "sms_code": code, "sms_code_id": h.sms_code_id(own), "allow": true});
            h.request_from(MALLORY, "POST", "/register/", None, Some(&form)).await
        }
    };
    assert_refused(&probe("taken_00").await, 409, "username_taken");
    assert_refused(&probe("taken_01").await, 409, "username_taken");
    let before = hashed(&h);
    let (taken, free) = (probe("taken_02").await, probe("free_name").await);
    assert_refused(&taken, 429, "sms_code_failure_limit");
    assert_eq!(taken.json(), free.json(), "a full cap answers alike for a taken name and a free one");
    assert_eq!(hashed(&h), before, "no probe is hashed once the cap refuses");
    let form = json!({"username": "free_name", "password": PASSWORD, "password2": PASSWORD,
        "mobile": own, "sms_code": code, "sms_code_id": h.sms_code_id(own), "allow": true});
    let owner = h.request_from(OWNER, "POST", "/register/", None, Some(&form)).await;
    assert_eq!(owner.status, 200, "the refused probes gave their attempts back: {:?}", owner.json());
}

/// Closing the account with its password follows the same rules: past the
/// name's failures it asks for a captcha, and with one the right password
/// closes it; a right captcha from a client past its captcha failures is
/// refused, as a send would refuse it.
async fn closing_by_password_asks_for_a_captcha_the_same_way<S: Store + 'static>(store: Arc<S>) {
    let h = harness(store, &[("CAPTCHA_FAILURES_PER_IP_PER_HOUR", "1")]);
    assert_eq!(h.send_sms(MOBILE).await.status, 200);
    let token = h.register("alice_01", MOBILE, &h.last_code(MOBILE)).await.session_cookie().unwrap();
    let close = |body: Value| {
        let (h, token) = (&h, token.clone());
        async move { h.request_from(OWNER, "DELETE", "/account", Some(&token), Some(&body)).await }
    };
    for _ in 0..5 {
        assert_refused(&close(json!({"password": WRONG})).await, 401, "login_failed");
    }
    let before = hashed(&h);
    assert_refused(&close(json!({"password": PASSWORD})).await, 429, "captcha_required");
    assert_eq!(hashed(&h), before, "refused before the hash");

    let (id, _) = h.captcha().await;
    let wrong = json!({"password": PASSWORD, "image_code": "zzzz", "image_code_id": id});
    assert_refused(&close(wrong).await, 400, "captcha_incorrect");
    let (id, answer) = h.captcha().await;
    let right = json!({"password": PASSWORD, "image_code": answer, "image_code_id": id});
    assert_refused(&close(right).await, 429, "captcha_failure_limit");
    assert_eq!(hashed(&h), before, "still unhashed");

    h.clock.advance(3_600);
    let (id, answer) = h.captcha().await;
    let right = json!({"password": PASSWORD, "image_code": answer, "image_code_id": id});
    assert_eq!(close(right).await.status, 200, "the owner closes her account");
}

on_both_stores!(
    closing_by_password_asks_for_a_captcha_the_same_way,
    a_stranger_failing_a_name_never_keeps_its_owner_out,
    a_client_past_its_failures_needs_a_captcha_for_every_name,
    failing_a_username_does_not_single_out_its_number,
    a_made_up_code_id_learns_nothing_and_counts_against_the_client,
    one_right_sign_up_code_probes_five_names_at_most_and_none_past_a_cap,
);
