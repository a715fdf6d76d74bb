//! Audit events: one JSON line per security event, whatever the log level,
//! naming the event, its outcome, the masked number, the client and the
//! request. Nothing secret ever goes in: numbers are masked, and codes,
//! passwords and tokens have no field.

use super::{RequestContext, metrics::now_millis, with_scope};
use crate::domain::{Mobile, Purpose};
use serde_json::{Map, Value, json};

/// A security event. A request expects at most one ([`expect`]); a code
/// verification inside it is written on its own ([`code_verified`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    CodeSent,
    CodeVerified,
    AccountCreated,
    /// A login: `login_succeeded` or `login_failed`.
    Login(LoginMethod),
    PasswordReset,
    SessionsRevoked,
    AccountClosed,
    /// The account moved to another number: `mobile` the new one,
    /// `previous_mobile` the old one.
    MobileChanged,
    /// One provider attempt of a send, `outcome` its class.
    SmsAttempt,
    /// A number proven without an SMS (carrier one-tap) has no account: a
    /// signup ticket was handed out instead of a session.
    SignupTicketIssued,
    /// A logged-in account linked a WeChat user (a new way in), or unlinked it.
    WeChatLinked,
    WeChatUnlinked,
}

/// How someone logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMethod {
    Password,
    SmsCode,
    /// The carrier proved the number (`GetMobile`); a sign-up by its ticket too.
    OneTap,
    /// A WeChat mini-program user, linked or proving the number with WeChat's phone button.
    WeChat,
}

impl LoginMethod {
    /// The `method` field, and the `Method` dimension of `Logins` and `SignUps`.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginMethod::Password => "password",
            LoginMethod::SmsCode => "sms_code",
            LoginMethod::OneTap => "one_tap",
            LoginMethod::WeChat => "wechat",
        }
    }
}

impl Event {
    /// The `audit` field: the event's name, by its outcome.
    pub fn name(self, succeeded: bool) -> &'static str {
        match self {
            Event::CodeSent => "code_sent",
            Event::CodeVerified => "code_verified",
            Event::AccountCreated => "account_created",
            Event::Login(_) if succeeded => "login_succeeded",
            Event::Login(_) => "login_failed",
            Event::PasswordReset => "password_reset",
            Event::SessionsRevoked => "sessions_revoked",
            Event::AccountClosed => "account_closed",
            Event::MobileChanged => "mobile_changed",
            Event::SmsAttempt => "sms_attempt",
            Event::SignupTicketIssued => "signup_ticket_issued",
            Event::WeChatLinked => "wechat_linked",
            Event::WeChatUnlinked => "wechat_unlinked",
        }
    }
}

