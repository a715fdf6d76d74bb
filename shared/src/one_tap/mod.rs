//! Carrier one-tap login (本机号码一键登录): a carrier SDK token exchanged
//! for the number it proves. [`NumberProver`] is what the account service
//! needs; [`AliyunOneTap`] calls Aliyun's `GetMobile`, [`StandInCarrier`]
//! issues and exchanges tokens in memory (the local API and the tests).

mod aliyun;
mod stand_in;

pub use aliyun::{AliyunOneTap, AliyunSignedGetMobile};
pub use stand_in::StandInCarrier;

use crate::config::OneTapConfig;
use crate::domain::{CarrierToken, Mobile};
use crate::sms::ClientOptions;
use std::future::Future;

/// Proves a number from a carrier token.
pub trait NumberProver: Send + Sync {
    /// The number `token` proves. A token is spent by its first exchange,
    /// whatever the outcome.
    fn get_mobile(&self, token: &CarrierToken) -> impl Future<Output = Result<Mobile, OneTapError>> + Send;
}

/// Why no number came back.
#[derive(Debug, thiserror::Error)]
pub enum OneTapError {
    /// The service refused the token: made up, used, expired, or from
    /// another app. The person starts over (or uses an SMS code).
    #[error("the carrier token was refused: {code} {message}")]
    Refused { code: String, message: String },
    /// Our side or the service's: unreachable, too slow, 5xx, an
    /// unreadable answer, our key or signature refused, the service out of
    /// balance. Nobody's fault at the client.
    #[error("GetMobile failed: {detail}")]
    Failed {
        detail: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl OneTapError {
    /// The `Outcome` of the `OneTapCalls` metric.
    pub fn outcome(&self) -> &'static str {
        match self {
            OneTapError::Refused { .. } => "refused",
            OneTapError::Failed { .. } => "failed",
        }
    }
}

impl<P: NumberProver + ?Sized> NumberProver for std::sync::Arc<P> {
    fn get_mobile(&self, token: &CarrierToken) -> impl Future<Output = Result<Mobile, OneTapError>> + Send {
        (**self).get_mobile(token)
    }
}

/// The carrier a deployment's configuration asks for, or the local API's stand-in.
#[derive(Debug)]
pub enum AnyCarrier {
    Aliyun(AliyunOneTap),
    StandIn(StandInCarrier),
}

impl AnyCarrier {
    /// The one constructor the register Lambda and the local API share:
    /// Aliyun's `GetMobile` when the AccessKey pair is configured, on the
    /// system clock and RNG with the configured timeout.
    pub fn from_config(config: Option<&OneTapConfig>) -> Result<Option<Self>, reqwest::Error> {
        config
            .map(|config| {
                let options = ClientOptions { timeout: config.timeout, ..ClientOptions::default() };
                AliyunOneTap::with_options(config.clone(), options).map(AnyCarrier::Aliyun)
            })
            .transpose()
    }

    /// What proves numbers, for the local API's banner.
    pub fn describe(&self) -> &'static str {
        match self {
            AnyCarrier::Aliyun(_) => "Aliyun GetMobile",
            AnyCarrier::StandIn(_) => "a stand-in carrier (the page's one-tap button)",
        }
    }
}

impl NumberProver for AnyCarrier {
    async fn get_mobile(&self, token: &CarrierToken) -> Result<Mobile, OneTapError> {
        match self {
            AnyCarrier::Aliyun(carrier) => carrier.get_mobile(token).await,
            AnyCarrier::StandIn(carrier) => carrier.get_mobile(token).await,
        }
    }
}
