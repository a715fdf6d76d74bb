//! Returning users: `POST /login/` (with the configured human check's
//! fields once failures ask for a captcha: `image_code` and
//! `image_code_id` for the built-in image), `POST /sms_login/`, `POST
//! /password_reset/`, `DELETE /sessions` (log out everywhere), `DELETE
//! /account` (close it), `POST /account/mobile/` (change its number) and
//! `POST`/`DELETE /account/wechat/` (link or unlink a WeChat mini-program
//! user).

use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value};
use shared::clock::Clock;
use shared::domain::{Password, SmsCode, SmsCodeId};
use shared::http;
use shared::http::routes::{self, Function};
use shared::http::{
    ApiError, BadRequest, SessionDelivery, client_key, json_form, new_session, ok, serve, session_token, source_ip,
    text, with_session_cookie,
};
use shared::random::Random;
use shared::service::{AccountService, Challenge, Error, LoginProof};
use shared::store::Store;
use shared::telemetry::audit::{self, Event, LoginMethod};
use shared::wechat::{WeChat, WeChatCode};

/// Serves `request`; `wechat` links mini-program users (`None`: linking is off).
pub async fn handle<S: Store, C: Clock, R: Random + 'static, W: WeChat>(
    service: &AccountService<S, C, R>,
    wechat: Option<&W>,
    request: Request,
) -> Response<Body> {
    serve(Function::Account, &request, Box::pin(route(service, wechat, &request))).await
}

async fn route<S: Store, C: Clock, R: Random + 'static, W: WeChat>(
    service: &AccountService<S, C, R>,
    wechat: Option<&W>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let route = routes::find(request.method().as_str(), request.uri().path())
        .ok()
        .map(|matched| matched.route)
        .filter(|route| route.function == Function::Account)
        .ok_or(ApiError::NotFound)?;
    let client = client_key(request);
    // Past its failures a password proof takes the configured human check, in the body.
    let (provider, user_ip) = (service.human.provider(), source_ip(request));
    let ttl = service.session_ttl;
    match (route.method, route.path.trim_end_matches('/')) {
        ("POST", "/login") => {
            audit::expect(Event::Login(LoginMethod::Password));
            let form = json_form(request)?;
            let account = text(&form, "account").trim();
            if account.is_empty() {
                return Err(BadRequest::InvalidAccount.into());
            }
            let password = Password::parse(text(&form, "password")).map_err(|_| Error::LoginFailed)?;
            let (captcha, delivery) = (http::captcha(provider, &form)?, SessionDelivery::from_form(&form)?);
            let challenge = captcha.as_ref().map(|proof| Challenge { proof, user_ip });
            let token = service.login(account, &password, challenge, client.as_ref()).await?;
            Ok(new_session(&token, delivery, ttl))
        }
        ("POST", "/sms_login") => {
            audit::expect(Event::Login(LoginMethod::SmsCode));
            let form = json_form(request)?;
            let (guess, delivery) = (http::guess(&form)?, SessionDelivery::from_form(&form)?);
            let token = service.login_with_code(&guess, client.as_ref()).await?;
            Ok(new_session(&token, delivery, ttl))
        }
        ("POST", "/password_reset") => {
            audit::expect(Event::PasswordReset);
            let form = json_form(request)?;
            let guess = http::guess(&form)?;
            let (password, delivery) = (http::new_password(&form)?, SessionDelivery::from_form(&form)?);
            let token = service.reset_password(&guess, password, client.as_ref()).await?;
            Ok(new_session(&token, delivery, ttl))
        }
        ("DELETE", "/sessions") => {
            audit::expect(Event::SessionsRevoked);
            let token = session_token(request).ok_or(Error::NotLoggedIn)?;
            service.end_all_sessions(&token).await?;
            Ok(with_session_cookie(ok(Map::new()), None, 0))
        }
        ("DELETE", "/account") => {
            audit::expect(Event::AccountClosed);
            let token = session_token(request).ok_or(Error::NotLoggedIn)?;
            let form = json_form(request)?;
            let (proof, captcha) = (proof(&form)?, http::captcha(provider, &form)?);
            let challenge = captcha.as_ref().map(|proof| Challenge { proof, user_ip });
            service.close(&token, proof, challenge, client.as_ref()).await?;
            Ok(with_session_cookie(ok(Map::new()), None, 0))
        }
        ("POST", "/account/mobile") => {
            audit::expect(Event::MobileChanged);
            let token = session_token(request).ok_or(Error::NotLoggedIn)?;
            let form = json_form(request)?;
            let (guess, proof, captcha) = (http::guess(&form)?, owner_proof(&form)?, http::captcha(provider, &form)?);
            let challenge = captcha.as_ref().map(|proof| Challenge { proof, user_ip });
            // Boxed: a move nests two claims, a spend, a login's admission and the WeChat link's read.
            Box::pin(service.change_mobile(&token, &guess, proof, challenge, client.as_ref())).await?;
            Ok(ok(Map::new()))
        }
        ("POST", "/account/wechat") => {
            audit::expect(Event::WeChatLinked);
            let wechat = wechat.ok_or(Error::WeChatDisabled)?;
            let token = session_token(request).ok_or(Error::NotLoggedIn)?;
            let form = json_form(request)?;
            let code = WeChatCode::parse(text(&form, "code"))?;
            service.link_wechat(wechat, &token, &code, client.as_ref()).await?;
            Ok(ok(Map::new()))
        }
        ("DELETE", "/account/wechat") => {
            audit::expect(Event::WeChatUnlinked);
            let token = session_token(request).ok_or(Error::NotLoggedIn)?;
            service.unlink_wechat(&token).await?;
            Ok(ok(Map::new()))
        }
        _ => Err(ApiError::NotFound),
    }
}

