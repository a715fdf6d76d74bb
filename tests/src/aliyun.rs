//! An Aliyun SMS (`SendSms`, ACS3-HMAC-SHA256) server on loopback that checks
//! each request the way the service does: the AccessKeyId, the signature
//! recomputed from the request as received (its own canonical form, not the
//! client's), the body's hash, the timestamp window (15 min), the nonce's
//! single use, the action and version, the parameters, signature name and
//! template. It answers with the service's codes, records what it received
//! and accepted, and has modes for every class of answer.

use crate::loopback::{Reply, Server, Shared, json_reply, now};
use bytes::Bytes;
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::signing::{hmac_sha256, iso8601_utc, rfc3986, sha256_hex};
use shared::sms::AliyunSmsConfig;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

pub const ACCESS_KEY_ID: &str = "LTAI5tTestAccessKeyId01";
pub const ACCESS_KEY_SECRET: &str = "TestAccessKeySecret0123456789ab";
pub const SIGN_NAME: &str = "阿里云短信测试";
pub const TEMPLATE_CODE: &str = "SMS_154950909";
/// How far `x-acs-date` may be from the server's clock.
pub const TIMESTAMP_WINDOW_SECONDS: i64 = 15 * 60;

/// How the server behaves, beyond checking requests.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Accept every request that passes the checks.
    Normal,
    /// Answer every request that passes the checks with this `Code` (HTTP 200).
    Code(&'static str),
    /// Answer HTTP 500 without looking at the request.
    ServerError,
    /// Answer HTTP 200 with a body that is not JSON.
    Garbage,
    /// Check and accept the message, then wait this long before answering.
    Stall(Duration),
}

/// One message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub phone_numbers: String,
    /// `TemplateParam`'s `code`.
    pub code: String,
    pub nonce: String,
}

/// What the server keeps.
#[derive(Default)]
pub struct State {
    accepted: Vec<Accepted>,
    nonces: HashSet<String>,
}

/// A running loopback Aliyun SMS server.
pub type AliyunServer = Server<Mode, State>;

impl AliyunServer {
    pub async fn start() -> Self {
        Server::spawn(Mode::Normal, State::default(), answer).await
    }

    /// A client configuration for this server's account.
    pub fn config(&self) -> AliyunSmsConfig {
        AliyunSmsConfig {
            access_key_id: ACCESS_KEY_ID.to_owned(),
            access_key_secret: SecretString::from(ACCESS_KEY_SECRET),
            sign_name: SIGN_NAME.to_owned(),
            template_code: TEMPLATE_CODE.to_owned(),
            base_url: self.base_url(),
        }
    }

    /// The `ALIYUN_*` variables a function binary needs to send through this server.
    pub fn env(&self) -> [(&'static str, String); 5] {
        [
            ("ALIYUN_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("ALIYUN_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET.to_owned()),
            ("ALIYUN_SMS_SIGN_NAME", SIGN_NAME.to_owned()),
            ("ALIYUN_SMS_TEMPLATE_CODE", TEMPLATE_CODE.to_owned()),
            ("ALIYUN_SMS_BASE_URL", self.base_url()),
        ]
    }

    pub fn accepted(&self) -> Vec<Accepted> {
        self.state().accepted.clone()
    }

    /// The code most recently accepted for `phone_numbers`.
    pub fn last_code_for(&self, phone_numbers: &str) -> Option<String> {
        self.accepted().into_iter().rev().find(|a| a.phone_numbers == phone_numbers).map(|a| a.code)
    }
}

/// An Aliyun answer (the RPC services' JSON content type).
pub(crate) fn reply(status: u16, body: String) -> Reply {
    json_reply(status, "application/json;charset=utf-8", body)
}

pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

/// An answer with the service's `Code` and `Message`.
pub(crate) fn coded(status: u16, code: &str, message: &str) -> Reply {
    reply(status, json!({"Code": code, "Message": message, "RequestId": request_id()}).to_string())
}

async fn answer(parts: http::request::Parts, body: Bytes, mode: Mode, server: Arc<Shared<Mode, State>>) -> Reply {
    match mode {
        Mode::ServerError => return reply(500, "internal error".to_owned()),
        Mode::Garbage => return reply(200, "<html>gateway</html>".to_owned()),
        Mode::Normal | Mode::Code(_) | Mode::Stall(_) => {}
    }
    let checked = check(&parts, &body, &mut server.state());
    let accepted = match checked {
        Err(Refusal { status, code, reason }) => {
            server.refuse(code, reason);
            return coded(status, code, reason);
        }
        Ok(accepted) => accepted,
    };
    if let Mode::Code(code) = mode {
        return coded(200, code, "refused by test");
    }
    server.state().accepted.push(accepted);
    if let Mode::Stall(delay) = mode {
        tokio::time::sleep(delay).await;
    }
    let biz_id = format!("{}^0", uuid::Uuid::new_v4().simple());
    reply(200, json!({"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": request_id()}).to_string())
}

pub(crate) struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub reason: &'static str,
}

pub(crate) fn refuse<T>(status: u16, code: &'static str, reason: &'static str) -> Result<T, Refusal> {
    Err(Refusal { status, code, reason })
}

/// `k=v&…` (form or query), decoded.
pub(crate) fn pairs(encoded: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(encoded.as_bytes()).into_owned().collect()
}

