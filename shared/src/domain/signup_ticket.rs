//! The ticket a number proven without an SMS (carrier one-tap) is handed
//! when it has no account: `POST /register/` takes it in place of an SMS
//! code, once, for that number, for a few minutes.

use super::TokenHash;
use crate::random::Random;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// 256 random bits as 43 characters of unpadded base64url, held as a
/// secret; the store keeps only its SHA-256 ([`SignupTicket::hash`]).
#[derive(Debug, Clone)]
pub struct SignupTicket(SecretString);

/// The input is not a signup ticket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a signup ticket")]
pub struct InvalidSignupTicket;

impl SignupTicket {
    pub fn generate(random: &impl Random) -> Self {
        let mut bytes = [0u8; 32];
        random.fill(&mut bytes);
        let ticket = Self(URL_SAFE_NO_PAD.encode(bytes).into());
        bytes.zeroize();
        ticket
    }

    pub fn parse(input: &str) -> Result<Self, InvalidSignupTicket> {
        let mut bytes = [0u8; 32];
        let decoded = URL_SAFE_NO_PAD.decode_slice(input, &mut bytes);
        bytes.zeroize();
        match decoded {
            // The engine refuses non-canonical trailing bits: one ticket, one spelling, one hash.
            Ok(32) if input.len() == 43 => Ok(Self(input.into())),
            _ => Err(InvalidSignupTicket),
        }
    }

    /// The ticket as it goes into the response body.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// What the store keys the ticket by.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.expose())
    }
}

impl TokenHash {
    /// The SHA-256 of a secret in lowercase hex.
    pub(crate) fn of(secret: &str) -> Self {
        Self(hex::encode(Sha256::digest(secret.as_bytes())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    #[test]
    fn a_generated_ticket_parses_back_and_two_differ() {
        let ticket = SignupTicket::generate(&OsRandom);
        assert_eq!(SignupTicket::parse(ticket.expose()).unwrap().expose(), ticket.expose());
        assert_ne!(SignupTicket::generate(&OsRandom).expose(), ticket.expose());
    }

    #[test]
    fn short_long_padded_and_non_canonical_tickets_are_refused() {
        for bad in ["abc".to_owned(), "A".repeat(44), format!("{}=", "A".repeat(42)), format!("{}B", "A".repeat(42))] {
            assert!(SignupTicket::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_never_holds_the_ticket() {
        let ticket = SignupTicket::generate(&OsRandom);
        assert!(!format!("{ticket:?}").contains(ticket.expose()));
    }
}
