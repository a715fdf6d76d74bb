//! Configuration, read once per cold start from the environment.

use secrecy::SecretString;

pub const TABLE_NAME: &str = "TABLE_NAME";
pub const CAPTCHA_TTL_SECONDS: &str = "CAPTCHA_TTL_SECONDS";
pub const SMS_COOLDOWN_SECONDS: &str = "SMS_COOLDOWN_SECONDS";
pub const SMS_CODE_TTL_SECONDS: &str = "SMS_CODE_TTL_SECONDS";
pub const SESSION_TTL_SECONDS: &str = "SESSION_TTL_SECONDS";
pub const SMS_PER_MOBILE_PER_DAY: &str = "SMS_PER_MOBILE_PER_DAY";
pub const SMS_PER_IP_PER_HOUR: &str = "SMS_PER_IP_PER_HOUR";
pub const SMS_PER_MINUTE: &str = "SMS_PER_MINUTE";
pub const CAPTCHAS_PER_IP_PER_MINUTE: &str = "CAPTCHAS_PER_IP_PER_MINUTE";
pub const SMS_NUMBER_PREFIXES: &str = "SMS_NUMBER_PREFIXES";
pub const CAPTCHA_FAILURES_PER_IP_PER_HOUR: &str = "CAPTCHA_FAILURES_PER_IP_PER_HOUR";
pub const SMS_CODE_FAILURES_PER_IP_PER_HOUR: &str = "SMS_CODE_FAILURES_PER_IP_PER_HOUR";
pub const SMS_CODE_KEY: &str = "SMS_CODE_KEY";
pub const LOGIN_FAILURES_PER_ACCOUNT: &str = "LOGIN_FAILURES_PER_ACCOUNT";
pub const LOGIN_FAILURES_PER_IP_PER_HOUR: &str = "LOGIN_FAILURES_PER_IP_PER_HOUR";
pub const RONGLIAN_ACCOUNT_SID: &str = "RONGLIAN_ACCOUNT_SID";
pub const RONGLIAN_AUTH_TOKEN: &str = "RONGLIAN_AUTH_TOKEN";
pub const RONGLIAN_APP_ID: &str = "RONGLIAN_APP_ID";
pub const RONGLIAN_TEMPLATE_ID: &str = "RONGLIAN_TEMPLATE_ID";
pub const RONGLIAN_BASE_URL: &str = "RONGLIAN_BASE_URL";

/// Every variable the code reads, for the template consistency check.
/// (`AWS_ENDPOINT_URL_DYNAMODB` and the other `AWS_*` ones are the SDK's.)
pub const VARIABLES: &[&str] = &[
    TABLE_NAME,
    CAPTCHA_TTL_SECONDS,
    SMS_COOLDOWN_SECONDS,
    SMS_CODE_TTL_SECONDS,
    SESSION_TTL_SECONDS,
    SMS_PER_MOBILE_PER_DAY,
    SMS_PER_IP_PER_HOUR,
    SMS_PER_MINUTE,
    CAPTCHAS_PER_IP_PER_MINUTE,
    SMS_NUMBER_PREFIXES,
    CAPTCHA_FAILURES_PER_IP_PER_HOUR,
    SMS_CODE_FAILURES_PER_IP_PER_HOUR,
    SMS_CODE_KEY,
    LOGIN_FAILURES_PER_ACCOUNT,
    LOGIN_FAILURES_PER_IP_PER_HOUR,
    RONGLIAN_ACCOUNT_SID,
    RONGLIAN_AUTH_TOKEN,
    RONGLIAN_APP_ID,
    RONGLIAN_TEMPLATE_ID,
    RONGLIAN_BASE_URL,
];

/// Ronglian's production endpoint.
pub const RONGLIAN_DEFAULT_BASE_URL: &str = "https://app.cloopen.com:8883";

/// What is wrong with the environment; names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: &'static str },
    #[error("{set} is set but {missing} is not: set all RONGLIAN_* credentials or none")]
    PartialRonglian { set: &'static str, missing: &'static str },
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
    /// The original Django app's: captcha 300 s, cooldown and code 180 s,
    /// session 14 days (Django's `SESSION_COOKIE_AGE`).
    fn default() -> Self {
        Self { captcha: 300, sms_cooldown: 180, sms_code: 180, session: 14 * 24 * 3600 }
    }
}

