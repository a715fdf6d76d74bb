//! The Tencent Cloud SMS client against a loopback server that checks
//! requests as the service does: every class of answer, at request level and
//! per number, and the server's own checks (signature, key, timestamp) can fail.

use shared::clock::{Clock, ManualClock, SystemClock};
use shared::domain::{Mobile, SmsCode};
use shared::sms::{ClientOptions, NumberRefusal, Provider, SmsError, SmsSender, TencentSmsClient, TencentSmsConfig};
use std::sync::Arc;
use std::time::Duration;
use tests::tencent::{Mode, SECRET_KEY, TencentServer};

const NUMBER: &str = "+8613800138000";

fn client(server: &TencentServer) -> TencentSmsClient {
    TencentSmsClient::new(server.config()).unwrap()
}

const PROVIDER_SIDE: [&str; 12] = [
    "FailedOperation.InsufficientBalanceInSmsPackage",
    "UnauthorizedOperation.SerivceSuspendDueToArrears",
    "UnauthorizedOperation.SdkAppIdIsDisabled",
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail",
    "FailedOperation.SignatureIncorrectOrUnapproved",
    "FailedOperation.TemplateIncorrectOrUnapproved",
    "LimitExceeded.AppDailyLimit",
    "LimitExceeded.DailyLimit",
    "AuthFailure.SignatureFailure",
    "InvalidParameterValue.TemplateParameterFormatError",
    "InvalidParameter",
    "MissingParameter.EmptyPhoneNumberSet",
];

const NUMBER_SIDE: [(&str, NumberRefusal); 7] = [
    ("LimitExceeded.PhoneNumberDailyLimit", NumberRefusal::RateLimited),
    ("LimitExceeded.PhoneNumberOneHourLimit", NumberRefusal::RateLimited),
    ("LimitExceeded.PhoneNumberThirtySecondLimit", NumberRefusal::RateLimited),
    ("LimitExceeded.PhoneNumberSameContentDailyLimit", NumberRefusal::RateLimited),
    ("LimitExceeded.DeliveryFrequencyLimit", NumberRefusal::RateLimited),
    ("InvalidParameterValue.IncorrectPhoneNumber", NumberRefusal::InvalidNumber),
    ("FailedOperation.PhoneNumberInBlacklist", NumberRefusal::InvalidNumber),
];

const UNKNOWN: [&str; 4] = [
    "InternalError.Timeout",
    "InternalError.SendAndRecvFail",
    "InternalError.OtherError",
    "InternalError.UnknownError",
];

#[tokio::test]
async fn an_accepted_message_reaches_the_server_with_the_code_and_the_minutes() {
    let server = TencentServer::start().await;
    let client = client(&server);
    let mobile = Mobile::parse("13800138000").unwrap();
    client.send(&mobile, &SmsCode::parse("012345").unwrap(), 5).await.unwrap();
    assert!(server.refusals().is_empty(), "{:?}", server.refusals());
    let accepted = server.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].phone_number, NUMBER);
    assert_eq!(accepted[0].params, ["012345", "5"]);
    assert_eq!(accepted[0].region, "ap-guangzhou");
    assert!(!client.send_sms(NUMBER, &["1", "5"]).await.unwrap().is_empty(), "a serial number");
}

#[tokio::test]
async fn the_configured_region_is_sent() {
    let server = TencentServer::start().await;
    let config = TencentSmsConfig { region: "ap-beijing".to_owned(), ..server.config() };
    TencentSmsClient::new(config).unwrap().send_sms(NUMBER, &["1", "5"]).await.unwrap();
    assert_eq!(server.accepted()[0].region, "ap-beijing");
}

#[tokio::test]
async fn request_level_errors_have_their_class() {
    let server = TencentServer::start().await;
    let client = client(&server);
    for code in PROVIDER_SIDE {
        server.set_mode(Mode::Error(code));
        let error = client.send_sms(NUMBER, &["1", "5"]).await.unwrap_err();
        assert!(
            matches!(&error, SmsError::ProviderRefused { provider: Provider::Tencent, code: got, .. } if got == code),
            "{code}: {error:?}"
        );
        assert!(error.may_fail_over());
    }
    for (code, reason) in NUMBER_SIDE {
        server.set_mode(Mode::Error(code));
        let error = client.send_sms(NUMBER, &["1", "5"]).await.unwrap_err();
        assert!(matches!(&error, SmsError::NumberRefused { reason: got, .. } if *got == reason), "{code}: {error:?}");
        assert!(error.certainly_not_sent() && !error.may_fail_over());
    }
    for code in UNKNOWN {
        server.set_mode(Mode::Error(code));
        let error = client.send_sms(NUMBER, &["1", "5"]).await.unwrap_err();
        assert!(matches!(error, SmsError::Unknown { .. }) && !error.certainly_not_sent(), "{code}: {error:?}");
    }
    assert!(server.accepted().is_empty());
}

#[tokio::test]
async fn per_number_codes_have_their_class() {
    let server = TencentServer::start().await;
    let client = client(&server);
    for code in ["FailedOperation.InsufficientBalanceInSmsPackage", "FailedOperation.TemplateIncorrectOrUnapproved"] {
        server.set_mode(Mode::NumberCode(code));
        let error = client.send_sms(NUMBER, &["1", "5"]).await.unwrap_err();
        assert!(matches!(&error, SmsError::ProviderRefused { code: got, .. } if got == code), "{code}: {error:?}");
    }
    for (code, reason) in NUMBER_SIDE {
        server.set_mode(Mode::NumberCode(code));
        let error = client.send_sms(NUMBER, &["1", "5"]).await.unwrap_err();
        assert!(matches!(&error, SmsError::NumberRefused { reason: got, .. } if *got == reason), "{code}: {error:?}");
    }
    for code in UNKNOWN {
        server.set_mode(Mode::NumberCode(code));
        let error = client.send_sms(NUMBER, &["1", "5"]).await.unwrap_err();
        assert!(matches!(error, SmsError::Unknown { .. }), "{code}: {error:?}");
    }
}

