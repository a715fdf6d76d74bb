//! The token a carrier's one-tap SDK hands the app once the person has
//! confirmed the masked number on the carrier's page: single use, minutes
//! long, exchanged for the number by `GetMobile`.

use secrecy::{ExposeSecret, SecretString};

/// Printable ASCII without spaces, 1 to [`CarrierToken::MAX_LEN`]
/// characters, held as a secret: until spent it is as good as the number's
/// proof, so `Debug` prints nothing of it.
#[derive(Debug, Clone)]
pub struct CarrierToken(SecretString);

/// The input is not a carrier token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a carrier one-tap token")]
pub struct InvalidCarrierToken;

impl CarrierToken {
    /// Far above any carrier's (a few hundred characters), far below the body limit.
    pub const MAX_LEN: usize = 2_048;

    pub fn parse(input: &str) -> Result<Self, InvalidCarrierToken> {
        let input = input.trim();
        if input.is_empty() || input.len() > Self::MAX_LEN || !input.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidCarrierToken);
        }
        Ok(Self(input.into()))
    }

    /// The token as it goes to `GetMobile`.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_carrier_token_is_printable_ascii_of_bounded_length() {
        assert_eq!(CarrierToken::parse(" STSt0ken+/=_- ").unwrap().expose(), "STSt0ken+/=_-");
        for bad in ["", "   ", "a b", "令牌", "tab\there"] {
            assert!(CarrierToken::parse(bad).is_err(), "{bad:?}");
        }
        assert!(CarrierToken::parse(&"a".repeat(CarrierToken::MAX_LEN)).is_ok());
        assert!(CarrierToken::parse(&"a".repeat(CarrierToken::MAX_LEN + 1)).is_err());
    }

    #[test]
    fn debug_never_holds_the_token() {
        let token = CarrierToken::parse("secret-carrier-token").unwrap();
        assert!(!format!("{token:?}").contains("secret-carrier-token"));
    }
}
