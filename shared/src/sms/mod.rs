//! Sending the code: the Ronglian Cloud client and a console sender.

mod console;
mod ronglian;

pub use console::{ConsoleSender, SentSms};
pub use ronglian::{RonglianClient, SignedRequest, beijing_timestamp};

use crate::domain::{Mobile, SmsCode};
use std::future::Future;

/// Sends a verification code by SMS.
pub trait SmsSender: Send + Sync {
    /// Sends `code` to `to`, telling the person it is valid for `minutes`.
    fn send(&self, to: &Mobile, code: &SmsCode, minutes: u32) -> impl Future<Output = Result<(), SmsError>> + Send;
}

/// Why an SMS may not have been sent. Only [`SmsError::certainly_not_sent`]
/// failures may give back what the send took (cooldown, counts): after any
/// other the message may be on its way.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// The provider refused the message; its code and message are kept.
    #[error("the provider refused the message: {status_code} {message}")]
    Refused { status_code: String, message: String },
    /// The provider's per-number or per-template limit (160038–160041).
    #[error("the provider's rate limit: {status_code} {message}")]
    RateLimited { status_code: String, message: String },
    /// The request never reached the provider: no connection, or TLS failed
    /// before it was written.
    #[error("the provider could not be reached: {0}")]
    NotDelivered(String, #[source] Option<Box<dyn std::error::Error + Send + Sync>>),
    /// The request was written but no usable answer came: a timeout, a
    /// non-200 status or an unreadable body. The message may have gone out.
    #[error("the provider's answer is unknown: {0}")]
    Unknown(String, #[source] Option<Box<dyn std::error::Error + Send + Sync>>),
}

impl SmsError {
    /// The failure's kind, as the `ProviderErrors` metric names it.
    pub fn kind(&self) -> &'static str {
        match self {
            SmsError::Refused { .. } => "refused",
            SmsError::RateLimited { .. } => "rate_limited",
            SmsError::NotDelivered(..) => "not_delivered",
            SmsError::Unknown(..) => "unknown",
        }
    }

    /// Whether the provider certainly did not accept the message.
    pub fn certainly_not_sent(&self) -> bool {
        !matches!(self, SmsError::Unknown(..))
    }
}

impl<M: SmsSender + ?Sized> SmsSender for std::sync::Arc<M> {
    fn send(&self, to: &Mobile, code: &SmsCode, minutes: u32) -> impl Future<Output = Result<(), SmsError>> + Send {
        (**self).send(to, code, minutes)
    }
}

/// Either sender, chosen at start-up by whether Ronglian is configured.
#[derive(Debug)]
pub enum AnySender {
    Console(ConsoleSender),
    Ronglian(RonglianClient),
}

impl SmsSender for AnySender {
    async fn send(&self, to: &Mobile, code: &SmsCode, minutes: u32) -> Result<(), SmsError> {
        match self {
            AnySender::Console(sender) => sender.send(to, code, minutes).await,
            AnySender::Ronglian(sender) => sender.send(to, code, minutes).await,
        }
    }
}
