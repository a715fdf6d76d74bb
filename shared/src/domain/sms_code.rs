//! The six-digit code sent by SMS.

use crate::random::Random;
use std::fmt;
use subtle::ConstantTimeEq;

/// Six ASCII digits, `000000` to `999999`. `Debug` hides the digits.
#[derive(Clone, PartialEq, Eq)]
pub struct SmsCode(String);

/// The input is not six digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the SMS code is six digits")]
pub struct InvalidSmsCode;

impl SmsCode {
    /// Draws a code uniformly from the million possible ones.
    pub fn generate(random: &impl Random) -> Self {
        Self(format!("{:06}", random.below(1_000_000)))
    }

    pub fn parse(input: &str) -> Result<Self, InvalidSmsCode> {
        if input.len() == 6 && input.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(input.to_owned()))
        } else {
            Err(InvalidSmsCode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares with a stored code in time independent of where they differ.
    pub fn matches(&self, stored: &str) -> bool {
        self.0.as_bytes().ct_eq(stored.as_bytes()).into()
    }
}

impl fmt::Debug for SmsCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SmsCode(******)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;
    use proptest::prelude::*;

    #[test]
    fn six_digits_are_accepted() {
        assert_eq!(SmsCode::parse("012345").unwrap().as_str(), "012345");
    }

    #[test]
    fn five_or_seven_digits_are_rejected() {
        assert_eq!(SmsCode::parse("12345"), Err(InvalidSmsCode));
        assert_eq!(SmsCode::parse("1234567"), Err(InvalidSmsCode));
    }

    #[test]
    fn non_digits_are_rejected() {
        assert!(SmsCode::parse("12345a").is_err());
        assert!(SmsCode::parse("١٢٣٤٥٦").is_err());
    }

    #[test]
    fn generated_codes_are_zero_padded_to_six_digits() {
        let random = SeededRandom::new(3);
        for _ in 0..2_000 {
            let code = SmsCode::generate(&random);
            assert!(SmsCode::parse(code.as_str()).is_ok(), "{}", code.as_str());
        }
    }

    #[test]
    fn generated_codes_cover_every_leading_digit() {
        let random = SeededRandom::new(4);
        let mut seen = [false; 10];
        for _ in 0..2_000 {
            let first = SmsCode::generate(&random).as_str().as_bytes()[0] - b'0';
            seen[first as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "{seen:?}");
    }

    #[test]
    fn debug_hides_the_digits() {
        assert_eq!(format!("{:?}", SmsCode::parse("123456").unwrap()), "SmsCode(******)");
    }

    #[test]
    fn matches_compares_the_whole_code() {
        let code = SmsCode::parse("123456").unwrap();
        assert!(code.matches("123456"));
        assert!(!code.matches("123457"));
        assert!(!code.matches("12345"));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(input in "\\PC*") {
            let _ = SmsCode::parse(&input);
        }

        #[test]
        fn six_digit_strings_round_trip(input in "[0-9]{6}") {
            let parsed = SmsCode::parse(&input).unwrap();
            prop_assert_eq!(parsed.as_str(), input.as_str());
        }
    }
}
