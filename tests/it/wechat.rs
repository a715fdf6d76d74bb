//! The WeChat client against a loopback WeChat that checks the AppID, the
//! secret, single-use codes and the current access token; the access token
//! shared through the table on both stores.

use serde_json::json;
use shared::clock::{Clock, SystemClock};
use shared::sms::ConsoleSender;
use shared::store::Store;
use shared::wechat::token::{PhoneError, access_token, phone_number};
use shared::wechat::{WeChat, WeChatClient, WeChatCode, WeChatError};
use std::sync::Arc;
use tests::harness::{Harness, TestResponse, config};
use tests::on_both_stores;
use tests::wechat::WeChatServer;

fn code(text: &str) -> WeChatCode {
    WeChatCode::parse(text).unwrap()
}

#[tokio::test]
async fn a_login_code_names_its_user_once_and_session_key_is_never_kept() {
    let server = WeChatServer::start().await;
    let client = WeChatClient::new(server.config()).unwrap();
    let login = server.login_code("o6_bmjrPTlm6_2sgVt7hMZOPfL2M", Some("o6_union"));
    let identity = client.code_to_session(&code(&login)).await.unwrap();
    assert_eq!(
        (identity.openid.as_str(), identity.unionid.as_deref()),
        ("o6_bmjrPTlm6_2sgVt7hMZOPfL2M", Some("o6_union"))
    );
    assert!(!format!("{identity:?}").contains("c2Vzc2lvbi1rZXktc2VjcmV0"));
    assert!(matches!(
        client.code_to_session(&code(&login)).await,
        Err(WeChatError::InvalidCode { errcode: 40029, .. })
    ));
    assert!(matches!(client.code_to_session(&code("made-up")).await, Err(WeChatError::InvalidCode { .. })));
    let no_union = server.login_code("o6_other", None);
    assert_eq!(client.code_to_session(&code(&no_union)).await.unwrap().unionid, None);
}

#[tokio::test]
async fn a_wrong_secret_or_an_unreachable_wechat_is_a_failure_not_the_persons() {
    let server = WeChatServer::start().await;
    let mut config = server.config();
    config.app_secret = secrecy::SecretString::from("not the secret");
    let client = WeChatClient::new(config).unwrap();
    let login = server.login_code("o6_user", None);
    let refused = client.code_to_session(&code(&login)).await.unwrap_err();
    assert!(matches!(refused, WeChatError::Failed { .. }), "{refused:?}");
    assert!(
        !format!("{refused:?} {refused}").contains("not the secret"),
        "the secret travels in the URL, never in errors"
    );
    let base_url = server.base_url();
    drop(server);
    let mut gone = tests::wechat::WeChatServer::start().await.config();
    gone.base_url = base_url;
    let client = WeChatClient::new(gone).unwrap();
    assert!(matches!(client.code_to_session(&code("any")).await, Err(WeChatError::Failed { .. })));
}

async fn two_phone_numbers_need_at_most_one_token_fetch<S: Store + 'static>(store: Arc<S>) {
    let server = WeChatServer::start().await;
    let client = WeChatClient::new(server.config()).unwrap();
    let now = SystemClock.now();
    for mobile in ["13900001234", "13700005678"] {
        let number = phone_number(&*store, &client, &code(&server.phone_code(mobile)), now).await.unwrap();
        assert_eq!(number.as_str(), mobile);
    }
    assert_eq!(server.token_fetches(), 1, "the second call used the stored token");
    // Another cold start, another client: the same stored token.
    let other = WeChatClient::new(server.config()).unwrap();
    phone_number(&*store, &other, &code(&server.phone_code("13900001234")), now).await.unwrap();
    assert_eq!(server.token_fetches(), 1);
    assert!(server.refusals().is_empty(), "{:?}", server.refusals());
}

async fn concurrent_refreshers_store_one_token<S: Store + 'static>(store: Arc<S>) {
    let server = Arc::new(WeChatServer::start().await);
    let now = SystemClock.now();
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (store, server) = (Arc::clone(&store), Arc::clone(&server));
            tokio::spawn(async move {
                let client = WeChatClient::new(server.config()).unwrap();
                access_token(&*store, &client, now).await.unwrap()
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(task.await.unwrap());
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "every function holds the one token");
    let client = WeChatClient::new(server.config()).unwrap();
    assert_eq!(access_token(&*store, &client, now).await.unwrap(), tokens[0]);
}