#[tokio::test]
async fn the_servers_own_number_check_is_a_number_refusal() {
    let server = TencentServer::start().await;
    let error = client(&server).send_sms("+861380013", &["1", "5"]).await.unwrap_err();
    assert!(
        matches!(&error, SmsError::NumberRefused { reason: NumberRefusal::InvalidNumber, code, .. } if code == "InvalidParameterValue.IncorrectPhoneNumber"),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_5xx_garbage_and_a_stall_are_unknown() {
    let server = TencentServer::start().await;
    let options = ClientOptions { timeout: Duration::from_millis(300), ..ClientOptions::default() };
    let client = TencentSmsClient::with_options(server.config(), options).unwrap();
    for mode in [Mode::ServerError, Mode::Garbage] {
        server.set_mode(mode.clone());
        let error = client.send_sms(NUMBER, &["1", "5"]).await.unwrap_err();
        assert!(matches!(error, SmsError::Unknown { provider: Provider::Tencent, .. }), "{mode:?}: {error:?}");
    }
    server.set_mode(Mode::Stall(Duration::from_secs(30)));
    let error = client.send_sms(NUMBER, &["777777", "5"]).await.unwrap_err();
    assert!(matches!(error, SmsError::Unknown { .. }) && !error.certainly_not_sent(), "{error:?}");
    assert_eq!(server.last_code_for(NUMBER).as_deref(), Some("777777"), "the stalled message was accepted");
}

#[tokio::test]
async fn a_closed_port_is_a_provider_refusal_without_secrets_in_the_error() {
    let server = TencentServer::start().await;
    let config = TencentSmsConfig { base_url: tests::faults::closed_port_url(), ..server.config() };
    let error = TencentSmsClient::new(config).unwrap().send_sms(NUMBER, &["424242", "5"]).await.unwrap_err();
    assert!(matches!(error, SmsError::ProviderRefused { .. }) && error.may_fail_over(), "{error:?}");
    let shown = format!("{error} {error:?} {}", shared::http::cause_chain(&error));
    assert!(!shown.contains(SECRET_KEY) && !shown.contains("424242") && !shown.contains(NUMBER), "{shown}");
}

#[tokio::test]
async fn a_wrong_key_or_secret_id_is_refused_by_the_server() {
    let server = TencentServer::start().await;
    let wrong_key = TencentSmsConfig { secret_key: "wrong".to_owned().into(), ..server.config() };
    let error = TencentSmsClient::new(wrong_key).unwrap().send_sms(NUMBER, &["1", "5"]).await.unwrap_err();
    assert!(
        matches!(&error, SmsError::ProviderRefused { code, .. } if code == "AuthFailure.SignatureFailure"),
        "{error:?}"
    );
    let wrong_id = TencentSmsConfig { secret_id: "AKIDother".to_owned(), ..server.config() };
    let error = TencentSmsClient::new(wrong_id).unwrap().send_sms(NUMBER, &["1", "5"]).await.unwrap_err();
    assert!(
        matches!(&error, SmsError::ProviderRefused { code, .. } if code == "AuthFailure.SecretIdNotFound"),
        "{error:?}"
    );
    assert!(server.accepted().is_empty());
}

#[tokio::test]
async fn a_clock_off_by_more_than_5_minutes_is_refused() {
    let server = TencentServer::start().await;
    let clock = Arc::new(ManualClock::new(SystemClock.now() + 6 * 60));
    let options = ClientOptions { clock: clock.clone(), ..ClientOptions::default() };
    let client = TencentSmsClient::with_options(server.config(), options).unwrap();
    let error = client.send_sms(NUMBER, &["1", "5"]).await.unwrap_err();
    assert!(
        matches!(&error, SmsError::ProviderRefused { code, .. } if code == "AuthFailure.SignatureExpire"),
        "{error:?}"
    );
    clock.set(SystemClock.now() + 4 * 60);
    client.send_sms(NUMBER, &["1", "5"]).await.unwrap();
}

/// Sends a signed request as given, through a plain HTTP client.
async fn raw(signed: shared::sms::TencentSignedSend) -> serde_json::Value {
    let request = signed.post(&shared::startup::tls::reqwest_builder().build().unwrap());
    serde_json::from_str(&request.send().await.unwrap().text().await.unwrap()).unwrap()
}

#[tokio::test]
async fn a_tampered_signature_or_body_is_refused() {
    let server = TencentServer::start().await;
    let client = client(&server);
    let now = SystemClock.now();
    let mut tampered = client.sign(NUMBER, &["1", "5"], now);
    let authorization = &mut tampered.headers[0].1;
    let flipped = if authorization.ends_with('0') { '1' } else { '0' };
    authorization.pop();
    authorization.push(flipped);
    assert_eq!(raw(tampered).await["Response"]["Error"]["Code"], "AuthFailure.SignatureFailure");

    let mut other_body = client.sign(NUMBER, &["1", "5"], now);
    other_body.body = other_body.body.replace("13800138000", "13900139000");
    assert_eq!(raw(other_body).await["Response"]["Error"]["Code"], "AuthFailure.SignatureFailure");

    let untouched = client.sign(NUMBER, &["1", "5"], now);
    assert_eq!(raw(untouched).await["Response"]["SendStatusSet"][0]["Code"], "Ok");
    assert_eq!(server.accepted().len(), 1);
}
