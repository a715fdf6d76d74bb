//! A WeChat API server on loopback that checks what WeChat checks: the
//! AppID and AppSecret, single-use `wx.login` and phone-button codes, and
//! that `getuserphonenumber` carries the current access token. Its
//! `stable_token` hands out the same token until it expires or a forced
//! refresh replaces it, and it counts every token fetch and every request.

use crate::loopback::{Reply, Server, Shared, json_reply};
use bytes::Bytes;
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::config::WeChatConfig;
use std::collections::HashMap;
use std::sync::Arc;

pub const APP_ID: &str = "wx0123456789abcdef";
pub const APP_SECRET: &str = "test-wechat-app-secret-0123456789";

/// What the server keeps.
#[derive(Default)]
pub struct State {
    /// `wx.login` codes not yet used: openid, unionid.
    login_codes: HashMap<String, (String, Option<String>)>,
    /// Phone-button codes not yet used: the number.
    phone_codes: HashMap<String, String>,
    token: Option<String>,
    token_fetches: usize,
    phone_calls: usize,
}

/// A running loopback WeChat server (it has no modes).
pub type WeChatServer = Server<(), State>;

impl WeChatServer {
    pub async fn start() -> Self {
        Server::spawn((), State::default(), answer).await
    }

    pub fn config(&self) -> WeChatConfig {
        WeChatConfig {
            app_id: APP_ID.to_owned(),
            app_secret: SecretString::from(APP_SECRET),
            base_url: self.base_url(),
            timeout: std::time::Duration::from_secs(5),
        }
    }

    /// The variables that turn WeChat login on against this server.
    pub fn env(&self) -> [(&'static str, String); 3] {
        [
            ("WECHAT_APP_ID", APP_ID.to_owned()),
            ("WECHAT_APP_SECRET", APP_SECRET.to_owned()),
            ("WECHAT_BASE_URL", self.base_url()),
        ]
    }

    /// A `wx.login` code of the user `openid`.
    pub fn login_code(&self, openid: &str, unionid: Option<&str>) -> String {
        let code = format!("0{}", uuid::Uuid::new_v4().simple());
        self.state().login_codes.insert(code.clone(), (openid.to_owned(), unionid.map(str::to_owned)));
        code
    }

    /// A phone-button code for `mobile`.
    pub fn phone_code(&self, mobile: &str) -> String {
        let code = format!("p{}", uuid::Uuid::new_v4().simple());
        self.state().phone_codes.insert(code.clone(), mobile.to_owned());
        code
    }

    /// Another party forced a refresh: the token anyone holds is no longer the latest.
    pub fn rotate_token(&self) {
        self.state().token = Some(format!("ACCESS.{}", uuid::Uuid::new_v4().simple()));
    }

    pub fn token_fetches(&self) -> usize {
        self.state().token_fetches
    }

    pub fn phone_calls(&self) -> usize {
        self.state().phone_calls
    }
}

fn reply(body: Value) -> Reply {
    json_reply(200, "application/json; encoding=utf-8", body.to_string())
}

async fn answer(parts: http::request::Parts, body: Bytes, _: (), server: Arc<Shared<(), State>>) -> Reply {
    let refuse = |errcode: i64, errmsg: &str| {
        server.refuse(errcode, errmsg);
        reply(json!({"errcode": errcode, "errmsg": errmsg}))
    };
    let query: HashMap<String, String> =
        form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let json: Value = serde_json::from_slice(&body).unwrap_or_default();
    let state = &mut *server.state();
    match (parts.method.as_str(), parts.uri.path()) {
        ("GET", "/sns/jscode2session") => {
            if query.get("appid").map(String::as_str) != Some(APP_ID) {
                return refuse(40013, "invalid appid");
            }
            if query.get("secret").map(String::as_str) != Some(APP_SECRET) {
                return refuse(40125, "invalid appsecret");
            }
            if query.get("grant_type").map(String::as_str) != Some("authorization_code") {
                return refuse(40002, "invalid grant_type");
            }
            let code = query.get("js_code").cloned().unwrap_or_default();
            let Some((openid, unionid)) = state.login_codes.remove(&code) else {
                return refuse(40029, "invalid code");
            };
            let mut answer = json!({"openid": openid, "session_key": "c2Vzc2lvbi1rZXktc2VjcmV0"});
            if let Some(unionid) = unionid {
                answer["unionid"] = json!(unionid);
            }
            reply(answer)
        }
        ("POST", "/cgi-bin/stable_token") => {
            state.token_fetches += 1;
            if json["appid"] != APP_ID {
                return refuse(40013, "invalid appid");
            }
            if json["secret"] != APP_SECRET {
                return refuse(40125, "invalid appsecret");
            }
            if json["grant_type"] != "client_credential" {
                return refuse(40002, "invalid grant_type");
            }
            if state.token.is_none() || json["force_refresh"] == true {
                state.token = Some(format!("ACCESS.{}", uuid::Uuid::new_v4().simple()));
            }
            reply(json!({"access_token": state.token, "expires_in": 7200}))
        }
        ("POST", "/wxa/business/getuserphonenumber") => {
            state.phone_calls += 1;
            if state.token.is_none() || query.get("access_token") != state.token.as_ref() {
                return refuse(40001, "invalid credential, access_token is invalid or not latest");
            }
            let code = json["code"].as_str().unwrap_or_default();
            let Some(mobile) = state.phone_codes.remove(code) else {
                return refuse(40029, "invalid code");
            };
            reply(json!({"errcode": 0, "errmsg": "ok", "phone_info": {
                "phoneNumber": mobile, "purePhoneNumber": mobile, "countryCode": "86",
                "watermark": {"timestamp": 1_700_000_000, "appid": APP_ID}}}))
        }
        _ => refuse(404, "no such API"),
    }
}