async fn a_token_wechat_no_longer_takes_is_replaced_once<S: Store + 'static>(store: Arc<S>) {
    let server = WeChatServer::start().await;
    let client = WeChatClient::new(server.config()).unwrap();
    let now = SystemClock.now();
    phone_number(&*store, &client, &code(&server.phone_code("13900001234")), now).await.unwrap();
    server.rotate_token();
    let number = phone_number(&*store, &client, &code(&server.phone_code("13700005678")), now).await.unwrap();
    assert_eq!(number.as_str(), "13700005678");
    assert_eq!(server.token_fetches(), 2, "one forced refresh after the refusal");
    // The stored token is the new one: the next call needs no fetch.
    phone_number(&*store, &client, &code(&server.phone_code("13900001234")), now).await.unwrap();
    assert_eq!(server.token_fetches(), 2);
}

async fn a_made_up_phone_code_is_the_persons_error_and_keeps_the_token<S: Store + 'static>(store: Arc<S>) {
    let server = WeChatServer::start().await;
    let client = WeChatClient::new(server.config()).unwrap();
    let now = SystemClock.now();
    let refused = phone_number(&*store, &client, &code("made-up"), now).await.unwrap_err();
    assert!(matches!(refused, PhoneError::WeChat(WeChatError::InvalidCode { .. })), "{refused:?}");
    let used = server.phone_code("13900001234");
    phone_number(&*store, &client, &code(&used), now).await.unwrap();
    assert!(matches!(
        phone_number(&*store, &client, &code(&used), now).await,
        Err(PhoneError::WeChat(WeChatError::InvalidCode { .. }))
    ));
    assert_eq!(server.token_fetches(), 1);
}

const PASSWORD: &str = "correct horse battery";

fn harness<S: Store + 'static>(store: Arc<S>, server: &WeChatServer) -> Harness<S> {
    harness_with(store, server, &[])
}

/// [`harness`] with these variables too.
fn harness_with<S: Store + 'static>(store: Arc<S>, server: &WeChatServer, extra: &[(&str, &str)]) -> Harness<S> {
    let env = server.env();
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    vars.extend_from_slice(extra);
    Harness::with_config(store, Arc::new(ConsoleSender::new()), &config(&vars))
}

fn assert_refused(response: &TestResponse, status: u16, key: &str) {
    assert_eq!((response.status, response.error().as_str()), (status, key), "{:?}", response.json());
}

async fn wechat_login<S: Store + 'static>(h: &Harness<S>, code: &str) -> TestResponse {
    h.post("/wechat_login/", &json!({"code": code, "session": "token"})).await
}

async fn wechat_phone<S: Store + 'static>(h: &Harness<S>, ticket: &str, phone_code: &str) -> TestResponse {
    h.post("/wechat_phone/", &json!({"wechat_ticket": ticket, "phone_code": phone_code, "session": "token"})).await
}

async fn sign_up_by_sms<S: Store + 'static>(h: &Harness<S>, username: &str, mobile: &str) {
    assert_eq!(h.send_sms(mobile).await.status, 200);
    assert_eq!(h.register(username, mobile, &h.last_code(mobile)).await.status, 200);
}

/// `alice_01` signed up on 13900001234 by SMS, and the cookie of her password login.
async fn alice_logged_in<S: Store + 'static>(h: &Harness<S>) -> String {
    sign_up_by_sms(h, "alice_01", "13900001234").await;
    h.post("/login/", &json!({"account": "alice_01", "password": PASSWORD})).await.session_cookie().unwrap()
}

async fn whoami<S: Store + 'static>(h: &Harness<S>, response: &TestResponse) -> String {
    let token = response.json()["token"].as_str().unwrap_or_else(|| panic!("{:?}", response.json())).to_owned();
    h.request_bearer("GET", "/session", &token, None).await.json()["username"].as_str().unwrap().to_owned()
}

