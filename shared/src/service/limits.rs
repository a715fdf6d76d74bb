//! Fixed-window counters that cap how often codes and captchas are handed
//! out: SMS costs money, and OTP endpoints are the first target of
//! SMS-pumping bots. Each count rides in the request's existing transaction.

use super::{Error, keys};
use crate::clock::EpochSeconds;
use crate::config::LimitsConfig;
use crate::domain::Mobile;
use crate::store::{Add, Cond, Item, Label, Op, Store, StoreError, Write};

/// Which cap a request hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// SMS to one number per day.
    MobileDaily,
    /// SMS requested from one client IP per hour.
    IpHourly,
    /// SMS for the whole deployment per minute: the circuit breaker.
    Global,
    /// Captchas requested from one client IP per minute.
    CaptchaIp,
    /// Wrong or unknown captcha answers from one client per hour.
    CaptchaFailures,
    /// Wrong SMS-code guesses from one client per hour.
    CodeFailures,
    /// Failed logins under one account name as typed per 15 minutes: past
    /// them each login with that name needs a captcha (never a lock-out).
    LoginAccount,
    /// Failed logins from one client per hour: the hard cap.
    LoginIp,
    /// Failed logins from one client per hour past which each of its
    /// logins needs a captcha: the same counter as [`LimitKind::LoginIp`].
    LoginIpCaptcha,
    /// SMS to one number prefix per hour beyond what verifications earned:
    /// the conversion guard against SMS pumping.
    PrefixAllowance,
    /// One-tap logins (paid `GetMobile` calls) from one client per hour.
    OneTapIp,
    /// Requests that reach WeChat's API (`/wechat_login/`, `/wechat_phone/`,
    /// `POST /account/wechat/`) from one client per hour.
    WeChatIp,
}

/// One cap: at most `max` per `window` seconds, counted in windows aligned
/// to the epoch (a day window runs from 00:00 to 24:00 UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub kind: LimitKind,
    pub max: i64,
    pub window: i64,
}

impl Limit {
    /// The counter's name in its key, and the label of its counting write:
    /// the window is full.
    pub fn label(&self) -> Label {
        match self.kind {
            LimitKind::MobileDaily => "sms-mobile-day",
            LimitKind::IpHourly => "sms-ip-hour",
            LimitKind::Global => "sms-all-minute",
            LimitKind::CaptchaIp => "captcha-ip-minute",
            LimitKind::CaptchaFailures => "captcha-failures-ip-hour",
            LimitKind::CodeFailures => "code-failures-ip-hour",
            LimitKind::LoginAccount => "login-failures-account",
            LimitKind::LoginIp | LimitKind::LoginIpCaptcha => "login-failures-ip-hour",
            LimitKind::PrefixAllowance => "sms-prefix-hour",
            LimitKind::OneTapIp => "one-tap-ip-hour",
            LimitKind::WeChatIp => "wechat-ip-hour",
        }
    }

    fn key(&self, subject: &str, now: EpochSeconds) -> (String, EpochSeconds) {
        let index = now.div_euclid(self.window);
        (format!("limit#{}#{subject}#{index}", self.label()), (index + 1) * self.window)
    }

    /// Counts one more, unless the window's count has reached `max`; the
    /// write is labelled [`Limit::label`].
    pub fn count(&self, subject: &str, now: EpochSeconds) -> Write {
        let (pk, expires_at) = self.key(subject, now);
        Op::Add(Add {
            pk,
            attribute: keys::COUNT,
            by: 1,
            expires_at: Some(expires_at),
            cond: Cond::Below { attribute: keys::COUNT, limit: self.max },
        })
        .labelled(self.label())
    }

    /// Passes while the window's count is below `max`, counting nothing:
    /// a cap that failures fill and a success must respect.
    pub fn check(&self, subject: &str, now: EpochSeconds) -> Write {
        let (pk, _) = self.key(subject, now);
        Op::Check { pk, cond: Cond::Below { attribute: keys::COUNT, limit: self.max } }.labelled(self.label())
    }

    /// Counts one failure with one UpdateItem; a refusal once the window is full.
    pub async fn count_failure<S: Store>(&self, store: &S, subject: &str, now: EpochSeconds) -> Result<(), Error> {
        self.take(store, subject, now).await
    }

