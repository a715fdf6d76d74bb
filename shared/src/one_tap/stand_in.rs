//! A carrier in memory: it issues single-use tokens for numbers, as the
//! carrier SDK would after the person confirmed, and exchanges each once.

use super::{NumberProver, OneTapError};
use crate::domain::{CarrierToken, Mobile};
use crate::random::{OsRandom, Random};
use std::collections::HashMap;
use std::sync::Mutex;

/// Issued tokens, each spent by its first exchange.
#[derive(Debug, Default)]
pub struct StandInCarrier {
    issued: Mutex<HashMap<String, Mobile>>,
}

impl StandInCarrier {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new token proving `mobile`.
    pub fn issue(&self, mobile: &Mobile) -> CarrierToken {
        let mut bytes = [0u8; 24];
        OsRandom.fill(&mut bytes);
        let text = format!("standin-{}", hex::encode(bytes));
        self.issued.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(text.clone(), mobile.clone());
        CarrierToken::parse(&text).unwrap_or_else(|_| unreachable!("hex is a carrier token"))
    }
}

impl NumberProver for StandInCarrier {
    async fn get_mobile(&self, token: &CarrierToken) -> Result<Mobile, OneTapError> {
        let spent = self.issued.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(token.expose());
        spent.ok_or_else(|| OneTapError::Refused {
            code: "isv.INVALID_TOKEN".to_owned(),
            message: "unknown or used token".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_proves_its_number_once() {
        let carrier = StandInCarrier::new();
        let mobile = Mobile::parse("13900001234").unwrap();
        let token = carrier.issue(&mobile);
        assert_eq!(carrier.get_mobile(&token).await.unwrap(), mobile);
        assert!(matches!(carrier.get_mobile(&token).await, Err(OneTapError::Refused { .. })));
        let made_up = CarrierToken::parse("made-up").unwrap();
        assert!(matches!(carrier.get_mobile(&made_up).await, Err(OneTapError::Refused { .. })));
    }
}
