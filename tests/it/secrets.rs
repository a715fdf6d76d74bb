//! Secrets from one Secrets Manager secret, against the loopback stand-in:
//! one `GetSecretValue` (target, SigV4, SecretId checked), every secret
//! variable taken from it and none from the environment, and failures named
//! without a value.

use secrecy::ExposeSecret;
use serde_json::json;
use shared::config::{self, Config, ConfigError, ProviderConfig, Secrets};
use tests::secrets_manager::{self, SecretsManagerServer};

const CODE_KEY: &str = "a code key from the secret, 32 bytes or more";
const ALIYUN_SECRET: &str = "aliyun-secret-from-the-secret";

fn secret_string() -> String {
    json!({ config::SMS_CODE_KEY: CODE_KEY, config::ALIYUN_ACCESS_KEY_SECRET: ALIYUN_SECRET }).to_string()
}

/// A deployed function's environment: plain variables, the secret's ARN,
/// and secret variables that must be ignored.
fn environment(name: &str) -> Option<String> {
    let value = match name {
        config::SMS_PROVIDERS => "aliyun",
        config::ALIYUN_ACCESS_KEY_ID => "LTAI-id",
        config::ALIYUN_SMS_SIGN_NAME => "签名",
        config::ALIYUN_SMS_TEMPLATE_CODE => "SMS_1",
        config::SECRETS_ARN => secrets_manager::ARN,
        config::SMS_CODE_KEY => "an environment code key that must not be used",
        config::ALIYUN_ACCESS_KEY_SECRET => "an environment secret that must not be used",
        _ => return None,
    };
    Some(value.to_owned())
}

#[tokio::test]
async fn every_secret_variable_comes_from_the_secret_in_one_call_and_none_from_the_environment() {
    let server = SecretsManagerServer::start(&secret_string()).await;
    let secrets = Secrets::fetch(&server.client(), secrets_manager::ARN).await.unwrap();
    assert_eq!((server.calls(), server.refusals()), (1, Vec::<String>::new()));
    let config = Config::from_sources(environment, &secrets).unwrap();
    assert_eq!(config.require_sms_code_key().unwrap().expose_secret(), CODE_KEY);
    let [ProviderConfig::Aliyun(aliyun)] = config.providers.order.as_slice() else { panic!("{:?}", config.providers) };
    assert_eq!(aliyun.access_key_secret.expose_secret(), ALIYUN_SECRET);
    assert_eq!(aliyun.access_key_id, "LTAI-id", "plain variables still come from the environment");
    let shown = format!("{secrets:?} {config:?}");
    assert!(!shown.contains(CODE_KEY) && !shown.contains(ALIYUN_SECRET), "{shown}");
}

#[tokio::test]
async fn the_secret_is_found_by_its_name_as_well_as_its_arn() {
    let server = SecretsManagerServer::start(&secret_string()).await;
    assert!(Secrets::fetch(&server.client(), secrets_manager::NAME).await.is_ok());
}

#[tokio::test]
async fn a_secret_variable_the_secret_lacks_is_missing_even_if_the_environment_has_it() {
    let server = SecretsManagerServer::start(&json!({ config::SMS_CODE_KEY: CODE_KEY }).to_string()).await;
    let secrets = Secrets::fetch(&server.client(), secrets_manager::ARN).await.unwrap();
    let error = Config::from_sources(environment, &secrets).unwrap_err();
    assert_eq!(error, ConfigError::Missing(config::ALIYUN_ACCESS_KEY_SECRET));
}

#[tokio::test]
async fn an_unknown_secret_or_a_bad_signature_fails_the_start_naming_the_service_answer() {
    let server = SecretsManagerServer::start(&secret_string()).await;
    let unknown = Secrets::fetch(&server.client(), "arn:aws:secretsmanager:us-east-1:123456789012:secret:other")
        .await
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("ResourceNotFoundException"), "{unknown}");
    let forged = Secrets::fetch(&server.client_signing_with("a wrong key"), secrets_manager::ARN).await.unwrap_err();
    assert!(forged.to_string().contains("InvalidSignatureException"), "{forged}");
    assert!(!format!("{unknown} {forged}").contains(CODE_KEY));
}

#[tokio::test]
async fn a_secret_that_is_not_a_json_object_of_strings_is_refused_without_its_text() {
    for text in [r#"{"SMS_CODE_KEY": 42}"#, "SMS_CODE_KEY=hunter2-hunter2-hunter2-hunter2-hunter2", "[]"] {
        let server = SecretsManagerServer::start(text).await;
        let error = Secrets::fetch(&server.client(), secrets_manager::ARN).await.unwrap_err().to_string();
        assert!(error.starts_with(config::SECRETS_ARN), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
}

/// The stand-in's own checks, shown to refuse what the service refuses.
#[tokio::test]
async fn the_stand_in_refuses_another_target_an_unsigned_request_and_no_secret_id() {
    let server = SecretsManagerServer::start(&secret_string()).await;
    let post = |target: &str, authorization: Option<&str>, body: &str| {
        let mut request = shared::startup::tls::reqwest_builder()
            .build()
            .unwrap()
            .post(server.endpoint())
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", target)
            .body(body.to_owned());
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        request.send()
    };
    let body = json!({ "SecretId": secrets_manager::ARN }).to_string();
    let wrong_target = post("secretsmanager.ListSecrets", None, &body).await.unwrap();
    let unsigned = post("secretsmanager.GetSecretValue", None, &body).await.unwrap();
    let garbled = post("secretsmanager.GetSecretValue", Some("AWS4-HMAC-SHA256 Credential=x"), &body).await.unwrap();
    for response in [wrong_target, unsigned, garbled] {
        assert_eq!(response.status(), 400);
    }
    let refusals = server.refusals();
    assert!(refusals[0].starts_with("UnknownOperationException"), "{refusals:?}");
    assert!(refusals[1].starts_with("MissingAuthenticationTokenException"), "{refusals:?}");
    assert!(refusals[2].starts_with("IncompleteSignatureException"), "{refusals:?}");
}
