//! `GET /sms_codes/{mobile}/?image_code=..&image_code_id=..`: checks the
//! captcha and sends a six-digit code, at most once per cooldown.

use lambda_http::{Body, Request, Response};
use serde_json::Map;
use shared::clock::Clock;
use shared::domain::{CaptchaAnswer, CaptchaId, Mobile};
use shared::http::{ApiError, BadRequest, ok, path_parameter, query_parameter, respond, source_ip};
use shared::random::Random;
use shared::service::SmsService;
use shared::sms::SmsSender;
use shared::store::Store;

pub async fn handle<S: Store, M: SmsSender, C: Clock, R: Random>(
    service: &SmsService<S, M, C, R>,
    request: Request,
) -> Response<Body> {
    respond(send(service, &request).await)
}

async fn send<S: Store, M: SmsSender, C: Clock, R: Random>(
    service: &SmsService<S, M, C, R>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let mobile = Mobile::parse(&path_parameter(request, "mobile"))?;
    let (Some(answer), Some(id)) = (query_parameter(request, "image_code"), query_parameter(request, "image_code_id"))
    else {
        return Err(BadRequest::MissingParameters.into());
    };
    let id = CaptchaId::parse(&id)?;
    let answer = CaptchaAnswer::parse(&answer)?;
    service.send_code(&mobile, &id, &answer, source_ip(request).as_deref()).await?;
    Ok(ok(Map::new()))
}
