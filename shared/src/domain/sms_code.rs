//! The six-digit code sent by SMS.

use crate::random::Random;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// Six ASCII digits, `000000` to `999999`, held in a [`SecretString`]:
/// `Debug` prints none of the digits and the memory is zeroed on drop.
#[derive(Debug, Clone)]
pub struct SmsCode(SecretString);

/// The input is not six digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the SMS code is six digits")]
pub struct InvalidSmsCode;

impl SmsCode {
    /// Draws a code uniformly from the million possible ones.
    pub fn generate(random: &impl Random) -> Self {
        let n = random.below(1_000_000);
        // Written in place at its final size: no reallocation leaves a copy behind.
        let mut code = String::with_capacity(6);
        for divisor in [100_000, 10_000, 1_000, 100, 10, 1] {
            code.push(char::from(b'0' + (n / divisor % 10) as u8));
        }
        Self(code.into())
    }

    pub fn parse(input: &str) -> Result<Self, InvalidSmsCode> {
        if input.len() == 6 && input.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(input.into()))
        } else {
            Err(InvalidSmsCode)
        }
    }

    /// The digits, for the SMS provider and the code's HMAC only.
    pub fn as_str(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Compared in time independent of where two differ.
impl PartialEq for SmsCode {
    fn eq(&self, other: &Self) -> bool {
        self.as_str().as_bytes().ct_eq(other.as_str().as_bytes()).into()
    }
}

impl Eq for SmsCode {}

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

    proptest! {
        #[test]
        fn debug_never_shows_a_digit(input in "[0-9]{6}") {
            let shown = format!("{:?}", SmsCode::parse(&input).unwrap());
            prop_assert!(!shown.bytes().any(|b| b.is_ascii_digit()), "{}", shown);
        }

        #[test]
        fn one_character_that_is_not_an_ascii_digit_spoils_a_code(
            digits in "[0-9]{6}",
            at in 0..6usize,
            other in "[^0-9]",
        ) {
            let input = format!("{}{other}{}", &digits[..at], &digits[at + 1..]);
            prop_assert_eq!(SmsCode::parse(&input), Err(InvalidSmsCode));
        }

        #[test]
        fn generated_codes_are_the_draw_zero_padded(seed in any::<u64>()) {
            let code = SmsCode::generate(&SeededRandom::new(seed));
            prop_assert_eq!(code.as_str(), format!("{:06}", SeededRandom::new(seed).below(1_000_000)));
        }

        #[test]
        fn six_digit_strings_round_trip(input in "[0-9]{6}") {
            let parsed = SmsCode::parse(&input).unwrap();
            prop_assert_eq!(parsed.as_str(), input.as_str());
        }
    }
}