/// The expected event of a request and what the services learnt about it.
#[derive(Debug, Default)]
pub(super) struct Pending {
    event: Option<Event>,
    mobile: Option<String>,
    /// The number an account moved from (written masked).
    previous_mobile: Option<String>,
    purpose: Option<Purpose>,
    test_number: bool,
    repeated: bool,
    /// How the number or account was proven, for events other than a login
    /// (whose method is its own).
    method: Option<LoginMethod>,
    /// An attempt's provider and the provider's own answer code.
    provider: Option<(&'static str, Option<String>)>,
    captcha_provider: Option<&'static str>,
    captcha: Option<&'static str>,
}

impl Pending {
    /// The line for the request's event, if it expected one.
    pub(super) fn line(&self, context: &RequestContext, outcome: Result<(), &'static str>) -> Option<String> {
        let event = self.event?;
        Some(line(event, context, self, outcome, now_millis()))
    }
}

/// This request is `event`: its line is written when it ends.
pub fn expect(event: Event) {
    with_scope(|scope| scope.audit.event = Some(event));
}

/// The number the request's event is about (written masked).
pub fn mobile(mobile: &Mobile) {
    with_scope(|scope| scope.audit.mobile = Some(mobile.masked().to_string()));
}

/// The number the account of the request's event moved from (written masked).
pub fn previous_mobile(mobile: &Mobile) {
    with_scope(|scope| scope.audit.previous_mobile = Some(mobile.masked().to_string()));
}

/// What the code the event is about is for.
pub fn purpose(purpose: Purpose) {
    with_scope(|scope| scope.audit.purpose = Some(purpose));
}

/// How the event's number was proven (a sign-up: `sms_code` or `one_tap`).
pub fn method(method: LoginMethod) {
    with_scope(|scope| scope.audit.method = Some(method));
}

/// The event is about a configured test number.
pub fn test_number() {
    with_scope(|scope| scope.audit.test_number = true);
}

/// The request repeated an earlier send and was answered with its code.
pub fn repeated() {
    with_scope(|scope| scope.audit.repeated = true);
}

/// The human check the request was judged by (`builtin`, `tencent`, `geetest`).
pub fn captcha_provider(provider: &'static str) {
    with_scope(|scope| scope.audit.captcha_provider = Some(provider));
}

/// The human check's verdict: `pass`, `fail`, `spent` or `unavailable`.
pub fn captcha(verdict: &'static str) {
    with_scope(|scope| scope.audit.captcha = Some(verdict));
}

/// A right code was spent: written at once, with the request's context.
pub fn code_verified(mobile: &Mobile, purpose: Purpose, test_number: bool) {
    let pending = Pending {
        event: Some(Event::CodeVerified),
        mobile: Some(mobile.masked().to_string()),
        purpose: Some(purpose),
        test_number,
        ..Pending::default()
    };
    let written = with_scope(|scope| line(Event::CodeVerified, &scope.context, &pending, Ok(()), now_millis()));
    let line = written
        .unwrap_or_else(|| line(Event::CodeVerified, &RequestContext::default(), &pending, Ok(()), now_millis()));
    println!("{line}");
}

/// Provider codes are the services' own short identifiers; anything longer is cut.
const MAX_PROVIDER_CODE: usize = 64;

/// One provider attempt of the current send: `outcome` is `ok` (sent),
/// `provider_refused`, `number_refused` or `unknown`, `code` the provider's
/// answer code. Written with the request's lines, before its event.
pub fn provider_attempt(mobile: &Mobile, provider: &'static str, outcome: &'static str, code: Option<&str>) {
    let code = code.map(|code| code.chars().take(MAX_PROVIDER_CODE).collect());
    let pending = Pending {
        event: Some(Event::SmsAttempt),
        mobile: Some(mobile.masked().to_string()),
        provider: Some((provider, code)),
        ..Pending::default()
    };
    let outcome = if outcome == "sent" { Ok(()) } else { Err(outcome) };
    let mut pending = Some(pending);
    with_scope(|scope| {
        if let Some(pending) = pending.take() {
            let line = line(Event::SmsAttempt, &scope.context, &pending, outcome, now_millis());
            scope.steps.push(line);
        }
    });
    if let Some(pending) = pending {
        println!("{}", line(Event::SmsAttempt, &RequestContext::default(), &pending, outcome, now_millis()));
    }
}

/// The JSON line; its schema is in the README.
fn line(
    event: Event,
    context: &RequestContext,
    pending: &Pending,
    outcome: Result<(), &'static str>,
    time: u128,
) -> String {
    let mut line = Map::new();
    line.insert("audit".to_owned(), json!(event.name(outcome.is_ok())));
    line.insert("outcome".to_owned(), json!(outcome.err().unwrap_or("ok")));
    line.insert("time".to_owned(), json!(time));
    line.insert("function".to_owned(), json!(context.function));
    line.insert("request_id".to_owned(), json!(context.request_id));
    line.insert("client_ip".to_owned(), context.client_ip.as_deref().map_or(Value::Null, Value::from));
    if let Some(mobile) = &pending.mobile {
        line.insert("mobile".to_owned(), json!(mobile));
    }
    if let Some(previous) = &pending.previous_mobile {
        line.insert("previous_mobile".to_owned(), json!(previous));
    }
    if let Some(purpose) = pending.purpose {
        line.insert("purpose".to_owned(), json!(purpose.as_str()));
    }
    let method = match event {
        Event::Login(method) => Some(method),
        _ => pending.method,
    };
    if let Some(method) = method {
        line.insert("method".to_owned(), json!(method.as_str()));
    }
    if pending.test_number {
        line.insert("test_number".to_owned(), json!(true));
    }
    if pending.repeated {
        line.insert("repeated".to_owned(), json!(true));
    }
    if let Some((provider, code)) = &pending.provider {
        line.insert("provider".to_owned(), json!(provider));
        if let Some(code) = code {
            line.insert("provider_code".to_owned(), json!(code));
        }
    }
    if let Some(provider) = pending.captcha_provider {
        line.insert("captcha_provider".to_owned(), json!(provider));
    }
    if let Some(verdict) = pending.captcha {
        line.insert("captcha".to_owned(), json!(verdict));
    }
    Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> RequestContext {
        RequestContext {
            function: "account",
            request_id: "req-1".to_owned(),
            client_ip: Some("203.0.113.9".to_owned()),
        }
    }

    #[test]
    fn a_failed_login_names_its_outcome_method_and_masked_number() {
        let mobile = Mobile::parse("13800138000").unwrap();
        let pending = Pending { mobile: Some(mobile.masked().to_string()), ..Pending::default() };
        let line = line(Event::Login(LoginMethod::Password), &context(), &pending, Err("login_failed"), 7);
        let json: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            json,
            json!({"audit": "login_failed", "outcome": "login_failed", "time": 7, "function": "account",
                   "request_id": "req-1", "client_ip": "203.0.113.9", "mobile": "138****8000", "method": "password"})
        );
        assert!(!line.contains("13800138000"));
    }

    #[test]
    fn the_human_checks_verdict_and_provider_are_in_the_line() {
        let pending = Pending {
            event: Some(Event::CodeSent),
            captcha_provider: Some("tencent"),
            captcha: Some("spent"),
            ..Pending::default()
        };
        let json: Value = serde_json::from_str(&pending.line(&context(), Err("captcha_expired")).unwrap()).unwrap();
        assert_eq!((&json["captcha_provider"], &json["captcha"]), (&json!("tencent"), &json!("spent")));
    }

    #[test]
    fn a_number_change_names_both_numbers_masked() {
        let (new, old) = (Mobile::parse("13900139000").unwrap(), Mobile::parse("13800138000").unwrap());
        let pending = Pending {
            event: Some(Event::MobileChanged),
            mobile: Some(new.masked().to_string()),
            previous_mobile: Some(old.masked().to_string()),
            ..Pending::default()
        };
        let line = pending.line(&context(), Ok(())).unwrap();
        let json: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            (&json["audit"], &json["mobile"], &json["previous_mobile"]),
            (&json!("mobile_changed"), &json!("139****9000"), &json!("138****8000"))
        );
        assert!(!line.contains("13900139000") && !line.contains("13800138000"));
    }

    #[test]
    fn a_request_without_an_expected_event_writes_no_line() {
        assert_eq!(Pending::default().line(&context(), Ok(())), None);
        let sent = Pending { event: Some(Event::CodeSent), test_number: true, ..Pending::default() };
        let json: Value = serde_json::from_str(&sent.line(&context(), Ok(())).unwrap()).unwrap();
        assert_eq!(
            (&json["audit"], &json["outcome"], &json["test_number"]),
            (&json!("code_sent"), &json!("ok"), &json!(true))
        );
    }
}
