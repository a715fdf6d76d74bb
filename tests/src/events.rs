//! Requests as a client sends them, and the API Gateway v2 events they
//! become, for the suites and the benchmark.

use local_api::apigw::{HttpRequest, event};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr};

/// The client address events come from unless a test picks another.
pub const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7));

/// An HTTP request for `uri` (path and query) with an optional `Cookie`
/// header and JSON body.
pub fn request(method: &str, uri: &str, cookie: Option<&str>, body: Option<&Value>, source_ip: IpAddr) -> HttpRequest {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let mut headers = vec![("user-agent".to_owned(), "tests".to_owned())];
    if let Some(cookie) = cookie {
        headers.push(("cookie".to_owned(), cookie.to_owned()));
    }
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    if !body.is_empty() {
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    HttpRequest { method: method.to_owned(), path: path.to_owned(), query: query.to_owned(), headers, body, source_ip }
}

/// The v2 event API Gateway sends for that request on its route.
pub fn v2(method: &str, uri: &str, cookie: Option<&str>, body: Option<&Value>) -> Value {
    let request = request(method, uri, cookie, body, CLIENT_IP);
    let matched = shared::http::routes::find(method, &request.path).expect("a route of the API");
    event(&request, &matched)
}
