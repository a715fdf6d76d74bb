//! WeChat mini-program login: the mini program's AppID and AppSecret. On
//! when both are set; the secret lives where every secret does (the
//! Secrets Manager secret deployed, the environment locally).

use super::ConfigError;
use super::var::{Env, Var, base_url};
use secrecy::SecretString;
use std::time::Duration;

pub const WECHAT_APP_ID: &str = "WECHAT_APP_ID";
pub const WECHAT_APP_SECRET: &str = "WECHAT_APP_SECRET";
pub const WECHAT_BASE_URL: &str = "WECHAT_BASE_URL";
/// WeChat's API.
pub const WECHAT_DEFAULT_BASE_URL: &str = "https://api.weixin.qq.com";
/// How long one WeChat call may take.
pub const WECHAT_TIMEOUT: Duration = Duration::from_secs(5);

/// The section's variables.
pub(super) const VARIABLES: [Var; 3] =
    [Var::plain(WECHAT_APP_ID), Var::secret(WECHAT_APP_SECRET), Var::plain(WECHAT_BASE_URL)];

/// A mini program's credentials.
#[derive(Debug, Clone)]
pub struct WeChatConfig {
    /// `wx…`, the mini program's AppID.
    pub app_id: String,
    pub app_secret: SecretString,
    /// [`WECHAT_DEFAULT_BASE_URL`] unless testing; no trailing slash.
    pub base_url: String,
    pub timeout: Duration,
}

/// `Some` when both the AppID and the AppSecret are set.
pub(super) fn read(env: &Env<'_>) -> Result<Option<WeChatConfig>, ConfigError> {
    let base_url = base_url(env, WECHAT_BASE_URL, WECHAT_DEFAULT_BASE_URL)?;
    Ok(match (env.get(WECHAT_APP_ID), env.get(WECHAT_APP_SECRET)) {
        (Some(app_id), Some(secret)) => Some(WeChatConfig {
            app_id: app_id.trim().to_owned(),
            app_secret: SecretString::from(secret.trim().to_owned()),
            base_url,
            timeout: WECHAT_TIMEOUT,
        }),
        _ => None,
    })
}
