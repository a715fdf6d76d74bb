use lambda_http::{Error, service_fn};
use shared::clock::SystemClock;
use shared::password::PasswordHasher;
use shared::random::OsRandom;
use shared::service::RegisterService;
use std::convert::Infallible;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::startup::init_logging();
    let (config, store) = shared::startup::init().await?;
    let service = RegisterService {
        store,
        clock: SystemClock,
        random: Arc::new(OsRandom),
        hasher: PasswordHasher::owasp(),
        session_ttl: config.lifetimes.session,
    };
    lambda_http::run(service_fn(|request| async { Ok::<_, Infallible>(register::handle(&service, request).await) }))
        .await
}
