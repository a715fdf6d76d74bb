//! The secret in a session cookie, and the hash the store keeps of it.

use crate::random::Random;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::fmt;

/// 256 random bits, written as 43 characters of unpadded base64url.
/// `Debug` prints nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

/// The input is not a session token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a session token")]
pub struct InvalidSessionToken;

/// The SHA-256 of a token in lowercase hex: what the store keys sessions by,
/// so a leaked table leaks no usable session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl SessionToken {
    pub fn generate(random: &impl Random) -> Self {
        let mut bytes = [0u8; 32];
        random.fill(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn parse(input: &str) -> Result<Self, InvalidSessionToken> {
        let mut bytes = [0u8; 32];
        match URL_SAFE_NO_PAD.decode_slice(input, &mut bytes) {
            Ok(32) if input.len() == 43 => Ok(Self(input.to_owned())),
            _ => Err(InvalidSessionToken),
        }
    }

    /// The token as it goes into the cookie.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        let digest = Sha256::digest(self.0.as_bytes());
        TokenHash(digest.iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl TokenHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken([redacted])")
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

    #[test]
    fn debug_shows_nothing_of_the_token() {
        let token = SessionToken::generate(&OsRandom);
        assert!(!format!("{token:?}").contains(token.expose()));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(input in "\\PC*") {
            let _ = SessionToken::parse(&input);
        }
    }
}
