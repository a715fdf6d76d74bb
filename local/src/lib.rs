//! The whole API in one process for local development and end-to-end tests:
//! every function's handler, fed API Gateway v2 events built from plain HTTP
//! and answered through lambda_http's own response conversion, as in AWS.

pub mod apigw;
mod server;

pub use server::serve;

use apigw::HttpRequest;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::Service;
use lambda_http::{Adapter, Body, Context, LambdaEvent, Request, Response, service_fn};
use serde_json::Value;
use shared::clock::Clock;
use shared::config::Config;
use shared::crypto::code_key::CodeKey;
use shared::http::ApiError;
use shared::http::routes::{self, Function, NoMatch};
use shared::one_tap::AnyCarrier;
use shared::random::Random;
use shared::service::{AccountService, CaptchaService, SessionService, SmsService};
use shared::sms::SmsSender;
use shared::store::Store;
use shared::wechat::WeChatClient;
use std::convert::Infallible;
use std::sync::Arc;

/// Every function's service over one store, sender, clock and randomness.
#[derive(Debug)]
pub struct LocalApi<S, M, C, R> {
    pub captcha: CaptchaService<Arc<S>, Arc<C>, Arc<R>>,
    pub sms: SmsService<Arc<S>, Arc<M>, Arc<C>, Arc<R>>,
    pub session: SessionService<Arc<S>, Arc<C>>,
    pub account: AccountService<Arc<S>, Arc<C>, R>,
    /// What proves numbers for one-tap: Aliyun's `GetMobile` when
    /// configured; `None` turns one-tap off.
    pub carrier: Option<AnyCarrier>,
    /// The WeChat mini program's client, when configured.
    pub wechat: Option<WeChatClient>,
}

/// A handler's answer could not be made into a Lambda response.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("the event is not an API Gateway event: {0}")]
    Event(#[source] serde_json::Error),
    #[error("the Lambda response does not serialise: {0}")]
    Response(#[source] serde_json::Error),
}

impl<S, M, C, R> LocalApi<S, M, C, R>
where
    S: Store + 'static,
    M: SmsSender + 'static,
    C: Clock + 'static,
    R: Random + 'static,
{
    /// Wires every service as the Lambdas do, with `config`'s lifetimes and
    /// limits. A carrier client that cannot be built leaves one-tap off.
    pub fn new(store: Arc<S>, sender: Arc<M>, clock: Arc<C>, random: Arc<R>, config: &Config) -> Self {
        // Without SMS_CODE_KEY the codes need only outlive this process.
        let code_key = CodeKey::from_config(config).unwrap_or_else(|_| CodeKey::random(&*random));
        Self {
            captcha: CaptchaService::new(config, Arc::clone(&store), Arc::clone(&clock), Arc::clone(&random)),
            sms: SmsService::new(
                config,
                Arc::clone(&store),
                sender,
                Arc::clone(&clock),
                Arc::clone(&random),
                code_key.clone(),
            ),
            account: AccountService::new(config, Arc::clone(&store), Arc::clone(&clock), random, code_key),
            session: SessionService::new(store, clock),
            carrier: AnyCarrier::from_config(config.one_tap.carrier.as_ref()).unwrap_or_else(|error| {
                tracing::error!(error = %error, "building the one-tap client failed; one-tap is off");
                None
            }),
            wechat: config.wechat.clone().and_then(|config| {
                WeChatClient::new(config)
                    .inspect_err(|error| tracing::error!(error = %error, "building the WeChat client failed"))
                    .ok()
            }),
        }
    }

    /// Runs `function`'s handler, exactly the code its Lambda runs.
    pub async fn invoke(&self, function: Function, request: Request) -> Response<Body> {
        // Each handler's future on the heap: inline, the match would be as
        // large as the largest of them, several hundred KiB unoptimised, on
        // the stack of whichever thread polls it (a test's is 2 MiB).
        match function {
            Function::Captcha => Box::pin(captcha::handle(&self.captcha, request)).await,
            Function::Sms => Box::pin(sms::handle(&self.sms, request)).await,
            Function::Register => {
                Box::pin(register::handle(&self.account, self.carrier.as_ref(), self.wechat.as_ref(), request)).await
            }
            Function::Session => Box::pin(session::handle(&self.session, request)).await,
            Function::Account => Box::pin(account::handle(&self.account, self.wechat.as_ref(), request)).await,
        }
    }

    /// Feeds a v2 event to `function` through lambda_http's adapter and
    /// returns the Lambda response JSON, as the Lambda runtime would send it.
    pub async fn invoke_event(&self, function: Function, event: Value) -> Result<Value, InvokeError> {
        let payload: LambdaRequest = serde_json::from_value(event).map_err(InvokeError::Event)?;
        let mut adapter = Adapter::from(service_fn(|request: Request| async move {
            Ok::<_, Infallible>(self.invoke(function, request).await)
        }));
        let response = match adapter.call(LambdaEvent::new(payload, Context::default())).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        serde_json::to_value(response).map_err(InvokeError::Response)
    }

    /// Answers one HTTP request as API Gateway and the Lambdas would; `GET /`
    /// is the sign-up page, which in AWS any static host serves.
    pub async fn handle_http(&self, request: HttpRequest) -> http::Response<Vec<u8>> {
        if let Some(response) = page::serve(&request.method, &request.path) {
            return response;
        }
        if request.method == "GET" && request.path == "/openapi.yaml" {
            return openapi();
        }
        if let Some(response) = self.stand_in_carrier(&request) {
            return response;
        }
        let matched = match routes::find(&request.method, &request.path) {
            Ok(matched) => matched,
            Err(NoMatch::NotFound) => return plain(ApiError::NotFound.into_response()),
            Err(NoMatch::MethodNotAllowed) => {
                let mut response = plain(ApiError::MethodNotAllowed.into_response());
                let allow = routes::allowed_methods(&request.path).join(", ");
                if let Ok(allow) = http::HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(http::header::ALLOW, allow);
                }
                return response;
            }
        };
        let event = apigw::event(&request, &matched);
        let answer = self.invoke_event(matched.route.function, event).await;
        match answer.map(|lambda| apigw::http_response(&lambda)) {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => {
                tracing::error!(error = %error, "bad Lambda response");
                plain(ApiError::Service(shared::service::Error::internal(error)).into_response())
            }
            Err(error) => {
                tracing::error!(error = %error, "invocation failed");
                plain(ApiError::Service(shared::service::Error::internal(error)).into_response())
            }
        }
    }
}

