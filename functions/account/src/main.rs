use lambda_http::{Error, service_fn};
use shared::clock::SystemClock;
use shared::crypto::code_key::CodeKey;
use shared::random::OsRandom;
use shared::service::AccountService;
use shared::wechat::WeChatClient;
use std::convert::Infallible;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::startup::init_logging();
    let (config, store) = shared::startup::init(shared::http::routes::Function::Account).await?;
    let code_key = CodeKey::from_config(&config).map_err(shared::startup::fail)?;
    let wechat = config.wechat.clone().map(WeChatClient::new).transpose()?;
    let service = AccountService::new(&config, store, SystemClock, Arc::new(OsRandom), code_key);
    lambda_http::run(service_fn(|request| async {
        Ok::<_, Infallible>(account::handle(&service, wechat.as_ref(), request).await)
    }))
    .await
}
