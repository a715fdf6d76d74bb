//! An Aliyun one-tap (Dypnsapi `GetMobile`, ACS3-HMAC-SHA256) server on
//! loopback that checks each request the way the service does: the
//! AccessKey, the signature recomputed from the request as received, the
//! body's hash, the timestamp window and the nonce's single use (all
//! [`crate::aliyun::verify_acs3`]), then the `AccessToken`, which it
//! exchanges once: a token it never issued, or one already exchanged, is
//! refused as the service refuses it.

use crate::aliyun::{ACCESS_KEY_ID, ACCESS_KEY_SECRET, Refusal, coded, pairs, refuse, reply, request_id, verify_acs3};
use crate::loopback::{Reply, Server, Shared};
use bytes::Bytes;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// The code this server refuses a bad, used or expired token with.
pub const TOKEN_REFUSED: &str = "isv.INVALID_TOKEN";

/// How the server behaves, beyond checking requests.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Exchange every valid token.
    Normal,
    /// Answer HTTP 500 without looking at the request.
    ServerError,
    /// Answer every request that passes the signature checks with this `Code` (HTTP 200).
    Code(&'static str),
    /// Wait this long before answering.
    Stall(Duration),
}

/// What the server keeps.
#[derive(Default)]
pub struct State {
    /// Tokens issued and not yet exchanged, with their numbers.
    issued: HashMap<String, String>,
    /// Numbers handed out, in order.
    exchanged: Vec<String>,
    nonces: HashSet<String>,
}

/// A running loopback `GetMobile` server.
pub type DypnsServer = Server<Mode, State>;

impl DypnsServer {
    pub async fn start() -> Self {
        Server::spawn(Mode::Normal, State::default(), answer).await
    }

    /// The variables that turn one-tap on against this server.
    pub fn env(&self) -> [(&'static str, String); 3] {
        [
            ("ALIYUN_ACCESS_KEY_ID", ACCESS_KEY_ID.to_owned()),
            ("ALIYUN_ACCESS_KEY_SECRET", ACCESS_KEY_SECRET.to_owned()),
            ("ALIYUN_DYPNS_BASE_URL", self.base_url()),
        ]
    }

    /// A token the carrier SDK would hand the app on `mobile`'s phone.
    pub fn issue(&self, mobile: &str) -> String {
        let token = format!("STS.{}", uuid::Uuid::new_v4().simple());
        self.state().issued.insert(token.clone(), mobile.to_owned());
        token
    }

    /// The numbers handed out, in order.
    pub fn exchanged(&self) -> Vec<String> {
        self.state().exchanged.clone()
    }
}

async fn answer(parts: http::request::Parts, body: Bytes, mode: Mode, server: Arc<Shared<Mode, State>>) -> Reply {
    match mode {
        Mode::ServerError => return reply(500, "internal error".to_owned()),
        Mode::Stall(delay) => tokio::time::sleep(delay).await,
        Mode::Normal | Mode::Code(_) => {}
    }
    let checked = check(&parts, &body, &mut server.state(), &mode);
    match checked {
        Ok(mobile) => reply(
            200,
            json!({"Code": "OK", "Message": "OK", "RequestId": request_id(), "GetMobileResultDTO": {"Mobile": mobile}})
                .to_string(),
        ),
        Err(Refusal { status, code, reason }) => {
            server.refuse(code, reason);
            coded(status, code, reason)
        }
    }
}

/// The service's checks, in its order; the number the token proves.
fn check(parts: &http::request::Parts, body: &[u8], state: &mut State, mode: &Mode) -> Result<String, Refusal> {
    verify_acs3(parts, body, "GetMobile", &mut state.nonces)?;
    if let Mode::Code(code) = mode {
        return refuse(200, code, "refused by test");
    }
    let content_type = parts.headers.get("content-type").and_then(|v| v.to_str().ok());
    if !body.is_empty() && content_type != Some("application/x-www-form-urlencoded") {
        return refuse(400, "InvalidParameter", "the body is not a form");
    }
    let mut params = pairs(parts.uri.query().unwrap_or_default());
    if params.iter().any(|(name, _)| name == "AccessToken") {
        // The token is a secret: the service takes it in the body, and so do we.
        return refuse(400, "InvalidParameter", "AccessToken in the URL");
    }
    params.extend(pairs(&String::from_utf8_lossy(body)));
    let Some(token) = params.iter().find(|(k, _)| k == "AccessToken").map(|(_, v)| v.clone()) else {
        return refuse(400, "MissingAccessToken", "AccessToken is missing");
    };
    // Single use: the first exchange spends it.
    let Some(mobile) = state.issued.remove(&token) else {
        return refuse(200, TOKEN_REFUSED, "the token is invalid, used or expired");
    };
    state.exchanged.push(mobile.clone());
    Ok(mobile)
}