/// Caps on codes and captchas (see `service::Limits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsConfig {
    pub sms_per_mobile_per_day: i64,
    pub sms_per_ip_per_hour: i64,
    /// The circuit breaker: SMS per minute for the whole deployment.
    pub sms_per_minute: i64,
    pub captchas_per_ip_per_minute: i64,
    /// Wrong or unknown captcha answers per client per hour.
    pub captcha_failures_per_ip_per_hour: i64,
    /// Wrong SMS-code guesses per client per hour.
    pub sms_code_failures_per_ip_per_hour: i64,
    /// Failed logins per account per 15 minutes before it is locked.
    pub login_failures_per_account: i64,
    /// Failed logins per client per hour.
    pub login_failures_per_ip_per_hour: i64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            sms_per_mobile_per_day: 10,
            sms_per_ip_per_hour: 20,
            sms_per_minute: 300,
            captchas_per_ip_per_minute: 60,
            captcha_failures_per_ip_per_hour: 30,
            sms_code_failures_per_ip_per_hour: 30,
            login_failures_per_account: 5,
            login_failures_per_ip_per_hour: 50,
        }
    }
}

/// Credentials and template of a Ronglian Cloud account.
#[derive(Debug, Clone)]
pub struct RonglianConfig {
    pub account_sid: String,
    pub auth_token: SecretString,
    pub app_id: String,
    pub template_id: String,
    pub base_url: String,
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
    pub ronglian: Option<RonglianConfig>,
    /// The key SMS codes are stored under (HMAC-SHA256), at least 32 bytes.
    pub sms_code_key: Option<SecretString>,
}

