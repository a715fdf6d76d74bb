//! Configuration, read once per cold start from the environment.

use crate::domain::{Mobile, SmsCode};
use secrecy::SecretString;
use std::fmt;

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
pub const SMS_PREFIX_DIGITS: &str = "SMS_PREFIX_DIGITS";
pub const SMS_PREFIX_FREE_SENDS: &str = "SMS_PREFIX_FREE_SENDS";
pub const SMS_PREFIX_CREDIT_PER_VERIFY: &str = "SMS_PREFIX_CREDIT_PER_VERIFY";
pub const SMS_TEST_NUMBERS: &str = "SMS_TEST_NUMBERS";
pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";

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
    SMS_PREFIX_DIGITS,
    SMS_PREFIX_FREE_SENDS,
    SMS_PREFIX_CREDIT_PER_VERIFY,
    SMS_TEST_NUMBERS,
    METRICS_NAMESPACE,
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
    /// Sends per number prefix, refilled by verifications.
    pub prefix_allowance: PrefixAllowance,
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
            prefix_allowance: PrefixAllowance::default(),
        }
    }
}

/// Conversion-guarded sending: each number prefix (the carrier block) may
/// be sent `free_sends` codes an hour, and each code verified under it adds
/// `credit_per_verify` more, so that sends nobody enters (SMS pumping) soon
/// stop while real sign-ups never do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixAllowance {
    /// How many leading digits make a prefix.
    pub digits: usize,
    pub free_sends: i64,
    pub credit_per_verify: i64,
}

impl Default for PrefixAllowance {
    fn default() -> Self {
        Self { digits: 7, free_sends: 30, credit_per_verify: 3 }
    }
}

/// Numbers that get a fixed code and no SMS, for app-store review and QA
/// (`SMS_TEST_NUMBERS`, `number:code` pairs). `Debug` shows masked numbers only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TestNumbers(Vec<(Mobile, SmsCode)>);

impl TestNumbers {
    /// At most this many pairs: test numbers are an exception, not a pool.
    pub const MAX: usize = 10;

    /// The fixed code of `mobile`, if it is a test number.
    pub fn code_for(&self, mobile: &Mobile) -> Option<&SmsCode> {
        self.0.iter().find(|(number, _)| number == mobile).map(|(_, code)| code)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses `number:code,number:code`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::Invalid { name: SMS_TEST_NUMBERS, reason };
        let pairs = text
            .split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (number, code) = pair.split_once(':').ok_or(invalid("expected number:code pairs"))?;
                let number =
                    Mobile::parse(number.trim()).map_err(|_| invalid("a test number is not a mobile number"))?;
                let code = SmsCode::parse(code.trim()).map_err(|_| invalid("a test code is not six digits"))?;
                Ok((number, code))
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        if pairs.len() > Self::MAX {
            return Err(invalid("at most 10 test numbers"));
        }
        if pairs.iter().enumerate().any(|(i, (number, _))| pairs[..i].iter().any(|(earlier, _)| earlier == number)) {
            return Err(invalid("a test number is listed twice"));
        }
        Ok(Self(pairs))
    }
}

