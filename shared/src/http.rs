//! The HTTP edge shared by every handler: request helpers, the JSON response
//! shape compatible with the original Django API, and the one mapping from
//! errors to responses.

use crate::domain::{
    ClientKey, InvalidCaptchaAnswer, InvalidCaptchaId, InvalidMobile, InvalidPassword, InvalidPurpose, InvalidSmsCode,
    InvalidSmsCodeId, InvalidUsername, SessionToken,
};
use crate::messages::{Lang, message};
use crate::routes::Function;
use crate::service::{Error as ServiceError, LimitKind};
use crate::telemetry::{self, Metric, RequestContext, metrics};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Map, Value, json};
use std::future::Future;

/// The session cookie's name: Django's `sessionid` with the `__Host-`
/// prefix, so that browsers accept it only Secure, for `Path=/` and from
/// this host itself: a sibling subdomain cannot plant or shadow it.
pub const SESSION_COOKIE: &str = "__Host-sessionid";

/// Everything a request can end in other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    BadRequest(#[from] BadRequest),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("no such route")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
}

/// Input that could not be parsed; each names what was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    #[error("invalid captcha id")]
    InvalidCaptchaId,
    #[error("invalid mobile")]
    InvalidMobile,
    #[error("missing parameters")]
    MissingParameters,
    #[error("invalid image code")]
    InvalidImageCode,
    #[error("invalid body")]
    InvalidBody,
    #[error("invalid username")]
    InvalidUsername,
    #[error("invalid password")]
    InvalidPassword,
    #[error("passwords differ")]
    PasswordMismatch,
    #[error("invalid SMS code")]
    InvalidSmsCode,
    #[error("agreement not accepted")]
    AllowRequired,
    #[error("invalid SMS code id")]
    InvalidSmsCodeId,
    #[error("the body is not JSON")]
    UnsupportedMediaType,
    #[error("invalid purpose")]
    InvalidPurpose,
    #[error("no account given")]
    InvalidAccount,
}

macro_rules! bad_request_from {
    ($($error:ty => $variant:ident),* $(,)?) => {
        $(impl From<$error> for ApiError {
            fn from(_: $error) -> Self {
                ApiError::BadRequest(BadRequest::$variant)
            }
        })*
    };
}

bad_request_from! {
    InvalidCaptchaId => InvalidCaptchaId,
    InvalidMobile => InvalidMobile,
    InvalidCaptchaAnswer => InvalidImageCode,
    InvalidUsername => InvalidUsername,
    InvalidPassword => InvalidPassword,
    InvalidSmsCode => InvalidSmsCode,
    InvalidSmsCodeId => InvalidSmsCodeId,
    InvalidPurpose => InvalidPurpose,
}

/// What the client is told: status, stable key, the id of the message for
/// people in [`MESSAGES`](crate::messages::MESSAGES), and what it can act
/// on: when to retry, how many guesses a code has left.
struct Outcome {
    status: StatusCode,
    key: &'static str,
    message: &'static str,
    retry_after: Option<i64>,
    attempts_left: Option<i64>,
}

/// An outcome whose message is the one under its key.
const fn outcome(status: StatusCode, key: &'static str) -> Outcome {
    Outcome { status, key, message: key, retry_after: None, attempts_left: None }
}

/// The same key with another of its messages (`key.variant`).
const fn worded(outcome: Outcome, message: &'static str) -> Outcome {
    Outcome { message, ..outcome }
}

const fn with_attempts_left(outcome: Outcome, attempts_left: i64) -> Outcome {
    Outcome { attempts_left: Some(attempts_left), ..outcome }
}

