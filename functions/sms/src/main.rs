use lambda_http::{Error, service_fn};
use shared::clock::SystemClock;
use shared::random::OsRandom;
use shared::service::{Limits, SmsService};
use shared::sms::RonglianClient;
use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::startup::init_logging();
    let (config, store) = shared::startup::init().await?;
    let ronglian = config.require_ronglian().map_err(shared::startup::fail)?.clone();
    let service = SmsService {
        store,
        sender: RonglianClient::new(ronglian)?,
        clock: SystemClock,
        random: OsRandom,
        cooldown: config.lifetimes.sms_cooldown,
        code_ttl: config.lifetimes.sms_code,
        limits: Limits::from(config.limits),
        allowed_prefixes: config.sms_number_prefixes.clone(),
    };
    lambda_http::run(service_fn(|request| async { Ok::<_, Infallible>(sms::handle(&service, request).await) })).await
}