async fn a_registered_number_is_linked_by_the_phone_button_then_logs_in_by_wx_login<S: Store + 'static>(store: Arc<S>) {
    let server = WeChatServer::start().await;
    let h = harness(store, &server);
    sign_up_by_sms(&h, "alice_01", "13900001234").await;
    let first = wechat_login(&h, &server.login_code("o6_alice", None)).await;
    assert_eq!(first.status, 200, "{:?}", first.json());
    assert!(first.json().get("token").is_none(), "not linked yet");
    let ticket = first.json()["wechat_ticket"].as_str().unwrap().to_owned();
    let linked = wechat_phone(&h, &ticket, &server.phone_code("13900001234")).await;
    assert_eq!(whoami(&h, &linked).await, "alice_01");
    // Linked: the next wx.login is a session at once, with no phone button.
    let again = wechat_login(&h, &server.login_code("o6_alice", None)).await;
    assert_eq!(whoami(&h, &again).await, "alice_01");
    // The WeChat ticket was spent with the link.
    assert_refused(&wechat_phone(&h, &ticket, &server.phone_code("13900001234")).await, 400, "wechat_ticket_expired");
    assert_eq!(server.token_fetches(), 1);
}

async fn a_new_number_signs_up_linked_with_the_signup_ticket<S: Store + 'static>(store: Arc<S>) {
    let server = WeChatServer::start().await;
    let h = harness(store, &server);
    let first = wechat_login(&h, &server.login_code("o6_bob", Some("u_bob"))).await;
    let ticket = first.json()["wechat_ticket"].as_str().unwrap().to_owned();
    let proven = wechat_phone(&h, &ticket, &server.phone_code("13700005678")).await;
    assert_eq!(proven.status, 200, "{:?}", proven.json());
    let body = proven.json();
    assert_eq!(body["mobile"], "137****5678");
    assert!(body.get("token").is_none(), "no session before the account exists");
    let form = json!({"username": "bob_0001", "password": PASSWORD, "password2": PASSWORD,
        "mobile": "13700005678", "signup_ticket": body["signup_ticket"], "allow": true});
    let registered = h.post("/register/", &form).await;
    assert_eq!(registered.status, 200, "{:?}", registered.json());
    assert!(h.sender.last_code_for(&shared::domain::Mobile::parse("13700005678").unwrap()).is_none(), "no SMS");
    let again = wechat_login(&h, &server.login_code("o6_bob", Some("u_bob"))).await;
    assert_eq!(whoami(&h, &again).await, "bob_0001", "the account was created linked");
}

async fn made_up_or_used_codes_are_refused_and_write_nothing<S: Store + 'static>(store: Arc<S>) {
    let server = WeChatServer::start().await;
    let h = harness(store, &server);
    assert_refused(&wechat_login(&h, "made-up-code").await, 400, "wechat_code_invalid");
    let code = server.login_code("o6_carol", None);
    assert_eq!(wechat_login(&h, &code).await.status, 200);
    assert_refused(&wechat_login(&h, &code).await, 400, "wechat_code_invalid");
    assert_refused(&wechat_login(&h, "").await, 400, "invalid_wechat_code");
    let ticket = wechat_login(&h, &server.login_code("o6_carol", None)).await.json()["wechat_ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_refused(&wechat_phone(&h, &ticket, "made-up-phone-code").await, 400, "wechat_code_invalid");
    assert_refused(
        &wechat_phone(&h, &"A".repeat(43), &server.phone_code("13900001234")).await,
        400,
        "wechat_ticket_expired",
    );
    assert_refused(&wechat_phone(&h, "short", "x").await, 400, "invalid_wechat_ticket");
    // The refused phone code left the ticket unspent and linked nothing.
    let link = h.store.get(&shared::service::keys::wechat_link("o6_carol"), h.clock.now()).await.unwrap();
    assert!(link.is_none());
    let proven = wechat_phone(&h, &ticket, &server.phone_code("13900001234")).await;
    assert!(proven.json()["signup_ticket"].is_string(), "{:?}", proven.json());
}

