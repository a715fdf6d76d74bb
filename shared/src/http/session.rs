//! The session a request carries and the one an answer starts: the
//! `__Host-` cookie for browsers, a bearer token for native apps.

use super::error::{ApiError, BadRequest};
use super::response::ok;
use crate::domain::SessionToken;
use lambda_http::http::{HeaderValue, header};
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};

/// The session cookie's name: Django's `sessionid` with the `__Host-`
/// prefix, so that browsers accept it only Secure, for `Path=/` and from
/// this host itself: a sibling subdomain cannot plant or shadow it.
pub const SESSION_COOKIE: &str = "__Host-sessionid";

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

#[cfg(test)]
mod tests {
    use super::super::response::body_of;
    use super::*;

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
