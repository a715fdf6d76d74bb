//! The Aliyun SMS client against a loopback server that checks requests as
//! the service does: every class of answer, and the server's own checks
//! (signature, key, timestamp, nonce) can fail.

use shared::clock::{Clock, ManualClock, SystemClock};
use shared::domain::{Mobile, SmsCode};
use shared::random::SeededRandom;
use shared::sms::{AliyunSmsClient, ClientOptions, NumberRefusal, Provider, SmsError, SmsSender};
use std::sync::Arc;
use std::time::Duration;
use tests::aliyun::{ACCESS_KEY_SECRET, AliyunServer, Mode};

const NUMBER: &str = "13800138000";

fn client(server: &AliyunServer) -> AliyunSmsClient {
    AliyunSmsClient::new(server.config()).unwrap()
}

fn short_timeout() -> ClientOptions {
    ClientOptions { timeout: Duration::from_millis(300), ..ClientOptions::default() }
}

#[tokio::test]
async fn an_accepted_message_reaches_the_server_with_its_code_and_a_fresh_nonce() {
    let server = AliyunServer::start().await;
    let client = client(&server);
    let mobile = Mobile::parse(NUMBER).unwrap();
    client.send(&mobile, &SmsCode::parse("012345").unwrap(), 5).await.unwrap();
    let biz_id = client.send_sms(NUMBER, "654321").await.unwrap();
    assert!(!biz_id.is_empty());
    assert!(server.refusals().is_empty(), "{:?}", server.refusals());
    let accepted = server.accepted();
    assert_eq!(accepted.len(), 2);
    assert_eq!((accepted[0].phone_numbers.as_str(), accepted[0].code.as_str()), (NUMBER, "012345"));
    assert_eq!(server.last_code_for(NUMBER).as_deref(), Some("654321"));
    assert_ne!(accepted[0].nonce, accepted[1].nonce);
    assert_eq!(accepted[0].nonce.len(), 32);
}

#[tokio::test]
async fn provider_side_codes_may_fail_over() {
    let server = AliyunServer::start().await;
    let client = client(&server);
    for code in [
        "isv.AMOUNT_NOT_ENOUGH",
        "isv.OUT_OF_SERVICE",
        "isv.DAY_LIMIT_CONTROL",
        "isv.MONTH_LIMIT_CONTROL",
        "isv.PRODUCT_UN_SUBSCRIPT",
        "isv.ACCOUNT_NOT_EXISTS",
        "isv.ACCOUNT_ABNORMAL",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
        "isv.SMS_SIGNATURE_SCENE_ILLEGAL",
        "isv.DENY_IP_RANGE",
        "isp.RAM_PERMISSION_DENY",
        "InvalidAccessKeyId.NotFound",
        "SignatureDoesNotMatch",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.INVALID_JSON_PARAM",
        "isv.INVALID_PARAMETERS",
        "isv.PARAM_LENGTH_LIMIT",
    ] {
        server.set_mode(Mode::Code(code));
        let error = client.send_sms(NUMBER, "1").await.unwrap_err();
        assert!(
            matches!(&error, SmsError::ProviderRefused { provider: Provider::Aliyun, code: got, .. } if got == code),
            "{code}: {error:?}"
        );
        assert!(error.may_fail_over() && error.certainly_not_sent());
    }
}

#[tokio::test]
async fn number_side_codes_refuse_the_number_without_failover() {
    let server = AliyunServer::start().await;
    let client = client(&server);
    for (code, reason) in [
        ("isv.BUSINESS_LIMIT_CONTROL", NumberRefusal::RateLimited),
        ("isv.MOBILE_NUMBER_ILLEGAL", NumberRefusal::InvalidNumber),
        ("isv.MOBILE_COUNT_OVER_LIMIT", NumberRefusal::InvalidNumber),
        ("isv.BLACK_KEY_CONTROL_LIMIT", NumberRefusal::InvalidNumber),
    ] {
        server.set_mode(Mode::Code(code));
        let error = client.send_sms(NUMBER, "1").await.unwrap_err();
        assert!(
            matches!(&error, SmsError::NumberRefused { reason: got, code: c, .. } if *got == reason && c == code),
            "{code}: {error:?}"
        );
        assert!(!error.may_fail_over() && error.certainly_not_sent());
    }
}

#[tokio::test]
async fn the_number_check_of_the_server_is_a_number_refusal() {
    let server = AliyunServer::start().await;
    let error = client(&server).send_sms("1380013", "1").await.unwrap_err();
    assert!(matches!(error, SmsError::NumberRefused { reason: NumberRefusal::InvalidNumber, .. }), "{error:?}");
    assert!(server.accepted().is_empty());
}

