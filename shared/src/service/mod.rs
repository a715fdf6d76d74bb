//! The sign-up flow's use cases, generic over the store, the SMS sender, the
//! clock and the randomness so that tests can run them on any of each.

mod account;
mod captcha;
mod codes;
pub mod keys;
mod limits;
mod register;
mod session;
mod sms;
mod users;

pub use account::{AccountService, LoginProof};
pub use captcha::CaptchaService;
pub use codes::{Guess, MAX_ATTEMPTS};
pub use limits::{Limit, LimitKind, Limits};
pub use register::NewUser;
pub use session::{SessionInfo, SessionService};
pub use sms::{SentCode, SmsService};

use crate::sms::SmsError;
use crate::store::StoreError;

/// How a use case can end other than in success.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the number is outside the numbers this deployment sends to")]
    NumberNotAllowed,
    #[error("the captcha has expired or does not exist")]
    CaptchaExpired,
    #[error("the captcha answer is wrong")]
    CaptchaIncorrect,
    #[error("a code was sent to this number recently; retry in {retry_after} s")]
    TooFrequent { retry_after: i64 },
    #[error("a limit was reached ({kind:?}); retry in {retry_after} s")]
    RateLimited { kind: LimitKind, retry_after: i64 },
    #[error("the SMS code has expired, was used up or does not exist")]
    SmsCodeExpired,
    #[error("the SMS code is wrong; {attempts_left} guesses left")]
    SmsCodeIncorrect { attempts_left: i64 },
    #[error("the guess names another send than the live code's")]
    SmsCodeIdMismatch { attempts_left: i64 },
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
    /// The provider refused the number for its own per-number limits: nothing
    /// was sent, nothing is held, and no other provider is asked.
    #[error("the SMS provider's limit for this number; retry in {retry_after} s")]
    ProviderLimit { retry_after: i64 },
    /// The provider refused the number as invalid or blacklisted: nothing sent.
    #[error("the SMS provider refused the number")]
    NumberRefused,
    /// The send failed; `retry_after` is set when the message may have gone
    /// out and the cooldown holds.
    #[error("sending the SMS failed")]
    SmsFailed {
        #[source]
        source: SmsError,
        retry_after: Option<i64>,
    },
    #[error("the store failed")]
    Store(#[from] StoreError),
    #[error("an internal step failed")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(source.into())
    }
}