/// Every mainland China mobile number: what `Mobile` accepts at all.
pub const DEFAULT_SMS_NUMBER_PREFIXES: &str = "13,14,15,16,17,18,19";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads through `lookup`, which returns a variable's value if set; empty
    /// values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let number = |name: &'static str, default: i64, max: i64, reason: &'static str| -> Result<i64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(value) => match value.trim().parse::<i64>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(n),
                    _ => Err(ConfigError::Invalid { name, reason }),
                },
            }
        };
        let seconds =
            |name, default| number(name, default, 366 * 24 * 3600, "expected whole seconds from 1 to 31622400");
        let count = |name, default| number(name, default, 1_000_000, "expected a whole number from 1 to 1000000");
        let defaults = Lifetimes::default();
        let lifetimes = Lifetimes {
            captcha: seconds(CAPTCHA_TTL_SECONDS, defaults.captcha)?,
            sms_cooldown: seconds(SMS_COOLDOWN_SECONDS, defaults.sms_cooldown)?,
            sms_code: seconds(SMS_CODE_TTL_SECONDS, defaults.sms_code)?,
            session: seconds(SESSION_TTL_SECONDS, defaults.session)?,
        };

        let limit_defaults = LimitsConfig::default();
        let limits = LimitsConfig {
            sms_per_mobile_per_day: count(SMS_PER_MOBILE_PER_DAY, limit_defaults.sms_per_mobile_per_day)?,
            sms_per_ip_per_hour: count(SMS_PER_IP_PER_HOUR, limit_defaults.sms_per_ip_per_hour)?,
            sms_per_minute: count(SMS_PER_MINUTE, limit_defaults.sms_per_minute)?,
            captchas_per_ip_per_minute: count(CAPTCHAS_PER_IP_PER_MINUTE, limit_defaults.captchas_per_ip_per_minute)?,
            captcha_failures_per_ip_per_hour: count(
                CAPTCHA_FAILURES_PER_IP_PER_HOUR,
                limit_defaults.captcha_failures_per_ip_per_hour,
            )?,
            sms_code_failures_per_ip_per_hour: count(
                SMS_CODE_FAILURES_PER_IP_PER_HOUR,
                limit_defaults.sms_code_failures_per_ip_per_hour,
            )?,
            login_failures_per_account: count(LOGIN_FAILURES_PER_ACCOUNT, limit_defaults.login_failures_per_account)?,
            login_failures_per_ip_per_hour: count(
                LOGIN_FAILURES_PER_IP_PER_HOUR,
                limit_defaults.login_failures_per_ip_per_hour,
            )?,
        };
        let sms_code_key = match get(SMS_CODE_KEY) {
            Some(key) if key.len() >= 32 => Some(SecretString::from(key)),
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: SMS_CODE_KEY,
                    reason: "expected at least 32 characters of random text",
                });
            }
            None => None,
        };

        let prefixes = get(SMS_NUMBER_PREFIXES).unwrap_or_else(|| DEFAULT_SMS_NUMBER_PREFIXES.to_owned());
        let sms_number_prefixes: Vec<String> =
            prefixes.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect();
        let valid_prefix =
            |p: &String| (1..=11).contains(&p.len()) && p.starts_with('1') && p.bytes().all(|b| b.is_ascii_digit());
        if sms_number_prefixes.is_empty() || !sms_number_prefixes.iter().all(valid_prefix) {
            return Err(ConfigError::Invalid {
                name: SMS_NUMBER_PREFIXES,
                reason: "expected comma-separated digit prefixes of mobile numbers, such as 13,15,18",
            });
        }

        let credentials = [RONGLIAN_ACCOUNT_SID, RONGLIAN_AUTH_TOKEN, RONGLIAN_APP_ID, RONGLIAN_TEMPLATE_ID];
        let values: Vec<Option<String>> = credentials.iter().map(|name| get(name)).collect();
        let ronglian =
            match (credentials.iter().zip(&values).find(|(_, v)| v.is_some()), values.iter().all(Option::is_some)) {
                (None, _) => None,
                (Some((set, _)), false) => {
                    let missing =
                        credentials.iter().zip(&values).find(|(_, v)| v.is_none()).map_or("", |(name, _)| name);
                    return Err(ConfigError::PartialRonglian { set, missing });
                }
                (Some(_), true) => {
                    let mut values = values.into_iter().flatten();
                    let mut next = || values.next().unwrap_or_default();
                    let (account_sid, auth_token, app_id, template_id) = (next(), next(), next(), next());
                    if !template_id.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(ConfigError::Invalid {
                            name: RONGLIAN_TEMPLATE_ID,
                            reason: "expected a numeric template id",
                        });
                    }
                    let base_url = get(RONGLIAN_BASE_URL).unwrap_or_else(|| RONGLIAN_DEFAULT_BASE_URL.to_owned());
                    if !(base_url.starts_with("https://") || is_loopback_http(&base_url)) {
                        return Err(ConfigError::Invalid {
                            name: RONGLIAN_BASE_URL,
                            reason: "expected an https URL (plain http only on loopback, for tests)",
                        });
                    }
                    Some(RonglianConfig {
                        account_sid,
                        auth_token: SecretString::from(auth_token),
                        app_id,
                        template_id,
                        base_url: base_url.trim_end_matches('/').to_owned(),
                    })
                }
            };
        Ok(Self { table_name: get(TABLE_NAME), lifetimes, limits, sms_number_prefixes, ronglian, sms_code_key })
    }

    /// The SMS code key, which the functions that store or check codes need.
    pub fn require_sms_code_key(&self) -> Result<&SecretString, ConfigError> {
        self.sms_code_key.as_ref().ok_or(ConfigError::Missing(SMS_CODE_KEY))
    }

    /// The table name, which every Lambda needs.
    pub fn require_table(&self) -> Result<&str, ConfigError> {
        self.table_name.as_deref().ok_or(ConfigError::Missing(TABLE_NAME))
    }

    /// The Ronglian account, which the SMS Lambda needs.
    pub fn require_ronglian(&self) -> Result<&RonglianConfig, ConfigError> {
        self.ronglian.as_ref().ok_or(ConfigError::Missing(RONGLIAN_ACCOUNT_SID))
    }
}

