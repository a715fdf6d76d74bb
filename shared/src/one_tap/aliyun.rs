//! Aliyun one-tap login, Dypnsapi `GetMobile` `2017-05-25`: the carrier
//! token goes in a form body (never in the URL), signed with
//! ACS3-HMAC-SHA256 like Aliyun SMS ([`crate::signing::aliyun`]).

use super::{NumberProver, OneTapError};
use crate::config::OneTapConfig;
use crate::domain::{CarrierToken, Mobile};
use crate::signing::SignedPost;
use crate::signing::aliyun::{Acs3Request, canonical_query};
use crate::sms::ClientOptions;
use secrecy::ExposeSecret;

const ACTION: &str = "GetMobile";
const VERSION: &str = "2017-05-25";
const FORM: &str = "application/x-www-form-urlencoded";

/// A `GetMobile` client built once per cold start.
#[derive(Debug, Clone)]
pub struct AliyunOneTap {
    http: reqwest::Client,
    config: OneTapConfig,
    host: String,
    options: ClientOptions,
}

/// One signed `GetMobile`: every signed header and `authorization`; the
/// form `AccessToken`.
pub type AliyunSignedGetMobile = SignedPost<String>;

impl AliyunOneTap {
    /// A client on the clock, RNG (nonces) and timeout of `options`.
    pub fn with_options(config: OneTapConfig, options: ClientOptions) -> Result<Self, reqwest::Error> {
        let host = crate::sms::host_of(&config.base_url);
        Ok(Self { http: crate::sms::http_client(options.timeout)?, config, host, options })
    }

    /// Signs a `GetMobile` of `token` at `timestamp` (Unix seconds) with `nonce`.
    pub fn sign(&self, token: &CarrierToken, timestamp: i64, nonce: &str) -> AliyunSignedGetMobile {
        let body = canonical_query(&[("AccessToken", token.expose())]);
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
        .sign(&self.config.access_key_id, self.config.access_key_secret.expose_secret());
        AliyunSignedGetMobile { url: format!("{}/", self.config.base_url), headers: signed.headers, body }
    }
}

fn failed(detail: impl Into<String>, source: Option<Box<dyn std::error::Error + Send + Sync>>) -> OneTapError {
    OneTapError::Failed { detail: detail.into(), source }
}

impl NumberProver for AliyunOneTap {
    async fn get_mobile(&self, token: &CarrierToken) -> Result<Mobile, OneTapError> {
        let signed = self.sign(token, self.options.clock.now(), &self.options.nonce());
        let response = signed.post(&self.http).send().await.map_err(|e| {
            let detail = if e.is_timeout() { "no answer in time" } else { "the request failed" };
            failed(detail, Some(Box::new(e.without_url())))
        })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| failed("reading the answer failed", Some(Box::new(e))))?;
        if !(status.is_success() || status.is_client_error()) {
            return Err(failed(format!("HTTP status {status}"), None));
        }
        let reply: Reply = serde_json::from_slice(&body)
            .map_err(|e| failed(format!("HTTP status {status}, the answer is not Aliyun's JSON"), Some(Box::new(e))))?;
        match reply.code.as_str() {
            "OK" if status.is_success() => {
                let number = reply.result.map(|result| result.mobile).unwrap_or_default();
                Mobile::parse(&number).map_err(|_| failed("Code OK without a mainland mobile number", None))
            }
            "OK" => Err(failed(format!("HTTP status {status} with Code OK"), None)),
            code => Err(classify(code, reply.message)),
        }
    }
}

/// A refusal of ours (the key, the signature, the account, the service)
/// is a failure; any other `Code` refuses the token.
fn classify(code: &str, message: String) -> OneTapError {
    const OURS: &[&str] = &[
        "isp.",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "SignatureNonceUsed",
        "IncompleteSignature",
        "InvalidTimeStamp",
        "Throttling",
        "Forbidden",
        "InvalidAction",
        "InvalidVersion",
        "MissingParameter",
        "UnsupportedHTTPMethod",
        "ServiceUnavailable",
        "InternalError",
        "isv.PRODUCT_UN_SUBSCRIPT",
        "isv.AMOUNT_NOT_ENOUGH",
        "isv.OUT_OF_SERVICE",
        "isv.ACCOUNT_",
    ];
    if OURS.iter().any(|prefix| code.starts_with(prefix)) {
        return failed(format!("{code} {message}"), None);
    }
    OneTapError::Refused { code: code.to_owned(), message }
}

/// Aliyun's answer, refusals included.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Reply {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default, rename = "GetMobileResultDTO")]
    result: Option<ResultDto>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResultDto {
    #[serde(default)]
    mobile: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn client() -> AliyunOneTap {
        let config = OneTapConfig {
            access_key_id: "id".to_owned(),
            access_key_secret: SecretString::from("very-secret-key"),
            base_url: "https://dypnsapi.aliyuncs.com".to_owned(),
            timeout: std::time::Duration::from_secs(5),
        };
        AliyunOneTap::with_options(config, ClientOptions::default()).unwrap()
    }

    #[test]
    fn the_token_goes_in_the_signed_form_and_the_action_is_get_mobile() {
        let token = CarrierToken::parse("tok+en/=").unwrap();
        let signed = client().sign(&token, 0, "n");
        assert_eq!(signed.body, "AccessToken=tok%2Ben%2F%3D");
        assert_eq!(signed.url, "https://dypnsapi.aliyuncs.com/");
        let header = |name: &str| signed.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(header("x-acs-action"), Some("GetMobile"));
        assert_eq!(header("x-acs-version"), Some("2017-05-25"));
        assert_eq!(header("host"), Some("dypnsapi.aliyuncs.com"));
        assert!(header("authorization").unwrap().starts_with("ACS3-HMAC-SHA256 Credential=id,"));
    }

    #[test]
    fn neither_the_secret_nor_the_token_is_in_the_debug_output() {
        let client = client();
        let token = CarrierToken::parse("carrier-token-123").unwrap();
        let shown = format!("{client:?} {:?}", client.sign(&token, 0, "n"));
        assert!(!shown.contains("very-secret-key") && !shown.contains("carrier-token-123"), "{shown}");
    }

    #[test]
    fn our_own_refusals_are_failures_and_the_rest_refuse_the_token() {
        for code in ["isp.SYSTEM_ERROR", "InvalidAccessKeyId.NotFound", "SignatureDoesNotMatch", "Throttling.User"] {
            assert_eq!(classify(code, String::new()).outcome(), "failed", "{code}");
        }
        for code in ["isv.INVALID_TOKEN", "isv.TOKEN_EXPIRED", "isv.MOBILE_NUMBER_ILLEGAL", "Unknown.Code"] {
            assert_eq!(classify(code, String::new()).outcome(), "refused", "{code}");
        }
    }
}
