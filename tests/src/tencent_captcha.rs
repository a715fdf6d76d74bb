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

use crate::loopback::{Reply, Server, Shared};
use crate::tc3::{self, Api, error, reply, request_id};
use bytes::Bytes;
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::config::TencentCaptchaConfig;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub const SECRET_ID: &str = "AKIDCaptchaSecretId0123456789abc";
pub const SECRET_KEY: &str = "CaptchaSecretKey0123456789abcdef";
pub const APP_ID: u64 = 190_000_000;
pub const APP_SECRET_KEY: &str = "TheCaptchaAppSecretKey**";
pub use crate::tc3::TIMESTAMP_WINDOW_SECONDS;

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

/// What the server keeps.
#[derive(Default)]
pub struct State {
    /// Issued tickets: their `Randstr` and the address they were issued to.
    tickets: HashMap<String, (String, String)>,
    /// The tickets judged `CaptchaCode: 1`, in order.
    passed: Vec<String>,
}

/// A running loopback Tencent Cloud captcha server.
pub type TencentCaptchaServer = Server<Mode, State>;

impl TencentCaptchaServer {
    pub async fn start() -> Self {
        Server::spawn(Mode::Normal, State::default(), answer).await
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
        self.state().tickets.insert(ticket.clone(), (randstr.clone(), user_ip.to_owned()));
        (ticket, randstr)
    }

    /// The tickets the server passed, in order.
    pub fn passed(&self) -> Vec<String> {
        self.state().passed.clone()
    }
}

fn verdict(code: i64, message: &str) -> Reply {
    reply(
        200,
        json!({"Response": {
            "CaptchaCode": code, "CaptchaMsg": message, "EvilLevel": 0, "GetCaptchaTime": 0,
            "EvilBitmap": 0, "SubmitCaptchaTime": 0, "RequestId": request_id()
        }})
        .to_string(),
    )
}

async fn answer(parts: http::request::Parts, body: Bytes, mode: Mode, server: Arc<Shared<Mode, State>>) -> Reply {
    match mode {
        Mode::ServerError => return reply(500, "internal error".to_owned()),
        Mode::Garbage => return reply(200, "<html>gateway</html>".to_owned()),
        Mode::Normal | Mode::Code(_) | Mode::Stall(_) => {}
    }
    let form = match tc3::verify_tc3(&parts, &body, &API) {
        Err((code, reason)) => {
            server.refuse(code, reason);
            return error(code, reason);
        }
        Ok(form) => form,
    };
    let (code, message) = match mode {
        Mode::Code(code) => (code, "answered by test".to_owned()),
        _ => judge(&form, &server.state().tickets),
    };
    if code == code::OK {
        server.state().passed.push(form["Ticket"].as_str().unwrap_or_default().to_owned());
    } else {
        server.refuse(code, message.as_str());
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

/// The service's `DescribeCaptchaResult` API.
const API: Api = Api {
    action: "DescribeCaptchaResult",
    version: "2019-07-22",
    service: "captcha",
    secret_id: SECRET_ID,
    secret_key: SECRET_KEY,
};
