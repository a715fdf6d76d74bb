//! `POST /register/`: checks the form and the SMS code, creates the user and
//! starts a logged-in session.

use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value};
use shared::clock::Clock;
use shared::domain::{Mobile, Password, SmsCode, SmsCodeId, Username};
use shared::http::{ApiError, BadRequest, client_key, json_body, ok, respond, with_session_cookie};
use shared::random::Random;
use shared::service::{NewUser, RegisterService};
use shared::store::Store;

/// The largest body accepted; the form is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 4 * 1024;

pub async fn handle<S: Store, C: Clock, R: Random + 'static>(
    service: &RegisterService<S, C, R>,
    request: Request,
) -> Response<Body> {
    respond(register(service, &request).await)
}

async fn register<S: Store, C: Clock, R: Random + 'static>(
    service: &RegisterService<S, C, R>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let user = parse_form(json_body(request)?)?;
    let token = service.register(user, client_key(request).as_ref()).await?;
    Ok(with_session_cookie(ok(Map::new()), Some(&token), service.session_ttl))
}

/// Parses the original front end's form, `{"username", "password",
/// "password2", "mobile", "sms_code", "allow"}`, plus the `sms_code_id` the
/// send answered with, naming the first bad field.
pub fn parse_form(body: &[u8]) -> Result<NewUser, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(BadRequest::InvalidBody.into());
    }
    let Ok(Value::Object(form)) = serde_json::from_slice::<Value>(body) else {
        return Err(BadRequest::InvalidBody.into());
    };
    let text = |name: &str| form.get(name).and_then(Value::as_str).unwrap_or_default();
    let username = Username::parse(text("username"))?;
    let password = Password::parse(text("password"))?;
    if text("password2") != text("password") {
        return Err(BadRequest::PasswordMismatch.into());
    }
    let mobile = Mobile::parse(text("mobile"))?;
    let sms_code = SmsCode::parse(text("sms_code"))?;
    let sms_code_id = SmsCodeId::parse(text("sms_code_id"))?;
    if form.get("allow") != Some(&Value::Bool(true)) {
        return Err(BadRequest::AllowRequired.into());
    }
    Ok(NewUser { username, password, mobile, sms_code, sms_code_id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(overrides: Value) -> Vec<u8> {
        let mut form = json!({
            "username": "alice_01", "password": "correct horse", "password2": "correct horse",
            "mobile": "13800138000", "sms_code": "123456", "sms_code_id": "0123456789abcdef0123456789abcdef",
            "allow": true
        });
        for (key, value) in overrides.as_object().unwrap() {
            form[key] = value.clone();
        }
        form.to_string().into_bytes()
    }

    fn error_key(body: &[u8]) -> &'static str {
        parse_form(body).unwrap_err().key()
    }

    #[test]
    fn a_complete_form_parses() {
        let user = parse_form(&form(json!({}))).unwrap();
        assert_eq!(user.username.as_str(), "alice_01");
        assert_eq!(user.mobile.as_str(), "13800138000");
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
        assert_eq!(error_key(br#"{"password": "correct horse"}"#), "invalid_username");
        assert_eq!(error_key(&form(json!({"username": 12345}))), "invalid_username");
    }

    #[test]
    fn a_body_that_is_not_a_json_object_is_invalid() {
        for body in [&b"username=alice"[..], b"[1, 2]", b"", b"\"text\"", b"{"] {
            assert_eq!(error_key(body), "invalid_body", "{body:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_or_fail_without_panicking(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = parse_form(&body);
        }

        #[test]
        fn any_json_object_of_strings_parses_or_names_a_field(
            fields in proptest::collection::btree_map("[a-z_2]{1,9}", "\\PC{0,30}", 0..8)
        ) {
            let body = serde_json::to_vec(&fields).unwrap();
            if let Err(error) = parse_form(&body) {
                proptest::prop_assert!(error.key().starts_with("invalid_") || error.key().ends_with("_mismatch") || error.key() == "allow_required");
            }
        }
    }

    #[test]
    fn a_body_over_4_kb_is_invalid() {
        let padded = form(json!({"padding": "x".repeat(MAX_BODY_BYTES)}));
        assert_eq!(error_key(&padded), "invalid_body");
    }
}
