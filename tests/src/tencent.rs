//! A Tencent Cloud SMS (`SendSms` `2021-01-11`, TC3-HMAC-SHA256) server on
//! loopback that checks each request the way the service does: the SecretId,
//! the credential scope (date, service `sms`), the signature recomputed from
//! the request as received (its own canonical form, not the client's), the
//! timestamp window (5 min), the action, version and region headers, the
//! application, signature name, template and numbers. Like the service it
//! answers HTTP 200 to everything it understands, with `Response.Error` for a
//! request-level failure and a `SendStatusSet` entry per number; it records
//! what it received and accepted, and has modes for every class of answer.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::config::TENCENT_DEFAULT_REGION;
use shared::signing::{hmac_sha256, sha256_hex, utc_date};
use shared::sms::TencentSmsConfig;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SECRET_ID: &str = "AKIDTestSecretId0123456789abcdef";
pub const SECRET_KEY: &str = "TestSecretKey0123456789abcdefgh";
pub const SDK_APP_ID: &str = "1400006666";
pub const SIGN_NAME: &str = "腾讯云";
pub const TEMPLATE_ID: &str = "1110";
/// How far `X-TC-Timestamp` may be from the server's clock.
pub const TIMESTAMP_WINDOW_SECONDS: i64 = 5 * 60;

