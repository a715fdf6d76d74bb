//! A client for Tencent Cloud SMS (腾讯云短信) `SendSms` `2021-01-11`,
//! signed with TC3-HMAC-SHA256 ([`crate::signing::tencent`], service `sms`).
//! Tencent answers HTTP 200 to everything: a request-level failure is
//! `Response.Error`, a number's own is its `SendStatusSet` entry.

use super::{ClientOptions, NumberRefusal, Provider, SmsError, SmsSender};
use crate::domain::{Mobile, SmsCode};
use crate::signing::SignedPost;
use crate::signing::tencent::{Answer, ApiError, Tc3Request};
use secrecy::ExposeSecret;

pub use crate::config::TencentSmsConfig;

const SERVICE: &str = "sms";
const ACTION: &str = "SendSms";
const VERSION: &str = "2021-01-11";
const JSON: &str = "application/json; charset=utf-8";

/// A `SendSms` client built once per cold start.
#[derive(Debug, Clone)]
pub struct TencentSmsClient {
    http: reqwest::Client,
    config: TencentSmsConfig,
    host: String,
    options: ClientOptions,
}

/// One signed `SendSms`: `Authorization`, `Content-Type`, `Host` and the
/// `X-TC-*` headers; the JSON body.
pub type TencentSignedSend = SignedPost<&'static str>;

impl TencentSmsClient {
    /// A client on the system clock with the default 5 s timeout.
    pub fn new(config: TencentSmsConfig) -> Result<Self, reqwest::Error> {
        Self::with_options(config, ClientOptions::default())
    }

    /// A client on the given clock and timeout.
    pub fn with_options(config: TencentSmsConfig, options: ClientOptions) -> Result<Self, reqwest::Error> {
        let host = super::host_of(&config.base_url);
        Ok(Self { http: super::http_client(options.timeout)?, config, host, options })
    }

    /// Signs a `SendSms` to `phone_number` (`+86…`) with the template's
    /// `params` at `timestamp` (Unix seconds).
    pub fn sign(&self, phone_number: &str, params: &[&str], timestamp: i64) -> TencentSignedSend {
        let config = &self.config;
        let body = serde_json::json!({
            "PhoneNumberSet": [phone_number],
            "SmsSdkAppId": config.sdk_app_id,
            "SignName": config.sign_name,
            "TemplateId": config.template_id,
            "TemplateParamSet": params,
        })
        .to_string();
        let signed = Tc3Request {
            service: SERVICE,
            host: &self.host,
            content_type: JSON,
            action: ACTION,
            version: VERSION,
            region: Some(&config.region),
            timestamp,
            body: body.as_bytes(),
        }
        .sign(&config.secret_id, config.secret_key.expose_secret());
        TencentSignedSend { url: format!("{}/", config.base_url), headers: signed.headers, body }
    }

    /// Sends the template with `params` to `phone_number` (`+86…`) and
    /// returns the message's `SerialNo`.
    pub async fn send_sms(&self, phone_number: &str, params: &[&str]) -> Result<String, SmsError> {
        let signed = self.sign(phone_number, params, self.options.clock.now());
        let (status, body) = super::exchange(Provider::Tencent, signed.post(&self.http)).await?;
        let unknown = |detail: String, source: Option<Box<dyn std::error::Error + Send + Sync>>| SmsError::Unknown {
            provider: Provider::Tencent,
            detail,
            source,
        };
        if status != reqwest::StatusCode::OK {
            return Err(unknown(format!("HTTP status {status}"), None));
        }
        let reply: Reply = serde_json::from_slice(&body)
            .map_err(|e| unknown("the answer is not Tencent's JSON".to_owned(), Some(Box::new(e))))?;
        if let Some(error) = reply.response.error {
            return Err(classify(&error.code, error.message));
        }
        // One number asked, one status expected; anything else is not an answer we can read.
        match reply.response.send_status_set.as_slice() {
            [status] if status.code == "Ok" => Ok(status.serial_no.clone()),
            [status] => Err(classify(&status.code, status.message.clone())),
            other => Err(unknown(format!("{} statuses for one number", other.len()), None)),
        }
    }
}

