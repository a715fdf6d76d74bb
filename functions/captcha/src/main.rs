use lambda_http::{Error, service_fn};
use shared::clock::SystemClock;
use shared::random::OsRandom;
use shared::service::{CaptchaService, Limits};
use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::startup::init_logging();
    let (config, store) = shared::startup::init().await?;
    let limits = Limits::from(config.limits);
    let service = CaptchaService {
        store,
        clock: SystemClock,
        random: OsRandom,
        ttl: config.lifetimes.captcha,
        limit: limits.captchas_per_ip,
    };
    lambda_http::run(service_fn(|request| async { Ok::<_, Infallible>(captcha::handle(&service, request).await) }))
        .await
}
