//! What a handler reads from a request: the JSON form and the fields
//! several forms share, parameters, the client's address.

use super::error::{ApiError, BadRequest};
use crate::domain::{CaptchaAnswer, CaptchaId, ClientKey, Mobile, Password, SmsCode, SmsCodeId};
use crate::service::{CaptchaProof, Guess};
use lambda_http::http::header;
use lambda_http::{Body, Request, RequestExt};
use serde_json::{Map, Value};

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

/// `password` and its repetition `password2`.
pub fn new_password(form: &Map<String, Value>) -> Result<Password, ApiError> {
    let password = Password::parse(text(form, "password"))?;
    if text(form, "password2") != text(form, "password") {
        return Err(BadRequest::PasswordMismatch.into());
    }
    Ok(password)
}

/// `mobile`, `sms_code` and `sms_code_id`.
pub fn guess(form: &Map<String, Value>) -> Result<Guess, ApiError> {
    let mobile = Mobile::parse(text(form, "mobile"))?;
    let code = SmsCode::parse(text(form, "sms_code"))?;
    let id = SmsCodeId::parse(text(form, "sms_code_id"))?;
    Ok(Guess { mobile, code, id })
}

/// `image_code` and `image_code_id`, the built-in captcha's answer, when
/// the form carries either: both or neither.
pub fn captcha(form: &Map<String, Value>) -> Result<Option<CaptchaProof>, ApiError> {
    let (answer, id) = (text(form, "image_code").trim(), text(form, "image_code_id").trim());
    match (answer.is_empty(), id.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => Ok(Some(CaptchaProof { id: CaptchaId::parse(id)?, answer: CaptchaAnswer::parse(answer)? })),
        _ => Err(BadRequest::MissingParameters.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_captcha_is_both_fields_or_neither() {
        let form = |value: Value| value.as_object().unwrap().clone();
        let key = |value: Value| captcha(&form(value)).map(|proof| proof.is_some()).map_err(|error| error.key());
        assert_eq!(key(serde_json::json!({})), Ok(false));
        let id = "3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c";
        assert_eq!(key(serde_json::json!({"image_code": "ab12", "image_code_id": id})), Ok(true));
        assert_eq!(key(serde_json::json!({"image_code": "ab12"})), Err("missing_parameters"));
        assert_eq!(key(serde_json::json!({"image_code_id": id})), Err("missing_parameters"));
        assert_eq!(key(serde_json::json!({"image_code": "ab12", "image_code_id": "x"})), Err("invalid_captcha_id"));
        assert_eq!(key(serde_json::json!({"image_code": "a b", "image_code_id": id})), Err("invalid_image_code"));
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
}
