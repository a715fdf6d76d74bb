//! Cold-start wiring shared by every Lambda's `main`.

use crate::config::{Config, ConfigError};
use crate::store::{DynamoStore, client_from_env};

/// Sets up logging as Lambda's advanced logging controls ask (JSON when
/// `AWS_LAMBDA_LOG_FORMAT=JSON`, level from `AWS_LAMBDA_LOG_LEVEL`).
pub fn init_logging() {
    lambda_http::tracing::init_default_subscriber();
}

/// Reads the configuration and connects the store: what every function
/// needs before its first request. A bad variable is logged in one line
/// naming it, and the error fails the cold start.
pub async fn init() -> Result<(Config, DynamoStore), lambda_http::Error> {
    let config = Config::from_env().map_err(fail)?;
    let table = config.require_table().map_err(fail)?.to_owned();
    let store = DynamoStore::new(client_from_env().await, table);
    Ok((config, store))
}

/// Logs a configuration error and turns it into the init error Lambda reports.
pub fn fail(error: ConfigError) -> lambda_http::Error {
    tracing::error!(error = %error, "invalid configuration");
    Box::new(error)
}
