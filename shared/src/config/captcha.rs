//! The human check every SMS send (and the login's challenge) judges with:
//! the built-in image unless `CAPTCHA_PROVIDER` names a provider, and then
//! only that provider's variables are read. Tencent's API key pair is the
//! one `TENCENT_SECRET_ID` / `TENCENT_SECRET_KEY` of the providers section,
//! which Tencent SMS may use too, or not.

use super::ConfigError;
use super::providers::{TENCENT_SECRET_ID, TENCENT_SECRET_KEY};
use super::var::{Env, Number, Var, base_url};
use crate::human::CaptchaProvider;
use secrecy::SecretString;
use std::time::Duration;

pub const CAPTCHA_PROVIDER: &str = "CAPTCHA_PROVIDER";
/// How long a verifier may take before it is unavailable (a 503, no SMS).
pub const CAPTCHA_TIMEOUT_MS: Number =
    Number { name: "CAPTCHA_TIMEOUT_MS", default: 5_000, min: 1, max: 60_000, unit: "milliseconds" };
pub const TENCENT_CAPTCHA_APP_ID: &str = "TENCENT_CAPTCHA_APP_ID";
pub const TENCENT_CAPTCHA_APP_SECRET_KEY: &str = "TENCENT_CAPTCHA_APP_SECRET_KEY";
pub const TENCENT_CAPTCHA_BASE_URL: &str = "TENCENT_CAPTCHA_BASE_URL";
pub const GEETEST_CAPTCHA_ID: &str = "GEETEST_CAPTCHA_ID";
pub const GEETEST_CAPTCHA_KEY: &str = "GEETEST_CAPTCHA_KEY";
pub const GEETEST_BASE_URL: &str = "GEETEST_BASE_URL";

/// The section's variables (the Tencent key pair is listed with the SMS
/// providers').
pub(super) const VARIABLES: [Var; 8] = [
    Var::plain(CAPTCHA_PROVIDER),
    CAPTCHA_TIMEOUT_MS.var(),
    Var::plain(TENCENT_CAPTCHA_APP_ID),
    Var::secret(TENCENT_CAPTCHA_APP_SECRET_KEY),
    Var::plain(TENCENT_CAPTCHA_BASE_URL),
    Var::plain(GEETEST_CAPTCHA_ID),
    Var::secret(GEETEST_CAPTCHA_KEY),
    Var::plain(GEETEST_BASE_URL),
];

/// Tencent Cloud captcha's endpoint.
pub const TENCENT_CAPTCHA_DEFAULT_BASE_URL: &str = "https://captcha.tencentcloudapi.com";
/// GeeTest v4's validation endpoint.
pub const GEETEST_DEFAULT_BASE_URL: &str = "https://gcaptcha4.geetest.com";

/// The human check and how long its verifier may take.
#[derive(Debug, Clone)]
pub struct CaptchaConfig {
    pub verifier: VerifierConfig,
    pub timeout: Duration,
}

impl Default for CaptchaConfig {
    /// The built-in image, and the default timeout.
    fn default() -> Self {
        Self {
            verifier: VerifierConfig::Builtin,
            timeout: Duration::from_millis(CAPTCHA_TIMEOUT_MS.default.unsigned_abs()),
        }
    }
}

/// Which verifier, with its account. `Debug` hides the keys.
#[derive(Debug, Clone, Default)]
pub enum VerifierConfig {
    #[default]
    Builtin,
    Tencent(TencentCaptchaConfig),
    Geetest(GeetestConfig),
}

impl VerifierConfig {
    pub fn provider(&self) -> CaptchaProvider {
        match self {
            VerifierConfig::Builtin => CaptchaProvider::Builtin,
            VerifierConfig::Tencent(_) => CaptchaProvider::Tencent,
            VerifierConfig::Geetest(_) => CaptchaProvider::Geetest,
        }
    }
}

/// A Tencent Cloud API key pair and a captcha application (控制台 → 验证管理
/// → 基础配置).
#[derive(Debug, Clone)]
pub struct TencentCaptchaConfig {
    pub secret_id: String,
    pub secret_key: SecretString,
    /// `CaptchaAppId`, an integer on the wire.
    pub app_id: u64,
    pub app_secret_key: SecretString,
    /// [`TENCENT_CAPTCHA_DEFAULT_BASE_URL`] unless testing; no trailing slash.
    pub base_url: String,
}

/// A GeeTest v4 captcha's id and key.
#[derive(Debug, Clone)]
pub struct GeetestConfig {
    pub captcha_id: String,
    pub captcha_key: SecretString,
    /// [`GEETEST_DEFAULT_BASE_URL`] unless testing; no trailing slash.
    pub base_url: String,
}

impl CaptchaConfig {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let timeout = Duration::from_millis(CAPTCHA_TIMEOUT_MS.read(env)?.unsigned_abs());
        let provider = match env.get(CAPTCHA_PROVIDER) {
            None => CaptchaProvider::Builtin,
            Some(name) => CaptchaProvider::parse(&name)
                .ok_or_else(|| ConfigError::invalid(CAPTCHA_PROVIDER, "expected builtin, tencent or geetest"))?,
        };
        let verifier = match provider {
            CaptchaProvider::Builtin => VerifierConfig::Builtin,
            CaptchaProvider::Tencent => VerifierConfig::Tencent(TencentCaptchaConfig {
                secret_id: required(env, TENCENT_SECRET_ID)?,
                secret_key: SecretString::from(required(env, TENCENT_SECRET_KEY)?),
                app_id: required(env, TENCENT_CAPTCHA_APP_ID)?
                    .parse::<u64>()
                    .map_err(|_| ConfigError::invalid(TENCENT_CAPTCHA_APP_ID, "expected the numeric CaptchaAppId"))?,
                app_secret_key: SecretString::from(required(env, TENCENT_CAPTCHA_APP_SECRET_KEY)?),
                base_url: base_url(env, TENCENT_CAPTCHA_BASE_URL, TENCENT_CAPTCHA_DEFAULT_BASE_URL)?,
            }),
            CaptchaProvider::Geetest => VerifierConfig::Geetest(GeetestConfig {
                captcha_id: required(env, GEETEST_CAPTCHA_ID)?,
                captcha_key: SecretString::from(required(env, GEETEST_CAPTCHA_KEY)?),
                base_url: base_url(env, GEETEST_BASE_URL, GEETEST_DEFAULT_BASE_URL)?,
            }),
        };
        Ok(Self { verifier, timeout })
    }
}

fn required(env: &Env<'_>, name: &'static str) -> Result<String, ConfigError> {
    env.get(name).map(|value| value.trim().to_owned()).ok_or(ConfigError::Missing(name))
}