/// What a `Code` other than `Ok` means (`/work/shared/sms-providers/README.md`),
/// at request level or for the number. Tencent's internal errors are
/// unknown; any other code not listed is still a refusal: provider side.
fn classify(code: &str, message: String) -> SmsError {
    let (provider, owned) = (Provider::Tencent, code.to_owned());
    let reason = match code {
        "LimitExceeded.PhoneNumberDailyLimit"
        | "LimitExceeded.PhoneNumberOneHourLimit"
        | "LimitExceeded.PhoneNumberThirtySecondLimit"
        | "LimitExceeded.PhoneNumberSameContentDailyLimit"
        | "LimitExceeded.DeliveryFrequencyLimit" => NumberRefusal::RateLimited,
        "InvalidParameterValue.IncorrectPhoneNumber" | "FailedOperation.PhoneNumberInBlacklist" => {
            NumberRefusal::InvalidNumber
        }
        _ if code == "InternalError" || code.starts_with("InternalError.") => {
            return SmsError::Unknown { provider, detail: format!("{code} {message}"), source: None };
        }
        _ => return SmsError::ProviderRefused { provider, code: owned, message },
    };
    SmsError::NumberRefused { provider, reason, code: owned, message }
}

type Reply = Answer<Response>;

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Response {
    error: Option<ApiError>,
    #[serde(default)]
    send_status_set: Vec<SendStatus>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SendStatus {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    serial_no: String,
}

impl SmsSender for TencentSmsClient {
    async fn send(&self, to: &Mobile, code: &SmsCode, minutes: u32) -> Result<(), SmsError> {
        let serial_no = self.send_sms(&format!("+86{}", to.as_str()), &[code.as_str(), &minutes.to_string()]).await?;
        tracing::info!(to = %to, serial_no, "SMS accepted by Tencent Cloud");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn client(base_url: &str) -> TencentSmsClient {
        TencentSmsClient::new(TencentSmsConfig {
            secret_id: "id".to_owned(),
            secret_key: SecretString::from("very-secret-key"),
            sdk_app_id: "1400006666".to_owned(),
            sign_name: "签名".to_owned(),
            template_id: "1".to_owned(),
            region: crate::config::TENCENT_DEFAULT_REGION.to_owned(),
            base_url: base_url.to_owned(),
        })
        .unwrap()
    }

    #[test]
    fn the_body_names_the_number_in_e164_and_the_params_as_strings() {
        let signed =
            client(crate::config::TENCENT_DEFAULT_BASE_URL).sign("+8613800138000", &["012345", "5"], 1_551_113_065);
        let body: serde_json::Value = serde_json::from_str(&signed.body).unwrap();
        assert_eq!(body["PhoneNumberSet"], serde_json::json!(["+8613800138000"]));
        assert_eq!(body["TemplateParamSet"], serde_json::json!(["012345", "5"]));
        assert_eq!(body["SmsSdkAppId"], "1400006666");
        let header = |name: &str| signed.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
        assert_eq!(header("Host"), Some("sms.tencentcloudapi.com"));
        assert_eq!(header("X-TC-Region"), Some("ap-guangzhou"));
        assert_eq!(header("X-TC-Action"), Some("SendSms"));
        assert!(header("Authorization").unwrap().contains("/2019-02-25/sms/tc3_request"));
    }

    #[test]
    fn a_loopback_base_url_signs_its_port_in_the_host() {
        let signed = client("http://127.0.0.1:8123").sign("+8613800138000", &["1"], 0);
        assert!(signed.headers.contains(&("Host", "127.0.0.1:8123".to_owned())));
    }

    #[test]
    fn neither_the_secret_nor_the_code_is_in_the_debug_output() {
        let client = client(crate::config::TENCENT_DEFAULT_BASE_URL);
        let signed = client.sign("+8613800138000", &["987654"], 0);
        let shown = format!("{client:?} {signed:?}");
        assert!(!shown.contains("very-secret-key") && !shown.contains("987654"), "{shown}");
    }

    #[test]
    fn every_listed_code_has_its_class() {
        let class = |code: &str| classify(code, String::new()).kind();
        for code in [
            "FailedOperation.InsufficientBalanceInSmsPackage",
            "UnauthorizedOperation.SerivceSuspendDueToArrears",
            "AuthFailure.SignatureFailure",
            "InvalidParameterValue.TemplateParameterFormatError",
            "MissingParameter.EmptyPhoneNumberSet",
            "LimitExceeded.AppDailyLimit",
        ] {
            assert_eq!(class(code), "provider_refused", "{code}");
        }
        for code in [
            "LimitExceeded.PhoneNumberDailyLimit",
            "LimitExceeded.PhoneNumberThirtySecondLimit",
            "LimitExceeded.DeliveryFrequencyLimit",
            "InvalidParameterValue.IncorrectPhoneNumber",
            "FailedOperation.PhoneNumberInBlacklist",
        ] {
            assert_eq!(class(code), "number_refused", "{code}");
        }
        for code in ["InternalError.Timeout", "InternalError.SendAndRecvFail", "InternalError.OtherError"] {
            assert_eq!(class(code), "unknown", "{code}");
        }
    }
}
