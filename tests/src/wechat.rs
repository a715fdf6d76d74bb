//! A WeChat API server on loopback that checks what WeChat checks: the
//! AppID and AppSecret, single-use `wx.login` and phone-button codes, and
//! that `getuserphonenumber` carries the current access token. Its
//! `stable_token` hands out the same token until it expires or a forced
//! refresh replaces it, and it counts every token fetch and every request.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::config::WeChatConfig;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub const APP_ID: &str = "wx0123456789abcdef";
pub const APP_SECRET: &str = "test-wechat-app-secret-0123456789";

#[derive(Default)]
struct State {
    /// `wx.login` codes not yet used: openid, unionid.
    login_codes: HashMap<String, (String, Option<String>)>,
    /// Phone-button codes not yet used: the number.
    phone_codes: HashMap<String, String>,
    token: Option<String>,
    token_fetches: usize,
    phone_calls: usize,
    /// Every request, to any API.
    received: usize,
    refusals: Vec<String>,
}

/// A running loopback WeChat server.
pub struct WeChatServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl WeChatServer {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let served = Arc::clone(&state);
        let (addr, task) = crate::loopback::serve(move |request| answer(request, Arc::clone(&served))).await;
        Self { addr, state, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
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
        self.state.lock().unwrap().login_codes.insert(code.clone(), (openid.to_owned(), unionid.map(str::to_owned)));
        code
    }

    /// A phone-button code for `mobile`.
    pub fn phone_code(&self, mobile: &str) -> String {
        let code = format!("p{}", uuid::Uuid::new_v4().simple());
        self.state.lock().unwrap().phone_codes.insert(code.clone(), mobile.to_owned());
        code
    }

    /// Another party forced a refresh: the token anyone holds is no longer the latest.
    pub fn rotate_token(&self) {
        self.state.lock().unwrap().token = Some(format!("ACCESS.{}", uuid::Uuid::new_v4().simple()));
    }

    pub fn token_fetches(&self) -> usize {
        self.state.lock().unwrap().token_fetches
    }

    pub fn phone_calls(&self) -> usize {
        self.state.lock().unwrap().phone_calls
    }

    /// How many requests reached the server, to any API.
    pub fn received(&self) -> usize {
        self.state.lock().unwrap().received
    }

    pub fn refusals(&self) -> Vec<String> {
        self.state.lock().unwrap().refusals.clone()
    }
}

impl Drop for WeChatServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reply(body: Value) -> crate::loopback::Reply {
    http::Response::builder()
        .status(200)
        .header("content-type", "application/json; encoding=utf-8")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn refuse(state: &mut State, errcode: i64, errmsg: &str) -> crate::loopback::Reply {
    state.refusals.push(format!("{errcode}: {errmsg}"));
    reply(json!({"errcode": errcode, "errmsg": errmsg}))
}

async fn answer(request: http::Request<Incoming>, state: Arc<Mutex<State>>) -> crate::loopback::Reply {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let query: HashMap<String, String> =
        form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
    let json: Value = serde_json::from_slice(&body).unwrap_or_default();
    let state = &mut *state.lock().unwrap();
    state.received += 1;
    match (parts.method.as_str(), parts.uri.path()) {
        ("GET", "/sns/jscode2session") => {
            if query.get("appid").map(String::as_str) != Some(APP_ID) {
                return refuse(state, 40013, "invalid appid");
            }
            if query.get("secret").map(String::as_str) != Some(APP_SECRET) {
                return refuse(state, 40125, "invalid appsecret");
            }
            if query.get("grant_type").map(String::as_str) != Some("authorization_code") {
                return refuse(state, 40002, "invalid grant_type");
            }
            let code = query.get("js_code").cloned().unwrap_or_default();
            let Some((openid, unionid)) = state.login_codes.remove(&code) else {
                return refuse(state, 40029, "invalid code");
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
                return refuse(state, 40013, "invalid appid");
            }
            if json["secret"] != APP_SECRET {
                return refuse(state, 40125, "invalid appsecret");
            }
            if json["grant_type"] != "client_credential" {
                return refuse(state, 40002, "invalid grant_type");
            }
            if state.token.is_none() || json["force_refresh"] == true {
                state.token = Some(format!("ACCESS.{}", uuid::Uuid::new_v4().simple()));
            }
            reply(json!({"access_token": state.token, "expires_in": 7200}))
        }
        ("POST", "/wxa/business/getuserphonenumber") => {
            state.phone_calls += 1;
            if state.token.is_none() || query.get("access_token") != state.token.as_ref() {
                return refuse(state, 40001, "invalid credential, access_token is invalid or not latest");
            }
            let code = json["code"].as_str().unwrap_or_default();
            let Some(mobile) = state.phone_codes.remove(code) else {
                return refuse(state, 40029, "invalid code");
            };
            reply(json!({"errcode": 0, "errmsg": "ok", "phone_info": {
                "phoneNumber": mobile, "purePhoneNumber": mobile, "countryCode": "86",
                "watermark": {"timestamp": 1_700_000_000, "appid": APP_ID}}}))
        }
        _ => refuse(state, 404, "no such API"),
    }
}
