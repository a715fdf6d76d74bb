//! A Tencent Cloud SMS (`SendSms` `2021-01-11`, TC3-HMAC-SHA256) server on
//! loopback that checks each request the way the service does: the SecretId,
//! the credential scope (date, service `sms`), the signature recomputed from
//! the request as received (its own canonical form, not the client's), the
//! timestamp window (5 min), the action, version and region headers, the
//! application, signature name, template and numbers. Like the service it
//! answers HTTP 200 to everything it understands, with `Response.Error` for a
//! request-level failure and a `SendStatusSet` entry per number; it records
//! what it received and accepted, and has modes for every class of answer.

use crate::loopback::{Reply, Server, Shared};
use crate::tc3::{self, Api, Refusal, error, reply, request_id};
use bytes::Bytes;
use secrecy::SecretString;
use serde_json::{Value, json};
use shared::config::TENCENT_DEFAULT_REGION;
use shared::sms::TencentSmsConfig;
use std::sync::Arc;
use std::time::Duration;

pub const SECRET_ID: &str = "AKIDTestSecretId0123456789abcdef";
pub const SECRET_KEY: &str = "TestSecretKey0123456789abcdefgh";
pub const SDK_APP_ID: &str = "1400006666";
pub const SIGN_NAME: &str = "腾讯云";
pub const TEMPLATE_ID: &str = "1110";
pub use crate::tc3::TIMESTAMP_WINDOW_SECONDS;

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

/// What the server keeps.
#[derive(Default)]
pub struct State {
    accepted: Vec<Accepted>,
}

/// A running loopback Tencent Cloud SMS server.
pub type TencentServer = Server<Mode, State>;

impl TencentServer {
    pub async fn start() -> Self {
        Server::spawn(Mode::Normal, State::default(), answer).await
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

    pub fn accepted(&self) -> Vec<Accepted> {
        self.state().accepted.clone()
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

fn statuses(set: Vec<Value>) -> Reply {
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

async fn answer(parts: http::request::Parts, body: Bytes, mode: Mode, server: Arc<Shared<Mode, State>>) -> Reply {
    match mode {
        Mode::ServerError => return reply(500, "internal error".to_owned()),
        Mode::Garbage => return reply(200, "<html>gateway</html>".to_owned()),
        Mode::Normal | Mode::Error(_) | Mode::NumberCode(_) | Mode::Stall(_) => {}
    }
    let request = match check(&parts, &body) {
        Err((code, reason)) => {
            server.refuse(code, reason);
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
                server.refuse(code, reason);
                set.push(number_status(number, code, reason));
            }
            None => {
                let accepted = Accepted {
                    phone_number: number.clone(),
                    params: request.params.clone(),
                    region: request.region.clone(),
                };
                server.state().accepted.push(accepted);
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

struct Checked {
    numbers: Vec<String>,
    params: Vec<String>,
    region: String,
}

/// The service's `SendSms` API.
const API: Api =
    Api { action: "SendSms", version: "2021-01-11", service: "sms", secret_id: SECRET_ID, secret_key: SECRET_KEY };

/// The service's request-level checks, in its order, each with its code.
fn check(parts: &http::request::Parts, body: &[u8]) -> Result<Checked, Refusal> {
    tc3::check_action(parts, &API)?;
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let Some(region) = header("x-tc-region").filter(|r| !r.is_empty()) else {
        return Err(("MissingParameter", "X-TC-Region is required"));
    };
    let form = tc3::verify_signed(parts, body, &API)?;
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