async fn without_the_mini_program_wechat_login_is_off<S: Store + 'static>(store: Arc<S>) {
    let h = Harness::new(store);
    assert_refused(&h.post("/wechat_login/", &json!({"code": "x"})).await, 404, "wechat_disabled");
    assert_refused(
        &h.post("/wechat_phone/", &json!({"wechat_ticket": "x", "phone_code": "y"})).await,
        404,
        "wechat_disabled",
    );
}

async fn a_logged_in_user_links_and_unlinks_and_closing_removes_the_link<S: Store + 'static>(store: Arc<S>) {
    let server = WeChatServer::start().await;
    let h = harness(store, &server);
    let session = alice_logged_in(&h).await;
    let link = |code: String| json!({"code": code});
    assert_refused(&h.post("/account/wechat/", &link(server.login_code("o6_alice", None))).await, 401, "not_logged_in");
    let linked =
        h.request("POST", "/account/wechat/", Some(&session), Some(&link(server.login_code("o6_alice", None)))).await;
    assert_eq!(linked.status, 200, "{:?}", linked.json());
    assert_eq!(whoami(&h, &wechat_login(&h, &server.login_code("o6_alice", None)).await).await, "alice_01");
    // One WeChat user per account, one account per WeChat user.
    let second =
        h.request("POST", "/account/wechat", Some(&session), Some(&link(server.login_code("o6_other", None)))).await;
    assert_refused(&second, 409, "wechat_already_linked");

    let unlinked = h.request("DELETE", "/account/wechat/", Some(&session), None).await;
    assert_eq!(unlinked.status, 200, "{:?}", unlinked.json());
    assert!(wechat_login(&h, &server.login_code("o6_alice", None)).await.json()["wechat_ticket"].is_string());

    // Linked again, then the account closes: the link goes with it.
    let relinked =
        h.request("POST", "/account/wechat/", Some(&session), Some(&link(server.login_code("o6_alice", None)))).await;
    assert_eq!(relinked.status, 200, "{:?}", relinked.json());
    let close = json!({"password": PASSWORD});
    assert_eq!(h.request("DELETE", "/account", Some(&session), Some(&close)).await.status, 200);
    let now = h.clock.now();
    assert!(h.store.get(&shared::service::keys::wechat_link("o6_alice"), now).await.unwrap().is_none());
    // The number signs up again (after the SMS cooldown); the old WeChat user is not linked to the new account.
    h.clock.advance(181);
    sign_up_by_sms(&h, "alice_02", "13900001234").await;
    assert!(wechat_login(&h, &server.login_code("o6_alice", None)).await.json()["wechat_ticket"].is_string());
}

async fn a_number_change_keeps_the_wechat_link_on_the_account<S: Store + 'static>(store: Arc<S>) {
    let server = WeChatServer::start().await;
    let h = harness(store, &server);
    let session = alice_logged_in(&h).await;
    let link = json!({"code": server.login_code("o6_alice", None)});
    assert_eq!(h.request("POST", "/account/wechat/", Some(&session), Some(&link)).await.status, 200);
    let id = h.seed_code_for("13700001111", "123456", "change_mobile").await;
    let change = json!({"mobile": "13700001111", "sms_code": "123456", "sms_code_id": id, "password": PASSWORD});
    let changed = h.request("POST", "/account/mobile/", Some(&session), Some(&change)).await;
    assert_eq!(changed.status, 200, "{:?}", changed.json());
    // The link follows the account to its new number.
    let now = h.clock.now();
    let item = h.store.get(&shared::service::keys::wechat_link("o6_alice"), now).await.unwrap().unwrap();
    assert_eq!(item.s(shared::service::keys::MOBILE).unwrap(), "13700001111");
    assert_eq!(whoami(&h, &wechat_login(&h, &server.login_code("o6_alice", None)).await).await, "alice_01");
    // The old number signs up someone else (after the SMS cooldown): WeChat still logs alice in.
    h.clock.advance(181);
    sign_up_by_sms(&h, "bob_0001", "13900001234").await;
    assert_eq!(whoami(&h, &wechat_login(&h, &server.login_code("o6_alice", None)).await).await, "alice_01");
}

/// `/wechat_login/` from the client `ip`, not the harness's own.
async fn wechat_login_from<S: Store + 'static>(h: &Harness<S>, ip: &str, code: &str) -> TestResponse {
    let body = json!({"code": code, "session": "token"});
    h.request_from(ip.parse().unwrap(), "POST", "/wechat_login/", None, Some(&body)).await
}

