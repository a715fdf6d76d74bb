//! Serving one request: its telemetry scope, the refusal count, and the
//! answer in the language the client asks for.

use super::error::ApiError;
use super::messages::Lang;
use super::request::source_ip;
use super::routes::Function;
use crate::telemetry::{self, Metric, RequestContext, metrics};
use lambda_http::http::{HeaderValue, header};
use lambda_http::{Body, Request, RequestExt, Response};
use std::future::Future;

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

#[cfg(test)]
mod tests {
    use super::super::response::{body_of, ok};
    use super::*;
    use crate::service::Error as ServiceError;
    use serde_json::Map;

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
}
