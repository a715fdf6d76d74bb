//! Drives the local API in process the way a client would: plain HTTP
//! requests turned into API Gateway v2 events, through the real handlers.

use crate::{dynamo_client, memory_store};
use local_api::LocalApi;
use serde_json::Value;
use shared::clock::{Clock, ManualClock};
use shared::config::Config;
use shared::random::OsRandom;
use shared::service::keys;
use shared::sms::{ConsoleSender, SmsSender};
use shared::store::{DynamoStore, MemoryStore, Store, create_table};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

/// The local API with a hand-moved clock and access to its store and sender.
pub struct Harness<S, M = ConsoleSender> {
    pub api: LocalApi<S, M, ManualClock, OsRandom>,
    pub store: Arc<S>,
    pub sender: Arc<M>,
    pub clock: Arc<ManualClock>,
    /// The `sms_code_id` of the last successful send to each number.
    sms_code_ids: Mutex<HashMap<String, String>>,
}

/// A response as a client sees it.
#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {:?}", String::from_utf8_lossy(&self.body)))
    }

    /// The `error` key of a JSON error body.
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `__Host-sessionid` value set by the response, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find_map(|c| {
            c.strip_prefix("__Host-sessionid=").map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
        })
    }
}

impl<S: Store + 'static> Harness<S, ConsoleSender> {
    pub fn new(store: Arc<S>) -> Self {
        Self::with_sender(store, Arc::new(ConsoleSender::new()))
    }

    /// A harness with the console sender whose configuration is these
    /// variables (see [`config`]).
    pub fn with_vars(store: Arc<S>, vars: &[(&str, &str)]) -> Self {
        Self::with_config(store, Arc::new(ConsoleSender::new()), &config(vars))
    }

    /// The code the console sender printed last for `mobile`.
    pub fn last_code(&self, mobile: &str) -> String {
        let mobile = shared::domain::Mobile::parse(mobile).unwrap();
        self.sender.last_code_for(&mobile).expect("no SMS was sent to this number").as_str().to_owned()
    }
}

impl<S: Store + 'static, M: SmsSender + 'static> Harness<S, M> {
    pub fn with_sender(store: Arc<S>, sender: Arc<M>) -> Self {
        Self::with_config(store, sender, &config(&[]))
    }

    pub fn with_config(store: Arc<S>, sender: Arc<M>, config: &Config) -> Self {
        let clock = Arc::new(ManualClock::at_system_time());
        let api =
            LocalApi::new(Arc::clone(&store), Arc::clone(&sender), Arc::clone(&clock), Arc::new(OsRandom), config);
        Self { api, store, sender, clock, sms_code_ids: Mutex::default() }
    }

