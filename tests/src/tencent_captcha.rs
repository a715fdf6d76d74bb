//! A Tencent Cloud captcha (`DescribeCaptchaResult` `2019-07-22`,
//! TC3-HMAC-SHA256, service `captcha`) server on loopback that checks each
//! request the way the service does: the SecretId, the credential scope
//! (date, service `captcha`), the signature recomputed from the request as
//! received, the timestamp window (5 min), the action and version headers,
//! then the body: `CaptchaType` 9, the integer `CaptchaAppId`, the
//! `AppSecretKey`, and a ticket it issued ([`TencentCaptchaServer::issue`])
//! with its `Randstr`, from the `UserIp` it was issued to. Like the service it
//! answers HTTP 200 with `Response.Error` for a request it cannot
//! authenticate and a `CaptchaCode` for one it can. It accepts a ticket as
//! often as it is asked within its life (so single use is shown to be ours),
//! and has modes for every class of answer.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::config::TencentCaptchaConfig;
use shared::signing::{hmac_sha256, sha256_hex, utc_date};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SECRET_ID: &str = "AKIDCaptchaSecretId0123456789abc";
pub const SECRET_KEY: &str = "CaptchaSecretKey0123456789abcdef";
pub const APP_ID: u64 = 190_000_000;
pub const APP_SECRET_KEY: &str = "TheCaptchaAppSecretKey**";
/// How far `X-TC-Timestamp` may be from the server's clock.
pub const TIMESTAMP_WINDOW_SECONDS: i64 = 5 * 60;

/// The codes the service answers with that this server uses.
pub mod code {
    pub const OK: i64 = 1;
    /// The `Randstr` is not the ticket's.
    pub const RANDSTR_MISMATCH: i64 = 7;
    /// The ticket was never issued (or decrypts to nothing).
    pub const DECRYPT_FAIL: i64 = 15;
    /// The ticket was issued to another address.
    pub const IP_MISMATCH: i64 = 21;
    /// "system internal error".
    pub const INTERNAL_ERROR: i64 = 26;
    /// A parameter is wrong: the `AppSecretKey`, the `CaptchaType`.
    pub const PARAMETER: i64 = 100;
}

/// How the server behaves, beyond checking requests.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Judge every request that passes the checks.
    Normal,
    /// Answer every request that passes the checks with this `CaptchaCode`.
    Code(i64),
    /// Answer HTTP 500 without looking at the request.
    ServerError,
    /// Answer HTTP 200 with a body that is not JSON.
    Garbage,
    /// Judge the request, then wait this long before answering.
    Stall(Duration),
}

#[derive(Default)]
struct State {
    /// Issued tickets: their `Randstr` and the address they were issued to.
    tickets: HashMap<String, (String, String)>,
    received: usize,
    /// The tickets judged `CaptchaCode: 1`, in order.
    passed: Vec<String>,
    refusals: Vec<String>,
}

