//! The caps on codes, captchas and logins (see `service::Limits`).

use super::ConfigError;
use super::var::{Env, Number, Var};

pub const SMS_PER_MOBILE_PER_DAY: Number = Number::count("SMS_PER_MOBILE_PER_DAY", 10);
pub const SMS_PER_IP_PER_HOUR: Number = Number::count("SMS_PER_IP_PER_HOUR", 20);
pub const SMS_PER_MINUTE: Number = Number::count("SMS_PER_MINUTE", 300);
pub const CAPTCHAS_PER_IP_PER_MINUTE: Number = Number::count("CAPTCHAS_PER_IP_PER_MINUTE", 60);
pub const CAPTCHA_FAILURES_PER_IP_PER_HOUR: Number = Number::count("CAPTCHA_FAILURES_PER_IP_PER_HOUR", 30);
pub const SMS_CODE_FAILURES_PER_IP_PER_HOUR: Number = Number::count("SMS_CODE_FAILURES_PER_IP_PER_HOUR", 30);
pub const LOGIN_FAILURES_PER_ACCOUNT: Number = Number::count("LOGIN_FAILURES_PER_ACCOUNT", 5);
pub const LOGIN_FAILURES_PER_IP_PER_HOUR: Number = Number::count("LOGIN_FAILURES_PER_IP_PER_HOUR", 50);
pub const LOGIN_FAILURES_PER_IP_BEFORE_CAPTCHA: Number = Number::count("LOGIN_FAILURES_PER_IP_BEFORE_CAPTCHA", 10);
/// `GetMobile` calls (each costs money) from one client per hour.
pub const ONE_TAP_PER_IP_PER_HOUR: Number = Number::count("ONE_TAP_PER_IP_PER_HOUR", 30);
/// Requests from one client per hour that reach WeChat's API
/// (`jscode2session`, the paid `getuserphonenumber`).
pub const WECHAT_PER_IP_PER_HOUR: Number = Number::count("WECHAT_PER_IP_PER_HOUR", 30);
pub const SMS_PREFIX_DIGITS: Number =
    Number { name: "SMS_PREFIX_DIGITS", default: 7, min: 1, max: 11, unit: "how many leading digits make a prefix" };
pub const SMS_PREFIX_FREE_SENDS: Number = Number::count("SMS_PREFIX_FREE_SENDS", 30);
pub const SMS_PREFIX_CREDIT_PER_VERIFY: Number =
    Number { name: "SMS_PREFIX_CREDIT_PER_VERIFY", default: 3, min: 0, max: 1_000, unit: "a whole number" };

/// The section's variables.
pub(super) const VARIABLES: [Var; 14] = [
    SMS_PER_MOBILE_PER_DAY.var(),
    SMS_PER_IP_PER_HOUR.var(),
    SMS_PER_MINUTE.var(),
    CAPTCHAS_PER_IP_PER_MINUTE.var(),
    CAPTCHA_FAILURES_PER_IP_PER_HOUR.var(),
    SMS_CODE_FAILURES_PER_IP_PER_HOUR.var(),
    LOGIN_FAILURES_PER_ACCOUNT.var(),
    LOGIN_FAILURES_PER_IP_PER_HOUR.var(),
    LOGIN_FAILURES_PER_IP_BEFORE_CAPTCHA.var(),
    ONE_TAP_PER_IP_PER_HOUR.var(),
    WECHAT_PER_IP_PER_HOUR.var(),
    SMS_PREFIX_DIGITS.var(),
    SMS_PREFIX_FREE_SENDS.var(),
    SMS_PREFIX_CREDIT_PER_VERIFY.var(),
];

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
    /// Failed logins per account name as typed per 15 minutes before each
    /// further login with that name needs a captcha (never a lock-out: the
    /// owner who knows the password always gets in).
    pub login_failures_per_account: i64,
    /// Failed logins per client per hour: the hard cap, captcha or not.
    pub login_failures_per_ip_per_hour: i64,
    /// Failed logins per client per hour before each further login from it
    /// needs a captcha.
    pub login_failures_per_ip_before_captcha: i64,
    /// One-tap logins (`GetMobile` calls) per client per hour.
    pub one_tap_per_ip_per_hour: i64,
    /// WeChat logins, phone proofs and links (calls to WeChat) per client per hour.
    pub wechat_per_ip_per_hour: i64,
    /// Sends per number prefix, refilled by verifications.
    pub prefix_allowance: PrefixAllowance,
}