/// How the server behaves, beyond checking requests.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Accept every request that passes the checks.
    Normal,
    /// Fail every request that passes the checks with this `Response.Error.Code`.
    Error(&'static str),
    /// Refuse every number of a request that passes the checks with this
    /// `SendStatusSet[].Code` (`Fee: 0`, empty `SerialNo`).
    NumberCode(&'static str),
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
    /// `+86…`
    pub phone_number: String,
    /// `TemplateParamSet`.
    pub params: Vec<String>,
    /// `X-TC-Region`.
    pub region: String,
}

#[derive(Default)]
struct State {
    received: usize,
    accepted: Vec<Accepted>,
    refusals: Vec<String>,
}

/// A running loopback Tencent Cloud SMS server.
pub struct TencentServer {
    pub addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl TencentServer {
    pub async fn start() -> Self {
        let mode = Arc::new(Mutex::new(Mode::Normal));
        let state = Arc::new(Mutex::new(State::default()));
        let (served_mode, served_state) = (Arc::clone(&mode), Arc::clone(&state));
        let (addr, task) =
            crate::loopback::serve(move |request| answer(request, Arc::clone(&served_mode), Arc::clone(&served_state)))
                .await;
        Self { addr, mode, state, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client configuration for this server's account.
    pub fn config(&self) -> TencentSmsConfig {
        TencentSmsConfig {
            secret_id: SECRET_ID.to_owned(),
            secret_key: SecretString::from(SECRET_KEY),
            sdk_app_id: SDK_APP_ID.to_owned(),
            sign_name: SIGN_NAME.to_owned(),
            template_id: TEMPLATE_ID.to_owned(),
            region: TENCENT_DEFAULT_REGION.to_owned(),
            base_url: self.base_url(),
        }
    }

    /// The `TENCENT_*` variables a function binary needs to send through this server.
    pub fn env(&self) -> [(&'static str, String); 7] {
        [
            ("TENCENT_SECRET_ID", SECRET_ID.to_owned()),
            ("TENCENT_SECRET_KEY", SECRET_KEY.to_owned()),
            ("TENCENT_SMS_SDK_APP_ID", SDK_APP_ID.to_owned()),
            ("TENCENT_SMS_SIGN_NAME", SIGN_NAME.to_owned()),
            ("TENCENT_SMS_TEMPLATE_ID", TEMPLATE_ID.to_owned()),
            ("TENCENT_SMS_REGION", TENCENT_DEFAULT_REGION.to_owned()),
            ("TENCENT_SMS_BASE_URL", self.base_url()),
        ]
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// How many requests arrived, whatever became of them.
    pub fn received(&self) -> usize {
        self.state.lock().unwrap().received
    }

    pub fn accepted(&self) -> Vec<Accepted> {
        self.state.lock().unwrap().accepted.clone()
    }

    /// Why requests or numbers were refused, as `Code: reason`.
    pub fn refusals(&self) -> Vec<String> {
        self.state.lock().unwrap().refusals.clone()
    }

    /// The code (first template parameter) most recently accepted for
    /// `phone_number` (`+86…`).
    pub fn last_code_for(&self, phone_number: &str) -> Option<String> {
        self.accepted()
            .into_iter()
            .rev()
            .find(|a| a.phone_number == phone_number)
            .and_then(|a| a.params.first().cloned())
    }
}

impl Drop for TencentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reply(status: u16, body: String) -> crate::loopback::Reply {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn error(code: &str, message: &str) -> crate::loopback::Reply {
    reply(
        200,
        json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id()}}).to_string(),
    )
}

fn statuses(set: Vec<Value>) -> crate::loopback::Reply {
    reply(200, json!({"Response": {"SendStatusSet": set, "RequestId": request_id()}}).to_string())
}

fn number_status(phone_number: &str, code: &str, message: &str) -> Value {
    let sent = code == "Ok";
    json!({
        "SerialNo": if sent { uuid::Uuid::new_v4().simple().to_string() } else { String::new() },
        "PhoneNumber": phone_number,
        "Fee": u8::from(sent),
        "SessionContext": "",
        "Code": code,
        "Message": message,
        "IsoCode": "CN",
    })
}

async fn answer(
    request: http::Request<Incoming>,
    mode: Arc<Mutex<Mode>>,
    state: Arc<Mutex<State>>,
) -> crate::loopback::Reply {
    let mode = mode.lock().unwrap().clone();
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    state.lock().unwrap().received += 1;
    match mode {
        Mode::ServerError => return reply(500, "internal error".to_owned()),
        Mode::Garbage => return reply(200, "<html>gateway</html>".to_owned()),
        Mode::Normal | Mode::Error(_) | Mode::NumberCode(_) | Mode::Stall(_) => {}
    }
    let request = match check(&parts, &body) {
        Err((code, reason)) => {
            state.lock().unwrap().refusals.push(format!("{code}: {reason}"));
            return error(code, reason);
        }
        Ok(request) => request,
    };
    if let Mode::Error(code) = mode {
        return error(code, "refused by test");
    }
    // Each number on its own: a bad one is refused, the others are sent.
    let mut set = Vec::new();
    for number in &request.numbers {
        let refusal = if !is_mainland_mobile(number) {
            Some(("InvalidParameterValue.IncorrectPhoneNumber", "the number is not a mobile number"))
        } else if let Mode::NumberCode(code) = mode {
            Some((code, "refused by test"))
        } else {
            None
        };
        match refusal {
            Some((code, reason)) => {
                state.lock().unwrap().refusals.push(format!("{code}: {reason}"));
                set.push(number_status(number, code, reason));
            }
            None => {
                let accepted = Accepted {
                    phone_number: number.clone(),
                    params: request.params.clone(),
                    region: request.region.clone(),
                };
                state.lock().unwrap().accepted.push(accepted);
                set.push(number_status(number, "Ok", "send success"));
            }
        }
    }
    if let Mode::Stall(delay) = mode {
        tokio::time::sleep(delay).await;
    }
    statuses(set)
}

fn is_mainland_mobile(number: &str) -> bool {
    number
        .strip_prefix("+86")
        .is_some_and(|n| n.len() == 11 && n.starts_with('1') && n.bytes().all(|b| b.is_ascii_digit()))
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

struct Checked {
    numbers: Vec<String>,
    params: Vec<String>,
    region: String,
}

/// The service's request-level checks, in its order, each with its code.
fn check(parts: &http::request::Parts, body: &[u8]) -> Result<Checked, (&'static str, &'static str)> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if parts.method != http::Method::POST || parts.uri.path() != "/" {
        return Err(("UnsupportedOperation", "POST / only"));
    }
    if header("x-tc-action") != Some("SendSms") {
        return Err(("InvalidAction", "X-TC-Action must be SendSms"));
    }
    if header("x-tc-version") != Some("2021-01-11") {
        return Err(("NoSuchVersion", "X-TC-Version must be 2021-01-11"));
    }
    let Some(region) = header("x-tc-region").filter(|r| !r.is_empty()) else {
        return Err(("MissingParameter", "X-TC-Region is required"));
    };
    let Some(timestamp) = header("x-tc-timestamp").and_then(|t| t.parse::<i64>().ok()) else {
        return Err(("MissingParameter", "X-TC-Timestamp is required"));
    };
    if (timestamp - now()).abs() > TIMESTAMP_WINDOW_SECONDS {
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
    if secret_id != SECRET_ID {
        return Err(("AuthFailure.SecretIdNotFound", "the SecretId is not found"));
    }
    if date != utc_date(timestamp) || service != "sms" {
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
    let string_to_sign =
        format!("TC3-HMAC-SHA256\n{timestamp}\n{date}/sms/tc3_request\n{}", sha256_hex(canonical_request.as_bytes()));
    let key = hmac_sha256(format!("TC3{SECRET_KEY}").as_bytes(), date.as_bytes());
    let key = hmac_sha256(&hmac_sha256(&key, b"sms"), b"tc3_request");
    if signature != hex::encode(hmac_sha256(&key, string_to_sign.as_bytes())) {
        return Err(("AuthFailure.SignatureFailure", "the signature does not match"));
    }
    if !header("content-type").is_some_and(|t| t.starts_with("application/json")) {
        return Err(("InvalidParameter", "the body must be JSON"));
    }
    let form: Value = serde_json::from_slice(body).map_err(|_| ("InvalidParameter", "the body is not JSON"))?;
    if form["SmsSdkAppId"] != SDK_APP_ID {
        return Err(("UnauthorizedOperation.SmsSdkAppIdVerifyFail", "SmsSdkAppId"));
    }
    if form["SignName"] != SIGN_NAME {
        return Err(("FailedOperation.SignatureIncorrectOrUnapproved", "the signature name is not approved"));
    }
    if form["TemplateId"] != TEMPLATE_ID {
        return Err(("FailedOperation.TemplateIncorrectOrUnapproved", "the template is not approved"));
    }
    let strings = |key: &str| -> Option<Vec<String>> {
        form[key].as_array()?.iter().map(|v| v.as_str().map(str::to_owned)).collect()
    };
    let Some(numbers) = strings("PhoneNumberSet").filter(|set| !set.is_empty()) else {
        return Err(("MissingParameter.EmptyPhoneNumberSet", "PhoneNumberSet must be strings, at least one"));
    };
    let Some(params) = strings("TemplateParamSet") else {
        return Err(("InvalidParameterValue.TemplateParameterFormatError", "TemplateParamSet must be strings"));
    };
    let code_like = |p: &String| p.len() <= 6 && p.bytes().all(|b| b.is_ascii_digit());
    if params.len() != 2 || !params.iter().all(code_like) {
        return Err((
            "InvalidParameterValue.TemplateParameterFormatError",
            "the template takes two numbers of 0–6 digits",
        ));
    }
    Ok(Checked { numbers, params, region: region.to_owned() })
}
