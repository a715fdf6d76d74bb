//! Cold-start wiring shared by every Lambda's `main`.

pub mod tls;

use crate::config::{Config, ConfigError};
use crate::http::routes::Function;
use crate::store::{DynamoStore, client_from_env};
use crate::telemetry::{Metric, metrics};

/// Our own crates: the level asked for applies to these only.
const OWN_CRATES: &[&str] = &["shared", "captcha", "sms", "register", "session", "account", "local_api"];

/// Sets up logging as Lambda's advanced logging controls ask (a few lines of
/// `Targets` rather than `EnvFilter`, whose regex engine adds about half a
/// megabyte to every bootstrap): JSON lines
/// when `AWS_LAMBDA_LOG_FORMAT=JSON`, the level from `AWS_LAMBDA_LOG_LEVEL`
/// (or `RUST_LOG`), INFO by default. No timestamps: Lambda adds them.
///
/// Dependencies never log below INFO, whatever the level: lambda_runtime
/// logs each raw event at TRACE (passwords and codes in it), and the SDK
/// and hyper log request bodies at DEBUG and TRACE.
pub fn init_logging() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|level| level.trim().parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let targets = OWN_CRATES.iter().fold(Targets::new().with_default(level.min(LevelFilter::INFO)), |targets, name| {
        targets.with_target(*name, level)
    });
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json"));
    let format = tracing_subscriber::fmt::layer().with_target(false).without_time();
    let installed = if json {
        tracing_subscriber::registry().with(format.json()).with(targets).try_init()
    } else {
        tracing_subscriber::registry().with(format).with(targets).try_init()
    };
    if installed.is_err() {
        eprintln!("a logger was already installed");
    }
}

/// Reads the configuration (secrets from Secrets Manager when `SECRETS_ARN`
/// is set) and connects the store: what every function needs before its
/// first request. A bad variable is logged in one line
/// naming it, and the error fails the cold start. Counts the cold start.
pub async fn init(function: Function) -> Result<(Config, DynamoStore), lambda_http::Error> {
    let config = Config::load().await.map_err(fail)?;
    metrics::init(&config.metrics_namespace);
    metrics::count(Metric::ColdStarts, &[("Function", function.name())]);
    let table = config.require_table().map_err(fail)?.to_owned();
    let store = DynamoStore::new(client_from_env().await, table);
    Ok((config, store))
}

/// Logs a configuration error and turns it into the init error Lambda reports.
pub fn fail(error: ConfigError) -> lambda_http::Error {
    tracing::error!(error = %error, "invalid configuration");
    Box::new(error)
}
