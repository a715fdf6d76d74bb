//! The WeChat client against a loopback WeChat that checks the AppID, the
//! secret, single-use codes and the current access token; the access token
//! shared through the table on both stores.

use shared::clock::{Clock, SystemClock};
use shared::store::Store;
use shared::wechat::token::{PhoneError, access_token, phone_number};
use shared::wechat::{WeChat, WeChatClient, WeChatCode, WeChatError};
use std::sync::Arc;
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

on_both_stores!(
    two_phone_numbers_need_at_most_one_token_fetch,
    concurrent_refreshers_store_one_token,
    a_token_wechat_no_longer_takes_is_replaced_once,
    a_made_up_phone_code_is_the_persons_error_and_keeps_the_token,
);
