//! Sending the code: the Ronglian Cloud, Aliyun and Tencent Cloud clients
//! and a console sender.

mod aliyun;
mod console;
mod failover;
mod ronglian;
mod tencent;

pub use aliyun::{AliyunSignedSend, AliyunSmsClient, AliyunSmsConfig};
pub use console::{ConsoleSender, SentSms};
pub use failover::FailoverSender;
pub use ronglian::{RonglianClient, SignedRequest, beijing_timestamp};
pub use tencent::{TencentSignedSend, TencentSmsClient, TencentSmsConfig};

use crate::clock::{Clock, SystemClock};
use crate::config::{ProviderConfig, ProvidersConfig};
use crate::domain::{Mobile, SmsCode};
use crate::random::{OsRandom, Random};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// How long a provider call may take in all, unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration =
    Duration::from_millis(crate::config::SMS_PROVIDER_TIMEOUT_MS.default.unsigned_abs());
/// How much longer than a client's own timeout the failover sender waits for it.
const BACKSTOP_GRACE: Duration = Duration::from_secs(1);
/// How long connecting may take (or the whole timeout, if shorter).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// What a provider client takes from outside besides its account: the clock
/// its timestamps come from, the RNG of its nonces, and how long one call
/// may take before its outcome is unknown.
#[derive(Clone)]
pub struct ClientOptions {
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn Random>,
    pub timeout: Duration,
}

impl Default for ClientOptions {
    /// The system clock, the OS's randomness and [`DEFAULT_TIMEOUT`].
    fn default() -> Self {
        Self { clock: Arc::new(SystemClock), random: Arc::new(OsRandom), timeout: DEFAULT_TIMEOUT }
    }
}

impl ClientOptions {
    /// A fresh signature nonce: 16 bytes of `random`, in hex.
    pub(crate) fn nonce(&self) -> String {
        let mut nonce = [0u8; 16];
        self.random.fill(&mut nonce);
        hex::encode(nonce)
    }
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

/// The HTTP client of a provider ([`crate::startup::tls::reqwest_builder`]):
/// `timeout` in all, at most 2 s of it to connect, no redirects (a
/// redirected POST would turn into a GET).
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    crate::startup::tls::reqwest_builder()
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// `host[:port]` of a base URL, as the `Host` header carries it (signed by
/// Aliyun and Tencent).
pub(crate) fn host_of(base_url: &str) -> String {
    match reqwest::Url::parse(base_url) {
        Ok(url) => match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => String::new(),
        },
        Err(_) => String::new(),
    }
}

/// Sends `request` and reads the whole answer, classifying what went wrong:
/// no connection → [`SmsError::ProviderRefused`] (nothing was written);
/// anything after that → [`SmsError::Unknown`]. Errors carry no URL.
async fn exchange(
    provider: Provider,
    request: reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, Vec<u8>), SmsError> {
    let unknown = |detail: &str, e: reqwest::Error| SmsError::Unknown {
        provider,
        detail: detail.to_owned(),
        source: Some(Box::new(e.without_url())),
    };
    let response = request.send().await.map_err(|e| {
        if e.is_connect() {
            not_connected(provider, &e.without_url())
        } else {
            unknown("the request failed after it was sent", e)
        }
    })?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| unknown("reading the answer failed", e))?;
    Ok((status, body.to_vec()))
}

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
    Aliyun(AliyunSmsClient),
    Tencent(TencentSmsClient),
}

impl ProviderClient {
    /// The client `config` describes, built once per cold start.
    pub fn new(config: &ProviderConfig, options: ClientOptions) -> Result<Self, reqwest::Error> {
        Ok(match config {
            ProviderConfig::Ronglian(config) => Self::Ronglian(RonglianClient::with_options(config.clone(), options)?),
            ProviderConfig::Aliyun(config) => Self::Aliyun(AliyunSmsClient::with_options(config.clone(), options)?),
            ProviderConfig::Tencent(config) => Self::Tencent(TencentSmsClient::with_options(config.clone(), options)?),
        })
    }

    pub fn provider(&self) -> Provider {
        match self {
            Self::Ronglian(_) => Provider::Ronglian,
            Self::Aliyun(_) => Provider::Aliyun,
            Self::Tencent(_) => Provider::Tencent,
        }
    }
}

impl SmsSender for ProviderClient {
    async fn send(&self, to: &Mobile, code: &SmsCode, minutes: u32) -> Result<(), SmsError> {
        match self {
            Self::Ronglian(client) => client.send(to, code, minutes).await,
            Self::Aliyun(client) => client.send(to, code, minutes).await,
            Self::Tencent(client) => client.send(to, code, minutes).await,
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
    /// The one constructor the SMS Lambda and the local API share: each
    /// provider's client on the system clock and RNG with the configured
    /// timeout.
    pub fn from_config(config: &ProvidersConfig) -> Result<Self, reqwest::Error> {
        Self::with_options(config, ClientOptions { timeout: config.timeout, ..ClientOptions::default() })
    }

    /// As [`AnySender::from_config`], the clients on `options` (tests inject
    /// the clock and the timeout).
    pub fn with_options(config: &ProvidersConfig, options: ClientOptions) -> Result<Self, reqwest::Error> {
        if config.order.is_empty() {
            return Ok(AnySender::Console(ConsoleSender::new()));
        }
        let clients = config
            .order
            .iter()
            .map(|provider| ProviderClient::new(provider, options.clone()).map(|client| (client.provider(), client)))
            .collect::<Result<Vec<_>, _>>()?;
        // The clients give up after `timeout` themselves, telling a refused
        // connection from a stalled answer; the failover's bound is a backstop.
        Ok(AnySender::Providers(FailoverSender::new(clients, options.timeout + BACKSTOP_GRACE)))
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