impl<S, M, C, R> LocalApi<S, M, C, R> {
    /// The stand-in carrier's SDK, for the page's one-tap button: `GET
    /// /_stand_in_carrier` says it is there, `POST /_stand_in_carrier/token`
    /// `{"mobile"}` issues a single-use token proving that number, as the
    /// carrier's SDK would on that phone. Only while the local API's carrier
    /// is the stand-in; deployed, no such route exists.
    fn stand_in_carrier(&self, request: &HttpRequest) -> Option<http::Response<Vec<u8>>> {
        let Some(AnyCarrier::StandIn(carrier)) = &self.carrier else { return None };
        let answer = |body: serde_json::Value| {
            let mut response = http::Response::new(body.to_string().into_bytes());
            response
                .headers_mut()
                .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
            response
        };
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/_stand_in_carrier") => Some(answer(serde_json::json!({"code": 0, "errmsg": "ok"}))),
            ("POST", "/_stand_in_carrier/token") => {
                let form: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
                let mobile = form["mobile"].as_str().and_then(|m| shared::domain::Mobile::parse(m).ok());
                Some(match mobile {
                    Some(mobile) => {
                        answer(serde_json::json!({"code": 0, "errmsg": "ok", "token": carrier.issue(&mobile).expose()}))
                    }
                    None => plain(ApiError::from(shared::http::BadRequest::InvalidMobile).into_response()),
                })
            }
            _ => None,
        }
    }
}

/// The sign-up page: plain HTML, CSS and JavaScript, compiled in.
mod page;

/// The API's OpenAPI document, the contract schemathesis checks.
const OPENAPI: &str = include_str!("../../openapi.yaml");

fn openapi() -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(OPENAPI.as_bytes().to_vec());
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/yaml"));
    response
}

/// A handler response as plain HTTP, for answers given before any handler runs.
pub(crate) fn plain(response: Response<Body>) -> http::Response<Vec<u8>> {
    response.map(|body| match body {
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    })
}