impl ApiError {
    fn outcome(&self) -> Outcome {
        use BadRequest as B;
        use ServiceError as S;
        const BAD: StatusCode = StatusCode::BAD_REQUEST;
        match self {
            ApiError::BadRequest(bad) => match bad {
                B::InvalidCaptchaId => outcome(BAD, "invalid_captcha_id"),
                B::InvalidMobile => outcome(BAD, "invalid_mobile"),
                B::MissingParameters => outcome(BAD, "missing_parameters"),
                B::InvalidImageCode => outcome(BAD, "invalid_image_code"),
                B::InvalidBody => outcome(BAD, "invalid_body"),
                B::InvalidUsername => outcome(BAD, "invalid_username"),
                B::InvalidPassword => outcome(BAD, "invalid_password"),
                B::PasswordMismatch => outcome(BAD, "password_mismatch"),
                B::InvalidSmsCode => outcome(BAD, "invalid_sms_code"),
                B::AllowRequired => outcome(BAD, "allow_required"),
                B::InvalidSmsCodeId => with_attempts_left(outcome(BAD, "invalid_sms_code_id"), 0),
                B::InvalidPurpose => outcome(BAD, "invalid_purpose"),
                B::InvalidAccount => outcome(BAD, "invalid_account"),
                B::UnsupportedMediaType => outcome(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            },
            ApiError::Service(error) => match error {
                S::NumberNotAllowed => outcome(BAD, "mobile_not_allowed"),
                S::CaptchaExpired => outcome(BAD, "captcha_expired"),
                S::CaptchaIncorrect => outcome(BAD, "captcha_incorrect"),
                S::TooFrequent { retry_after } => Outcome {
                    retry_after: Some(*retry_after),
                    ..outcome(StatusCode::TOO_MANY_REQUESTS, "too_frequent")
                },
                S::RateLimited { kind, retry_after } => {
                    let key = match kind {
                        LimitKind::MobileDaily => "mobile_daily_limit",
                        LimitKind::IpHourly => "ip_sms_limit",
                        LimitKind::Global => "sms_busy",
                        LimitKind::CaptchaIp => "ip_captcha_limit",
                        LimitKind::CaptchaFailures => "captcha_failure_limit",
                        LimitKind::CodeFailures => "sms_code_failure_limit",
                        LimitKind::LoginAccount => "login_locked",
                        LimitKind::LoginIp => "login_ip_limit",
                        LimitKind::PrefixAllowance => "prefix_suspended",
                    };
                    Outcome { retry_after: Some(*retry_after), ..outcome(StatusCode::TOO_MANY_REQUESTS, key) }
                }
                S::SmsCodeExpired => with_attempts_left(outcome(BAD, "sms_code_expired"), 0),
                S::SmsCodeIncorrect { attempts_left } => {
                    with_attempts_left(outcome(BAD, "sms_code_incorrect"), *attempts_left)
                }
                S::SmsCodeWrongPurpose { attempts_left } => {
                    with_attempts_left(outcome(BAD, "sms_code_wrong_purpose"), *attempts_left)
                }
                S::MobileNotRegistered => outcome(StatusCode::NOT_FOUND, "mobile_not_registered"),
                S::LoginFailed => outcome(StatusCode::UNAUTHORIZED, "login_failed"),
                S::SmsCodeIdMismatch { attempts_left } => with_attempts_left(
                    worded(outcome(BAD, "invalid_sms_code_id"), "invalid_sms_code_id.mismatch"),
                    *attempts_left,
                ),
                S::UsernameTaken => outcome(StatusCode::CONFLICT, "username_taken"),
                S::MobileTaken => outcome(StatusCode::CONFLICT, "mobile_taken"),
                S::NotLoggedIn => outcome(StatusCode::UNAUTHORIZED, "not_logged_in"),
                S::ProviderLimit { retry_after } => Outcome {
                    retry_after: Some(*retry_after),
                    ..outcome(StatusCode::TOO_MANY_REQUESTS, "sms_provider_limit")
                },
                S::NumberRefused => worded(outcome(BAD, "invalid_mobile"), "invalid_mobile.provider"),
                S::SmsUncertain { retry_after, .. } => Outcome {
                    retry_after: Some(*retry_after),
                    ..worded(outcome(StatusCode::BAD_GATEWAY, "sms_failed"), "sms_failed.unknown")
                },
                S::SmsRefused(_) => outcome(StatusCode::BAD_GATEWAY, "sms_failed"),
                S::Unavailable(_) => outcome(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
                S::Internal(_) => outcome(StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
            },
            ApiError::NotFound => outcome(StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => outcome(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        }
    }

    /// The stable `error` key, for tests and logs.
    pub fn key(&self) -> &'static str {
        self.outcome().key
    }

    /// The JSON error response in English.
    pub fn into_response(self) -> Response<Body> {
        self.into_response_in(Lang::En)
    }

    /// The JSON error response, `errmsg` in `lang`. Server-side failures are
    /// logged with their whole cause chain; the client only learns that
    /// something failed.
    pub fn into_response_in(self, lang: Lang) -> Response<Body> {
        let outcome = self.outcome();
        if outcome.status.is_server_error() {
            tracing::error!(error = %cause_chain(&self), key = outcome.key, "request failed");
        }
        let errmsg = message(outcome.message).map_or(outcome.key, |text| text.get(lang));
        let mut body = json!({ "code": outcome.status.as_u16(), "errmsg": errmsg, "error": outcome.key });
        if let Some(attempts_left) = outcome.attempts_left {
            body["attempts_left"] = json!(attempts_left);
        }
        let retry_after = outcome.retry_after.map(|seconds| seconds.max(1));
        if let Some(seconds) = retry_after {
            body["retry_after"] = json!(seconds);
        }
        let mut response = json_response(outcome.status, body);
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// `error: cause: cause ...`, for the log.
pub fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Serves one request of `function`: runs `handler` inside the request's
/// telemetry scope (see [`crate::telemetry`]), counts a refusal by its key,
/// and answers as [`respond`] does.
pub async fn serve(
    function: Function,
    request: &Request,
    handler: impl Future<Output = Result<Response<Body>, ApiError>>,
) -> Response<Body> {
    let context = RequestContext {
        function: function.name(),
        request_id: request_id(request),
        client_ip: source_ip(request).map(str::to_owned),
    };
    // On the heap: the handler's future is large, and debug builds copy it at every layer.
    let handler = Box::pin(handler);
    let counted = async {
        let result = handler.await;
        if let Err(error) = &result {
            metrics::count(Metric::Refusals, &[("Error", error.key())]);
        }
        result
    };
    let result = telemetry::scope(context, counted, |result| result.as_ref().map(drop).map_err(ApiError::key)).await;
    respond(request, result)
}

/// API Gateway's id of the request, else Lambda's, else `""`.
fn request_id(request: &Request) -> String {
    let gateway = match request.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    };
    gateway.or_else(|| request.lambda_context_ref().map(|context| context.request_id.clone())).unwrap_or_default()
}

/// Runs a handler body and turns its error into the JSON error response,
/// in the language the request's `Accept-Language` asks for; the answer
/// says which with `Content-Language`.
pub fn respond(request: &Request, result: Result<Response<Body>, ApiError>) -> Response<Body> {
    let lang = Lang::from_accept_language(
        request.headers().get(header::ACCEPT_LANGUAGE).and_then(|value| value.to_str().ok()),
    );
    let mut response = result.unwrap_or_else(|error| error.into_response_in(lang));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.tag()));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    response
}

fn json_response(status: StatusCode, body: Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `200 {"code": 0, "errmsg": "ok", ...extra}`.
pub fn ok(extra: Map<String, Value>) -> Response<Body> {
    let mut body = Map::new();
    body.insert("code".to_owned(), json!(0));
    body.insert("errmsg".to_owned(), json!("ok"));
    body.extend(extra);
    json_response(StatusCode::OK, Value::Object(body))
}

/// `200 image/png`, never cached.
pub fn png(bytes: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::Binary(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Adds a `Set-Cookie` for the session (lambda_http moves it into the API
/// Gateway v2 response's `cookies`). `None` clears the cookie.
pub fn with_session_cookie(mut response: Response<Body>, token: Option<&SessionToken>, max_age: i64) -> Response<Body> {
    let cookie = match token {
        Some(token) => {
            format!("{SESSION_COOKIE}={}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age={max_age}", token.expose())
        }
        None => format!("{SESSION_COOKIE}=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0"),
    };
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// How a client wants a new session: the cookie (browsers, the default),
/// or the token in the body for native apps (`"session": "token"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionDelivery {
    Cookie,
    Token,
}

impl SessionDelivery {
    /// From a request body's `session` field: absent or `"cookie"`, or `"token"`.
    pub fn from_form(form: &Map<String, Value>) -> Result<Self, ApiError> {
        match form.get("session") {
            None => Ok(Self::Cookie),
            Some(Value::String(mode)) if mode == "cookie" => Ok(Self::Cookie),
            Some(Value::String(mode)) if mode == "token" => Ok(Self::Token),
            Some(_) => Err(BadRequest::InvalidBody.into()),
        }
    }
}

/// The 200 for a new session: the cookie, or `"token"` in the body and no cookie.
pub fn new_session(token: &SessionToken, delivery: SessionDelivery, max_age: i64) -> Response<Body> {
    match delivery {
        SessionDelivery::Cookie => with_session_cookie(ok(Map::new()), Some(token), max_age),
        SessionDelivery::Token => ok(Map::from_iter([("token".to_owned(), json!(token.expose()))])),
    }
}

/// A request body that must be a JSON object of at most [`MAX_BODY_BYTES`].
pub fn json_form(request: &Request) -> Result<Map<String, Value>, ApiError> {
    let body = json_body(request)?;
    if body.len() > MAX_BODY_BYTES {
        return Err(BadRequest::InvalidBody.into());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(form)) => Ok(form),
        _ => Err(BadRequest::InvalidBody.into()),
    }
}

/// The largest body accepted; every form is a few hundred bytes.
pub const MAX_BODY_BYTES: usize = 4 * 1024;

/// A string field of a form, `""` when absent or not a string.
pub fn text<'a>(form: &'a Map<String, Value>, name: &str) -> &'a str {
    form.get(name).and_then(Value::as_str).unwrap_or_default()
}

/// A path parameter, or `""` when absent.
pub fn path_parameter(request: &Request, name: &str) -> String {
    request.path_parameters_ref().and_then(|p| p.first(name)).unwrap_or_default().to_owned()
}

/// A query-string parameter, if present and not blank.
pub fn query_parameter(request: &Request, name: &str) -> Option<String> {
    request
        .query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

/// The session token of a request: `Authorization: Bearer <token>` (native
/// apps), else the session cookie.
pub fn session_token(request: &Request) -> Option<SessionToken> {
    match request.headers().get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()) {
        Some(value) => {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| SessionToken::parse(token.trim()).ok()).flatten()
        }
        None => session_cookie(request),
    }
}

/// The session cookie, if exactly one is sent and it parses: two of them
/// mean someone planted one, and neither is trusted. API Gateway v2 hands
/// cookies to lambda_http, which joins them into `Cookie`.
fn session_cookie(request: &Request) -> Option<SessionToken> {
    let mut values = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim());
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    SessionToken::parse(value).ok()
}

/// The client as per-client caps key it, from the address API Gateway saw
/// (`requestContext.http.sourceIp`; forwarding headers are never trusted).
pub fn client_key(request: &Request) -> Option<ClientKey> {
    source_ip(request).and_then(ClientKey::parse)
}

/// The address API Gateway saw (`requestContext.http.sourceIp`).
pub fn source_ip(request: &Request) -> Option<&str> {
    match request.request_context_ref()? {
        lambda_http::request::RequestContext::ApiGatewayV2(context) => context.http.source_ip.as_deref(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The body of a POST, which must be declared JSON: a cross-site form can
/// send `text/plain` without a preflight, never `application/json`.
pub fn json_body(request: &Request) -> Result<&[u8], ApiError> {
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok());
    let media_type = content_type.and_then(|value| value.split(';').next()).map(str::trim);
    if !media_type.is_some_and(|media_type| media_type.eq_ignore_ascii_case("application/json")) {
        return Err(BadRequest::UnsupportedMediaType.into());
    }
    Ok(body_bytes(request))
}

/// The body's bytes, whatever API Gateway's encoding.
pub fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(response: &Response<Body>) -> Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            other => panic!("not a text body: {other:?}"),
        }
    }

    #[test]
    fn success_has_the_original_shape() {
        let response = ok(Map::new());
        assert_eq!(response.status(), 200);
        assert_eq!(body_of(&response), json!({"code": 0, "errmsg": "ok"}));
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    }

    #[test]
    fn an_error_carries_its_status_message_and_key() {
        let response = ApiError::BadRequest(BadRequest::MissingParameters).into_response();
        assert_eq!(response.status(), 400);
        assert_eq!(
            body_of(&response),
            json!({"code": 400, "errmsg": "Incomplete parameters", "error": "missing_parameters"})
        );
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn too_frequent_is_a_429_with_retry_after() {
        let response = ApiError::Service(ServiceError::TooFrequent { retry_after: 42 }).into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
    }

    #[test]
    fn a_server_error_body_reveals_nothing_of_its_cause() {
        let error = ServiceError::internal("secret table name leaked here");
        let response = ApiError::Service(error).into_response();
        assert_eq!(response.status(), 500);
        assert!(!format!("{:?}", response.body()).contains("secret"));
    }

    #[test]
    fn an_unavailable_store_is_a_503() {
        let error = ServiceError::Unavailable("timeout".into());
        assert_eq!(ApiError::Service(error).into_response().status(), 503);
    }

    #[test]
    fn the_session_cookie_is_http_only_secure_and_lax() {
        let token = SessionToken::parse(&"A".repeat(43)).unwrap();
        let response = with_session_cookie(ok(Map::new()), Some(&token), 1_209_600);
        let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
        assert_eq!(
            cookie,
            format!("__Host-sessionid={}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=1209600", "A".repeat(43))
        );
    }

    #[test]
    fn the_session_token_is_found_among_other_cookies() {
        let token = format!("{}A", "B".repeat(42));
        let request = http::Request::builder()
            .header(header::COOKIE, format!("theme=dark; __Host-sessionid={token}; lang=zh"))
            .body(Body::Empty)
            .unwrap();
        assert_eq!(session_token(&request).map(|t| t.expose().to_owned()), Some(token));
    }

    #[test]
    fn two_session_cookies_are_no_session_and_the_unprefixed_name_is_ignored() {
        let (planted, real) = ("P".repeat(43), "R".repeat(43));
        for cookies in [
            format!("__Host-sessionid={planted}; __Host-sessionid={real}"),
            format!("__Host-sessionid={real}; __Host-sessionid={planted}"),
            format!("sessionid={real}"),
        ] {
            let request = http::Request::builder().header(header::COOKIE, cookies.as_str()).body(Body::Empty).unwrap();
            assert!(session_token(&request).is_none(), "{cookies}");
        }
    }

    #[test]
    fn a_bearer_token_is_read_before_the_cookie_and_a_bad_one_is_no_session() {
        let (bearer, cookie) = (format!("{}A", "B".repeat(42)), format!("{}A", "C".repeat(42)));
        let request = |authorization: &str| {
            http::Request::builder()
                .header(header::AUTHORIZATION, authorization)
                .header(header::COOKIE, format!("__Host-sessionid={cookie}"))
                .body(Body::Empty)
                .unwrap()
        };
        let token = |authorization: &str| session_token(&request(authorization)).map(|t| t.expose().to_owned());
        assert_eq!(token(&format!("Bearer {bearer}")), Some(bearer.clone()));
        assert_eq!(token(&format!("bearer  {bearer}")), Some(bearer));
        assert_eq!(token("Basic abc"), None);
        assert_eq!(token("Bearer short"), None);
    }

    #[test]
    fn a_new_session_is_a_cookie_or_a_token_in_the_body_never_both() {
        let token = SessionToken::parse(&format!("{}A", "T".repeat(42))).unwrap();
        let cookie = new_session(&token, SessionDelivery::Cookie, 60);
        assert!(cookie.headers().contains_key(header::SET_COOKIE) && body_of(&cookie).get("token").is_none());
        let app = new_session(&token, SessionDelivery::Token, 60);
        assert!(!app.headers().contains_key(header::SET_COOKIE));
        assert_eq!(body_of(&app)["token"], token.expose());
        let form = |value: Value| serde_json::from_value::<Map<String, Value>>(json!({ "session": value })).unwrap();
        assert_eq!(SessionDelivery::from_form(&form(json!("token"))).unwrap(), SessionDelivery::Token);
        assert!(SessionDelivery::from_form(&form(json!(true))).is_err());
    }

    /// One of every refusal the mapping can give.
    fn every_error() -> Vec<ApiError> {
        use BadRequest as B;
        use ServiceError as S;
        let bad = [
            B::InvalidCaptchaId,
            B::InvalidMobile,
            B::MissingParameters,
            B::InvalidImageCode,
            B::InvalidBody,
            B::InvalidUsername,
            B::InvalidPassword,
            B::PasswordMismatch,
            B::InvalidSmsCode,
            B::AllowRequired,
            B::InvalidSmsCodeId,
            B::UnsupportedMediaType,
            B::InvalidPurpose,
            B::InvalidAccount,
        ];
        let limits = [
            LimitKind::MobileDaily,
            LimitKind::IpHourly,
            LimitKind::Global,
            LimitKind::CaptchaIp,
            LimitKind::CaptchaFailures,
            LimitKind::CodeFailures,
            LimitKind::LoginAccount,
            LimitKind::LoginIp,
            LimitKind::PrefixAllowance,
        ];
        let service = [
            S::NumberNotAllowed,
            S::CaptchaExpired,
            S::CaptchaIncorrect,
            S::TooFrequent { retry_after: 1 },
            S::SmsCodeExpired,
            S::SmsCodeIncorrect { attempts_left: 1 },
            S::SmsCodeIdMismatch { attempts_left: 1 },
            S::SmsCodeWrongPurpose { attempts_left: 1 },
            S::MobileNotRegistered,
            S::LoginFailed,
            S::UsernameTaken,
            S::MobileTaken,
            S::NotLoggedIn,
            S::ProviderLimit { retry_after: 60 },
            S::NumberRefused,
            S::SmsRefused("every provider refused".into()),
            S::SmsUncertain { retry_after: 60, cause: "timeout".into() },
            S::Unavailable("down".into()),
            S::internal("bug"),
        ];
        bad.into_iter()
            .map(ApiError::from)
            .chain(limits.into_iter().map(|kind| ApiError::Service(S::RateLimited { kind, retry_after: 1 })))
            .chain(service.into_iter().map(ApiError::Service))
            .chain([ApiError::NotFound, ApiError::MethodNotAllowed])
            .collect()
    }

    #[test]
    fn every_refusal_has_its_message_in_both_languages() {
        for error in every_error() {
            let outcome = error.outcome();
            let text = message(outcome.message).unwrap_or_else(|| panic!("no message for {}", outcome.message));
            assert_eq!(text.key(), outcome.key, "{} under another key", outcome.message);
        }
        let used: Vec<&str> = every_error().iter().map(|error| error.outcome().message).collect();
        for text in crate::messages::MESSAGES {
            assert!(used.contains(&text.id), "{} is in the table but no refusal uses it", text.id);
        }
    }

    #[test]
    fn errmsg_follows_accept_language_and_the_key_never_changes() {
        let request =
            |accept: &str| http::Request::builder().header(header::ACCEPT_LANGUAGE, accept).body(Body::Empty).unwrap();
        let refuse = || Err(ApiError::Service(ServiceError::CaptchaIncorrect));
        let chinese = respond(&request("zh-CN,zh;q=0.9,en;q=0.8"), refuse());
        assert_eq!(body_of(&chinese)["errmsg"], "图形验证码错误");
        assert_eq!(body_of(&chinese)["error"], "captcha_incorrect");
        assert_eq!(chinese.headers()[header::CONTENT_LANGUAGE], "zh-CN");
        let english = respond(&request("en-US"), refuse());
        assert_eq!(body_of(&english)["errmsg"], "Incorrect verification code");
        assert_eq!(english.headers()[header::CONTENT_LANGUAGE], "en");
        let fine = respond(&request("zh"), Ok(ok(Map::new())));
        assert_eq!(
            (body_of(&fine)["errmsg"].as_str(), &fine.headers()[header::CONTENT_LANGUAGE]),
            (Some("ok"), &HeaderValue::from_static("zh-CN"))
        );
    }

    #[test]
    fn a_post_body_must_be_declared_json() {
        let with = |content_type: Option<&str>| {
            let mut builder = http::Request::builder();
            if let Some(content_type) = content_type {
                builder = builder.header(header::CONTENT_TYPE, content_type);
            }
            json_body(&builder.body(Body::Text("{}".to_owned())).unwrap()).map(<[u8]>::to_vec).map_err(|e| e.key())
        };
        assert_eq!(with(Some("application/json")), Ok(b"{}".to_vec()), "plain");
        assert_eq!(with(Some("Application/JSON; charset=utf-8")), Ok(b"{}".to_vec()));
        for refused in
            [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("multipart/form-data")]
        {
            assert_eq!(with(refused), Err("unsupported_media_type"), "{refused:?}");
        }
    }

    #[test]
    fn a_429_and_an_unknown_send_say_when_to_retry_in_the_header_and_the_body() {
        let limited =
            ApiError::Service(ServiceError::RateLimited { kind: LimitKind::CaptchaFailures, retry_after: 90 });
        let response = limited.into_response();
        assert_eq!(
            (response.status().as_u16(), &response.headers()[header::RETRY_AFTER]),
            (429, &HeaderValue::from(90))
        );
        assert_eq!(body_of(&response)["retry_after"], 90);
        assert_eq!(body_of(&response)["error"], "captcha_failure_limit");
        let unknown = ServiceError::SmsUncertain { retry_after: 60, cause: "timeout".into() };
        let response = ApiError::Service(unknown).into_response();
        assert_eq!((response.status().as_u16(), body_of(&response)["retry_after"].as_i64()), (502, Some(60)));
        assert_eq!(response.headers()[header::RETRY_AFTER], "60");
    }

    #[test]
    fn every_refusal_of_an_sms_code_says_how_many_guesses_are_left() {
        for (error, left) in [
            (ServiceError::SmsCodeIncorrect { attempts_left: 3 }, 3),
            (ServiceError::SmsCodeIdMismatch { attempts_left: 5 }, 5),
            (ServiceError::SmsCodeExpired, 0),
        ] {
            assert_eq!(body_of(&ApiError::Service(error).into_response())["attempts_left"], left);
        }
        assert_eq!(body_of(&ApiError::from(BadRequest::InvalidSmsCodeId).into_response())["attempts_left"], 0);
    }

    proptest::proptest! {
        #[test]
        fn any_cookie_header_parses_or_yields_no_session(header in "\\PC{0,200}") {
            if let Ok(value) = HeaderValue::from_str(&header) {
                let request = http::Request::builder().header(header::COOKIE, value).body(Body::Empty).unwrap();
                if let Some(token) = session_token(&request) {
                    proptest::prop_assert!(header.contains(token.expose()));
                }
            }
        }
    }

    #[test]
    fn a_malformed_session_cookie_is_no_session() {
        let request =
            http::Request::builder().header(header::COOKIE, "__Host-sessionid=abc").body(Body::Empty).unwrap();
        assert!(session_token(&request).is_none());
    }
}