impl fmt::Debug for TestNumbers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter().map(|(number, _)| number.masked().to_string())).finish()
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
    pub test_numbers: TestNumbers,
    /// The CloudWatch namespace of the metrics.
    pub metrics_namespace: String,
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

        let allowance_defaults = PrefixAllowance::default();
        let prefix_allowance = PrefixAllowance {
            digits: usize::try_from(number(
                SMS_PREFIX_DIGITS,
                7,
                11,
                "expected how many leading digits make a prefix, 1 to 11",
            )?)
            .unwrap_or(7),
            free_sends: count(SMS_PREFIX_FREE_SENDS, allowance_defaults.free_sends)?,
            credit_per_verify: match get(SMS_PREFIX_CREDIT_PER_VERIFY) {
                None => allowance_defaults.credit_per_verify,
                Some(value) => match value.trim().parse::<i64>() {
                    Ok(n) if (0..=1_000).contains(&n) => n,
                    _ => {
                        return Err(ConfigError::Invalid {
                            name: SMS_PREFIX_CREDIT_PER_VERIFY,
                            reason: "expected a whole number from 0 to 1000",
                        });
                    }
                },
            },
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
            prefix_allowance,
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

        let test_numbers = get(SMS_TEST_NUMBERS).map(|text| TestNumbers::parse(&text)).transpose()?.unwrap_or_default();
        let metrics_namespace =
            get(METRICS_NAMESPACE).unwrap_or_else(|| crate::telemetry::metrics::DEFAULT_NAMESPACE.to_owned());
        let valid_namespace =
            |ns: &str| ns.len() <= 255 && ns.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_/#:".contains(&b));
        if !valid_namespace(&metrics_namespace) {
            return Err(ConfigError::Invalid {
                name: METRICS_NAMESPACE,
                reason: "expected letters, digits and . - _ / # : only",
            });
        }

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
        Ok(Self {
            table_name: get(TABLE_NAME),
            lifetimes,
            limits,
            sms_number_prefixes,
            ronglian,
            sms_code_key,
            test_numbers,
            metrics_namespace,
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
    fn test_numbers_are_number_code_pairs_at_most_ten_and_their_codes_never_show() {
        let config = config(&[(SMS_TEST_NUMBERS, " 13800000000:246810 , 13900000001:135790")]).unwrap();
        let number = Mobile::parse("13800000000").unwrap();
        assert_eq!(config.test_numbers.code_for(&number).map(SmsCode::as_str), Some("246810"));
        assert_eq!(config.test_numbers.code_for(&Mobile::parse("13800000001").unwrap()), None);
        let debug = format!("{config:?}");
        assert!(!debug.contains("246810") && !debug.contains("13800000000"), "{debug}");
        let eleven: Vec<String> = (0..11).map(|i| format!("138000000{i:02}:123456")).collect();
        let twice = "13800000000:123456,13800000000:654321";
        for bad in ["13800000000", "13800000000:12345", "12345:123456", twice, eleven.join(",").as_str()] {
            assert!(
                matches!(config_of(SMS_TEST_NUMBERS, bad), Err(ConfigError::Invalid { name: SMS_TEST_NUMBERS, .. })),
                "{bad}"
            );
        }
        assert!(config_of(SMS_TEST_NUMBERS, "").unwrap().test_numbers.is_empty());
    }

    fn config_of(name: &str, value: &str) -> Result<Config, ConfigError> {
        config(&[(name, value)])
    }

    #[test]
    fn the_prefix_allowance_defaults_to_7_digits_30_free_and_3_per_verification() {
        assert_eq!(
            config(&[]).unwrap().limits.prefix_allowance,
            PrefixAllowance { digits: 7, free_sends: 30, credit_per_verify: 3 }
        );
        assert_eq!(config_of(SMS_PREFIX_CREDIT_PER_VERIFY, "0").unwrap().limits.prefix_allowance.credit_per_verify, 0);
        for (name, bad) in
            [(SMS_PREFIX_DIGITS, "12"), (SMS_PREFIX_FREE_SENDS, "0"), (SMS_PREFIX_CREDIT_PER_VERIFY, "-1")]
        {
            assert!(
                matches!(config_of(name, bad), Err(ConfigError::Invalid { name: n, .. }) if n == name),
                "{name}={bad}"
            );
        }
        assert!(config_of(METRICS_NAMESPACE, "bad namespace!").is_err());
        assert_eq!(config(&[]).unwrap().metrics_namespace, "PhoneVerify");
    }

    #[test]
    fn the_auth_token_never_shows_in_debug_output() {
        let config = config(&RONGLIAN).unwrap();
        assert!(!format!("{config:?}").contains("\"token\""), "{config:?}");
    }
}
