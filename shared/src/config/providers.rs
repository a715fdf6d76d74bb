//! The SMS providers: which ones, in what failover order, and each one's
//! account. A provider's variables are read only when `SMS_PROVIDERS` names
//! it, so other features may use the same keys without configuring SMS.

use super::ConfigError;
use super::var::{Env, Number, Var, base_url};
use secrecy::SecretString;
use std::time::Duration;

pub const SMS_PROVIDERS: &str = "SMS_PROVIDERS";
pub const SMS_PROVIDER_TIMEOUT_MS: Number =
    Number { name: "SMS_PROVIDER_TIMEOUT_MS", default: 5_000, min: 1, max: 60_000, unit: "milliseconds" };

pub const RONGLIAN_ACCOUNT_SID: &str = "RONGLIAN_ACCOUNT_SID";
pub const RONGLIAN_AUTH_TOKEN: &str = "RONGLIAN_AUTH_TOKEN";
pub const RONGLIAN_APP_ID: &str = "RONGLIAN_APP_ID";
pub const RONGLIAN_TEMPLATE_ID: &str = "RONGLIAN_TEMPLATE_ID";
pub const RONGLIAN_BASE_URL: &str = "RONGLIAN_BASE_URL";

pub const ALIYUN_ACCESS_KEY_ID: &str = "ALIYUN_ACCESS_KEY_ID";
pub const ALIYUN_ACCESS_KEY_SECRET: &str = "ALIYUN_ACCESS_KEY_SECRET";
pub const ALIYUN_SMS_SIGN_NAME: &str = "ALIYUN_SMS_SIGN_NAME";
pub const ALIYUN_SMS_TEMPLATE_CODE: &str = "ALIYUN_SMS_TEMPLATE_CODE";
pub const ALIYUN_SMS_BASE_URL: &str = "ALIYUN_SMS_BASE_URL";

pub const TENCENT_SECRET_ID: &str = "TENCENT_SECRET_ID";
pub const TENCENT_SECRET_KEY: &str = "TENCENT_SECRET_KEY";
pub const TENCENT_SMS_SDK_APP_ID: &str = "TENCENT_SMS_SDK_APP_ID";
pub const TENCENT_SMS_SIGN_NAME: &str = "TENCENT_SMS_SIGN_NAME";
pub const TENCENT_SMS_TEMPLATE_ID: &str = "TENCENT_SMS_TEMPLATE_ID";
pub const TENCENT_SMS_REGION: &str = "TENCENT_SMS_REGION";
pub const TENCENT_SMS_BASE_URL: &str = "TENCENT_SMS_BASE_URL";

/// The section's variables.
pub(super) const VARIABLES: [Var; 19] = [
    Var::plain(SMS_PROVIDERS),
    SMS_PROVIDER_TIMEOUT_MS.var(),
    Var::plain(RONGLIAN_ACCOUNT_SID),
    Var::secret(RONGLIAN_AUTH_TOKEN),
    Var::plain(RONGLIAN_APP_ID),
    Var::plain(RONGLIAN_TEMPLATE_ID),
    Var::plain(RONGLIAN_BASE_URL),
    Var::plain(ALIYUN_ACCESS_KEY_ID),
    Var::secret(ALIYUN_ACCESS_KEY_SECRET),
    Var::plain(ALIYUN_SMS_SIGN_NAME),
    Var::plain(ALIYUN_SMS_TEMPLATE_CODE),
    Var::plain(ALIYUN_SMS_BASE_URL),
    Var::plain(TENCENT_SECRET_ID),
    Var::secret(TENCENT_SECRET_KEY),
    Var::plain(TENCENT_SMS_SDK_APP_ID),
    Var::plain(TENCENT_SMS_SIGN_NAME),
    Var::plain(TENCENT_SMS_TEMPLATE_ID),
    Var::plain(TENCENT_SMS_REGION),
    Var::plain(TENCENT_SMS_BASE_URL),
];

