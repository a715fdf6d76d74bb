//! A client for Aliyun SMS (阿里云短信) `SendSms`, Dysmsapi `2017-05-25`,
//! signed with ACS3-HMAC-SHA256 ([`crate::signing::aliyun`]). The parameters
//! go in a form body, so the URL carries neither the number nor the code, and
//! the signature travels in the `Authorization` header.

use super::{ClientOptions, NumberRefusal, Provider, SmsError, SmsSender};
use crate::domain::{Mobile, SmsCode};
use crate::signing::SignedPost;
use crate::signing::aliyun::{Acs3Request, canonical_query};
use secrecy::ExposeSecret;

pub use crate::config::AliyunSmsConfig;

const ACTION: &str = "SendSms";
const VERSION: &str = "2017-05-25";
const FORM: &str = "application/x-www-form-urlencoded";

/// A `SendSms` client built once per cold start.
#[derive(Debug, Clone)]
pub struct AliyunSmsClient {
    http: reqwest::Client,
    config: AliyunSmsConfig,
    host: String,
    options: ClientOptions,
}

/// One signed `SendSms`: every signed header and `authorization`; the form
/// `PhoneNumbers`, `SignName`, `TemplateCode`, `TemplateParam`.
pub type AliyunSignedSend = SignedPost<String>;

impl AliyunSmsClient {
    /// A client on the system clock and RNG with the default 5 s timeout.
    pub fn new(config: AliyunSmsConfig) -> Result<Self, reqwest::Error> {
        Self::with_options(config, ClientOptions::default())
    }

    /// A client on the given clock, RNG (nonces) and timeout.
    pub fn with_options(config: AliyunSmsConfig, options: ClientOptions) -> Result<Self, reqwest::Error> {
        let host = super::host_of(&config.base_url);
        Ok(Self { http: super::http_client(options.timeout)?, config, host, options })
    }

    /// Signs a `SendSms` of `code` to `phone_numbers` at `timestamp` (Unix
    /// seconds) with `nonce`.
    pub fn sign(&self, phone_numbers: &str, code: &str, timestamp: i64, nonce: &str) -> AliyunSignedSend {
        let config = &self.config;
        let template_param = serde_json::json!({ "code": code }).to_string();
        let body = canonical_query(&[
            ("PhoneNumbers", phone_numbers),
            ("SignName", &config.sign_name),
            ("TemplateCode", &config.template_code),
            ("TemplateParam", &template_param),
        ]);
        let signed = Acs3Request {
            method: "POST",
            host: &self.host,
            path: "/",
            query: &[],
            headers: &[("content-type", FORM)],
            body: body.as_bytes(),
            action: ACTION,
            version: VERSION,
            timestamp,
            nonce,
        }
        .sign(&config.access_key_id, config.access_key_secret.expose_secret());
        AliyunSignedSend { url: format!("{}/", config.base_url), headers: signed.headers, body }
    }

    /// Sends `code` to `phone_numbers` and returns Aliyun's `BizId`.
    pub async fn send_sms(&self, phone_numbers: &str, code: &str) -> Result<String, SmsError> {
        let signed = self.sign(phone_numbers, code, self.options.clock.now(), &self.options.nonce());
        let (status, body) = super::exchange(Provider::Aliyun, signed.post(&self.http)).await?;
        let unknown = |detail: String, source: Option<Box<dyn std::error::Error + Send + Sync>>| SmsError::Unknown {
            provider: Provider::Aliyun,
            detail,
            source,
        };
        // Refusals come as 200 (isv.*) or 4xx (signature, key) with the same JSON.
        if status.is_server_error() || status.is_informational() || status.is_redirection() {
            return Err(unknown(format!("HTTP status {status}"), None));
        }
        let reply: Reply = serde_json::from_slice(&body).map_err(|e| {
            unknown(format!("HTTP status {status}, the answer is not Aliyun's JSON"), Some(Box::new(e)))
        })?;
        match reply.code.as_str() {
            "OK" if status.is_success() => Ok(reply.biz_id),
            "OK" => Err(unknown(format!("HTTP status {status} with Code OK"), None)),
            code => Err(classify(code, reply.message)),
        }
    }
}