/// A running loopback Tencent Cloud captcha server.
pub struct TencentCaptchaServer {
    pub addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl TencentCaptchaServer {
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
    pub fn config(&self) -> TencentCaptchaConfig {
        TencentCaptchaConfig {
            secret_id: SECRET_ID.to_owned(),
            secret_key: SecretString::from(SECRET_KEY),
            app_id: APP_ID,
            app_secret_key: SecretString::from(APP_SECRET_KEY),
            base_url: self.base_url(),
        }
    }

    /// The variables a function binary needs to judge through this server.
    pub fn env(&self) -> [(&'static str, String); 6] {
        [
            ("CAPTCHA_PROVIDER", "tencent".to_owned()),
            ("TENCENT_SECRET_ID", SECRET_ID.to_owned()),
            ("TENCENT_SECRET_KEY", SECRET_KEY.to_owned()),
            ("TENCENT_CAPTCHA_APP_ID", APP_ID.to_string()),
            ("TENCENT_CAPTCHA_APP_SECRET_KEY", APP_SECRET_KEY.to_owned()),
            ("TENCENT_CAPTCHA_BASE_URL", self.base_url()),
        ]
    }

    /// What the widget hands a person who passed on `user_ip`: a fresh
    /// `ticket` and its `randstr`.
    pub fn issue(&self, user_ip: &str) -> (String, String) {
        let ticket = format!("t03{}*", uuid::Uuid::new_v4().simple());
        let randstr = format!("@{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
        self.state.lock().unwrap().tickets.insert(ticket.clone(), (randstr.clone(), user_ip.to_owned()));
        (ticket, randstr)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// How many requests arrived, whatever became of them.
    pub fn received(&self) -> usize {
        self.state.lock().unwrap().received
    }

    /// The tickets the server passed, in order.
    pub fn passed(&self) -> Vec<String> {
        self.state.lock().unwrap().passed.clone()
    }

    /// Why requests were refused, as `code: reason`.
    pub fn refusals(&self) -> Vec<String> {
        self.state.lock().unwrap().refusals.clone()
    }
}

impl Drop for TencentCaptchaServer {
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

fn verdict(code: i64, message: &str) -> crate::loopback::Reply {
    reply(
        200,
        json!({"Response": {
            "CaptchaCode": code, "CaptchaMsg": message, "EvilLevel": 0, "GetCaptchaTime": 0,
            "EvilBitmap": 0, "SubmitCaptchaTime": 0, "RequestId": request_id()
        }})
        .to_string(),
    )
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
        Mode::Normal | Mode::Code(_) | Mode::Stall(_) => {}
    }
    let form = match authenticate(&parts, &body) {
        Err((code, reason)) => {
            state.lock().unwrap().refusals.push(format!("{code}: {reason}"));
            return error(code, reason);
        }
        Ok(form) => form,
    };
    let (code, message) = match mode {
        Mode::Code(code) => (code, "answered by test".to_owned()),
        _ => judge(&form, &state.lock().unwrap().tickets),
    };
    {
        let mut state = state.lock().unwrap();
        if code == code::OK {
            state.passed.push(form["Ticket"].as_str().unwrap_or_default().to_owned());
        } else {
            state.refusals.push(format!("{code}: {message}"));
        }
    }
    if let Mode::Stall(delay) = mode {
        tokio::time::sleep(delay).await;
    }
    verdict(code, &message)
}

/// The body's checks, in the service's order, each with its `CaptchaCode`.
fn judge(form: &Value, tickets: &HashMap<String, (String, String)>) -> (i64, String) {
    if form["CaptchaType"] != 9 {
        return (code::PARAMETER, "CaptchaType must be 9".to_owned());
    }
    if form["CaptchaAppId"].as_u64() != Some(APP_ID) {
        return (code::PARAMETER, "CaptchaAppId must be the application's, an integer".to_owned());
    }
    if form["AppSecretKey"] != APP_SECRET_KEY {
        return (code::PARAMETER, "appsecretkey check failed".to_owned());
    }
    let text = |key: &str| form[key].as_str().unwrap_or_default();
    let Some((randstr, user_ip)) = tickets.get(text("Ticket")) else {
        return (code::DECRYPT_FAIL, "decrypt fail".to_owned());
    };
    if text("Randstr") != randstr {
        return (code::RANDSTR_MISMATCH, "captcha no match".to_owned());
    }
    if text("UserIp") != user_ip {
        return (code::IP_MISMATCH, "the ticket was issued to another address".to_owned());
    }
    (code::OK, "OK".to_owned())
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The service's request-level checks, in its order, each with its code.
fn authenticate(parts: &http::request::Parts, body: &[u8]) -> Result<Value, (&'static str, &'static str)> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if parts.method != http::Method::POST || parts.uri.path() != "/" {
        return Err(("UnsupportedOperation", "POST / only"));
    }
    if header("x-tc-action") != Some("DescribeCaptchaResult") {
        return Err(("InvalidAction", "X-TC-Action must be DescribeCaptchaResult"));
    }
    if header("x-tc-version") != Some("2019-07-22") {
        return Err(("NoSuchVersion", "X-TC-Version must be 2019-07-22"));
    }
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
    if date != utc_date(timestamp) || service != "captcha" {
        return Err(("AuthFailure.SignatureFailure", "the credential scope's date or service is wrong"));
    }
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
        "TC3-HMAC-SHA256\n{timestamp}\n{date}/captcha/tc3_request\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let key = hmac_sha256(format!("TC3{SECRET_KEY}").as_bytes(), date.as_bytes());
    let key = hmac_sha256(&hmac_sha256(&key, b"captcha"), b"tc3_request");
    if signature != hex::encode(hmac_sha256(&key, string_to_sign.as_bytes())) {
        return Err(("AuthFailure.SignatureFailure", "the signature does not match"));
    }
    if !header("content-type").is_some_and(|t| t.starts_with("application/json")) {
        return Err(("InvalidParameter", "the body must be JSON"));
    }
    serde_json::from_slice(body).map_err(|_| ("InvalidParameter", "the body is not JSON"))
}