/// Ronglian's production endpoint.
pub const RONGLIAN_DEFAULT_BASE_URL: &str = "https://app.cloopen.com:8883";
/// Aliyun SMS's endpoint.
pub const ALIYUN_DEFAULT_BASE_URL: &str = "https://dysmsapi.aliyuncs.com";
/// Tencent Cloud SMS's endpoint.
pub const TENCENT_DEFAULT_BASE_URL: &str = "https://sms.tencentcloudapi.com";
pub const TENCENT_DEFAULT_REGION: &str = "ap-guangzhou";

/// The providers' names in `SMS_PROVIDERS`.
pub const PROVIDER_NAMES: [&str; 3] = ["aliyun", "tencent", "ronglian"];

/// Credentials and template of a Ronglian Cloud account.
#[derive(Debug, Clone)]
pub struct RonglianConfig {
    pub account_sid: String,
    pub auth_token: SecretString,
    pub app_id: String,
    pub template_id: String,
    pub base_url: String,
}

/// An Aliyun account's AccessKey pair and its approved signature and template.
#[derive(Debug, Clone)]
pub struct AliyunSmsConfig {
    pub access_key_id: String,
    pub access_key_secret: SecretString,
    /// The approved signature (签名), e.g. `阿里云短信测试`.
    pub sign_name: String,
    /// The approved template, e.g. `SMS_154950909`; its variable is `${code}`.
    pub template_code: String,
    /// [`ALIYUN_DEFAULT_BASE_URL`] unless testing; no trailing slash.
    pub base_url: String,
}

/// A Tencent Cloud account's API key pair and its SMS application,
/// approved signature and template.
#[derive(Debug, Clone)]
pub struct TencentSmsConfig {
    pub secret_id: String,
    pub secret_key: SecretString,
    /// `SmsSdkAppId`, e.g. `1400006666`.
    pub sdk_app_id: String,
    pub sign_name: String,
    /// The approved template; its variables are the code and the minutes.
    pub template_id: String,
    /// [`TENCENT_DEFAULT_REGION`] unless configured otherwise.
    pub region: String,
    /// [`TENCENT_DEFAULT_BASE_URL`] unless testing; no trailing slash.
    pub base_url: String,
}

/// One configured provider.
#[derive(Debug, Clone)]
pub enum ProviderConfig {
    Ronglian(RonglianConfig),
    Aliyun(AliyunSmsConfig),
    Tencent(TencentSmsConfig),
}

impl ProviderConfig {
    /// Its name in `SMS_PROVIDERS`.
    pub fn name(&self) -> &'static str {
        match self {
            ProviderConfig::Ronglian(_) => "ronglian",
            ProviderConfig::Aliyun(_) => "aliyun",
            ProviderConfig::Tencent(_) => "tencent",
        }
    }
}

/// The providers in failover order (empty: none configured, the local API's
/// console sender) and how long each attempt may take.
#[derive(Debug, Clone)]
pub struct ProvidersConfig {
    pub order: Vec<ProviderConfig>,
    pub timeout: Duration,
}

impl ProvidersConfig {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let timeout = Duration::from_millis(SMS_PROVIDER_TIMEOUT_MS.read(env)?.unsigned_abs());
        let names: Vec<String> = match env.get(SMS_PROVIDERS) {
            Some(list) => list.split(',').map(|name| name.trim().to_ascii_lowercase()).collect(),
            None if ronglian_inferred(env)? => vec!["ronglian".to_owned()],
            None => Vec::new(),
        };
        let mut order: Vec<ProviderConfig> = Vec::new();
        for name in &names {
            let provider = match name.as_str() {
                "ronglian" => ProviderConfig::Ronglian(ronglian(env)?),
                "aliyun" => ProviderConfig::Aliyun(aliyun(env)?),
                "tencent" => ProviderConfig::Tencent(tencent(env)?),
                _ => {
                    return Err(ConfigError::invalid(
                        SMS_PROVIDERS,
                        "expected a comma-separated failover order of aliyun, tencent and ronglian",
                    ));
                }
            };
            if order.iter().any(|earlier| earlier.name() == provider.name()) {
                return Err(ConfigError::invalid(SMS_PROVIDERS, "a provider is listed twice"));
            }
            order.push(provider);
        }
        Ok(Self { order, timeout })
    }
}