/// `{"password"}`, or `{"sms_code", "sms_code_id"}` of a `close` code.
fn proof(form: &Map<String, Value>) -> Result<LoginProof, ApiError> {
    if form.contains_key("password") {
        return Ok(LoginProof::Password(Password::parse(text(form, "password"))?));
    }
    let code = SmsCode::parse(text(form, "sms_code"))?;
    let id = SmsCodeId::parse(text(form, "sms_code_id"))?;
    Ok(LoginProof::Code { code, id })
}

/// The owner's proof for a number change: `{"password"}`, or
/// `{"old_sms_code", "old_sms_code_id"}` of a `change_mobile_old` code sent
/// to the current number (`sms_code` and `sms_code_id` are the new
/// number's). The password wins when both are given.
fn owner_proof(form: &Map<String, Value>) -> Result<LoginProof, ApiError> {
    if form.contains_key("password") {
        return Ok(LoginProof::Password(Password::parse(text(form, "password"))?));
    }
    if !form.contains_key("old_sms_code") && !form.contains_key("old_sms_code_id") {
        return Err(BadRequest::OwnerProofRequired.into());
    }
    let code = SmsCode::parse(text(form, "old_sms_code"))?;
    let id = SmsCodeId::parse(text(form, "old_sms_code_id"))?;
    Ok(LoginProof::Code { code, id })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn closing_takes_a_password_or_a_code_with_its_id() {
        assert!(matches!(proof(&form(json!({"password": "correct horse"}))), Ok(LoginProof::Password(_))));
        let code = json!({"sms_code": "123456", "sms_code_id": "0123456789abcdef0123456789abcdef"});
        assert!(matches!(proof(&form(code)), Ok(LoginProof::Code { .. })));
        assert_eq!(proof(&form(json!({"password": "short"}))).unwrap_err().key(), "invalid_password");
        assert_eq!(proof(&form(json!({"sms_code": "123456"}))).unwrap_err().key(), "invalid_sms_code_id");
        assert_eq!(proof(&form(json!({}))).unwrap_err().key(), "invalid_sms_code");
    }

    #[test]
    fn a_number_change_takes_a_password_or_the_old_number_s_code_and_nothing_else() {
        let id = "0123456789abcdef0123456789abcdef";
        let new = json!({"mobile": "13900139000", "sms_code": "123456", "sms_code_id": id});
        let with = |extra: Value| {
            let mut form = form(new.clone());
            form.extend(extra.as_object().unwrap().clone());
            owner_proof(&form)
        };
        assert!(matches!(with(json!({"password": "correct horse"})), Ok(LoginProof::Password(_))));
        assert!(matches!(with(json!({"old_sms_code": "654321", "old_sms_code_id": id})), Ok(LoginProof::Code { .. })));
        assert_eq!(with(json!({})).unwrap_err().key(), "owner_proof_required", "the new number's code is no proof");
        assert_eq!(with(json!({"old_sms_code": "654321"})).unwrap_err().key(), "invalid_sms_code_id");
        assert_eq!(with(json!({"old_sms_code_id": id})).unwrap_err().key(), "invalid_sms_code");
        assert_eq!(with(json!({"password": "short"})).unwrap_err().key(), "invalid_password");
    }
}
