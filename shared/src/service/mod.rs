//! The sign-up flow's use cases, generic over the store, the SMS sender, the
//! clock and the randomness so that tests can run them on any of each.

mod account;
mod captcha;
mod codes;
pub mod human;
pub mod keys;
mod limits;
mod session;
mod sms;
mod users;

pub use account::{AccountService, LoginProof, NewUser, OneTapOutcome, SignUpProof, WeChatOutcome};
pub use captcha::CaptchaService;
pub use codes::{Guess, MAX_ATTEMPTS};
pub use human::{Challenge, HumanCheck};
pub use limits::{Limit, LimitKind, Limits};
pub use session::{SessionInfo, SessionService};
pub use sms::{SentCode, SmsService};

use crate::store::StoreError;

/// A cause kept for the logs only: nothing matches on it.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// How a use case can end other than in success. Its variants are the
/// outcomes a caller tells apart; infrastructure errors are mapped to them
/// once, here and in the SMS service, and survive only as a logged cause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the number is outside the numbers this deployment sends to")]
    NumberNotAllowed,
    #[error("the captcha has expired or does not exist")]
    CaptchaExpired,
    #[error("the captcha answer is wrong")]
    CaptchaIncorrect,
    /// The human check could not judge (timeout, unreachable, no verdict):
    /// fail closed.
    #[error("the human check is unavailable")]
    CaptchaUnavailable(#[source] crate::human::VerifierError),
    #[error("a code was sent to this number recently; retry in {retry_after} s")]
    TooFrequent { retry_after: i64 },
    #[error("a limit was reached ({kind:?}); retry in {retry_after} s")]
    RateLimited { kind: LimitKind, retry_after: i64 },
    #[error("the SMS code has expired, was used up or does not exist")]
    SmsCodeExpired,
    #[error("the SMS code is wrong; {attempts_left} guesses left")]
    SmsCodeIncorrect { attempts_left: i64 },
    #[error("the code was sent for another purpose")]
    SmsCodeWrongPurpose { attempts_left: i64 },
    #[error("the number has no account")]
    MobileNotRegistered,
    #[error("unknown account or wrong password")]
    LoginFailed,
    #[error("the username is taken")]
    UsernameTaken,
    #[error("the mobile number is already registered")]
    MobileTaken,
    #[error("no live session")]
    NotLoggedIn,
    /// This deployment has no carrier one-tap (no Aliyun AccessKey pair).
    #[error("carrier one-tap is not configured")]
    OneTapDisabled,
    /// The carrier refused the token: made up, used or expired.
    #[error("the carrier token was refused")]
    OneTapRefused(#[source] Cause),
    /// `GetMobile` could not be reached, was too slow or failed on its side
    /// or ours (key, signature, balance).
    #[error("GetMobile failed")]
    OneTapFailed(#[source] Cause),
    /// The signup ticket was used, has expired or never existed.
    #[error("the signup ticket has expired, was used or does not exist")]
    SignupTicketExpired,
    /// The signup ticket proves another number than the one signing up.
    #[error("the signup ticket is for another number")]
    SignupTicketMismatch,
    /// This deployment has no WeChat mini program (no AppID and secret).
    #[error("WeChat login is not configured")]
    WeChatDisabled,
    /// WeChat refused the code: made up, used or expired.
    #[error("WeChat refused the code")]
    WeChatCodeInvalid(#[source] Cause),
    /// WeChat flags the user as high risk.
    #[error("WeChat refused a high-risk user")]
    WeChatHighRisk,
    /// WeChat rate-limited us.
    #[error("WeChat is busy; retry in {retry_after} s")]
    WeChatBusy { retry_after: i64 },
    /// WeChat unreachable, slow, failing, or refusing our credentials.
    #[error("WeChat failed")]
    WeChatFailed(#[source] Cause),
    /// The WeChat ticket was used, has expired or never existed.
    #[error("the WeChat ticket has expired, was used or does not exist")]
    WeChatTicketExpired,
    /// The WeChat user is linked to an account already.
    #[error("this WeChat user is linked to an account already")]
    WeChatAlreadyLinked,
    /// The provider refused the number for its own per-number frequency or
    /// daily limits: nothing was sent, the cooldown and counts were given
    /// back, and no other provider was asked (that would launder its limit).
    #[error("the SMS provider's limit for this number; retry in {retry_after} s")]
    ProviderLimit { retry_after: i64 },
    /// The provider refused the number as invalid or blacklisted: nothing
    /// was sent and everything the send took was given back.
    #[error("the SMS provider refused the number")]
    NumberRefused,
    /// Every provider refused for reasons of its own (balance, arrears, an
    /// unapproved template, no connection): nothing was sent and everything
    /// the send took was given back, so the client may retry at once.
    #[error("no SMS provider would send the message")]
    SmsRefused(#[source] Cause),
    /// The message may be on its way (a timeout, a 5xx, an unreadable
    /// answer): the cooldown and counts stay, and `retry_after` says when the
    /// next send may come.
    #[error("whether the SMS was sent is unknown; retry in {retry_after} s")]
    SmsUncertain {
        retry_after: i64,
        #[source]
        cause: Cause,
    },
    /// The store could not be reached, throttled us or kept conflicting.
    #[error("the store is unavailable")]
    Unavailable(#[source] Cause),
    #[error("an internal step failed")]
    Internal(#[source] Cause),
}

impl Error {
    pub fn internal(source: impl Into<Cause>) -> Self {
        Self::Internal(source.into())
    }
}

impl From<StoreError> for Error {
    /// What a store failure means to a caller: unavailable, or a bug. The
    /// refusals a use case expects (`ConditionFailed`, `Cancelled`) are
    /// matched where their write is built, before this applies.
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => Self::Unavailable(cause),
            error => Self::internal(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_store_is_unavailable_and_any_other_store_failure_is_internal() {
        assert!(matches!(Error::from(StoreError::unavailable("timeout")), Error::Unavailable(_)));
        let malformed = StoreError::Malformed { pk: "user#alice".into(), attribute: "hash".into() };
        assert!(matches!(Error::from(malformed), Error::Internal(_)));
        assert!(matches!(Error::from(StoreError::ConditionFailed { current: None }), Error::Internal(_)));
    }
}
