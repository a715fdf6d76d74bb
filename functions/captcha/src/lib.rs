//! `GET /image_codes/{uuid}/`: draws a captcha, keeps its answer under the
//! uuid and answers the PNG.

use lambda_http::{Body, Request, Response};
use shared::clock::Clock;
use shared::domain::CaptchaId;
use shared::http::routes::Function;
use shared::http::{ApiError, client_key, path_parameter, png, serve};
use shared::random::Random;
use shared::service::CaptchaService;
use shared::store::Store;

pub async fn handle<S: Store, C: Clock, R: Random>(
    service: &CaptchaService<S, C, R>,
    request: Request,
) -> Response<Body> {
    serve(Function::Captcha, &request, issue(service, &request)).await
}

async fn issue<S: Store, C: Clock, R: Random>(
    service: &CaptchaService<S, C, R>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let id = CaptchaId::parse(&path_parameter(request, "uuid"))?;
    Ok(png(service.issue(&id, client_key(request).as_ref()).await?))
}
