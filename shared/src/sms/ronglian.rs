//! A client for Ronglian Cloud's (容联云) TemplateSMS API.
//!
//! Protocol: `docs/ronglian.md`, read off the official Python SDK. Unlike
//! that SDK it signs with Beijing time on any host, never logs the auth token
//! or the signature, does not follow redirects and returns a typed result.

use super::ClientOptions;
use super::{NumberRefusal, Provider, SmsError, SmsSender};
use crate::config::RonglianConfig;
use crate::domain::{Mobile, SmsCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use secrecy::ExposeSecret;

/// The API version segment of every path.
const API_VERSION: &str = "2013-12-26";

/// A TemplateSMS client built once per cold start.
#[derive(Debug, Clone)]
pub struct RonglianClient {
    http: reqwest::Client,
    config: RonglianConfig,
    options: ClientOptions,
}

/// One signed request, everything that goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// `/2013-12-26/Accounts/{sid}/SMS/TemplateSMS`
    pub path: String,
    /// `sig=<uppercase hex MD5>`
    pub query: String,
    /// In the order the official SDK sends them.
    pub headers: Vec<(&'static str, String)>,
    /// JSON spaced as Python's `json.dumps`, byte for byte the SDK's body.
    pub body: String,
}

/// `YYYYMMDDHHMMSS` in Beijing time (UTC+8, no daylight saving) for a Unix time.
pub fn beijing_timestamp(epoch_seconds: i64) -> String {
    let [year, month, day, hour, minute, second] = crate::signing::utc_fields(epoch_seconds + 8 * 3600);
    format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}")
}

fn json_string(value: &str) -> String {
    serde_json::Value::String(value.to_owned()).to_string()
}

impl RonglianClient {
    /// A client on the system clock with the default 5 s timeout.
    pub fn new(config: RonglianConfig) -> Result<Self, reqwest::Error> {
        Self::with_options(config, ClientOptions::default())
    }

    /// A client on the given clock and timeout (2 s of it at most to
    /// connect), following no redirects.
    pub fn with_options(config: RonglianConfig, options: ClientOptions) -> Result<Self, reqwest::Error> {
        Ok(Self { http: super::http_client(options.timeout)?, config, options })
    }

    /// Signs a TemplateSMS request for `to` with template data `datas` at
    /// `timestamp` (Beijing time, as [`beijing_timestamp`] writes it).
    pub fn sign(&self, to: &str, datas: &[&str], timestamp: &str) -> SignedRequest {
        let config = &self.config;
        let digest = Md5::digest(format!("{}{}{timestamp}", config.account_sid, config.auth_token.expose_secret()));
        let sig = hex::encode_upper(digest);
        let authorization = STANDARD.encode(format!("{}:{timestamp}", config.account_sid));
        let datas: Vec<String> = datas.iter().map(|d| json_string(d)).collect();
        let body = format!(
            "{{\"to\": {}, \"appId\": {}, \"templateId\": {}, \"datas\": [{}]}}",
            json_string(to),
            json_string(&config.app_id),
            json_string(&config.template_id),
            datas.join(", ")
        );
        SignedRequest {
            path: format!("/{API_VERSION}/Accounts/{}/SMS/TemplateSMS", config.account_sid),
            query: format!("sig={sig}"),
            headers: vec![
                ("Accept", "application/json".to_owned()),
                ("Content-Type", "application/json;charset=utf-8".to_owned()),
                ("Accept-Charset", "UTF-8".to_owned()),
                ("Authorization", authorization),
            ],
            body,
        }
    }

    /// Sends template SMS and returns the provider's message id.
    pub async fn send_template(&self, to: &str, datas: &[&str]) -> Result<String, SmsError> {
        let request = self.sign(to, datas, &beijing_timestamp(self.options.clock.now()));
        let url = format!("{}{}?{}", self.config.base_url, request.path, request.query);
        let mut builder = self.http.post(url).body(request.body);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        // The URL carries the signature: `exchange` strips it from errors.
        let (status, body) = super::exchange(Provider::Ronglian, builder).await?;
        let unknown = |detail: String, source: Option<Box<dyn std::error::Error + Send + Sync>>| SmsError::Unknown {
            provider: Provider::Ronglian,
            detail,
            source,
        };
        if status != reqwest::StatusCode::OK {
            return Err(unknown(format!("HTTP status {status}"), None));
        }
        let reply: Reply = serde_json::from_slice(&body)
            .map_err(|e| unknown("the answer is not Ronglian's JSON".to_owned(), Some(Box::new(e))))?;
        match reply.status_code.as_str() {
            "000000" => Ok(reply.template_sms.map(|sms| sms.sms_message_sid).unwrap_or_default()),
            code => Err(classify(code, reply.status_msg)),
        }
    }
}

/// What a `statusCode` other than `"000000"` means: every one is a refusal
/// (nothing sent); the number's own are told apart from the provider's.
fn classify(code: &str, message: String) -> SmsError {
    let (provider, code_owned) = (Provider::Ronglian, code.to_owned());
    let reason = match code {
        // Sent too often to this number, its daily limits.
        "160038" | "160039" | "160040" | "160041" => NumberRefusal::RateLimited,
        // Bad mobile format, an empty number, a blacklisted one.
        "160042" | "160044" | "160034" => NumberRefusal::InvalidNumber,
        _ => return SmsError::ProviderRefused { provider, code: code_owned, message },
    };
    SmsError::NumberRefused { provider, reason, code: code_owned, message }
}

/// Ronglian's answer, errors included: `statusCode` is `"000000"` on success.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reply {
    status_code: String,
    #[serde(default)]
    status_msg: String,
    #[serde(rename = "templateSMS")]
    template_sms: Option<TemplateSms>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct TemplateSms {
    #[serde(default)]
    sms_message_sid: String,
}

impl SmsSender for RonglianClient {
    async fn send(&self, to: &Mobile, code: &SmsCode, minutes: u32) -> Result<(), SmsError> {
        let message_id = self.send_template(to.as_str(), &[code.as_str(), &minutes.to_string()]).await?;
        tracing::info!(to = %to, message_id, "SMS accepted by Ronglian");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn the_epoch_is_8_am_in_beijing() {
        assert_eq!(beijing_timestamp(0), "19700101080000");
    }

    #[test]
    fn beijing_time_rolls_over_to_the_next_day_at_16_utc() {
        // 2024-02-28T16:00:00Z is 2024-02-29 00:00 in Beijing (a leap day).
        assert_eq!(beijing_timestamp(1_709_136_000), "20240229000000");
    }

    #[test]
    fn the_test_vector_timestamp_is_2025_01_01_noon() {
        // 2025-01-01T04:00:00Z
        assert_eq!(beijing_timestamp(1_735_704_000), "20250101120000");
    }

    #[test]
    fn the_auth_token_is_not_in_the_debug_output() {
        let client = RonglianClient::new(RonglianConfig {
            account_sid: "sid".to_owned(),
            auth_token: SecretString::from("very-secret-token"),
            app_id: "app".to_owned(),
            template_id: "1".to_owned(),
            base_url: "http://127.0.0.1:1".to_owned(),
        })
        .unwrap();
        assert!(!format!("{client:?}").contains("very-secret-token"));
    }
}
