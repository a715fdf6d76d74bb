use lambda_http::{Error, service_fn};
use shared::clock::SystemClock;
use shared::random::OsRandom;
use shared::service::CaptchaService;
use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::startup::init_logging();
    let (config, store) = shared::startup::init(shared::http::routes::Function::Captcha).await?;
    let service = CaptchaService::new(&config, store, SystemClock, OsRandom);
    lambda_http::run(service_fn(|request| async { Ok::<_, Infallible>(captcha::handle(&service, request).await) }))
        .await
}
