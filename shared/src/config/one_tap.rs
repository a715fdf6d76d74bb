//! Carrier one-tap login (本机号码一键登录) through Aliyun's `GetMobile`:
//! on when the Aliyun AccessKey pair is set, whether or not Aliyun sends
//! SMS; the signup tickets a proven number without an account is handed.

use super::ConfigError;
use super::providers::{ALIYUN_ACCESS_KEY_ID, ALIYUN_ACCESS_KEY_SECRET};
use super::var::{Env, Number, Var, base_url};
use secrecy::SecretString;
use std::time::Duration;

pub const ALIYUN_DYPNS_BASE_URL: &str = "ALIYUN_DYPNS_BASE_URL";
/// Dypnsapi's endpoint.
pub const ALIYUN_DYPNS_DEFAULT_BASE_URL: &str = "https://dypnsapi.aliyuncs.com";
/// How long a signup ticket lasts: long enough to choose a username and a
/// password, short enough that a ticket left lying around is soon worthless.
pub const SIGNUP_TICKET_TTL_SECONDS: Number =
    Number { name: "SIGNUP_TICKET_TTL_SECONDS", default: 600, min: 30, max: 3_600, unit: "seconds" };
/// How long one `GetMobile` may take before the login is a 502.
pub const ONE_TAP_TIMEOUT: Duration = Duration::from_secs(5);

/// The section's variables (the AccessKey pair is the providers section's).
pub(super) const VARIABLES: [Var; 2] = [Var::plain(ALIYUN_DYPNS_BASE_URL), SIGNUP_TICKET_TTL_SECONDS.var()];

/// The Aliyun account `GetMobile` is called with.
#[derive(Debug, Clone)]
pub struct OneTapConfig {
    pub access_key_id: String,
    pub access_key_secret: SecretString,
    /// [`ALIYUN_DYPNS_DEFAULT_BASE_URL`] unless testing; no trailing slash.
    pub base_url: String,
    pub timeout: Duration,
}

/// One-tap's part of the configuration.
#[derive(Debug, Clone)]
pub struct OneTapSection {
    /// `None`: one-tap is off (`POST /one_tap_login/` answers `one_tap_disabled`).
    pub carrier: Option<OneTapConfig>,
    /// Seconds a signup ticket lasts.
    pub ticket_ttl: i64,
}

impl Default for OneTapSection {
    fn default() -> Self {
        Self { carrier: None, ticket_ttl: SIGNUP_TICKET_TTL_SECONDS.default }
    }
}

impl OneTapSection {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let base_url = base_url(env, ALIYUN_DYPNS_BASE_URL, ALIYUN_DYPNS_DEFAULT_BASE_URL)?;
        let ticket_ttl = SIGNUP_TICKET_TTL_SECONDS.read(env)?;
        // Both halves of the pair, or one-tap is off: a function that holds
        // only the secret (from the shared secret) does not call GetMobile.
        let carrier = match (env.get(ALIYUN_ACCESS_KEY_ID), env.get(ALIYUN_ACCESS_KEY_SECRET)) {
            (Some(id), Some(secret)) => Some(OneTapConfig {
                access_key_id: id.trim().to_owned(),
                access_key_secret: SecretString::from(secret.trim().to_owned()),
                base_url,
                timeout: ONE_TAP_TIMEOUT,
            }),
            _ => None,
        };
        Ok(Self { carrier, ticket_ttl })
    }
}