#[tokio::test]
async fn internal_errors_5xx_garbage_and_a_stall_are_unknown() {
    let server = AliyunServer::start().await;
    let client = AliyunSmsClient::with_options(server.config(), short_timeout()).unwrap();
    for mode in [Mode::Code("isp.SYSTEM_ERROR"), Mode::Code("isp.GATEWAY_ERROR"), Mode::ServerError, Mode::Garbage] {
        server.set_mode(mode.clone());
        let error = client.send_sms(NUMBER, "1").await.unwrap_err();
        assert!(matches!(error, SmsError::Unknown { provider: Provider::Aliyun, .. }), "{mode:?}: {error:?}");
        assert!(!error.certainly_not_sent() && !error.may_fail_over());
    }
    server.set_mode(Mode::Stall(Duration::from_secs(30)));
    let error = client.send_sms(NUMBER, "777777").await.unwrap_err();
    assert!(matches!(error, SmsError::Unknown { .. }), "{error:?}");
    assert_eq!(server.last_code_for(NUMBER).as_deref(), Some("777777"), "the stalled message was accepted");
}

#[tokio::test]
async fn a_closed_port_is_a_provider_refusal_without_secrets_in_the_error() {
    let server = AliyunServer::start().await;
    let config = shared::sms::AliyunSmsConfig { base_url: tests::faults::closed_port_url(), ..server.config() };
    let error = AliyunSmsClient::new(config).unwrap().send_sms(NUMBER, "424242").await.unwrap_err();
    assert!(matches!(error, SmsError::ProviderRefused { .. }) && error.may_fail_over(), "{error:?}");
    let shown = format!("{error} {error:?} {}", shared::http::cause_chain(&error));
    assert!(!shown.contains(ACCESS_KEY_SECRET) && !shown.contains("424242") && !shown.contains(NUMBER), "{shown}");
}

#[tokio::test]
async fn a_wrong_secret_or_key_id_is_refused_by_the_server() {
    let server = AliyunServer::start().await;
    let wrong_secret = shared::sms::AliyunSmsConfig { access_key_secret: "wrong".to_owned().into(), ..server.config() };
    let error = AliyunSmsClient::new(wrong_secret).unwrap().send_sms(NUMBER, "1").await.unwrap_err();
    assert!(matches!(&error, SmsError::ProviderRefused { code, .. } if code == "SignatureDoesNotMatch"), "{error:?}");
    let wrong_id = shared::sms::AliyunSmsConfig { access_key_id: "LTAIother".to_owned(), ..server.config() };
    let error = AliyunSmsClient::new(wrong_id).unwrap().send_sms(NUMBER, "1").await.unwrap_err();
    assert!(
        matches!(&error, SmsError::ProviderRefused { code, .. } if code == "InvalidAccessKeyId.NotFound"),
        "{error:?}"
    );
    assert!(server.accepted().is_empty());
}

#[tokio::test]
async fn a_clock_off_by_more_than_15_minutes_is_refused() {
    let server = AliyunServer::start().await;
    let clock = Arc::new(ManualClock::new(SystemClock.now() - 16 * 60));
    let options = ClientOptions { clock: clock.clone(), ..ClientOptions::default() };
    let client = AliyunSmsClient::with_options(server.config(), options).unwrap();
    let error = client.send_sms(NUMBER, "1").await.unwrap_err();
    assert!(
        matches!(&error, SmsError::ProviderRefused { code, .. } if code == "InvalidTimeStamp.Expired"),
        "{error:?}"
    );
    clock.set(SystemClock.now() - 14 * 60);
    client.send_sms(NUMBER, "1").await.unwrap();
}

#[tokio::test]
async fn a_reused_nonce_is_refused() {
    let server = AliyunServer::start().await;
    let with_seed = || {
        let options = ClientOptions { random: Arc::new(SeededRandom::new(7)), ..ClientOptions::default() };
        AliyunSmsClient::with_options(server.config(), options).unwrap()
    };
    with_seed().send_sms(NUMBER, "1").await.unwrap();
    let error = with_seed().send_sms(NUMBER, "1").await.unwrap_err();
    assert!(matches!(&error, SmsError::ProviderRefused { code, .. } if code == "SignatureNonceUsed"), "{error:?}");
    assert_eq!(server.accepted().len(), 1);
}

/// Sends a signed request as given, through a plain HTTP client.
async fn raw(signed: shared::sms::AliyunSignedSend) -> serde_json::Value {
    let request = signed.post(&shared::startup::tls::reqwest_builder().build().unwrap());
    serde_json::from_str(&request.send().await.unwrap().text().await.unwrap()).unwrap()
}

#[tokio::test]
async fn a_tampered_signature_or_body_and_a_replay_are_refused() {
    let server = AliyunServer::start().await;
    let client = client(&server);
    let now = SystemClock.now();
    let mut tampered = client.sign(NUMBER, "1", now, "nonce-1");
    let authorization = tampered.headers.last_mut().unwrap();
    let flipped = if authorization.1.ends_with('0') { '1' } else { '0' };
    authorization.1.pop();
    authorization.1.push(flipped);
    assert_eq!(raw(tampered).await["Code"], "SignatureDoesNotMatch");

    let mut other_body = client.sign(NUMBER, "1", now, "nonce-2");
    other_body.body = other_body.body.replace("13800138000", "13900139000");
    assert_eq!(raw(other_body).await["Code"], "SignatureDoesNotMatch");

    let once = client.sign(NUMBER, "1", now, "nonce-3");
    assert_eq!(raw(once.clone()).await["Code"], "OK");
    assert_eq!(raw(once).await["Code"], "SignatureNonceUsed");
    assert_eq!(server.accepted().len(), 1);
}
