use lambda_http::{Error, service_fn};
use shared::clock::SystemClock;
use shared::crypto::code_key::CodeKey;
use shared::random::OsRandom;
use shared::service::SmsService;
use shared::sms::AnySender;
use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::startup::init_logging();
    let (config, store) = shared::startup::init(shared::http::routes::Function::Sms).await?;
    let providers = config.require_providers().map_err(shared::startup::fail)?;
    let sender = AnySender::from_config(providers)?;
    let code_key = CodeKey::from_config(&config).map_err(shared::startup::fail)?;
    let service = SmsService::new(&config, store, sender, SystemClock, OsRandom, code_key);
    lambda_http::run(service_fn(|request| async { Ok::<_, Infallible>(sms::handle(&service, request).await) })).await
}
