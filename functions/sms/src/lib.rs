//! `GET /sms_codes/{mobile}/?image_code=..&image_code_id=..[&purpose=..]`: checks the
//! captcha and sends a six-digit code, at most once per cooldown, answering
//! with the `sms_code_id` that every guess of the code must carry.

use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value};
use shared::clock::Clock;
use shared::domain::{CaptchaAnswer, CaptchaId, Mobile, Purpose};
use shared::http::routes::Function;
use shared::http::{ApiError, BadRequest, client_key, ok, path_parameter, query_parameter, serve};
use shared::random::Random;
use shared::service::SmsService;
use shared::sms::SmsSender;
use shared::store::Store;
use shared::telemetry::{Event, audit};

pub async fn handle<S: Store, M: SmsSender, C: Clock, R: Random>(
    service: &SmsService<S, M, C, R>,
    request: Request,
) -> Response<Body> {
    serve(Function::Sms, &request, send(service, &request)).await
}

async fn send<S: Store, M: SmsSender, C: Clock, R: Random>(
    service: &SmsService<S, M, C, R>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    audit::expect(Event::CodeSent);
    let mobile = Mobile::parse(&path_parameter(request, "mobile"))?;
    let (Some(answer), Some(id)) = (query_parameter(request, "image_code"), query_parameter(request, "image_code_id"))
    else {
        return Err(BadRequest::MissingParameters.into());
    };
    let id = CaptchaId::parse(&id)?;
    let answer = CaptchaAnswer::parse(&answer)?;
    let purpose = Purpose::parse(query_parameter(request, "purpose").as_deref())?;
    let sent = service.send_code(&mobile, &id, &answer, purpose, client_key(request).as_ref()).await?;
    // When the next code may be asked for, and how long this one lasts, so no client hard-codes them.
    Ok(ok(Map::from_iter([
        ("sms_code_id".to_owned(), Value::from(sent.id.as_str())),
        ("retry_after".to_owned(), Value::from(sent.retry_after)),
        ("expires_in".to_owned(), Value::from(sent.expires_in)),
    ])))
}
