//! API Gateway HTTP API (payload 2.0) as the Lambdas see it: plain HTTP in,
//! a v2 event out; a v2 Lambda response in, plain HTTP out.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderName, HeaderValue, Method, Response, StatusCode};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};
use shared::http::routes::Matched;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;

/// Numbers the local requests, as API Gateway gives each an id.
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

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

/// The v2 event API Gateway would send for `request` on `matched`, as
/// aws_lambda_events' `ApiGatewayV2httpRequest` (the type lambda_http
/// reads): cookies split out of the `Cookie` header, repeated headers and
/// query keys joined with commas, decoded path parameters, a text body or
/// base64.
pub fn event(request: &HttpRequest, matched: &Matched) -> Value {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &request.headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(value.split(';').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned));
            continue;
        }
        headers.entry(name).and_modify(|joined| joined.extend([",", value.as_str()])).or_insert_with(|| value.clone());
    }
    let mut query: HashMap<String, String> = HashMap::new();
    for (key, value) in form_urlencoded::parse(request.query.as_bytes()) {
        query
            .entry(key.into_owned())
            .and_modify(|joined| joined.extend([",", value.as_ref()]))
            .or_insert_with(|| value.into_owned());
    }
    let route_key = format!("{} {}", matched.route.method, matched.route.path);

    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = Method::from_bytes(request.method.as_bytes()).unwrap_or_default();
    http.path = Some(request.path.clone());
    http.protocol = Some("HTTP/1.1".to_owned());
    http.source_ip = Some(request.source_ip.to_string());
    http.user_agent = headers.get("user-agent").cloned();
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route_key.clone());
    context.account_id = Some("000000000000".to_owned());
    context.stage = Some("$default".to_owned());
    context.request_id = Some(format!("local-{}", NEXT_REQUEST.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
    context.apiid = Some("local".to_owned());
    context.domain_name = Some("127.0.0.1".to_owned());
    context.domain_prefix = Some("local".to_owned());
    context.time = Some("01/Jan/2026:00:00:00 +0000".to_owned());
    context.http = http;

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".to_owned());
    event.route_key = Some(route_key);
    event.raw_path = Some(request.path.clone());
    event.raw_query_string = Some(request.query.clone());
    event.cookies = (!cookies.is_empty()).then_some(cookies);
    event.headers = headers
        .into_iter()
        .filter_map(|(name, value)| Some((HeaderName::try_from(name).ok()?, HeaderValue::from_str(&value).ok()?)))
        .collect();
    event.query_string_parameters = query.into();
    event.path_parameters = matched.parameters.iter().map(|(name, value)| (name.clone(), decode(value))).collect();
    event.request_context = context;
    (event.body, event.is_base64_encoded) = match std::str::from_utf8(&request.body) {
        _ if request.body.is_empty() => (None, false),
        Ok(text) => (Some(text.to_owned()), false),
        Err(_) => (Some(STANDARD.encode(&request.body)), true),
    };
    serde_json::to_value(event).unwrap_or_default()
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
