//! `GET /sms_codes/{mobile}/?image_code=..&image_code_id=..[&purpose=..]` (or
//! `ticket` and `randstr` for Tencent captcha, GeeTest's four fields): checks
//! the human check and sends a six-digit code, at most once per cooldown,
//! answering with the `sms_code_id` that every guess of the code must carry.

use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value};
use shared::clock::Clock;
use shared::domain::{Mobile, Purpose};
use shared::http::routes::Function;
use shared::http::{ApiError, client_key, ok, path_parameter, query_parameter, serve, source_ip};
use shared::human::Proof;
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
    let proof = Proof::from_fields(service.human.provider(), |name| query_parameter(request, name))?;
    let purpose = Purpose::parse(query_parameter(request, "purpose").as_deref())?;
    let client = client_key(request);
    let sent = service.send_code(&mobile, &proof, purpose, client.as_ref(), source_ip(request)).await?;
    // When the next code may be asked for, and how long this one lasts, so no client hard-codes them.
    Ok(ok(Map::from_iter([
        ("sms_code_id".to_owned(), Value::from(sent.id.as_str())),
        ("retry_after".to_owned(), Value::from(sent.retry_after)),
        ("expires_in".to_owned(), Value::from(sent.expires_in)),
    ])))
}
