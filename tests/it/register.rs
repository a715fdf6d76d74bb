//! `POST /register/` and `/session` on both stores: the whole flow, every
//! refusal, guessing limits and concurrent sign-ups.

use serde_json::json;
use shared::clock::Clock;
use shared::domain::{Mobile, Username};
use shared::service::keys;
use shared::store::Store;
use std::sync::Arc;
use tests::flows_on_both_stores;
use tests::harness::Harness;

const MOBILE: &str = "13800138000";

async fn code_for<S: Store + 'static>(h: &Harness<S>, mobile: &str) -> String {
    let response = h.send_sms(mobile).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    h.last_code(mobile)
}

async fn the_whole_flow_registers_logs_in_and_logs_out<S: Store + 'static>(h: Harness<S>) {
    let code = code_for(&h, MOBILE).await;
    let response = h.register("Alice_01", MOBILE, &code).await;
    assert_eq!(response.status, 200, "{:?}", response.json());
    assert_eq!(response.json(), json!({"code": 0, "errmsg": "ok"}));
    let cookie = response.headers.get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cookie.ends_with("; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=1209600"), "{cookie}");
    let token = response.session_cookie().unwrap();
    assert_eq!(token.len(), 43);

    let now = h.clock.now();
    let user = h.store.get(&keys::user(&Username::parse("alice_01").unwrap()), now).await.unwrap().unwrap();
    assert_eq!(user.s(keys::USERNAME).unwrap(), "Alice_01");
    assert_eq!(user.s(keys::MOBILE).unwrap(), MOBILE);
    assert!(user.s(keys::PASSWORD_HASH).unwrap().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    assert_eq!(user.expires_at(), None, "users do not expire");
    let guard = h.store.get(&keys::mobile_guard(&Mobile::parse(MOBILE).unwrap()), now).await.unwrap().unwrap();
    assert_eq!(guard.s(keys::USERNAME).unwrap(), "Alice_01");
    assert!(h.store.get(&keys::sms_code(&Mobile::parse(MOBILE).unwrap()), now).await.unwrap().is_none(), "code spent");

    let session = h.request("GET", "/session", Some(&token), None).await;
    assert_eq!(session.status, 200);
    let now = h.clock.now();
    assert_eq!(
        session.json(),
        json!({"code": 0, "errmsg": "ok", "username": "Alice_01", "mobile": "138****8000",
            "created_at": now, "expires_at": now + 14 * 24 * 3600})
    );

    let logout = h.request("DELETE", "/session", Some(&token), None).await;
    assert_eq!(logout.status, 200);
    assert!(logout.header("set-cookie").unwrap().contains("Max-Age=0"));
    let after = h.request("GET", "/session", Some(&token), None).await;
    assert_eq!((after.status, after.error().as_str()), (401, "not_logged_in"));
}

async fn the_store_keeps_only_the_hash_of_the_session_token<S: Store + 'static>(h: Harness<S>) {
    let code = code_for(&h, MOBILE).await;
    let token = h.register("alice_01", MOBILE, &code).await.session_cookie().unwrap();
    let parsed = shared::domain::SessionToken::parse(&token).unwrap();
    let item = h.store.get(&keys::session(&parsed.hash()), h.clock.now()).await.unwrap().unwrap();
    assert!(!item.pk().contains(&token));
    assert!(item.attributes().all(|(_, v)| !format!("{v:?}").contains(&token)));
    assert_eq!(item.expires_at(), Some(h.clock.now() + 1_209_600));
}

async fn a_code_cannot_be_used_twice<S: Store + 'static>(h: Harness<S>) {
    let code = code_for(&h, MOBILE).await;
    assert_eq!(h.register("alice_01", MOBILE, &code).await.status, 200);
    let again = h.register("alice_02", MOBILE, &code).await;
    assert_eq!((again.status, again.error().as_str()), (400, "sms_code_expired"));
}

async fn an_expired_code_is_refused<S: Store + 'static>(h: Harness<S>) {
    let code = code_for(&h, MOBILE).await;
    h.clock.advance(180);
    let response = h.register("alice_01", MOBILE, &code).await;
    assert_eq!((response.status, response.error().as_str()), (400, "sms_code_expired"));
    assert_eq!(response.json()["errmsg"], "SMS verification code has expired");
}

