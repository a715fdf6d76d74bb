//! Sending the code: the Ronglian Cloud client and a console sender.

mod console;
mod failover;
mod ronglian;

pub use console::{ConsoleSender, SentSms};
pub use failover::FailoverSender;
pub use ronglian::{RonglianClient, SignedRequest, beijing_timestamp};

use crate::config::{ProviderConfig, ProvidersConfig};
use crate::domain::{Mobile, SmsCode};
use std::future::Future;

/// Sends a verification code by SMS.
pub trait SmsSender: Send + Sync {
    /// Sends `code` to `to`, telling the person it is valid for `minutes`.
    fn send(&self, to: &Mobile, code: &SmsCode, minutes: u32) -> impl Future<Output = Result<(), SmsError>> + Send;
}

/// Which provider an attempt went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Ronglian,
    Aliyun,
    Tencent,
}

impl Provider {
    /// The provider's name in configuration, metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Ronglian => "ronglian",
            Provider::Aliyun => "aliyun",
            Provider::Tencent => "tencent",
        }
    }
}

/// Why the provider certainly sent nothing to this number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberRefusal {
    /// The provider's per-number frequency or daily limits.
    RateLimited,
    /// An invalid or blacklisted number.
    InvalidNumber,
}

/// Why an SMS may not have been sent. Only [`SmsError::certainly_not_sent`]
/// failures may give back what the send took (cooldown, counts): after an
/// [`SmsError::Unknown`] the message may be on its way. Only
/// [`SmsError::may_fail_over`] failures may move the send to the next
/// provider.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// Provider side: this provider certainly sent nothing for reasons of its
    /// own (balance, arrears, suspended app, signature or template not
    /// approved, account or permission problems, no connection before the
    /// request was written). The next provider may send.
    #[error("{} refused the message: {code} {message}", .provider.name())]
    ProviderRefused { provider: Provider, code: String, message: String },
    /// Number side: certainly nothing sent, and no provider may send to this
    /// number now (the provider's per-number frequency or daily limits, an
    /// invalid or blacklisted number). No failover.
    #[error("{} refused the number ({reason:?}): {code} {message}", .provider.name())]
    NumberRefused { provider: Provider, reason: NumberRefusal, code: String, message: String },
    /// The request may have reached the provider: a timeout after it was
    /// written, 5xx, an unreadable reply, the service's own internal-error or
    /// timeout codes. The message may be on its way.
    #[error("{}'s answer is unknown: {detail}", .provider.name())]
    Unknown {
        provider: Provider,
        detail: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl SmsError {
    /// The provider the failed attempt went to.
    pub fn provider(&self) -> Provider {
        match self {
            SmsError::ProviderRefused { provider, .. }
            | SmsError::NumberRefused { provider, .. }
            | SmsError::Unknown { provider, .. } => *provider,
        }
    }

    /// `"provider_refused"`, `"number_refused"` or `"unknown"`: the metric's
    /// `Outcome`/`Kind` value.
    pub fn kind(&self) -> &'static str {
        match self {
            SmsError::ProviderRefused { .. } => "provider_refused",
            SmsError::NumberRefused { .. } => "number_refused",
            SmsError::Unknown { .. } => "unknown",
        }
    }

    /// Whether the provider certainly sent nothing: only these may give back
    /// what the send took (cooldown, counts).
    pub fn certainly_not_sent(&self) -> bool {
        !matches!(self, SmsError::Unknown { .. })
    }

    /// Whether the next provider may send: only provider-side refusals.
    pub fn may_fail_over(&self) -> bool {
        matches!(self, SmsError::ProviderRefused { .. })
    }
}

/// A provider-side refusal for a request that never reached the provider:
/// no connection, or TLS failed, before it was written. `error` must carry
/// no URL (signed URLs hold signatures).
fn not_connected(provider: Provider, error: &dyn std::error::Error) -> SmsError {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    SmsError::ProviderRefused { provider, code: "connect".to_owned(), message }
}

impl<M: SmsSender + ?Sized> SmsSender for std::sync::Arc<M> {
    fn send(&self, to: &Mobile, code: &SmsCode, minutes: u32) -> impl Future<Output = Result<(), SmsError>> + Send {
        (**self).send(to, code, minutes)
    }
}

/// One configured provider's client.
#[derive(Debug)]
pub enum ProviderClient {
    Ronglian(RonglianClient),
}

impl ProviderClient {
    /// The client `config` describes, built once per cold start.
    pub fn new(config: &ProviderConfig) -> Result<Self, reqwest::Error> {
        Ok(match config {
            ProviderConfig::Ronglian(config) => ProviderClient::Ronglian(RonglianClient::new(config.clone())?),
            ProviderConfig::Aliyun(_) | ProviderConfig::Tencent(_) => todo!(),
        })
    }

    pub fn provider(&self) -> Provider {
        match self {
            ProviderClient::Ronglian(_) => Provider::Ronglian,
        }
    }
}

impl SmsSender for ProviderClient {
    async fn send(&self, to: &Mobile, code: &SmsCode, minutes: u32) -> Result<(), SmsError> {
        match self {
            ProviderClient::Ronglian(client) => client.send(to, code, minutes).await,
        }
    }
}

/// The sender a deployment's configuration asks for: the providers in
/// failover order, or the console when none is configured (the local API).
#[derive(Debug)]
pub enum AnySender {
    Console(ConsoleSender),
    Providers(FailoverSender<ProviderClient>),
}

impl AnySender {
    /// The one constructor the SMS Lambda and the local API share.
    pub fn from_config(config: &ProvidersConfig) -> Result<Self, reqwest::Error> {
        if config.order.is_empty() {
            return Ok(AnySender::Console(ConsoleSender::new()));
        }
        let clients = config
            .order
            .iter()
            .map(|provider| ProviderClient::new(provider).map(|client| (client.provider(), client)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AnySender::Providers(FailoverSender::new(clients, config.timeout)))
    }

    /// What it sends through, for the local API's banner.
    pub fn describe(&self) -> String {
        match self {
            AnySender::Console(_) => "console (codes are printed here)".to_owned(),
            AnySender::Providers(sender) => {
                let names: Vec<&str> = sender.order().into_iter().map(Provider::name).collect();
                format!("{} (in failover order)", names.join(", "))
            }
        }
    }
}

impl SmsSender for AnySender {
    async fn send(&self, to: &Mobile, code: &SmsCode, minutes: u32) -> Result<(), SmsError> {
        match self {
            AnySender::Console(sender) => sender.send(to, code, minutes).await,
            AnySender::Providers(sender) => sender.send(to, code, minutes).await,
        }
    }
}