/// What every Aliyun RPC service checks first, in its order, each with its
/// code: the method, action and version, the ACS3 signature recomputed
/// from the request as received under [`ACCESS_KEY_ID`]'s secret, the
/// body's hash, the timestamp window and the nonce's single use.
pub(crate) fn verify_acs3(
    parts: &http::request::Parts,
    body: &[u8],
    action: &'static str,
    nonces: &mut HashSet<String>,
) -> Result<(), Refusal> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if parts.method != http::Method::POST && parts.method != http::Method::GET {
        return refuse(400, "UnsupportedHTTPMethod", "method");
    }
    if header("x-acs-action") != Some(action) {
        return refuse(404, "InvalidAction.NotFound", "x-acs-action is not this service's");
    }
    if header("x-acs-version") != Some("2017-05-25") {
        return refuse(400, "InvalidVersion", "x-acs-version must be 2017-05-25");
    }
    let authorization = header("authorization").unwrap_or_default();
    let Some(fields) = authorization.strip_prefix("ACS3-HMAC-SHA256 ") else {
        return refuse(400, "IncompleteSignature", "Authorization is not ACS3-HMAC-SHA256");
    };
    let field = |name: &str| fields.split(',').find_map(|f| f.trim().strip_prefix(name)?.strip_prefix('='));
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (field("Credential"), field("SignedHeaders"), field("Signature"))
    else {
        return refuse(400, "IncompleteSignature", "Authorization lacks a field");
    };
    if credential != ACCESS_KEY_ID {
        return refuse(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.");
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    let required =
        ["host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"];
    if required.iter().any(|name| !names.contains(name)) {
        return refuse(400, "IncompleteSignature", "a required header is not signed");
    }
    if header("x-acs-content-sha256") != Some(sha256_hex(body).as_str()) {
        return refuse(400, "SignatureDoesNotMatch", "x-acs-content-sha256 is not the body's hash");
    }
    let date = header("x-acs-date").unwrap_or_default();
    let now = now();
    if date.len() != 20
        || date < iso8601_utc(now - TIMESTAMP_WINDOW_SECONDS).as_str()
        || date > iso8601_utc(now + TIMESTAMP_WINDOW_SECONDS).as_str()
    {
        return refuse(400, "InvalidTimeStamp.Expired", "x-acs-date is not within 15 minutes of now (UTC)");
    }
    // The signature over the request as it arrived.
    let mut query: Vec<(String, String)> =
        pairs(parts.uri.query().unwrap_or_default()).into_iter().map(|(k, v)| (rfc3986(&k), rfc3986(&v))).collect();
    query.sort();
    let query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut canonical_headers = String::new();
    for name in &names {
        let Some(value) = header(name) else {
            return refuse(400, "IncompleteSignature", "a signed header is missing");
        };
        canonical_headers.push_str(&format!("{name}:{}\n", value.trim()));
    }
    let canonical_request = format!(
        "{}\n{}\n{query}\n{canonical_headers}\n{signed_headers}\n{}",
        parts.method,
        parts.uri.path(),
        sha256_hex(body)
    );
    let string_to_sign = format!("ACS3-HMAC-SHA256\n{}", sha256_hex(canonical_request.as_bytes()));
    let expected = hex::encode(hmac_sha256(ACCESS_KEY_SECRET.as_bytes(), string_to_sign.as_bytes()));
    if signature != expected {
        return refuse(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.");
    }
    let nonce = header("x-acs-signature-nonce").unwrap_or_default().to_owned();
    if nonce.is_empty() || !nonces.insert(nonce) {
        return refuse(400, "SignatureNonceUsed", "Specified signature nonce was used already.");
    }
    Ok(())
}

/// The service's checks, in its order, each with its code.
fn check(parts: &http::request::Parts, body: &[u8], state: &mut State) -> Result<Accepted, Refusal> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    verify_acs3(parts, body, "SendSms", &mut state.nonces)?;
    let nonce = header("x-acs-signature-nonce").unwrap_or_default().to_owned();
    // The parameters, from the query and the form body.
    if !body.is_empty() && header("content-type") != Some("application/x-www-form-urlencoded") {
        return refuse(400, "InvalidParameter", "the body is not a form");
    }
    let mut params = pairs(parts.uri.query().unwrap_or_default());
    params.extend(pairs(&String::from_utf8_lossy(body)));
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let (Some(phone_numbers), Some(sign_name), Some(template_code), Some(template_param)) =
        (param("PhoneNumbers"), param("SignName"), param("TemplateCode"), param("TemplateParam"))
    else {
        return refuse(400, "MissingParameter", "PhoneNumbers, SignName, TemplateCode or TemplateParam is missing");
    };
    if sign_name != SIGN_NAME {
        return refuse(200, "isv.SMS_SIGNATURE_ILLEGAL", "the signature name is not approved");
    }
    if template_code != TEMPLATE_CODE {
        return refuse(200, "isv.SMS_TEMPLATE_ILLEGAL", "the template is not approved");
    }
    let number = phone_numbers.strip_prefix("+86").or(phone_numbers.strip_prefix("0086")).unwrap_or(phone_numbers);
    if number.len() != 11 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return refuse(200, "isv.MOBILE_NUMBER_ILLEGAL", "the number is not a mobile number");
    }
    let values: Value = serde_json::from_str(template_param).unwrap_or_default();
    let Some(values) = values.as_object().filter(|map| map.values().all(Value::is_string)) else {
        return refuse(200, "isv.INVALID_JSON_PARAM", "TemplateParam is not a JSON object of strings");
    };
    let Some(code) = values.get("code").and_then(Value::as_str) else {
        return refuse(200, "isv.TEMPLATE_MISSING_PARAMETERS", "the template's ${code} has no value");
    };
    Ok(Accepted { phone_numbers: phone_numbers.to_owned(), code: code.to_owned(), nonce })
}
