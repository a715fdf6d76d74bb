//! Tencent Cloud captcha (天御验证码): `DescribeCaptchaResult` `2019-07-22`,
//! signed with TC3-HMAC-SHA256 ([`crate::signing::tencent`], service
//! `captcha`). `CaptchaCode: 1` passes; any other code refuses, except the
//! service's own internal error (26) and a parameter of ours it refuses
//! (100: the `AppSecretKey`), which like every failure to get an answer are
//! unavailable: never a pass.

use super::{CaptchaProvider, Proof, Verdict, Verifier, VerifierError, exchange, unavailable};
use crate::config::TencentCaptchaConfig;
use crate::signing::SignedPost;
use crate::signing::tencent::{Answer, ApiError, Tc3Request};
use crate::sms::ClientOptions;
use secrecy::ExposeSecret;
use std::sync::Arc;

const SERVICE: &str = "captcha";
const ACTION: &str = "DescribeCaptchaResult";
const VERSION: &str = "2019-07-22";
const JSON: &str = "application/json; charset=utf-8";
/// `CaptchaType` is fixed at 9 by the API.
const CAPTCHA_TYPE: u8 = 9;
/// The one code that passes.
const PASSED: i64 = 1;
/// "system internal error": no verdict.
const INTERNAL_ERROR: i64 = 26;
/// A parameter of ours is wrong (the `AppSecretKey`, the `CaptchaAppId`):
/// our configuration, not the person's pass, so no verdict.
const PARAMETER_ERROR: i64 = 100;

/// A `DescribeCaptchaResult` client, built once per cold start.
#[derive(Debug, Clone)]
pub struct TencentCaptchaClient {
    http: Result<reqwest::Client, Arc<reqwest::Error>>,
    config: TencentCaptchaConfig,
    host: String,
    options: ClientOptions,
}

/// One signed `DescribeCaptchaResult`: `Authorization`, `Content-Type`,
/// `Host` and the `X-TC-*` headers; the JSON body (it holds the
/// `AppSecretKey` and the ticket).
pub type TencentSignedCheck = SignedPost<&'static str>;

impl TencentCaptchaClient {
    /// A client on `options`' clock and timeout (5 s by default).
    pub fn new(config: TencentCaptchaConfig, options: ClientOptions) -> Self {
        let host = crate::sms::host_of(&config.base_url);
        Self { http: super::http_client(options.timeout), config, host, options }
    }

    /// Signs a check of `ticket` and `randstr` from `user_ip` at `timestamp`.
    pub fn sign(&self, ticket: &str, randstr: &str, user_ip: &str, timestamp: i64) -> TencentSignedCheck {
        let config = &self.config;
        let body = serde_json::json!({
            "CaptchaType": CAPTCHA_TYPE,
            "Ticket": ticket,
            "UserIp": user_ip,
            "Randstr": randstr,
            "CaptchaAppId": config.app_id,
            "AppSecretKey": config.app_secret_key.expose_secret(),
        })
        .to_string();
        let signed = Tc3Request {
            service: SERVICE,
            host: &self.host,
            content_type: JSON,
            action: ACTION,
            version: VERSION,
            region: None,
            timestamp,
            body: body.as_bytes(),
        }
        .sign(&config.secret_id, config.secret_key.expose_secret());
        TencentSignedCheck { url: format!("{}/", config.base_url), headers: signed.headers, body }
    }
}

impl Verifier for TencentCaptchaClient {
    fn provider(&self) -> CaptchaProvider {
        CaptchaProvider::Tencent
    }

    async fn verify(&self, proof: &Proof, _: Option<&str>, user_ip: Option<&str>) -> Result<Verdict, VerifierError> {
        let provider = CaptchaProvider::Tencent;
        let Proof::Tencent { ticket, randstr } = proof else {
            return Err(unavailable(provider, "not a Tencent captcha ticket"));
        };
        let http = self.http.as_ref().map_err(|e| unavailable(provider, format!("no HTTP client: {e}")))?;
        let signed = self.sign(ticket, randstr, user_ip.unwrap_or_default(), self.options.clock.now());
        let (status, body) = exchange(provider, signed.post(http)).await?;
        if status != reqwest::StatusCode::OK {
            return Err(unavailable(provider, format!("HTTP status {status}")));
        }
        let reply: Reply = serde_json::from_slice(&body).map_err(|e| VerifierError {
            provider,
            detail: "the answer is not Tencent's JSON".to_owned(),
            source: Some(Box::new(e)),
        })?;
        if let Some(error) = reply.response.error {
            // Our key, signature or account, or the service itself: no verdict.
            return Err(unavailable(provider, format!("{} {}", error.code, error.message)));
        }
        match reply.response.captcha_code {
            Some(PASSED) => Ok(Verdict::Pass),
            Some(INTERNAL_ERROR | PARAMETER_ERROR) | None => Err(unavailable(
                provider,
                format!("no verdict: CaptchaCode {:?} {}", reply.response.captcha_code, reply.response.captcha_msg),
            )),
            Some(code) => Ok(Verdict::Fail { reason: format!("CaptchaCode {code} {}", reply.response.captcha_msg) }),
        }
    }
}

type Reply = Answer<Response>;

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Response {
    error: Option<ApiError>,
    captcha_code: Option<i64>,
    #[serde(default)]
    captcha_msg: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TENCENT_CAPTCHA_DEFAULT_BASE_URL;
    use secrecy::SecretString;

    fn client(base_url: &str) -> TencentCaptchaClient {
        let config = TencentCaptchaConfig {
            secret_id: "AKIDid".to_owned(),
            secret_key: SecretString::from("very-secret-key"),
            app_id: 190_000_000,
            app_secret_key: SecretString::from("app-secret-key"),
            base_url: base_url.to_owned(),
        };
        TencentCaptchaClient::new(config, ClientOptions::default())
    }

    #[test]
    fn the_body_carries_type_9_the_integer_app_id_and_the_users_ip_signed_for_captcha() {
        let signed = client(TENCENT_CAPTCHA_DEFAULT_BASE_URL).sign("t03ticket", "@rand", "203.0.113.7", 1_551_113_065);
        let body: serde_json::Value = serde_json::from_str(&signed.body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"CaptchaType": 9, "Ticket": "t03ticket", "UserIp": "203.0.113.7", "Randstr": "@rand",
                               "CaptchaAppId": 190_000_000, "AppSecretKey": "app-secret-key"})
        );
        let header = |name: &str| signed.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str());
        assert_eq!(header("Host"), Some("captcha.tencentcloudapi.com"));
        assert_eq!(header("X-TC-Action"), Some("DescribeCaptchaResult"));
        assert_eq!(header("X-TC-Version"), Some("2019-07-22"));
        assert_eq!(header("X-TC-Region"), None);
        assert!(header("Authorization").unwrap().contains("AKIDid/2019-02-25/captcha/tc3_request"));
    }

    #[test]
    fn neither_key_nor_the_ticket_is_in_the_debug_output() {
        let client = client(TENCENT_CAPTCHA_DEFAULT_BASE_URL);
        let signed = client.sign("t03ticket", "@rand", "203.0.113.7", 0);
        let shown = format!("{client:?} {signed:?}");
        for secret in ["very-secret-key", "app-secret-key", "t03ticket"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
