//! A handler panic under the real Lambda runtime: the invocation gets an
//! error, and the same warm instance serves the next one.

use serde_json::{Value, json};
use tests::runtime_api::{Function, Outcome};

fn request_to(path: &str) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {}, "isBase64Encoded": false,
        "requestContext": {"accountId": "0", "apiId": "local", "domainName": "localhost", "domainPrefix": "local",
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
            "requestId": "r", "routeKey": "$default", "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0}
    })
}

/// `panicky` is built with the workspace's profiles; the release profile
/// says `panic = "unwind"` so the deployed functions behave the same (see
/// `the_release_profile_unwinds_panics` in template.rs).
#[tokio::test]
async fn a_handler_panic_answers_an_error_and_the_instance_keeps_serving() {
    let mut function = Function::start("panicky", &[]).await;
    match function.api.invoke(request_to("/panic")).await {
        Outcome::Error(error) => assert!(error.to_string().contains("a handler bug"), "{error}"),
        Outcome::Response(response) => panic!("expected an error, got {response}"),
    }
    for _ in 0..2 {
        match function.api.invoke(request_to("/fine")).await {
            Outcome::Response(response) => assert_eq!(response["statusCode"], 200),
            Outcome::Error(error) => panic!("the instance died: {error}"),
        }
    }
    assert!(function.child.try_wait().unwrap().is_none(), "the process exited");
    function.stop().await;
}
