//! API Gateway HTTP API (payload 2.0) as the Lambdas see it: plain HTTP in,
//! a v2 event out; a v2 Lambda response in, plain HTTP out.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};
use shared::routes::Matched;
use std::net::IpAddr;

/// An HTTP request as the local server received it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub source_ip: IpAddr,
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// The v2 event API Gateway would send for `request` on `matched`: cookies
/// split out of the `Cookie` header, decoded query and path parameters
/// (repeated query keys joined with commas), a text body or base64.
pub fn event(request: &HttpRequest, matched: &Matched) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &request.headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(value.split(';').map(str::trim).filter(|c| !c.is_empty()).map(|c| json!(c)));
            continue;
        }
        match headers.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                headers.insert(name, json!(value));
            }
        }
    }
    let mut query = Map::new();
    for (key, value) in form_urlencoded::parse(request.query.as_bytes()) {
        match query.get_mut(key.as_ref()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                query.insert(key.into_owned(), json!(value));
            }
        }
    }
    let path_parameters: Map<String, Value> =
        matched.parameters.iter().map(|(name, value)| (name.clone(), json!(decode(value)))).collect();
    let (body, is_base64) = match std::str::from_utf8(&request.body) {
        _ if request.body.is_empty() => (Value::Null, false),
        Ok(text) => (json!(text), false),
        Err(_) => (json!(STANDARD.encode(&request.body)), true),
    };
    let route_key = format!("{} {}", matched.route.method, matched.route.path);
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": request.method,
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip.to_string(),
                "userAgent": request.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("user-agent")).map_or("", |(_, v)| v),
            },
            "requestId": "local",
            "routeKey": route_key,
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 0,
        },
        "isBase64Encoded": is_base64,
    });
    if !cookies.is_empty() {
        event["cookies"] = Value::Array(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if !path_parameters.is_empty() {
        event["pathParameters"] = Value::Object(path_parameters);
    }
    if !body.is_null() {
        event["body"] = body;
    }
    event
}

/// Why a Lambda response could not be turned into HTTP.
#[derive(Debug, thiserror::Error)]
#[error("malformed Lambda response: {0}")]
pub struct MalformedResponse(&'static str);

/// The HTTP response API Gateway would send for a v2 Lambda response:
/// `cookies` become `Set-Cookie` headers and a base64 body is decoded.
pub fn http_response(lambda: &Value) -> Result<Response<Vec<u8>>, MalformedResponse> {
    let status = lambda["statusCode"].as_u64().ok_or(MalformedResponse("no statusCode"))?;
    let status =
        u16::try_from(status).ok().and_then(|s| StatusCode::from_u16(s).ok()).ok_or(MalformedResponse("bad status"))?;
    let body = match &lambda["body"] {
        Value::String(text) if lambda["isBase64Encoded"] == json!(true) => {
            STANDARD.decode(text).map_err(|_| MalformedResponse("body is not base64"))?
        }
        Value::String(text) => text.clone().into_bytes(),
        _ => Vec::new(),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in lambda["headers"].as_object().into_iter().flatten() {
        let (Ok(name), Some(Ok(value))) =
            (HeaderName::try_from(name.as_str()), value.as_str().map(HeaderValue::from_str))
        else {
            return Err(MalformedResponse("bad header"));
        };
        headers.append(name, value);
    }
    for cookie in lambda["cookies"].as_array().into_iter().flatten() {
        let value =
            cookie.as_str().and_then(|c| HeaderValue::from_str(c).ok()).ok_or(MalformedResponse("bad cookie"))?;
        headers.append(http::header::SET_COOKIE, value);
    }
    Ok(response)
}
