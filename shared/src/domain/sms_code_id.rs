//! The opaque id of one sent code: only the client that asked for the code
//! learns it, and every guess must carry it.

use crate::random::Random;
use std::fmt;
use subtle::ConstantTimeEq;

/// 128 random bits as 32 lowercase hex digits. `Debug` hides them.
#[derive(Clone, PartialEq, Eq)]
pub struct SmsCodeId(String);

/// The input is not 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the SMS code id is 32 hex digits")]
pub struct InvalidSmsCodeId;

impl SmsCodeId {
    pub fn generate(random: &impl Random) -> Self {
        let mut bytes = [0u8; 16];
        random.fill(&mut bytes);
        Self(hex::encode(bytes))
    }

    pub fn parse(input: &str) -> Result<Self, InvalidSmsCodeId> {
        if input.len() == 32 && input.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(input.to_owned()))
        } else {
            Err(InvalidSmsCodeId)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares with a stored id in time independent of where they differ.
    pub fn matches(&self, stored: &str) -> bool {
        self.0.as_bytes().ct_eq(stored.as_bytes()).into()
    }
}

impl fmt::Debug for SmsCodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SmsCodeId(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;
    use proptest::prelude::*;

    #[test]
    fn a_generated_id_parses_back() {
        let id = SmsCodeId::generate(&SeededRandom::new(7));
        assert_eq!(SmsCodeId::parse(id.as_str()), Ok(id));
    }

    #[test]
    fn two_ids_differ() {
        let random = SeededRandom::new(7);
        assert_ne!(SmsCodeId::generate(&random), SmsCodeId::generate(&random));
    }

    #[test]
    fn short_uppercase_or_foreign_input_is_rejected() {
        for bad in ["", "abc", &"A".repeat(32), &"g".repeat(32), &"a".repeat(33)] {
            assert_eq!(SmsCodeId::parse(bad), Err(InvalidSmsCodeId), "{bad}");
        }
    }

    #[test]
    fn debug_hides_the_id() {
        let id = SmsCodeId::parse(&"ab".repeat(16)).unwrap();
        assert!(!format!("{id:?}").contains("abab"));
    }

    proptest! {
        #[test]
        fn any_input_parses_only_as_itself(input in "\\PC{0,40}") {
            if let Ok(id) = SmsCodeId::parse(&input) {
                prop_assert_eq!(id.as_str(), input.as_str());
            }
        }
    }
}