/// What a `Code` other than `OK` means (`/work/shared/sms-providers/README.md`).
/// A code not listed is still a refusal, Aliyun's own: provider side.
fn classify(code: &str, message: String) -> SmsError {
    let (provider, owned) = (Provider::Aliyun, code.to_owned());
    let reason = match code {
        "isv.BUSINESS_LIMIT_CONTROL" => NumberRefusal::RateLimited,
        "isv.MOBILE_NUMBER_ILLEGAL" | "isv.MOBILE_COUNT_OVER_LIMIT" | "isv.BLACK_KEY_CONTROL_LIMIT" => {
            NumberRefusal::InvalidNumber
        }
        "isp.SYSTEM_ERROR" | "isp.GATEWAY_ERROR" => {
            return SmsError::Unknown { provider, detail: format!("{code} {message}"), source: None };
        }
        _ => return SmsError::ProviderRefused { provider, code: owned, message },
    };
    SmsError::NumberRefused { provider, reason, code: owned, message }
}

/// Aliyun's answer, refusals included.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Reply {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    biz_id: String,
}

impl SmsSender for AliyunSmsClient {
    async fn send(&self, to: &Mobile, code: &SmsCode, _minutes: u32) -> Result<(), SmsError> {
        // The template says how long the code lasts; it takes only `${code}`.
        let biz_id = self.send_sms(to.as_str(), code.as_str()).await?;
        tracing::info!(to = %to, biz_id, "SMS accepted by Aliyun");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn client() -> AliyunSmsClient {
        AliyunSmsClient::new(AliyunSmsConfig {
            access_key_id: "id".to_owned(),
            access_key_secret: SecretString::from("very-secret-key"),
            sign_name: "签名".to_owned(),
            template_code: "SMS_1".to_owned(),
            base_url: "https://dysmsapi.aliyuncs.com".to_owned(),
        })
        .unwrap()
    }

    #[test]
    fn the_form_holds_the_template_param_as_a_json_string_of_strings() {
        let signed = client().sign("13800138000", "012345", 0, "n");
        let form: Vec<(String, String)> = form_urlencoded_pairs(&signed.body);
        assert!(form.contains(&("TemplateParam".to_owned(), r#"{"code":"012345"}"#.to_owned())), "{form:?}");
        assert!(form.contains(&("PhoneNumbers".to_owned(), "13800138000".to_owned())));
        assert!(form.contains(&("SignName".to_owned(), "签名".to_owned())));
        let host = signed.headers.iter().find(|(n, _)| n == "host").unwrap();
        assert_eq!(host.1, "dysmsapi.aliyuncs.com");
    }

    fn form_urlencoded_pairs(body: &str) -> Vec<(String, String)> {
        body.split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| {
                let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
                (decode(k), decode(v))
            })
            .collect()
    }

    #[test]
    fn neither_the_secret_nor_the_code_is_in_the_debug_output() {
        let client = client();
        let signed = client.sign("13800138000", "987654", 0, "n");
        let shown = format!("{client:?} {signed:?}");
        assert!(!shown.contains("very-secret-key") && !shown.contains("987654"), "{shown}");
    }

    #[test]
    fn every_listed_code_has_its_class() {
        let class = |code: &str| classify(code, String::new()).kind();
        for code in ["isv.AMOUNT_NOT_ENOUGH", "isv.OUT_OF_SERVICE", "isv.DAY_LIMIT_CONTROL", "SignatureDoesNotMatch"] {
            assert_eq!(class(code), "provider_refused", "{code}");
        }
        for code in ["isv.BUSINESS_LIMIT_CONTROL", "isv.MOBILE_NUMBER_ILLEGAL", "isv.BLACK_KEY_CONTROL_LIMIT"] {
            assert_eq!(class(code), "number_refused", "{code}");
        }
        for code in ["isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR"] {
            assert_eq!(class(code), "unknown", "{code}");
        }
    }
}
