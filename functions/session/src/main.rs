use lambda_http::{Error, service_fn};
use shared::clock::SystemClock;
use shared::service::SessionService;
use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::startup::init_logging();
    let (_config, store) = shared::startup::init(shared::http::routes::Function::Session).await?;
    let service = SessionService::new(store, SystemClock);
    lambda_http::run(service_fn(|request| async { Ok::<_, Infallible>(session::handle(&service, request).await) }))
        .await
}