    pub async fn request(&self, method: &str, uri: &str, cookie: Option<&str>, body: Option<&Value>) -> TestResponse {
        self.request_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9)), method, uri, cookie, body).await
    }

    /// A request from the client address `source_ip`.
    pub async fn request_from(
        &self,
        source_ip: IpAddr,
        method: &str,
        uri: &str,
        cookie: Option<&str>,
        body: Option<&Value>,
    ) -> TestResponse {
        let cookie = cookie.map(|token| format!("__Host-sessionid={token}"));
        let request = crate::events::request(method, uri, cookie.as_deref(), body, source_ip);
        let response = self.api.handle_http(request).await;
        let (parts, body) = response.into_parts();
        TestResponse { status: parts.status.as_u16(), headers: parts.headers, body }
    }

    /// A request carrying `Authorization: Bearer <token>`, as a native app sends it.
    pub async fn request_bearer(&self, method: &str, uri: &str, token: &str, body: Option<&Value>) -> TestResponse {
        let mut request = crate::events::request(method, uri, None, body, IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9)));
        request.headers.push(("authorization".to_owned(), format!("Bearer {token}")));
        let (parts, body) = self.api.handle_http(request).await.into_parts();
        TestResponse { status: parts.status.as_u16(), headers: parts.headers, body }
    }

    /// `POST` of a JSON body.
    pub async fn post(&self, uri: &str, body: &Value) -> TestResponse {
        self.request("POST", uri, None, Some(body)).await
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.request("GET", uri, None, None).await
    }

    /// Fetches a new captcha and reads its answer from the store.
    pub async fn captcha(&self) -> (String, String) {
        let id = uuid::Uuid::new_v4().to_string();
        let response = self.get(&format!("/image_codes/{id}/")).await;
        assert_eq!(response.status, 200, "{:?}", String::from_utf8_lossy(&response.body));
        (id.clone(), self.captcha_answer(&id).await.expect("the captcha's answer is stored"))
    }

    /// The answer a live captcha waits for; `None` once judged (a passed
    /// captcha leaves only a marker of its send).
    pub async fn captcha_answer(&self, id: &str) -> Option<String> {
        let id = shared::domain::CaptchaId::parse(id).unwrap();
        let item = self.store.get(&keys::captcha(&id), self.clock.now()).await.unwrap()?;
        item.s(keys::ANSWER).ok().map(str::to_owned)
    }

    /// Requests an SMS code for `mobile` with a fresh, correctly answered captcha.
    /// Remembers the answer's `sms_code_id` for [`Harness::register`].
    pub async fn send_sms(&self, mobile: &str) -> TestResponse {
        self.send_sms_for(mobile, "register").await
    }

    /// A code for `purpose` (`register`, `login`, `reset`, `close`).
    pub async fn send_sms_for(&self, mobile: &str, purpose: &str) -> TestResponse {
        let (id, answer) = self.captcha().await;
        self.send_sms_answering(mobile, purpose, &id, &answer).await
    }

    /// Like [`Harness::send_sms_for`], with a captcha written straight into
    /// the store ([`Harness::seed_captcha`]): no image is drawn and no
    /// captcha is counted against the client, for suites that send hundreds.
    pub async fn send_sms_seeded(&self, mobile: &str, purpose: &str) -> TestResponse {
        let (id, answer) = self.seed_captcha().await;
        self.send_sms_answering(mobile, purpose, &id, &answer).await
    }

    async fn send_sms_answering(&self, mobile: &str, purpose: &str, id: &str, answer: &str) -> TestResponse {
        let uri = format!("/sms_codes/{mobile}/?image_code={answer}&image_code_id={id}&purpose={purpose}");
        let response = self.get(&uri).await;
        if response.status == 200 {
            let sms_code_id =
                response.json()["sms_code_id"].as_str().expect("a send answers its sms_code_id").to_owned();
            self.sms_code_ids.lock().unwrap().insert(mobile.to_owned(), sms_code_id);
        }
        response
    }

    /// Sends a sign-up code to each of `mobiles` with seeded captchas,
    /// `at_once` requests in flight at a time; the answers in the order of
    /// `mobiles`.
    pub async fn send_sms_to_each(self: &Arc<Self>, mobiles: &[String], at_once: usize) -> Vec<TestResponse> {
        let mut responses = Vec::with_capacity(mobiles.len());
        for chunk in mobiles.chunks(at_once.max(1)) {
            let tasks: Vec<_> = chunk
                .iter()
                .map(|mobile| {
                    let (h, mobile) = (Arc::clone(self), mobile.clone());
                    tokio::spawn(async move { h.send_sms_seeded(&mobile, "register").await })
                })
                .collect();
            for task in tasks {
                responses.push(task.await.unwrap());
            }
        }
        responses
    }

    /// A live captcha written straight into the store at the harness's
    /// clock; its id and answer.
    pub async fn seed_captcha(&self) -> (String, String) {
        let id = uuid::Uuid::new_v4().to_string();
        crate::seed::captcha_at(&*self.store, &id, "abcd", self.clock.now()).await;
        (id, "abcd".to_owned())
    }

    /// Writes a live code for `mobile` straight into the store, as a send
    /// under [`TEST_CODE_KEY`] would, and returns its `sms_code_id`.
    pub async fn seed_code(&self, mobile: &str, code: &str) -> String {
        self.seed_code_for(mobile, code, "register").await
    }

    /// [`Harness::seed_code`] for `purpose`.
    pub async fn seed_code_for(&self, mobile: &str, code: &str, purpose: &str) -> String {
        let id = crate::seed::sms_code_at(&*self.store, mobile, code, purpose, self.clock.now()).await;
        self.sms_code_ids.lock().unwrap().insert(mobile.to_owned(), id.clone());
        id
    }

    /// The `sms_code_id` the last successful send to `mobile` answered with.
    pub fn sms_code_id(&self, mobile: &str) -> String {
        self.sms_code_ids.lock().unwrap().get(mobile).cloned().unwrap_or_else(|| "0".repeat(32))
    }

    /// Signs up with the `sms_code_id` of the last send to `mobile`.
    pub async fn register(&self, username: &str, mobile: &str, code: &str) -> TestResponse {
        self.register_with_id(username, mobile, code, &self.sms_code_id(mobile)).await
    }

    pub async fn register_with_id(&self, username: &str, mobile: &str, code: &str, sms_code_id: &str) -> TestResponse {
        let form = serde_json::json!({
            "username": username, "password": "correct horse battery", "password2": "correct horse battery",
            "mobile": mobile, "sms_code": code, "sms_code_id": sms_code_id, "allow": true
        });
        self.request("POST", "/register/", None, Some(&form)).await
    }
}

/// The `SMS_CODE_KEY` of every harness unless a test sets another.
pub const TEST_CODE_KEY: &str = "the test suites' SMS code key, 32+ bytes";

/// A configuration from these variables only (defaults for the rest, and
/// [`TEST_CODE_KEY`]).
pub fn config(vars: &[(&str, &str)]) -> Config {
    let mut vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    vars.push((shared::config::SMS_CODE_KEY.to_owned(), TEST_CODE_KEY.to_owned()));
    Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())).unwrap()
}

/// A harness on a fresh in-memory store.
pub fn on_memory() -> Harness<MemoryStore> {
    Harness::new(Arc::new(memory_store()))
}

/// A harness on a fresh DynamoDB Local table whose client logs every call.
pub async fn on_dynamodb() -> (Harness<DynamoStore>, crate::counting::CallLog) {
    let calls = crate::counting::CallLog::default();
    let config = dynamo_client().await.config().to_builder().interceptor(calls.clone()).build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let table = format!("test-{}", uuid::Uuid::new_v4());
    create_table(&client, &table).await.unwrap();
    calls.take();
    (Harness::new(Arc::new(DynamoStore::new(client, table))), calls)
}