    /// Takes one from the window with one UpdateItem, before the work it
    /// pays for; a refusal once the window is full.
    pub async fn take<S: Store>(&self, store: &S, subject: &str, now: EpochSeconds) -> Result<(), Error> {
        let (pk, expires_at) = self.key(subject, now);
        let cond = Cond::Below { attribute: keys::COUNT, limit: self.max };
        let add = Add { pk, attribute: keys::COUNT, by: 1, expires_at: Some(expires_at), cond };
        match store.add(add, now).await {
            Ok(_) => Ok(()),
            Err(StoreError::ConditionFailed { current }) => Err(self.refusal(current.as_ref(), now)),
            Err(error) => Err(error.into()),
        }
    }

    /// Counts one more with no condition: for failures that must all count.
    pub fn count_always(&self, subject: &str, now: EpochSeconds) -> Write {
        let (pk, expires_at) = self.key(subject, now);
        Op::Add(Add { pk, attribute: keys::COUNT, by: 1, expires_at: Some(expires_at), cond: Cond::Always })
            .labelled(self.label())
    }

    /// Deletes the window's count, whatever it is: a login that succeeded
    /// under a name clears that name's failures.
    pub fn reset(&self, subject: &str, now: EpochSeconds) -> Write {
        let (pk, _) = self.key(subject, now);
        Op::Delete { pk, cond: Cond::Always }.labelled(self.label())
    }

    /// Refuses once the window's count has reached `max`, counting nothing:
    /// one UpdateItem that adds 0 under the cap's condition (a function
    /// that may not read the table can still ask), for a refusal before
    /// work a full cap would waste.
    pub async fn refuses<S: Store>(&self, store: &S, subject: &str, now: EpochSeconds) -> Result<(), Error> {
        let (pk, expires_at) = self.key(subject, now);
        let cond = Cond::Below { attribute: keys::COUNT, limit: self.max };
        let ask = Add { pk, attribute: keys::COUNT, by: 0, expires_at: Some(expires_at), cond };
        match store.add(ask, now).await {
            Ok(_) => Ok(()),
            Err(StoreError::ConditionFailed { current }) => Err(self.refusal(current.as_ref(), now)),
            Err(error) => Err(error.into()),
        }
    }

    /// Whether `counter`, as a failed condition saw it, has reached `max`.
    pub fn is_full(&self, counter: Option<&Item>) -> bool {
        counter.and_then(|counter| counter.n(keys::COUNT).ok()).is_some_and(|count| count >= self.max)
    }

    /// Takes `by` off the window's count, whatever it is: a verification
    /// that earns its prefix more sends. The count may go below zero, which
    /// is room for more.
    pub fn credit(&self, subject: &str, by: i64, now: EpochSeconds) -> Write {
        let (pk, expires_at) = self.key(subject, now);
        Op::Add(Add { pk, attribute: keys::COUNT, by: -by, expires_at: Some(expires_at), cond: Cond::Always })
            .labelled(self.label())
    }

    /// Gives back one count, for a request that failed after counting.
    pub fn give_back(&self, subject: &str, now: EpochSeconds) -> Write {
        let (pk, expires_at) = self.key(subject, now);
        Op::Add(Add { pk, attribute: keys::COUNT, by: -1, expires_at: Some(expires_at), cond: Cond::Always })
            .labelled(self.label())
    }

    /// The refusal for a full window whose counter is `current`.
    pub fn refusal(&self, current: Option<&Item>, now: EpochSeconds) -> Error {
        let window_end = current.and_then(Item::expires_at).unwrap_or(now + self.window);
        Error::RateLimited { kind: self.kind, retry_after: (window_end - now).max(1) }
    }
}

/// Every cap, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub sms_per_mobile: Limit,
    pub sms_per_ip: Limit,
    pub sms_global: Limit,
    pub captchas_per_ip: Limit,
    pub captcha_failures_per_ip: Limit,
    pub code_failures_per_ip: Limit,
    /// Failures per account name before a login with it needs a captcha.
    pub login_failures_per_account: Limit,
    /// Failures per client: the hard cap, captcha or not.
    pub login_failures_per_ip: Limit,
    /// Failures per client before its logins need a captcha (the same
    /// counter as `login_failures_per_ip`, at most its `max`).
    pub login_captcha_per_ip: Limit,
    /// One-tap logins per client per hour.
    pub one_tap_per_ip: Limit,
    /// Requests that reach WeChat's API per client per hour (one counter
    /// for the login, the phone proof and the link).
    pub wechat_per_ip: Limit,
    /// Sends per number prefix per hour before any verification.
    pub sms_per_prefix: Limit,
    /// How many leading digits of a number make its prefix.
    pub prefix_digits: usize,
    /// Sends each verified code adds to its prefix's allowance.
    pub credit_per_verify: i64,
}

