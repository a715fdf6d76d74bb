//! The Ronglian client against the official SDK's request (byte for byte)
//! and against a loopback server that checks requests as the service does.

use secrecy::SecretString;
use serde_json::Value;
use shared::clock::{Clock, ManualClock, SystemClock};
use shared::config::RonglianConfig;
use shared::sms::{ClientOptions, NumberRefusal, Provider, RonglianClient, SmsError};
use std::time::Duration;
use tests::faults::{Canned, FaultServer};
use tests::ronglian::{Mode, RonglianServer};

fn vector() -> Value {
    serde_json::from_str(include_str!("../fixtures/ronglian-sdk-request.json")).unwrap()
}

#[test]
fn signing_matches_the_official_sdk_request_byte_for_byte() {
    let vector = vector();
    let inputs = &vector["inputs"];
    let text = |key: &str| inputs[key].as_str().unwrap().to_owned();
    let client = RonglianClient::new(RonglianConfig {
        account_sid: text("account_sid"),
        auth_token: SecretString::from(text("auth_token")),
        app_id: text("app_id"),
        template_id: text("template_id"),
        base_url: "https://app.cloopen.com:8883".to_owned(),
    })
    .unwrap();
    let datas: Vec<&str> = inputs["datas"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
    let signed = client.sign(&text("to"), &datas, &text("timestamp_beijing"));

    let expected = &vector["request"];
    assert_eq!(signed.path, expected["path"]);
    assert_eq!(signed.query, expected["query"]);
    assert_eq!(signed.body, expected["body"]);
    let headers: Vec<(String, String)> = expected["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| (pair[0].as_str().unwrap().to_owned(), pair[1].as_str().unwrap().to_owned()))
        .collect();
    let ours: Vec<(String, String)> = signed.headers.iter().map(|(n, v)| ((*n).to_owned(), v.clone())).collect();
    assert_eq!(ours, headers);
}

#[tokio::test]
async fn an_accepted_message_returns_its_id_and_reaches_the_server() {
    let server = RonglianServer::start().await;
    let client = RonglianClient::new(server.config()).unwrap();
    let id = client.send_template("13800138000", &["123456", "3"]).await.unwrap();
    assert_eq!(id.len(), 32, "{id}");
    assert!(server.refusals().is_empty(), "{:?}", server.refusals());
    let accepted = server.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].to, "13800138000");
    assert_eq!(accepted[0].datas, vec!["123456", "3"]);
}

#[tokio::test]
async fn a_wrong_auth_token_fails_the_signature_check() {
    let server = RonglianServer::start().await;
    let config = RonglianConfig { auth_token: SecretString::from("wrong"), ..server.config() };
    let error = RonglianClient::new(config).unwrap().send_template("13800138000", &["1", "3"]).await.unwrap_err();
    match error {
        SmsError::ProviderRefused { provider: Provider::Ronglian, code, .. } => assert_eq!(code, "111109"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(server.accepted().is_empty());
}

#[tokio::test]
async fn an_error_status_code_is_a_typed_refusal_and_rate_limits_are_told_apart() {
    let server = RonglianServer::start().await;
    let client = RonglianClient::new(server.config()).unwrap();
    server.set_mode(Mode::StatusCode("160042"));
    assert!(
        matches!(client.send_template("13800138000", &["1", "3"]).await, Err(SmsError::NumberRefused { reason: NumberRefusal::InvalidNumber, code, .. }) if code == "160042")
    );
    for code in ["160038", "160039", "160040", "160041"] {
        server.set_mode(Mode::StatusCode(code));
        let result = client.send_template("13800138000", &["1", "3"]).await;
        assert!(
            matches!(result, Err(SmsError::NumberRefused { reason: NumberRefusal::RateLimited, code: ref got, .. }) if got == code),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn a_500_or_a_body_that_is_not_json_is_an_unknown_outcome() {
    let server = RonglianServer::start().await;
    let client = RonglianClient::new(server.config()).unwrap();
    for mode in [Mode::ServerError, Mode::Garbage] {
        server.set_mode(mode.clone());
        let result = client.send_template("13800138000", &["1", "3"]).await;
        assert!(matches!(result, Err(SmsError::Unknown { .. })), "{mode:?}: {result:?}");
        assert!(!result.unwrap_err().certainly_not_sent());
    }
}

#[tokio::test]
async fn a_server_stalling_past_the_timeout_is_an_unknown_outcome() {
    let server = RonglianServer::start().await;
    server.set_mode(Mode::Slow(Duration::from_secs(30)));
    let options = ClientOptions { timeout: Duration::from_millis(300), ..ClientOptions::default() };
    let client = RonglianClient::with_options(server.config(), options).unwrap();
    let result = client.send_template("13800138000", &["1", "3"]).await;
    assert!(matches!(result, Err(SmsError::Unknown { .. })), "{result:?}");
    assert!(!result.unwrap_err().certainly_not_sent());
}

#[tokio::test]
async fn the_timestamp_comes_from_the_injected_clock() {
    let server = RonglianServer::start().await;
    let clock = std::sync::Arc::new(ManualClock::new(SystemClock.now() - 3600));
    let options = ClientOptions { clock: clock.clone(), ..ClientOptions::default() };
    let client = RonglianClient::with_options(server.config(), options).unwrap();
    let error = client.send_template("13800138000", &["1", "3"]).await.unwrap_err();
    assert!(matches!(&error, SmsError::ProviderRefused { code, .. } if code == "111106"), "{error:?}");
    clock.set(SystemClock.now());
    client.send_template("13800138000", &["1", "3"]).await.unwrap();
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let target = FaultServer::start(Canned {
        status: 200,
        content_type: "application/json",
        body: r#"{"statusCode":"000000"}"#.to_owned(),
        delay: Duration::ZERO,
        location: None,
    })
    .await;
    let redirector = FaultServer::start(Canned {
        status: 302,
        content_type: "text/plain",
        body: String::new(),
        delay: Duration::ZERO,
        location: Some(format!("{}/elsewhere", target.url())),
    })
    .await;
    let config = RonglianConfig { base_url: redirector.url(), ..RonglianServer::start().await.config() };
    let result = RonglianClient::new(config).unwrap().send_template("13800138000", &["1", "3"]).await;
    assert!(matches!(result, Err(SmsError::Unknown { .. })), "{result:?}");
    assert_eq!((redirector.hits(), target.hits()), (1, 0));
}

#[tokio::test]
async fn errors_never_show_the_auth_token_or_the_signature() {
    let server = RonglianServer::start().await;
    let config = RonglianConfig { base_url: tests::faults::closed_port_url(), ..server.config() };
    let error = RonglianClient::new(config).unwrap().send_template("13800138000", &["1", "3"]).await.unwrap_err();
    assert!(matches!(error, SmsError::ProviderRefused { .. }) && error.may_fail_over(), "{error:?}");
    let shown = format!("{error} {error:?} {}", shared::http::cause_chain(&error));
    assert!(!shown.contains(tests::ronglian::AUTH_TOKEN), "{shown}");
    assert!(!shown.contains("sig="), "{shown}");
}
