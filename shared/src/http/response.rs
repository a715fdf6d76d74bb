//! Successful answers in the original Django API's shape.

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::{Map, Value, json};

pub(super) fn json_response(status: StatusCode, body: Value) -> Response<Body> {
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

/// The JSON body of a text response (tests).
#[cfg(test)]
pub(super) fn body_of(response: &Response<Body>) -> Value {
    match response.body() {
        Body::Text(text) => serde_json::from_str(text).unwrap(),
        other => panic!("not a text body: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_has_the_original_shape() {
        let response = ok(Map::new());
        assert_eq!(response.status(), 200);
        assert_eq!(body_of(&response), json!({"code": 0, "errmsg": "ok"}));
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    }
}