impl Limits {
    /// The prefix of `mobile` whose allowance its sends count against.
    pub fn prefix<'a>(&self, mobile: &'a Mobile) -> &'a str {
        let number = mobile.as_str();
        &number[..self.prefix_digits.min(number.len())]
    }
}

impl From<LimitsConfig> for Limits {
    fn from(config: LimitsConfig) -> Self {
        Self {
            sms_per_mobile: Limit { kind: LimitKind::MobileDaily, max: config.sms_per_mobile_per_day, window: 86_400 },
            sms_per_ip: Limit { kind: LimitKind::IpHourly, max: config.sms_per_ip_per_hour, window: 3_600 },
            sms_global: Limit { kind: LimitKind::Global, max: config.sms_per_minute, window: 60 },
            captchas_per_ip: Limit { kind: LimitKind::CaptchaIp, max: config.captchas_per_ip_per_minute, window: 60 },
            captcha_failures_per_ip: Limit {
                kind: LimitKind::CaptchaFailures,
                max: config.captcha_failures_per_ip_per_hour,
                window: 3_600,
            },
            code_failures_per_ip: Limit {
                kind: LimitKind::CodeFailures,
                max: config.sms_code_failures_per_ip_per_hour,
                window: 3_600,
            },
            login_failures_per_account: Limit {
                kind: LimitKind::LoginAccount,
                max: config.login_failures_per_account,
                window: 900,
            },
            login_failures_per_ip: Limit {
                kind: LimitKind::LoginIp,
                max: config.login_failures_per_ip_per_hour,
                window: 3_600,
            },
            login_captcha_per_ip: Limit {
                kind: LimitKind::LoginIpCaptcha,
                max: config.login_failures_per_ip_before_captcha.min(config.login_failures_per_ip_per_hour),
                window: 3_600,
            },
            one_tap_per_ip: Limit { kind: LimitKind::OneTapIp, max: config.one_tap_per_ip_per_hour, window: 3_600 },
            wechat_per_ip: Limit { kind: LimitKind::WeChatIp, max: config.wechat_per_ip_per_hour, window: 3_600 },
            sms_per_prefix: Limit {
                kind: LimitKind::PrefixAllowance,
                max: config.prefix_allowance.free_sends,
                window: 3_600,
            },
            prefix_digits: config.prefix_allowance.digits,
            credit_per_verify: config.prefix_allowance.credit_per_verify,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Limit = Limit { kind: LimitKind::MobileDaily, max: 10, window: 86_400 };

    #[test]
    fn a_window_ends_at_the_next_multiple_of_its_length() {
        let Op::Add(Add { pk, expires_at, .. }) = DAY.count("13800138000", 86_400 * 3 + 5).op else { panic!() };
        assert_eq!(pk, "limit#sms-mobile-day#13800138000#3");
        assert_eq!(expires_at, Some(86_400 * 4));
    }

    #[test]
    fn the_next_window_has_another_key() {
        assert_ne!(DAY.count("x", 86_399), DAY.count("x", 86_400));
    }

    #[test]
    fn a_client_asks_for_a_captcha_no_later_than_its_hard_cap_on_the_same_counter() {
        let config = LimitsConfig {
            login_failures_per_ip_before_captcha: 80,
            login_failures_per_ip_per_hour: 50,
            ..LimitsConfig::default()
        };
        let limits = Limits::from(config);
        assert_eq!((limits.login_captcha_per_ip.max, limits.login_failures_per_ip.max), (50, 50));
        assert_eq!(limits.login_captcha_per_ip.label(), limits.login_failures_per_ip.label());
        assert_eq!(Limits::from(LimitsConfig::default()).login_captcha_per_ip.max, 10);
    }

    #[test]
    fn a_refusal_waits_until_the_window_ends() {
        let full = Item::new("limit").with_n(keys::COUNT, 10).expiring_at(1_000);
        assert!(matches!(DAY.refusal(Some(&full), 400), Error::RateLimited { retry_after: 600, .. }));
    }
}
