//! Configuration, read once per cold start: each section's variables are
//! named, ranged and defaulted once, in its table.

mod captcha;
mod limits;
mod one_tap;
mod providers;
mod secrets;
mod sessions;
mod sms;
mod telemetry;
mod var;
mod wechat;

pub use captcha::*;
pub use limits::*;
pub use one_tap::*;
pub use providers::*;
pub use secrets::{SECRETS_ARN, Secrets};
pub use sessions::*;
pub use sms::{CAPTCHA_TTL_SECONDS, SMS_CODE_TTL_SECONDS, SMS_COOLDOWN_SECONDS};
pub use sms::{DEFAULT_SMS_NUMBER_PREFIXES, SMS_CODE_KEY, SMS_NUMBER_PREFIXES, SMS_TEST_NUMBERS, TestNumbers};
pub use telemetry::METRICS_NAMESPACE;
pub use var::{Kind, Number, Var};
pub use wechat::*;

use secrecy::SecretString;
use var::Env;

/// Every variable the code reads, by section, for the template consistency
/// check. (`AWS_ENDPOINT_URL_DYNAMODB` and the other `AWS_*` ones are the SDK's.)
pub fn variables() -> impl Iterator<Item = Var> {
    [Var::plain(SECRETS_ARN)]
        .into_iter()
        .chain(sessions::VARIABLES)
        .chain(sms::VARIABLES)
        .chain(limits::VARIABLES)
        .chain(telemetry::VARIABLES)
        .chain(providers::VARIABLES)
        .chain(captcha::VARIABLES)
        .chain(one_tap::VARIABLES)
        .chain(wechat::VARIABLES)
}

/// The SMS providers section's variables: `SMS_PROVIDERS`, the timeout and
/// every provider's own.
pub fn providers_variables() -> impl Iterator<Item = Var> {
    providers::VARIABLES.into_iter()
}

/// The human check's variables: `CAPTCHA_PROVIDER` and each provider's own
/// (Tencent's key pair is the providers section's).
pub fn captcha_variables() -> impl Iterator<Item = Var> {
    captcha::VARIABLES.into_iter()
}

/// The variables whose values are secrets: deployed, they live in the
/// Secrets Manager secret `SECRETS_ARN` names and in no environment.
pub fn secret_variables() -> impl Iterator<Item = &'static str> {
    variables().filter(|var| var.kind == Kind::Secret).map(|var| var.name)
}

/// What is wrong with the environment; names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("{set} is set but {missing} is not: set all RONGLIAN_* credentials or none")]
    PartialRonglian { set: &'static str, missing: &'static str },
    #[error("{SECRETS_ARN}: {0}")]
    Secrets(String),
}

impl ConfigError {
    pub(crate) fn invalid(name: &'static str, reason: &str) -> Self {
        Self::Invalid { name, reason: reason.to_owned() }
    }
}

/// How long each kind of item lives, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub captcha: i64,
    pub sms_cooldown: i64,
    pub sms_code: i64,
    pub session: i64,
}

impl Default for Lifetimes {
    /// The variables' defaults, the original Django app's: captcha 300 s,
    /// cooldown and code 180 s, session 14 days.
    fn default() -> Self {
        Self {
            captcha: CAPTCHA_TTL_SECONDS.default,
            sms_cooldown: SMS_COOLDOWN_SECONDS.default,
            sms_code: SMS_CODE_TTL_SECONDS.default,
            session: SESSION_TTL_SECONDS.default,
        }
    }
}

/// The whole configuration. `table_name` is `None` only where a store other
/// than DynamoDB may be used (the local API).
#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: Option<String>,
    pub lifetimes: Lifetimes,
    pub limits: LimitsConfig,
    /// Only numbers starting with one of these get an SMS.
    pub sms_number_prefixes: Vec<String>,
    /// The SMS providers in failover order.
    pub providers: ProvidersConfig,
    /// The key SMS codes are stored under (HMAC-SHA256), at least 32 bytes.
    pub sms_code_key: Option<SecretString>,
    pub test_numbers: TestNumbers,
    /// The CloudWatch namespace of the metrics.
    pub metrics_namespace: String,
    /// The human check the SMS send (and the login's challenge) judge with.
    pub captcha: CaptchaConfig,
    /// Carrier one-tap login and its signup tickets.
    pub one_tap: OneTapSection,
    /// The WeChat mini program, when configured.
    pub wechat: Option<WeChatConfig>,
}

impl Config {
    /// Reads the process environment only (secrets included).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the process environment and, when `SECRETS_ARN` is set, every
    /// secret variable from that secret (one `GetSecretValue`), ignoring
    /// any secret variable in the environment. Once per cold start.
    pub async fn load() -> Result<Self, ConfigError> {
        let env = |name: &str| std::env::var(name).ok().filter(|value| !value.trim().is_empty());
        match env(SECRETS_ARN) {
            None => Self::from_env(),
            Some(arn) => {
                let secrets = Secrets::fetch(&Secrets::client_from_env().await, arn.trim()).await?;
                Self::from_sources(env, &secrets)
            }
        }
    }

    /// Plain variables through `lookup`, secret ones from `secrets` only.
    pub fn from_sources(lookup: impl Fn(&str) -> Option<String>, secrets: &Secrets) -> Result<Self, ConfigError> {
        Self::from_lookup(|name| {
            if secret_variables().any(|secret| secret == name) { secrets.get(name) } else { lookup(name) }
        })
    }

    /// Reads through `lookup`, which returns a variable's value if set; empty
    /// values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(&Env::new(&lookup))
    }

    fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let sms = sms::SmsSection::read(env)?;
        Ok(Self {
            table_name: env.get(TABLE_NAME),
            lifetimes: Lifetimes {
                captcha: sms.captcha_ttl,
                sms_cooldown: sms.cooldown,
                sms_code: sms.code_ttl,
                session: SESSION_TTL_SECONDS.read(env)?,
            },
            limits: LimitsConfig::read(env)?,
            sms_number_prefixes: sms.number_prefixes,
            providers: ProvidersConfig::read(env)?,
            sms_code_key: sms.code_key,
            test_numbers: sms.test_numbers,
            metrics_namespace: telemetry::namespace(env)?,
            captcha: CaptchaConfig::read(env)?,
            one_tap: OneTapSection::read(env)?,
            wechat: wechat::read(env)?,
        })
    }

    /// The SMS code key, which the functions that store or check codes need.
    pub fn require_sms_code_key(&self) -> Result<&SecretString, ConfigError> {
        self.sms_code_key.as_ref().ok_or(ConfigError::Missing(SMS_CODE_KEY))
    }

    /// The table name, which every Lambda needs.
    pub fn require_table(&self) -> Result<&str, ConfigError> {
        self.table_name.as_deref().ok_or(ConfigError::Missing(TABLE_NAME))
    }

    /// At least one SMS provider, which the SMS Lambda needs.
    pub fn require_providers(&self) -> Result<&ProvidersConfig, ConfigError> {
        if self.providers.order.is_empty() {
            return Err(ConfigError::Missing(SMS_PROVIDERS));
        }
        Ok(&self.providers)
    }
}

#[cfg(test)]
mod tests;