async fn a_wrong_code_counts_an_attempt_and_the_fifth_destroys_the_code<S: Store + 'static>(h: Harness<S>) {
    let code = code_for(&h, MOBILE).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mobile = Mobile::parse(MOBILE).unwrap();
    for attempt in 1..=4 {
        let response = h.register("alice_01", MOBILE, wrong).await;
        assert_eq!((response.status, response.error().as_str()), (400, "sms_code_incorrect"));
        let stored = h.store.get(&keys::sms_code(&mobile), h.clock.now()).await.unwrap().unwrap();
        assert_eq!(stored.n(keys::ATTEMPTS).unwrap(), attempt);
    }
    let fifth = h.register("alice_01", MOBILE, wrong).await;
    assert_eq!(fifth.error(), "sms_code_incorrect");
    assert!(h.store.get(&keys::sms_code(&mobile), h.clock.now()).await.unwrap().is_none(), "destroyed");
    let right = h.register("alice_01", MOBILE, &code).await;
    assert_eq!(right.error(), "sms_code_expired", "the right code no longer helps");
}

async fn thirty_concurrent_guesses_see_the_code_at_most_five_times<S: Store + 'static>(h: Harness<S>) {
    let code = code_for(&h, MOBILE).await;
    let right_at = (code.as_bytes()[5] - b'0') as usize % 30;
    let h = Arc::new(h);
    let tasks: Vec<_> = (0..30)
        .map(|n| {
            let h = Arc::clone(&h);
            // One right code among 29 wrong ones, all at once.
            let guess = if n == right_at {
                code.clone()
            } else {
                format!("{:06}", (code.parse::<u32>().unwrap() + 1 + n as u32) % 1_000_000)
            };
            tokio::spawn(async move {
                let r = h.register(&format!("guess_{n:04}"), MOBILE, &guess).await;
                (r.status, r.error())
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let compared = outcomes.iter().filter(|(_, error)| error != "sms_code_expired").count();
    assert!(compared <= 5, "only five guesses may be compared with the code: {outcomes:?}");
    assert!(
        outcomes.iter().all(|(s, e)| *s == 200 || e == "sms_code_incorrect" || e == "sms_code_expired"),
        "{outcomes:?}"
    );
    let now = h.clock.now();
    let left = h.store.get(&keys::sms_code(&Mobile::parse(MOBILE).unwrap()), now).await.unwrap();
    assert!(left.as_ref().is_none_or(|code| code.n(keys::ATTEMPTS).unwrap() <= 5), "{left:?}");
}

async fn a_taken_username_is_409_and_the_code_stays_usable<S: Store + 'static>(h: Harness<S>) {
    let code = code_for(&h, MOBILE).await;
    assert_eq!(h.register("alice_01", MOBILE, &code).await.status, 200);
    let other = "13900139000";
    let code = code_for(&h, other).await;
    let taken = h.register("ALICE_01", other, &code).await;
    assert_eq!((taken.status, taken.error().as_str()), (409, "username_taken"));
    assert!(taken.session_cookie().is_none());
    let retry = h.register("bob_0001", other, &code).await;
    assert_eq!(retry.status, 200, "{:?}", retry.json());
}

async fn a_registered_mobile_is_409_when_the_code_is_asked_for_and_no_sms_is_paid<S: Store + 'static>(h: Harness<S>) {
    let code = code_for(&h, MOBILE).await;
    assert_eq!(h.register("alice_01", MOBILE, &code).await.status, 200);
    h.clock.advance(180);
    let taken = h.send_sms(MOBILE).await;
    assert_eq!((taken.status, taken.error().as_str()), (409, "mobile_taken"));
    assert_eq!(h.sender.sent().len(), 1, "no SMS for a sign-up that cannot succeed");
    let now = h.clock.now();
    assert!(h.store.get(&keys::send_flag(&Mobile::parse(MOBILE).unwrap()), now).await.unwrap().is_none());
    let day = now.div_euclid(86_400);
    let counter = h.store.get(&format!("limit#sms-mobile-day#{MOBILE}#{day}"), now).await.unwrap().unwrap();
    assert_eq!(counter.n(keys::COUNT).unwrap(), 1, "the refused send counted nothing");
    // A code stored before the number was taken still cannot make a second account.
    let seeded = h.seed_code(MOBILE, "654321").await;
    let late = h.register_with_id("bob_0001", MOBILE, "654321", &seeded).await;
    assert_eq!((late.status, late.error().as_str()), (409, "mobile_taken"));
    assert!(h.store.get(&keys::user(&Username::parse("bob_0001").unwrap()), now).await.unwrap().is_none());
}

async fn ten_concurrent_sign_ups_for_one_username_make_one_account<S: Store + 'static>(h: Harness<S>) {
    let mut forms = Vec::new();
    for n in 0..10 {
        let mobile = format!("1390013{n:04}");
        forms.push((mobile.clone(), code_for(&h, &mobile).await));
    }
    let h = Arc::new(h);
    let tasks: Vec<_> = forms
        .into_iter()
        .map(|(mobile, code)| {
            let h = Arc::clone(&h);
            tokio::spawn(async move {
                let r = h.register("same_name", &mobile, &code).await;
                (r.status, r.error())
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    let created = outcomes.iter().filter(|(s, _)| *s == 200).count();
    let taken = outcomes.iter().filter(|(_, e)| e == "username_taken").count();
    assert_eq!((created, taken), (1, 9), "{outcomes:?}");
}

async fn ten_concurrent_sign_ups_for_one_mobile_make_one_account<S: Store + 'static>(h: Harness<S>) {
    let code = code_for(&h, MOBILE).await;
    let h = Arc::new(h);
    let tasks: Vec<_> = (0..10)
        .map(|n| {
            let (h, code) = (Arc::clone(&h), code.clone());
            tokio::spawn(async move { h.register(&format!("user_{n:04}"), MOBILE, &code).await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|&s| s == 200 || s == 400 || s == 409), "{statuses:?}");
    let mut accounts = 0;
    for n in 0..10 {
        let name = Username::parse(&format!("user_{n:04}")).unwrap();
        accounts += usize::from(h.store.get(&keys::user(&name), h.clock.now()).await.unwrap().is_some());
    }
    assert_eq!(accounts, 1);
}

async fn bad_forms_are_400_naming_the_field_and_write_nothing<S: Store + 'static>(h: Harness<S>) {
    let code = code_for(&h, MOBILE).await;
    let good = json!({"username": "alice_01", "password": "correct horse", "password2": "correct horse",
        "mobile": MOBILE, "sms_code": code, "sms_code_id": h.sms_code_id(MOBILE), "allow": true});
    let cases = [
        (json!({"sms_code_id": "not-an-id"}), "invalid_sms_code_id"),
        (json!({"username": "a"}), "invalid_username"),
        (json!({"password": "short", "password2": "short"}), "invalid_password"),
        (json!({"password2": "something else"}), "password_mismatch"),
        (json!({"mobile": "1380013800"}), "invalid_mobile"),
        (json!({"sms_code": "12345"}), "invalid_sms_code"),
        (json!({"allow": false}), "allow_required"),
    ];
    for (change, key) in cases {
        let mut form = good.clone();
        for (k, v) in change.as_object().unwrap() {
            form[k] = v.clone();
        }
        let response = h.request("POST", "/register/", None, Some(&form)).await;
        assert_eq!((response.status, response.error().as_str()), (400, key));
    }
    let not_json = h.request("POST", "/register", None, None).await;
    assert_eq!((not_json.status, not_json.error().as_str()), (415, "unsupported_media_type"));
    let mut as_text = tests::events::request("POST", "/register/", None, Some(&good), tests::events::CLIENT_IP);
    as_text.headers.retain(|(name, _)| name != "content-type");
    as_text.headers.push(("content-type".to_owned(), "text/plain".to_owned()));
    let response = h.api.handle_http(as_text).await;
    assert_eq!(response.status(), 415, "a cross-site form post is refused");
    let stored = h.store.get(&keys::sms_code(&Mobile::parse(MOBILE).unwrap()), h.clock.now()).await.unwrap().unwrap();
    assert_eq!(stored.n(keys::ATTEMPTS).unwrap(), 0, "refused forms never touch the code");
    assert_eq!(h.request("POST", "/register/", None, Some(&good)).await.status, 200);
}

async fn a_session_ends_after_14_days<S: Store + 'static>(h: Harness<S>) {
    let code = code_for(&h, MOBILE).await;
    let token = h.register("alice_01", MOBILE, &code).await.session_cookie().unwrap();
    h.clock.advance(14 * 24 * 3600 - 1);
    assert_eq!(h.request("GET", "/session", Some(&token), None).await.status, 200);
    h.clock.advance(1);
    assert_eq!(h.request("GET", "/session", Some(&token), None).await.status, 401);
}

async fn no_or_a_forged_cookie_is_not_logged_in<S: Store + 'static>(h: Harness<S>) {
    assert_eq!(h.get("/session").await.error(), "not_logged_in");
    let forged = "A".repeat(43);
    assert_eq!(h.request("GET", "/session", Some(&forged), None).await.status, 401);
    assert_eq!(h.request("GET", "/session", Some("junk"), None).await.status, 401);
    assert_eq!(h.request("DELETE", "/session", None, None).await.status, 200, "logging out twice is fine");
}

flows_on_both_stores!(
    the_whole_flow_registers_logs_in_and_logs_out,
    the_store_keeps_only_the_hash_of_the_session_token,
    a_code_cannot_be_used_twice,
    an_expired_code_is_refused,
    a_wrong_code_counts_an_attempt_and_the_fifth_destroys_the_code,
    a_taken_username_is_409_and_the_code_stays_usable,
    a_registered_mobile_is_409_when_the_code_is_asked_for_and_no_sms_is_paid,
    ten_concurrent_sign_ups_for_one_username_make_one_account,
    ten_concurrent_sign_ups_for_one_mobile_make_one_account,
    thirty_concurrent_guesses_see_the_code_at_most_five_times,
    bad_forms_are_400_naming_the_field_and_write_nothing,
    a_session_ends_after_14_days,
    no_or_a_forged_cookie_is_not_logged_in,
);

/// Counted with an SDK interceptor on the DynamoDB client: every request
/// that leaves for DynamoDB, retries included. One call per happy path, but
/// the SMS send, which spends the captcha first so that racing requests
/// cannot have one captcha judged twice, and registration, which claims a
/// guess first so that racing requests cannot compare more than five
/// guesses with the code, and asks the client's failure cap at the same
/// time so that no probe is hashed once that cap is full.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_happy_path_makes_the_fewest_dynamodb_calls() {
    let (h, calls) = tests::harness::on_dynamodb().await;
    let id = uuid::Uuid::new_v4();
    assert_eq!(h.get(&format!("/image_codes/{id}/")).await.status, 200);
    assert_eq!(calls.take(), vec!["TransactWriteItems"], "captcha: the answer and the client's captcha count");

    let answer = h.captcha_answer(&id.to_string()).await.unwrap();
    calls.take();
    let sent = h.get(&format!("/sms_codes/{MOBILE}/?image_code={answer}&image_code_id={id}")).await;
    assert_eq!(sent.status, 200);
    assert_eq!(calls.take(), vec!["DeleteItem", "TransactWriteItems"], "sms: judge the captcha, then send");

    let (code, sms_code_id) = (h.last_code(MOBILE), sent.json()["sms_code_id"].as_str().unwrap().to_owned());
    let response = h.register_with_id("alice_01", MOBILE, &code, &sms_code_id).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        calls.take(),
        vec!["UpdateItem", "UpdateItem", "TransactWriteItems"],
        "register: the client's failure cap and the claim of a guess at once, then create"
    );

    let wrong = h.register_with_id("bob_0001", MOBILE, "000000", &sms_code_id).await;
    assert_eq!(wrong.status, 400);
    assert_eq!(
        calls.take(),
        vec!["UpdateItem", "UpdateItem", "UpdateItem"],
        "a wrong or spent code: the cap, the claim and the client's failure, and no hashing"
    );

    let token = response.session_cookie().unwrap();
    assert_eq!(h.request("GET", "/session", Some(&token), None).await.status, 200);
    assert_eq!(calls.take(), vec!["GetItem", "GetItem"], "session: the session, then its user's generation");
    assert_eq!(h.request("DELETE", "/session", Some(&token), None).await.status, 200);
    assert_eq!(calls.take(), vec!["DeleteItem"], "logout");
}