/// The login, the phone proof and the link count against one hourly cap per
/// client, before WeChat is called: a capped client costs WeChat nothing,
/// another client is not held up, and the next window lets it in again.
async fn the_wechat_routes_share_one_cap_per_client<S: Store + 'static>(store: Arc<S>) {
    let server = WeChatServer::start().await;
    let h = harness_with(store, &server, &[("WECHAT_PER_IP_PER_HOUR", "2")]);
    let session = alice_logged_in(&h).await;
    let link = |code: String| json!({"code": code});
    // Unlinked: a 401 before any count or call.
    assert_refused(&h.post("/account/wechat/", &link(server.login_code("o6_alice", None))).await, 401, "not_logged_in");
    // The first count: a link.
    let linked =
        h.request("POST", "/account/wechat/", Some(&session), Some(&link(server.login_code("o6_alice", None)))).await;
    assert_eq!(linked.status, 200, "{:?}", linked.json());
    // Tickets from elsewhere count against elsewhere; the second count: a phone proof.
    let ticket = |response: TestResponse| response.json()["wechat_ticket"].as_str().unwrap().to_owned();
    let bobs = ticket(wechat_login_from(&h, "203.0.113.7", &server.login_code("o6_bob", None)).await);
    let proven = wechat_phone(&h, &bobs, &server.phone_code("13700005678")).await;
    assert!(proven.json()["signup_ticket"].is_string(), "{:?}", proven.json());
    let carols = ticket(wechat_login_from(&h, "203.0.113.7", &server.login_code("o6_carol", None)).await);

    let before = server.received();
    let capped = wechat_login(&h, &server.login_code("o6_alice", None)).await;
    assert_refused(&capped, 429, "wechat_ip_limit");
    let retry_after = capped.json()["retry_after"].as_i64().unwrap();
    assert!((1..=3_600).contains(&retry_after), "{retry_after}");
    assert_eq!(capped.header("retry-after"), Some(retry_after.to_string().as_str()));
    let phone = wechat_phone(&h, &carols, &server.phone_code("13600009999")).await;
    assert_refused(&phone, 429, "wechat_ip_limit");
    assert_eq!(phone.json()["retry_after"].as_i64(), Some(retry_after));
    let relink =
        h.request("POST", "/account/wechat/", Some(&session), Some(&link(server.login_code("o6_alice", None)))).await;
    assert_refused(&relink, 429, "wechat_ip_limit");
    assert_eq!(server.received(), before, "a capped client costs no call to WeChat");
    assert!(server.refusals().is_empty(), "{:?}", server.refusals());

    // That client's own two made its cap full too; a third is not held up.
    assert_refused(
        &wechat_login_from(&h, "203.0.113.7", &server.login_code("o6_dave", None)).await,
        429,
        "wechat_ip_limit",
    );
    let elsewhere = wechat_login_from(&h, "198.51.100.4", &server.login_code("o6_alice", None)).await;
    assert_eq!(whoami(&h, &elsewhere).await, "alice_01");
    // The next window lets the capped client in again.
    h.clock.advance(retry_after);
    let reopened = wechat_login(&h, &server.login_code("o6_alice", None)).await;
    assert_eq!(whoami(&h, &reopened).await, "alice_01");
}

on_both_stores!(
    the_wechat_routes_share_one_cap_per_client,
    a_number_change_keeps_the_wechat_link_on_the_account,
    a_logged_in_user_links_and_unlinks_and_closing_removes_the_link,
    a_registered_number_is_linked_by_the_phone_button_then_logs_in_by_wx_login,
    a_new_number_signs_up_linked_with_the_signup_ticket,
    made_up_or_used_codes_are_refused_and_write_nothing,
    without_the_mini_program_wechat_login_is_off,
    two_phone_numbers_need_at_most_one_token_fetch,
    concurrent_refreshers_store_one_token,
    a_token_wechat_no_longer_takes_is_replaced_once,
    a_made_up_phone_code_is_the_persons_error_and_keeps_the_token,
);
