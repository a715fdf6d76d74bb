//! A GeeTest v4 secondary validation server (`POST /validate?captcha_id=…`)
//! on loopback that checks each request as the service does: the
//! `captcha_id` in the query is the account's, the form has the widget's
//! four fields and `sign_token = hex(HMAC-SHA256(captcha_key, lot_number))`,
//! and the fields are ones it issued together
//! ([`GeetestServer::issue`]). It answers `status: success` with `result:
//! success` or `fail` (and a `reason`) for a request it can judge, `status:
//! error` with a code for one it cannot (an unknown `captcha_id`, a missing
//! field). It accepts a pass as often as it is asked (so single use is shown
//! to be ours), and has modes for every class of answer.

use crate::loopback::{Reply, Server, Shared, json_reply};
use bytes::Bytes;
use secrecy::SecretString;
use serde_json::json;
use shared::config::GeetestConfig;
use shared::signing::hmac_sha256;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub const CAPTCHA_ID: &str = "647f5ed2ed8acb4be36784e01556bb71";
pub const CAPTCHA_KEY: &str = "b09a7aafbfd83f73b35a9b530d0337bf";

/// How the server behaves, beyond checking requests.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Judge every request that passes the checks.
    Normal,
    /// Answer `status: error` with this code to every request.
    Error(&'static str),
    /// Answer HTTP 500 without looking at the request.
    ServerError,
    /// Answer HTTP 200 with a body that is not JSON.
    Garbage,
    /// Judge the request, then wait this long before answering.
    Stall(Duration),
}

/// The four fields the widget's `getValidate()` hands a person who passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    pub lot_number: String,
    pub captcha_output: String,
    pub pass_token: String,
    pub gen_time: String,
}

impl Pass {
    /// The send's query string carrying this pass.
    pub fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("lot_number", &self.lot_number)
            .append_pair("captcha_output", &self.captcha_output)
            .append_pair("pass_token", &self.pass_token)
            .append_pair("gen_time", &self.gen_time)
            .finish()
    }
}

/// What the server keeps.
#[derive(Default)]
pub struct State {
    /// Issued passes by `lot_number`.
    issued: HashMap<String, Pass>,
    /// The lot numbers judged `result: success`, in order.
    passed: Vec<String>,
}

/// A running loopback GeeTest v4 server.
pub type GeetestServer = Server<Mode, State>;

impl GeetestServer {
    pub async fn start() -> Self {
        Server::spawn(Mode::Normal, State::default(), answer).await
    }

    /// A client configuration for this server's captcha.
    pub fn config(&self) -> GeetestConfig {
        GeetestConfig {
            captcha_id: CAPTCHA_ID.to_owned(),
            captcha_key: SecretString::from(CAPTCHA_KEY),
            base_url: self.base_url(),
        }
    }

    /// The variables a function binary needs to judge through this server.
    pub fn env(&self) -> [(&'static str, String); 4] {
        [
            ("CAPTCHA_PROVIDER", "geetest".to_owned()),
            ("GEETEST_CAPTCHA_ID", CAPTCHA_ID.to_owned()),
            ("GEETEST_CAPTCHA_KEY", CAPTCHA_KEY.to_owned()),
            ("GEETEST_BASE_URL", self.base_url()),
        ]
    }

    /// A fresh pass, as the widget hands it to a person who solved it.
    pub fn issue(&self) -> Pass {
        let token = || uuid::Uuid::new_v4().simple().to_string();
        let pass = Pass {
            lot_number: token(),
            captcha_output: format!("{}{}==", token(), token()),
            pass_token: format!("{}{}", token(), token()),
            gen_time: "1700000000".to_owned(),
        };
        self.state().issued.insert(pass.lot_number.clone(), pass.clone());
        pass
    }

    /// The lot numbers the server passed, in order.
    pub fn passed(&self) -> Vec<String> {
        self.state().passed.clone()
    }
}

fn reply(status: u16, body: String) -> Reply {
    json_reply(status, "application/json;charset=UTF-8", body)
}

fn error(code: &str, msg: &str) -> Reply {
    reply(200, json!({"status": "error", "code": code, "msg": msg, "desc": {"type": "defined error"}}).to_string())
}

fn judged(pass: bool, reason: &str, lot_number: &str) -> Reply {
    reply(
        200,
        json!({
            "status": "success", "code": "0", "msg": "",
            "result": if pass { "success" } else { "fail" }, "reason": reason,
            "captcha_args": {"used_type": "slide", "lot_number": lot_number, "scene": "反爬虫"}
        })
        .to_string(),
    )
}

async fn answer(parts: http::request::Parts, body: Bytes, mode: Mode, server: Arc<Shared<Mode, State>>) -> Reply {
    match mode {
        Mode::ServerError => return reply(500, "internal error".to_owned()),
        Mode::Garbage => return reply(200, "<html>gateway</html>".to_owned()),
        Mode::Error(code) => return error(code, "refused by test"),
        Mode::Normal | Mode::Stall(_) => {}
    }
    let query: HashMap<String, String> =
        form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if parts.method != http::Method::POST || parts.uri.path() != "/validate" {
        server.refuse("-50000", "POST /validate only");
        return error("-50000", "POST /validate only");
    }
    if query.get("captcha_id").map(String::as_str) != Some(CAPTCHA_ID) {
        server.refuse("-50101", "captcha_id is not found");
        return error("-50101", "captcha_id is not found");
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        server.refuse("-50002", "the body must be a form");
        return error("-50002", "the body must be a form");
    }
    let names = ["lot_number", "captcha_output", "pass_token", "gen_time", "sign_token"];
    if let Some(missing) = names.iter().find(|name| field(name).is_empty()) {
        let reason = format!("{missing} is missing");
        server.refuse("-50003", &reason);
        return error("-50003", &reason);
    }
    let lot_number = field("lot_number");
    let reason = if field("sign_token") != hex::encode(hmac_sha256(CAPTCHA_KEY.as_bytes(), lot_number.as_bytes())) {
        Some("sign_token check failed")
    } else {
        match server.state().issued.get(lot_number) {
            None => Some("lot_number is not found"),
            Some(pass) if pass.captcha_output != field("captcha_output") => Some("captcha_output check failed"),
            Some(pass) if pass.pass_token != field("pass_token") => Some("pass_token check failed"),
            Some(pass) if pass.gen_time != field("gen_time") => Some("gen_time check failed"),
            Some(_) => None,
        }
    };
    match reason {
        None => server.state().passed.push(lot_number.to_owned()),
        Some(reason) => server.refuse("fail", reason),
    }
    if let Mode::Stall(delay) = mode {
        tokio::time::sleep(delay).await;
    }
    judged(reason.is_none(), reason.unwrap_or_default(), lot_number)
}
