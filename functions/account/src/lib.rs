//! Returning users: `POST /login/`, `POST /sms_login/`, `POST
//! /password_reset/`, `DELETE /sessions` (log out everywhere), `DELETE
//! /account` (close it) and `POST`/`DELETE /account/wechat/` (link or
//! unlink a WeChat mini-program user).

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value};
use shared::clock::Clock;
use shared::domain::{Password, SmsCode, SmsCodeId};
use shared::http;
use shared::http::routes::Function;
use shared::http::{
    ApiError, BadRequest, SessionDelivery, client_key, json_form, new_session, ok, serve, session_token, text,
    with_session_cookie,
};
use shared::random::Random;
use shared::service::{AccountService, Error, LoginProof};
use shared::store::Store;
use shared::telemetry::audit::{self, Event, LoginMethod};
use shared::wechat::{WeChat, WeChatCode};

/// Serves `request`; `wechat` links mini-program users (`None`: linking is off).
pub async fn handle<S: Store, C: Clock, R: Random + 'static, W: WeChat>(
    service: &AccountService<S, C, R>,
    wechat: Option<&W>,
    request: Request,
) -> Response<Body> {
    serve(Function::Account, &request, route(service, wechat, &request)).await
}

async fn route<S: Store, C: Clock, R: Random + 'static, W: WeChat>(
    service: &AccountService<S, C, R>,
    wechat: Option<&W>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let path = request.uri().path().trim_end_matches('/');
    let client = client_key(request);
    let ttl = service.session_ttl;
    match (request.method().clone(), path.rsplit('/').next().unwrap_or_default()) {
        (Method::POST, "login") => {
            audit::expect(Event::Login(LoginMethod::Password));
            let form = json_form(request)?;
            let account = text(&form, "account").trim();
            if account.is_empty() {
                return Err(BadRequest::InvalidAccount.into());
            }
            let password = Password::parse(text(&form, "password")).map_err(|_| Error::LoginFailed)?;
            let delivery = SessionDelivery::from_form(&form)?;
            let token = service.login(account, &password, client.as_ref()).await?;
            Ok(new_session(&token, delivery, ttl))
        }
        (Method::POST, "sms_login") => {
            audit::expect(Event::Login(LoginMethod::SmsCode));
            let form = json_form(request)?;
            let (guess, delivery) = (http::guess(&form)?, SessionDelivery::from_form(&form)?);
            let token = service.login_with_code(&guess, client.as_ref()).await?;
            Ok(new_session(&token, delivery, ttl))
        }
        (Method::POST, "password_reset") => {
            audit::expect(Event::PasswordReset);
            let form = json_form(request)?;
            let guess = http::guess(&form)?;
            let (password, delivery) = (http::new_password(&form)?, SessionDelivery::from_form(&form)?);
            let token = service.reset_password(&guess, password, client.as_ref()).await?;
            Ok(new_session(&token, delivery, ttl))
        }
        (Method::DELETE, "sessions") => {
            audit::expect(Event::SessionsRevoked);
            let token = session_token(request).ok_or(Error::NotLoggedIn)?;
            service.end_all_sessions(&token).await?;
            Ok(with_session_cookie(ok(Map::new()), None, 0))
        }
        (Method::DELETE, "account") => {
            audit::expect(Event::AccountClosed);
            let token = session_token(request).ok_or(Error::NotLoggedIn)?;
            let form = json_form(request)?;
            service.close(&token, proof(&form)?, client.as_ref()).await?;
            Ok(with_session_cookie(ok(Map::new()), None, 0))
        }
        (Method::POST, "wechat") => {
            audit::expect(Event::WeChatLinked);
            let wechat = wechat.ok_or(Error::WeChatDisabled)?;
            let token = session_token(request).ok_or(Error::NotLoggedIn)?;
            let form = json_form(request)?;
            let code = WeChatCode::parse(text(&form, "code"))?;
            service.link_wechat(wechat, &token, &code).await?;
            Ok(ok(Map::new()))
        }
        (Method::DELETE, "wechat") => {
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
}
