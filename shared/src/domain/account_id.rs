//! The identity of an account: made once at sign-up, never changed, never
//! reused. Names and numbers point at it; sessions belong to it.

use crate::random::Random;
use std::fmt;

/// 128 random bits as 32 lowercase hex digits. A new account draws a new
/// one, and its creation is refused if the id were ever live again, so a
/// closed account's sessions can never belong to a later account.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AccountId(String);

/// The input is not 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an account id is 32 hex digits")]
pub struct InvalidAccountId;

impl AccountId {
    pub fn generate(random: &impl Random) -> Self {
        let mut bytes = [0u8; 16];
        random.fill(&mut bytes);
        Self(hex::encode(bytes))
    }

    pub fn parse(input: &str) -> Result<Self, InvalidAccountId> {
        if input.len() == 32 && input.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(input.to_owned()))
        } else {
            Err(InvalidAccountId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.0)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn a_generated_id_is_128_bits_of_hex_and_parses_back() {
        let id = AccountId::generate(&SeededRandom::new(7));
        assert_eq!(id.as_str().len(), 32);
        assert_eq!(AccountId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn successive_ids_differ() {
        let random = SeededRandom::new(7);
        let ids: std::collections::HashSet<_> = (0..100).map(|_| AccountId::generate(&random)).collect();
        assert_eq!(ids.len(), 100);
    }

    #[test]
    fn short_uppercase_or_foreign_input_is_rejected() {
        for bad in ["", "abc", &"A".repeat(32), &"g".repeat(32), &"a".repeat(33)] {
            assert_eq!(AccountId::parse(bad), Err(InvalidAccountId), "{bad}");
        }
    }
}
