//! What the Tencent Cloud API stand-ins share: the checks every API makes
//! first, in the service's order, each with its code (`POST /`, the action
//! and version headers, then TC3-HMAC-SHA256: the timestamp window (5 min),
//! the `Authorization` fields, the credential scope (SecretId, date,
//! service), the signature recomputed from the request as received (its own
//! canonical form, not the client's), and a JSON body), and the answers'
//! envelope.

use crate::loopback::{Reply, json_reply};
use serde_json::{Value, json};
use shared::signing::{hmac_sha256, sha256_hex, utc_date};

/// How far `X-TC-Timestamp` may be from the server's clock.
pub const TIMESTAMP_WINDOW_SECONDS: i64 = 5 * 60;

/// A refusal: the `Response.Error.Code` and why.
pub(crate) type Refusal = (&'static str, &'static str);

/// One API of one service, as its stand-in knows it.
pub(crate) struct Api {
    /// `X-TC-Action`.
    pub action: &'static str,
    /// `X-TC-Version`.
    pub version: &'static str,
    /// The credential scope's service: `sms`, `captcha`.
    pub service: &'static str,
    pub secret_id: &'static str,
    pub secret_key: &'static str,
}

/// [`check_action`], then [`verify_signed`]: the checked body.
pub(crate) fn verify_tc3(parts: &http::request::Parts, body: &[u8], api: &Api) -> Result<Value, Refusal> {
    check_action(parts, api)?;
    verify_signed(parts, body, api)
}

/// `POST /` with the API's action and version headers.
pub(crate) fn check_action(parts: &http::request::Parts, api: &Api) -> Result<(), Refusal> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if parts.method != http::Method::POST || parts.uri.path() != "/" {
        return Err(("UnsupportedOperation", "POST / only"));
    }
    if header("x-tc-action") != Some(api.action) {
        return Err(("InvalidAction", api.action_refused()));
    }
    if header("x-tc-version") != Some(api.version) {
        return Err(("NoSuchVersion", api.version_refused()));
    }
    Ok(())
}

impl Api {
    fn action_refused(&self) -> &'static str {
        match self.action {
            "SendSms" => "X-TC-Action must be SendSms",
            "DescribeCaptchaResult" => "X-TC-Action must be DescribeCaptchaResult",
            _ => "X-TC-Action is not this service's",
        }
    }

    fn version_refused(&self) -> &'static str {
        match self.version {
            "2021-01-11" => "X-TC-Version must be 2021-01-11",
            "2019-07-22" => "X-TC-Version must be 2019-07-22",
            _ => "X-TC-Version is not this service's",
        }
    }
}

/// The timestamp window, the `Authorization` header, the credential scope,
/// the signature under the API's secret key, and the body as JSON.
pub(crate) fn verify_signed(parts: &http::request::Parts, body: &[u8], api: &Api) -> Result<Value, Refusal> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let Some(timestamp) = header("x-tc-timestamp").and_then(|t| t.parse::<i64>().ok()) else {
        return Err(("MissingParameter", "X-TC-Timestamp is required"));
    };
    if (timestamp - crate::loopback::now()).abs() > TIMESTAMP_WINDOW_SECONDS {
        return Err(("AuthFailure.SignatureExpire", "X-TC-Timestamp is not within 5 minutes of now"));
    }
    let authorization = header("authorization").unwrap_or_default();
    let Some(fields) = authorization.strip_prefix("TC3-HMAC-SHA256 ") else {
        return Err(("AuthFailure.InvalidAuthorization", "Authorization is not TC3-HMAC-SHA256"));
    };
    let field = |name: &str| fields.split(',').find_map(|f| f.trim().strip_prefix(name)?.strip_prefix('='));
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (field("Credential"), field("SignedHeaders"), field("Signature"))
    else {
        return Err(("AuthFailure.InvalidAuthorization", "Authorization lacks a field"));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [secret_id, date, service, "tc3_request"] = scope[..] else {
        return Err(("AuthFailure.InvalidAuthorization", "Credential is not id/date/service/tc3_request"));
    };
    if secret_id != api.secret_id {
        return Err(("AuthFailure.SecretIdNotFound", "the SecretId is not found"));
    }
    if date != utc_date(timestamp) || service != api.service {
        return Err(("AuthFailure.SignatureFailure", "the credential scope's date or service is wrong"));
    }
    // The signature over the request as it arrived.
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"content-type") || !names.contains(&"host") {
        return Err(("AuthFailure.SignatureFailure", "content-type and host must be signed"));
    }
    let mut canonical_headers = String::new();
    for name in &names {
        let Some(value) = header(name) else {
            return Err(("AuthFailure.SignatureFailure", "a signed header is missing"));
        };
        canonical_headers.push_str(&format!("{name}:{}\n", value.trim().to_ascii_lowercase()));
    }
    let canonical_request = format!(
        "POST\n/\n{}\n{canonical_headers}\n{signed_headers}\n{}",
        parts.uri.query().unwrap_or_default(),
        sha256_hex(body)
    );
    let string_to_sign = format!(
        "TC3-HMAC-SHA256\n{timestamp}\n{date}/{service}/tc3_request\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let key = hmac_sha256(format!("TC3{}", api.secret_key).as_bytes(), date.as_bytes());
    let key = hmac_sha256(&hmac_sha256(&key, service.as_bytes()), b"tc3_request");
    if signature != hex::encode(hmac_sha256(&key, string_to_sign.as_bytes())) {
        return Err(("AuthFailure.SignatureFailure", "the signature does not match"));
    }
    if !header("content-type").is_some_and(|t| t.starts_with("application/json")) {
        return Err(("InvalidParameter", "the body must be JSON"));
    }
    serde_json::from_slice(body).map_err(|_| ("InvalidParameter", "the body is not JSON"))
}

/// A Tencent Cloud answer (every API's JSON content type).
pub(crate) fn reply(status: u16, body: String) -> Reply {
    json_reply(status, "application/json", body)
}

pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An answer of `Response.Error`: a request the service refuses whole.
pub(crate) fn error(code: &str, message: &str) -> Reply {
    reply(
        200,
        json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id()}}).to_string(),
    )
}