impl Default for LimitsConfig {
    /// Every variable's default.
    fn default() -> Self {
        Self {
            sms_per_mobile_per_day: SMS_PER_MOBILE_PER_DAY.default,
            sms_per_ip_per_hour: SMS_PER_IP_PER_HOUR.default,
            sms_per_minute: SMS_PER_MINUTE.default,
            captchas_per_ip_per_minute: CAPTCHAS_PER_IP_PER_MINUTE.default,
            captcha_failures_per_ip_per_hour: CAPTCHA_FAILURES_PER_IP_PER_HOUR.default,
            sms_code_failures_per_ip_per_hour: SMS_CODE_FAILURES_PER_IP_PER_HOUR.default,
            login_failures_per_account: LOGIN_FAILURES_PER_ACCOUNT.default,
            login_failures_per_ip_per_hour: LOGIN_FAILURES_PER_IP_PER_HOUR.default,
            login_failures_per_ip_before_captcha: LOGIN_FAILURES_PER_IP_BEFORE_CAPTCHA.default,
            one_tap_per_ip_per_hour: ONE_TAP_PER_IP_PER_HOUR.default,
            wechat_per_ip_per_hour: WECHAT_PER_IP_PER_HOUR.default,
            prefix_allowance: PrefixAllowance::default(),
        }
    }
}

impl LimitsConfig {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        Ok(Self {
            sms_per_mobile_per_day: SMS_PER_MOBILE_PER_DAY.read(env)?,
            sms_per_ip_per_hour: SMS_PER_IP_PER_HOUR.read(env)?,
            sms_per_minute: SMS_PER_MINUTE.read(env)?,
            captchas_per_ip_per_minute: CAPTCHAS_PER_IP_PER_MINUTE.read(env)?,
            captcha_failures_per_ip_per_hour: CAPTCHA_FAILURES_PER_IP_PER_HOUR.read(env)?,
            sms_code_failures_per_ip_per_hour: SMS_CODE_FAILURES_PER_IP_PER_HOUR.read(env)?,
            login_failures_per_account: LOGIN_FAILURES_PER_ACCOUNT.read(env)?,
            login_failures_per_ip_per_hour: LOGIN_FAILURES_PER_IP_PER_HOUR.read(env)?,
            login_failures_per_ip_before_captcha: LOGIN_FAILURES_PER_IP_BEFORE_CAPTCHA.read(env)?,
            one_tap_per_ip_per_hour: ONE_TAP_PER_IP_PER_HOUR.read(env)?,
            wechat_per_ip_per_hour: WECHAT_PER_IP_PER_HOUR.read(env)?,
            prefix_allowance: PrefixAllowance {
                // In 1..=11 by its range.
                digits: usize::try_from(SMS_PREFIX_DIGITS.read(env)?).unwrap_or(7),
                free_sends: SMS_PREFIX_FREE_SENDS.read(env)?,
                credit_per_verify: SMS_PREFIX_CREDIT_PER_VERIFY.read(env)?,
            },
        })
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
        Self {
            digits: usize::try_from(SMS_PREFIX_DIGITS.default).unwrap_or(7),
            free_sends: SMS_PREFIX_FREE_SENDS.default,
            credit_per_verify: SMS_PREFIX_CREDIT_PER_VERIFY.default,
        }
    }
}
