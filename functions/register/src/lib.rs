//! The ways in: `POST /register/` checks the form and the proof of the
//! number (an SMS code, or the signup ticket one-tap handed out), creates
//! the user and starts a logged-in session; `POST /one_tap_login/`
//! exchanges a carrier token for the number and logs its account in, or
//! hands out a signup ticket.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};
use shared::clock::Clock;
use shared::domain::{CarrierToken, Mobile, SignupTicket, Username};
use shared::http;
use shared::http::routes::Function;
use shared::http::{ApiError, BadRequest, SessionDelivery, client_key, json_form, new_session, ok, serve, text};
use shared::one_tap::NumberProver;
use shared::random::Random;
use shared::service::{AccountService, Error, NewUser, OneTapOutcome, SignUpProof, WeChatOutcome};
use shared::store::Store;
use shared::telemetry::audit::LoginMethod;
use shared::telemetry::{Event, audit};
use shared::wechat::{WeChat, WeChatCode};

/// Serves `request`; `carrier` proves numbers for one-tap and `wechat`
/// logs mini-program users in (`None`: that way in is off).
pub async fn handle<S: Store, C: Clock, R: Random + 'static, P: NumberProver, W: WeChat>(
    service: &AccountService<S, C, R>,
    carrier: Option<&P>,
    wechat: Option<&W>,
    request: Request,
) -> Response<Body> {
    let path = request.uri().path().trim_end_matches('/');
    let post = request.method() == Method::POST;
    match path.rsplit('/').next() {
        Some("one_tap_login") if post => {
            serve(Function::Register, &request, one_tap_login(service, carrier, &request)).await
        }
        Some("wechat_login") if post => {
            serve(Function::Register, &request, wechat_login(service, wechat, &request)).await
        }
        Some("wechat_phone") if post => {
            serve(Function::Register, &request, wechat_phone(service, wechat, &request)).await
        }
        _ => serve(Function::Register, &request, Box::pin(register(service, &request))).await,
    }
}

/// `{"code": "<wx.login code>"}`: a session for a linked WeChat user, else `{"wechat_ticket", "expires_in"}`.
async fn wechat_login<S: Store, C: Clock, R: Random + 'static, W: WeChat>(
    service: &AccountService<S, C, R>,
    wechat: Option<&W>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    audit::expect(Event::Login(LoginMethod::WeChat));
    let wechat = wechat.ok_or(Error::WeChatDisabled)?;
    let form = json_form(request)?;
    let code = WeChatCode::parse(text(&form, "code"))?;
    let delivery = SessionDelivery::from_form(&form)?;
    let outcome = service.wechat_login(wechat, &code, client_key(request).as_ref()).await?;
    Ok(wechat_answer(outcome, delivery, service.session_ttl))
}

/// `{"wechat_ticket", "phone_code": "<getPhoneNumber code>"}`: the number's
/// account linked and logged in, else a `signup_ticket` for `/register/`.
async fn wechat_phone<S: Store, C: Clock, R: Random + 'static, W: WeChat>(
    service: &AccountService<S, C, R>,
    wechat: Option<&W>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    audit::expect(Event::Login(LoginMethod::WeChat));
    let wechat = wechat.ok_or(Error::WeChatDisabled)?;
    let form = json_form(request)?;
    let ticket = SignupTicket::parse(text(&form, "wechat_ticket")).map_err(|_| BadRequest::InvalidWeChatTicket)?;
    let phone_code = WeChatCode::parse(text(&form, "phone_code"))?;
    let delivery = SessionDelivery::from_form(&form)?;
    let outcome = service.wechat_phone(wechat, &ticket, &phone_code, client_key(request).as_ref()).await?;
    Ok(wechat_answer(outcome, delivery, service.session_ttl))
}

fn wechat_answer(outcome: WeChatOutcome, delivery: SessionDelivery, ttl: i64) -> Response<Body> {
    match outcome {
        WeChatOutcome::Session(session) => new_session(&session, delivery, ttl),
        WeChatOutcome::NotLinked { wechat_ticket, expires_in } => ok(Map::from_iter([
            ("wechat_ticket".to_owned(), json!(wechat_ticket.expose())),
            ("expires_in".to_owned(), json!(expires_in)),
        ])),
        WeChatOutcome::SignUp { ticket, mobile, expires_in } => ok(Map::from_iter([
            ("signup_ticket".to_owned(), json!(ticket.expose())),
            ("mobile".to_owned(), json!(mobile.masked().to_string())),
            ("expires_in".to_owned(), json!(expires_in)),
        ])),
    }
}

/// `{"token": "<carrier SDK token>"}`: a session for the number's account,
/// or `{"signup_ticket", "mobile" (masked), "expires_in"}` for a number
/// without one.
async fn one_tap_login<S: Store, C: Clock, R: Random + 'static, P: NumberProver>(
    service: &AccountService<S, C, R>,
    carrier: Option<&P>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    audit::expect(Event::Login(LoginMethod::OneTap));
    let carrier = carrier.ok_or(Error::OneTapDisabled)?;
    let form = json_form(request)?;
    let token = CarrierToken::parse(text(&form, "token"))?;
    let delivery = SessionDelivery::from_form(&form)?;
    match service.one_tap_login(carrier, &token, client_key(request).as_ref()).await? {
        OneTapOutcome::Session(session) => Ok(new_session(&session, delivery, service.session_ttl)),
        OneTapOutcome::SignUp { ticket, mobile, expires_in } => Ok(ok(Map::from_iter([
            ("signup_ticket".to_owned(), json!(ticket.expose())),
            ("mobile".to_owned(), json!(mobile.masked().to_string())),
            ("expires_in".to_owned(), json!(expires_in)),
        ]))),
    }
}