/// Without `SMS_PROVIDERS`: Ronglian when its credentials are set; all of
/// them or none.
fn ronglian_inferred(env: &Env<'_>) -> Result<bool, ConfigError> {
    let credentials = [RONGLIAN_ACCOUNT_SID, RONGLIAN_AUTH_TOKEN, RONGLIAN_APP_ID, RONGLIAN_TEMPLATE_ID];
    let set: Vec<bool> = credentials.iter().map(|name| env.get(name).is_some()).collect();
    let first = |wanted: bool| credentials.iter().zip(&set).find(|(_, s)| **s == wanted).map(|(name, _)| *name);
    match (first(true), first(false)) {
        (None, _) => Ok(false),
        (Some(_), None) => Ok(true),
        (Some(set), Some(missing)) => Err(ConfigError::PartialRonglian { set, missing }),
    }
}

fn required(env: &Env<'_>, name: &'static str) -> Result<String, ConfigError> {
    env.get(name).map(|value| value.trim().to_owned()).ok_or(ConfigError::Missing(name))
}

fn digits(env: &Env<'_>, name: &'static str, reason: &'static str) -> Result<String, ConfigError> {
    let value = required(env, name)?;
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConfigError::invalid(name, reason));
    }
    Ok(value)
}

fn ronglian(env: &Env<'_>) -> Result<RonglianConfig, ConfigError> {
    Ok(RonglianConfig {
        account_sid: required(env, RONGLIAN_ACCOUNT_SID)?,
        auth_token: SecretString::from(required(env, RONGLIAN_AUTH_TOKEN)?),
        app_id: required(env, RONGLIAN_APP_ID)?,
        template_id: digits(env, RONGLIAN_TEMPLATE_ID, "expected a numeric template id")?,
        base_url: base_url(env, RONGLIAN_BASE_URL, RONGLIAN_DEFAULT_BASE_URL)?,
    })
}

fn aliyun(env: &Env<'_>) -> Result<AliyunSmsConfig, ConfigError> {
    Ok(AliyunSmsConfig {
        access_key_id: required(env, ALIYUN_ACCESS_KEY_ID)?,
        access_key_secret: SecretString::from(required(env, ALIYUN_ACCESS_KEY_SECRET)?),
        sign_name: required(env, ALIYUN_SMS_SIGN_NAME)?,
        template_code: required(env, ALIYUN_SMS_TEMPLATE_CODE)?,
        base_url: base_url(env, ALIYUN_SMS_BASE_URL, ALIYUN_DEFAULT_BASE_URL)?,
    })
}

fn tencent(env: &Env<'_>) -> Result<TencentSmsConfig, ConfigError> {
    let region = env.get(TENCENT_SMS_REGION).map_or_else(|| TENCENT_DEFAULT_REGION.to_owned(), |r| r.trim().to_owned());
    if !region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(ConfigError::invalid(TENCENT_SMS_REGION, "expected a region such as ap-guangzhou"));
    }
    Ok(TencentSmsConfig {
        secret_id: required(env, TENCENT_SECRET_ID)?,
        secret_key: SecretString::from(required(env, TENCENT_SECRET_KEY)?),
        sdk_app_id: digits(env, TENCENT_SMS_SDK_APP_ID, "expected the numeric SmsSdkAppId")?,
        sign_name: required(env, TENCENT_SMS_SIGN_NAME)?,
        template_id: digits(env, TENCENT_SMS_TEMPLATE_ID, "expected a numeric template id")?,
        region,
        base_url: base_url(env, TENCENT_SMS_BASE_URL, TENCENT_DEFAULT_BASE_URL)?,
    })
}
