//! A Ronglian TemplateSMS server on loopback that checks each request the
//! way the real service does: account, signature, Authorization header,
//! timestamp window, headers, body, app and template. It answers with the
//! service's status codes and records what it accepted.
//!
//! On the test kit's own loopback accept loop rather than wiremock: the
//! check is one function over the raw request, and the fault modes (a stall
//! after accepting, garbage, a redirect) share the loop with the fault
//! server and the DynamoDB proxy; wiremock would add a dependency tree for
//! one custom responder.

use crate::loopback::{Reply, Server, Shared, json_reply, now};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use md5::{Digest, Md5};
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::config::RonglianConfig;
use shared::sms::beijing_timestamp;
use std::sync::Arc;
use std::time::Duration;

pub const ACCOUNT_SID: &str = "8a216da878005a0000d30a4ed04f10a1";
pub const AUTH_TOKEN: &str = "f3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8";
pub const APP_ID: &str = "8a216da878005a0000d30a4ed04f10b2";
pub const TEMPLATE_ID: &str = "1";

/// How the server behaves, beyond checking requests.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Accept every request that passes the checks.
    Normal,
    /// Answer every request with this `statusCode` (HTTP 200, as the service does).
    StatusCode(&'static str),
    /// Answer HTTP 500.
    ServerError,
    /// Answer HTTP 200 with a body that is not JSON.
    Garbage,
    /// Wait this long before answering.
    Slow(Duration),
}

/// One message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub to: String,
    pub datas: Vec<String>,
}

/// What the server keeps.
#[derive(Default)]
pub struct State {
    accepted: Vec<Accepted>,
}

/// A running loopback Ronglian server.
pub type RonglianServer = Server<Mode, State>;

impl RonglianServer {
    pub async fn start() -> Self {
        Server::spawn(Mode::Normal, State::default(), answer).await
    }

    /// A client configuration for this server's account.
    pub fn config(&self) -> RonglianConfig {
        RonglianConfig {
            account_sid: ACCOUNT_SID.to_owned(),
            auth_token: SecretString::from(AUTH_TOKEN),
            app_id: APP_ID.to_owned(),
            template_id: TEMPLATE_ID.to_owned(),
            base_url: self.base_url(),
        }
    }

    /// The `RONGLIAN_*` variables a function binary needs to send through this server.
    pub fn env(&self) -> [(&'static str, String); 5] {
        [
            ("RONGLIAN_ACCOUNT_SID", ACCOUNT_SID.to_owned()),
            ("RONGLIAN_AUTH_TOKEN", AUTH_TOKEN.to_owned()),
            ("RONGLIAN_APP_ID", APP_ID.to_owned()),
            ("RONGLIAN_TEMPLATE_ID", TEMPLATE_ID.to_owned()),
            ("RONGLIAN_BASE_URL", self.base_url()),
        ]
    }

    pub fn accepted(&self) -> Vec<Accepted> {
        self.state().accepted.clone()
    }

    /// The code most recently accepted for `to`.
    pub fn last_code_for(&self, to: &str) -> Option<String> {
        self.accepted().into_iter().rev().find(|a| a.to == to).and_then(|a| a.datas.first().cloned())
    }
}

fn reply(status: u16, body: String) -> Reply {
    json_reply(status, "application/json;charset=utf-8", body)
}

fn status_code(code: &str, message: &str) -> Reply {
    reply(200, json!({"statusCode": code, "statusMsg": message}).to_string())
}

async fn answer(parts: http::request::Parts, body: Bytes, mode: Mode, server: Arc<Shared<Mode, State>>) -> Reply {
    match mode {
        Mode::ServerError => return reply(500, "internal error".to_owned()),
        Mode::Garbage => return reply(200, "<html>gateway</html>".to_owned()),
        Mode::Slow(delay) => tokio::time::sleep(delay).await,
        Mode::Normal | Mode::StatusCode(_) => {}
    }
    if let Err((code, reason)) = check(&parts, &body) {
        server.refuse(code, reason);
        return status_code(code, reason);
    }
    if let Mode::StatusCode(code) = mode {
        return status_code(code, "refused by test");
    }
    let form: Value = serde_json::from_slice(&body).unwrap_or_default();
    let datas = form["datas"].as_array().into_iter().flatten().filter_map(|d| d.as_str().map(str::to_owned)).collect();
    let to = form["to"].as_str().unwrap_or_default().to_owned();
    server.state().accepted.push(Accepted { to, datas });
    reply(
        200,
        json!({"statusCode": "000000", "templateSMS": {"smsMessageSid": uuid::Uuid::new_v4().simple().to_string(), "dateCreated": beijing_timestamp(now())}}).to_string(),
    )
}

/// The service's checks, each with its status code from `docs/ronglian.md`.
fn check(parts: &http::request::Parts, body: &[u8]) -> Result<(), (&'static str, &'static str)> {
    if parts.method != http::Method::POST {
        return Err(("111100", "method must be POST"));
    }
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let authorization = header("authorization");
    if authorization.is_empty() {
        return Err(("111101", "Authorization missing"));
    }
    let decoded = STANDARD.decode(authorization).map_err(|_| ("111102", "Authorization is not base64"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| ("111102", "Authorization is not text"))?;
    let (sid, timestamp) = decoded.split_once(':').ok_or(("111103", "Authorization has no ':'"))?;
    if timestamp.len() != 14 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(("111113", "timestamp format"));
    }
    let expected_path = format!("/2013-12-26/Accounts/{ACCOUNT_SID}/SMS/TemplateSMS");
    if sid != ACCOUNT_SID || parts.uri.path() != expected_path {
        return Err(("111141", "account not found"));
    }
    let now = now();
    if timestamp < beijing_timestamp(now - 300).as_str() || timestamp > beijing_timestamp(now + 300).as_str() {
        return Err(("111106", "timestamp expired (not Beijing time?)"));
    }
    let sig = parts.uri.query().and_then(|q| q.strip_prefix("sig=")).ok_or(("111108", "sig missing"))?;
    let expected = hex::encode_upper(Md5::digest(format!("{ACCOUNT_SID}{AUTH_TOKEN}{timestamp}")));
    if sig != expected {
        return Err(("111109", "sig check failed"));
    }
    if header("accept") != "application/json" || header("content-type") != "application/json;charset=utf-8" {
        return Err(("111104", "headers"));
    }
    let form: Value = serde_json::from_slice(body).map_err(|_| ("111105", "body is not JSON"))?;
    if form["appId"] != APP_ID {
        return Err(("111170", "appId"));
    }
    if form["templateId"] != TEMPLATE_ID {
        return Err(("160032", "invalid template"));
    }
    let to = form["to"].as_str().unwrap_or_default();
    if to.is_empty() {
        return Err(("160044", "to is empty"));
    }
    if to.len() != 11 || !to.bytes().all(|b| b.is_ascii_digit()) {
        return Err(("160042", "bad mobile format"));
    }
    if !form["datas"].is_array() {
        return Err(("160031", "datas"));
    }
    Ok(())
}
