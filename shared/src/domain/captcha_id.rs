//! The client-made uuid that names one captcha.

use std::fmt;
use uuid::Uuid;

/// A captcha's id: a uuid in its hyphenated form (`8-4-4-4-12` hex digits),
/// kept lowercase so the same uuid always names the same captcha.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CaptchaId(String);

/// The input is not a hyphenated uuid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the captcha id must be a uuid such as 3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c")]
pub struct InvalidCaptchaId;

impl CaptchaId {
    pub fn parse(input: &str) -> Result<Self, InvalidCaptchaId> {
        // `Uuid::try_parse` also takes the simple, braced and URN forms; a
        // route segment should have one spelling, so insist on the hyphenated one.
        if input.len() != 36 {
            return Err(InvalidCaptchaId);
        }
        let uuid = Uuid::try_parse(input).map_err(|_| InvalidCaptchaId)?;
        Ok(Self(uuid.hyphenated().to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CaptchaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for CaptchaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaptchaId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_hyphenated_uuid_is_accepted_and_lowercased() {
        let id = CaptchaId::parse("3F0C9A5E-2B1D-4C8E-9F6A-1D2E3F4A5B6C").unwrap();
        assert_eq!(id.as_str(), "3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c");
    }

    #[test]
    fn the_simple_and_braced_forms_are_rejected() {
        assert!(CaptchaId::parse("3f0c9a5e2b1d4c8e9f6a1d2e3f4a5b6c").is_err());
        assert!(CaptchaId::parse("{3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c}").is_err());
    }

    #[test]
    fn non_hex_digits_are_rejected() {
        assert_eq!(CaptchaId::parse("zf0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c"), Err(InvalidCaptchaId));
    }

    #[test]
    fn an_empty_string_is_rejected() {
        assert!(CaptchaId::parse("").is_err());
    }

    proptest! {
        #[test]
        fn every_casing_of_a_uuid_names_the_same_captcha(bytes in any::<[u8; 16]>(), upper in any::<u64>()) {
            let lower = Uuid::from_bytes(bytes).hyphenated().to_string();
            let mixed: String = lower
                .chars()
                .enumerate()
                .map(|(i, c)| if upper >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c })
                .collect();
            let parsed = CaptchaId::parse(&mixed).unwrap();
            prop_assert_eq!(parsed.as_str(), lower.as_str());
        }

        #[test]
        fn every_uuid_round_trips(bytes in any::<[u8; 16]>()) {
            let text = Uuid::from_bytes(bytes).hyphenated().to_string();
            let parsed = CaptchaId::parse(&text).unwrap();
            prop_assert_eq!(parsed.as_str(), text.as_str());
        }
    }
}