/// `http://` to a loopback host: the only plain-HTTP provider address allowed.
fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(
        host,
        |(host, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) { host } else { rest }
        },
    );
    host == "localhost" || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    const RONGLIAN: [(&str, &str); 4] = [
        (RONGLIAN_ACCOUNT_SID, "sid"),
        (RONGLIAN_AUTH_TOKEN, "token"),
        (RONGLIAN_APP_ID, "app"),
        (RONGLIAN_TEMPLATE_ID, "1"),
    ];

    #[test]
    fn an_empty_environment_gives_the_original_lifetimes_and_no_ronglian() {
        let config = config(&[]).unwrap();
        assert_eq!(config.lifetimes, Lifetimes { captcha: 300, sms_cooldown: 180, sms_code: 180, session: 1_209_600 });
        assert!(config.ronglian.is_none());
        assert_eq!(config.require_table(), Err(ConfigError::Missing(TABLE_NAME)));
    }

    #[test]
    fn lifetimes_can_be_overridden() {
        let config = config(&[(SMS_COOLDOWN_SECONDS, "60")]).unwrap();
        assert_eq!(config.lifetimes.sms_cooldown, 60);
    }

    #[test]
    fn a_lifetime_that_is_not_a_positive_number_names_the_variable() {
        for bad in ["0", "-5", "ten", "1.5"] {
            let error = config(&[(CAPTCHA_TTL_SECONDS, bad)]).unwrap_err();
            assert!(error.to_string().starts_with(CAPTCHA_TTL_SECONDS), "{error}");
        }
    }

    #[test]
    fn limits_default_to_10_a_day_20_an_hour_300_a_minute_and_60_captchas_a_minute() {
        assert_eq!(config(&[]).unwrap().limits, LimitsConfig::default());
        assert_eq!(config(&[(SMS_PER_MINUTE, "5")]).unwrap().limits.sms_per_minute, 5);
        assert!(matches!(
            config(&[(SMS_PER_IP_PER_HOUR, "0")]),
            Err(ConfigError::Invalid { name: SMS_PER_IP_PER_HOUR, .. })
        ));
    }

    #[test]
    fn number_prefixes_default_to_every_mainland_mobile_and_reject_junk() {
        assert_eq!(config(&[]).unwrap().sms_number_prefixes.len(), 7);
        assert_eq!(config(&[(SMS_NUMBER_PREFIXES, " 139, 186 ")]).unwrap().sms_number_prefixes, vec!["139", "186"]);
        for bad in [",", "+86", "23", "13a"] {
            assert!(config(&[(SMS_NUMBER_PREFIXES, bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn all_four_credentials_give_a_ronglian_config_with_the_default_url() {
        let ronglian = config(&RONGLIAN).unwrap().ronglian.unwrap();
        assert_eq!(ronglian.account_sid, "sid");
        assert_eq!(secrecy::ExposeSecret::expose_secret(&ronglian.auth_token), "token");
        assert_eq!(ronglian.base_url, RONGLIAN_DEFAULT_BASE_URL);
    }

    #[test]
    fn a_partial_set_of_credentials_names_what_is_missing() {
        let error = config(&RONGLIAN[..3]).err().unwrap();
        assert_eq!(error, ConfigError::PartialRonglian { set: RONGLIAN_ACCOUNT_SID, missing: RONGLIAN_TEMPLATE_ID });
    }

    #[test]
    fn a_non_numeric_template_id_is_rejected() {
        let mut vars = RONGLIAN.to_vec();
        vars[3] = (RONGLIAN_TEMPLATE_ID, "abc");
        assert!(matches!(config(&vars), Err(ConfigError::Invalid { name: RONGLIAN_TEMPLATE_ID, .. })));
    }

    #[test]
    fn the_provider_url_must_be_https_except_on_loopback() {
        let with_url = |url: &'static str| {
            let mut vars = RONGLIAN.to_vec();
            vars.push((RONGLIAN_BASE_URL, url));
            config(&vars)
        };
        for good in ["https://app.cloopen.com:8883", "http://127.0.0.1:9000", "http://localhost:1", "http://[::1]:80"] {
            assert!(with_url(good).is_ok(), "{good}");
        }
        for bad in ["http://app.cloopen.com:8883", "http://127.0.0.1.evil.com", "ftp://x", "http://localhost.evil:1"] {
            assert!(matches!(with_url(bad), Err(ConfigError::Invalid { name: RONGLIAN_BASE_URL, .. })), "{bad}");
        }
    }

    #[test]
    fn the_sms_code_key_is_required_where_codes_are_kept_and_must_be_long() {
        assert_eq!(config(&[]).unwrap().require_sms_code_key().err(), Some(ConfigError::Missing(SMS_CODE_KEY)));
        assert!(matches!(config(&[(SMS_CODE_KEY, "short")]), Err(ConfigError::Invalid { name: SMS_CODE_KEY, .. })));
        let key = "k".repeat(32);
        assert!(config(&[(SMS_CODE_KEY, &key)]).unwrap().require_sms_code_key().is_ok());
        assert!(!format!("{:?}", config(&[(SMS_CODE_KEY, &key)]).unwrap()).contains(&key));
    }

    #[test]
    fn the_auth_token_never_shows_in_debug_output() {
        let config = config(&RONGLIAN).unwrap();
        assert!(!format!("{config:?}").contains("\"token\""), "{config:?}");
    }
}
