//! The secret in a session cookie, and the hash the store keeps of it.

use crate::random::Random;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// 256 random bits, written as 43 characters of unpadded base64url, held in
/// a [`SecretString`]: `Debug` prints nothing of it and its memory is zeroed
/// on drop.
#[derive(Debug, Clone)]
pub struct SessionToken(SecretString);

/// The input is not a session token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a session token")]
pub struct InvalidSessionToken;

/// The SHA-256 of a token in lowercase hex: what the store keys sessions by,
/// so a leaked table leaks no usable session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(pub(super) String);

impl SessionToken {
    pub fn generate(random: &impl Random) -> Self {
        let mut bytes = [0u8; 32];
        random.fill(&mut bytes);
        let token = Self(URL_SAFE_NO_PAD.encode(bytes).into());
        bytes.zeroize();
        token
    }

    pub fn parse(input: &str) -> Result<Self, InvalidSessionToken> {
        let mut bytes = [0u8; 32];
        let decoded = URL_SAFE_NO_PAD.decode_slice(input, &mut bytes);
        bytes.zeroize();
        match decoded {
            Ok(32) if input.len() == 43 => Ok(Self(input.into())),
            _ => Err(InvalidSessionToken),
        }
    }

    /// The token as it goes into the cookie or the response body.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.expose())
    }
}

/// Compared in time independent of where two differ.
impl PartialEq for SessionToken {
    fn eq(&self, other: &Self) -> bool {
        self.expose().as_bytes().ct_eq(other.expose().as_bytes()).into()
    }
}

impl Eq for SessionToken {}

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;
    use proptest::prelude::*;

    #[test]
    fn a_generated_token_parses_back() {
        let token = SessionToken::generate(&OsRandom);
        assert_eq!(token.expose().len(), 43);
        assert_eq!(SessionToken::parse(token.expose()), Ok(token));
    }

    #[test]
    fn two_generated_tokens_differ() {
        assert_ne!(SessionToken::generate(&OsRandom), SessionToken::generate(&OsRandom));
    }

    #[test]
    fn the_hash_is_the_sha256_of_the_token_in_hex() {
        let token = SessionToken::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        // sha256("A" * 43), computed independently with Python's hashlib.
        assert_eq!(token.hash().as_str(), "0f007385b6f9d4b7eeb2748605afe1a984a0a3bfa3f014d09e2a784ce9e5cd1a");
    }

    #[test]
    fn short_long_and_padded_tokens_are_rejected() {
        assert!(SessionToken::parse("abc").is_err());
        assert!(SessionToken::parse(&"A".repeat(44)).is_err());
        assert!(SessionToken::parse(&format!("{}=", "A".repeat(42))).is_err());
    }

    proptest! {
        #[test]
        fn every_256_bits_round_trip_through_a_token(bytes in any::<[u8; 32]>()) {
            let text = URL_SAFE_NO_PAD.encode(bytes);
            let token = SessionToken::parse(&text).unwrap();
            prop_assert_eq!(token.expose(), text.as_str());
            prop_assert_eq!(URL_SAFE_NO_PAD.decode(token.expose()).unwrap(), bytes.to_vec());
        }

        /// Base64 has several spellings of some byte strings; only the
        /// canonical one is a token, so one session has one hash.
        #[test]
        fn a_token_parses_only_in_its_canonical_spelling(input in "[A-Za-z0-9_-]{43}") {
            if let Ok(token) = SessionToken::parse(&input) {
                let bytes = URL_SAFE_NO_PAD.decode(token.expose()).unwrap();
                prop_assert_eq!(URL_SAFE_NO_PAD.encode(bytes), input);
            }
        }

        #[test]
        fn debug_never_holds_the_token(bytes in any::<[u8; 32]>()) {
            let token = SessionToken::parse(&URL_SAFE_NO_PAD.encode(bytes)).unwrap();
            let shown = format!("{token:?}");
            prop_assert!(!shown.contains(token.expose()), "{}", shown);
        }
    }
}