async fn register<S: Store, C: Clock, R: Random + 'static>(
    service: &AccountService<S, C, R>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    audit::expect(Event::AccountCreated);
    let form = json_form(request)?;
    let (user, delivery) = (parse_form(&form)?, SessionDelivery::from_form(&form)?);
    let token = service.register(user, client_key(request).as_ref()).await?;
    Ok(new_session(&token, delivery, service.session_ttl))
}

/// Parses the original front end's form, `{"username", "password",
/// "password2", "mobile", "sms_code", "allow"}`, plus the `sms_code_id` the
/// send answered with, naming the first bad field; a `signup_ticket` takes
/// the place of `sms_code` and `sms_code_id`.
pub fn parse_form(form: &Map<String, Value>) -> Result<NewUser, ApiError> {
    let username = Username::parse(text(form, "username"))?;
    let password = http::new_password(form)?;
    let proof = match form.get("signup_ticket") {
        Some(ticket) => SignUpProof::Ticket {
            mobile: Mobile::parse(text(form, "mobile"))?,
            ticket: SignupTicket::parse(ticket.as_str().unwrap_or_default())?,
        },
        None => SignUpProof::Code(http::guess(form)?),
    };
    if form.get("allow") != Some(&Value::Bool(true)) {
        return Err(BadRequest::AllowRequired.into());
    }
    Ok(NewUser { username, password, proof })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(overrides: Value) -> Map<String, Value> {
        let mut form = json!({
            "username": "alice_01", "password": "correct horse", "password2": "correct horse",
            "mobile": "13800138000", "sms_code": "123456", "sms_code_id": "0123456789abcdef0123456789abcdef",
            "allow": true
        });
        for (key, value) in overrides.as_object().unwrap() {
            form[key] = value.clone();
        }
        form.as_object().unwrap().clone()
    }

    fn error_key(form: &Map<String, Value>) -> &'static str {
        parse_form(form).unwrap_err().key()
    }

    #[test]
    fn a_complete_form_parses() {
        let user = parse_form(&form(json!({}))).unwrap();
        assert_eq!(user.username.as_str(), "alice_01");
        assert_eq!(user.proof.mobile().as_str(), "13800138000");
        assert!(matches!(user.proof, SignUpProof::Code(_)));
    }

    #[test]
    fn a_signup_ticket_takes_the_place_of_the_code_and_its_id() {
        let ticket = "A".repeat(43);
        let with_ticket = form(json!({"signup_ticket": ticket, "sms_code": null, "sms_code_id": null}));
        let user = parse_form(&with_ticket).unwrap();
        assert!(matches!(user.proof, SignUpProof::Ticket { .. }));
        assert_eq!(user.proof.mobile().as_str(), "13800138000");
        assert_eq!(error_key(&form(json!({"signup_ticket": "short"}))), "invalid_signup_ticket");
        assert_eq!(error_key(&form(json!({"signup_ticket": 7}))), "invalid_signup_ticket");
        assert_eq!(error_key(&form(json!({"signup_ticket": ticket, "mobile": "123"}))), "invalid_mobile");
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(error_key(&form(json!({"username": "al"}))), "invalid_username");
        assert_eq!(error_key(&form(json!({"password": "short", "password2": "short"}))), "invalid_password");
        assert_eq!(error_key(&form(json!({"password2": "correct horsf"}))), "password_mismatch");
        assert_eq!(error_key(&form(json!({"mobile": "12345"}))), "invalid_mobile");
        assert_eq!(error_key(&form(json!({"sms_code": "12a456"}))), "invalid_sms_code");
        assert_eq!(error_key(&form(json!({"sms_code_id": "0123"}))), "invalid_sms_code_id");
        assert_eq!(error_key(&form(json!({"sms_code_id": null}))), "invalid_sms_code_id");
        assert_eq!(error_key(&form(json!({"allow": false}))), "allow_required");
        assert_eq!(error_key(&form(json!({"allow": "true"}))), "allow_required");
    }

    #[test]
    fn a_missing_or_mistyped_field_is_named_too() {
        let only_password = json!({"password": "correct horse"}).as_object().unwrap().clone();
        assert_eq!(error_key(&only_password), "invalid_username");
        assert_eq!(error_key(&form(json!({"username": 12345}))), "invalid_username");
    }

    proptest::proptest! {
        #[test]
        fn any_json_object_of_strings_parses_or_names_a_field(
            fields in proptest::collection::btree_map("[a-z_2]{1,9}", "\\PC{0,30}", 0..8)
        ) {
            let form: Map<String, Value> = fields.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
            if let Err(error) = parse_form(&form) {
                proptest::prop_assert!(error.key().starts_with("invalid_") || error.key().ends_with("_mismatch") || error.key() == "allow_required");
            }
        }
    }
}
