//! The characters a captcha shows, and what a person types back.

use crate::random::Random;
use std::fmt;

/// Characters a captcha may show: capitals and digits that do not turn into
/// one another when slanted, warped or crossed out. Of each look-alike group
/// at most one is kept: 0/O/Q/D, 1/I/L/J/7/T (T), 2/Z (2), 5/S, 6/G/U (U),
/// 8/B, 9/g, A/4/V (V: a slanted 4 reads as A), W/N (N), X/K (K), F/E (E).
pub const ALPHABET: &[u8] = b"CEHKMNPRTUVY23";

/// How many characters a captcha shows.
pub const LENGTH: usize = 4;

/// Characters outside [`ALPHABET`] that people read for one inside it, and
/// that one: a person who types `X` for a `K` means the `K`. Never onto
/// another alphabet character, so no right answer can turn wrong.
pub const LOOK_ALIKES: &[(u8, u8)] = &[
    // The three misses of a blind read of 25 fresh captchas.
    (b'X', b'K'),
    (b'7', b'T'),
    (b'G', b'C'),
    // The same shapes without their distinguishing stroke.
    (b'Z', b'2'),
    (b'F', b'E'),
];

/// The characters drawn into one captcha, as shown (uppercase).
#[derive(Clone, PartialEq, Eq)]
pub struct CaptchaText(String);

impl CaptchaText {
    /// Draws [`LENGTH`] characters uniformly from [`ALPHABET`].
    pub fn generate(random: &impl Random) -> Self {
        let text = (0..LENGTH).map(|_| ALPHABET[random.below(ALPHABET.len() as u32) as usize] as char).collect();
        Self(text)
    }

    /// The characters as drawn.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store keeps: the answer, lowercased.
    pub fn answer(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Debug for CaptchaText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CaptchaText(****)")
    }
}

/// A person's answer to a captcha: 1 to 16 ASCII letters or digits, kept
/// lowercase because answers are compared without regard to case.
#[derive(Clone, PartialEq, Eq)]
pub struct CaptchaAnswer(String);

/// The input cannot be an answer to any captcha.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the image code is 1 to 16 letters or digits")]
pub struct InvalidCaptchaAnswer;

impl CaptchaAnswer {
    pub fn parse(input: &str) -> Result<Self, InvalidCaptchaAnswer> {
        let input = input.trim();
        if (1..=16).contains(&input.len()) && input.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(input.to_ascii_lowercase()))
        } else {
            Err(InvalidCaptchaAnswer)
        }
    }

    /// The answer, lowercased, as the store keeps answers.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The answer with each look-alike read as the alphabet character it
    /// stands for ([`LOOK_ALIKES`]), lowercased: what is compared with a
    /// stored answer.
    pub fn in_alphabet(&self) -> String {
        self.0
            .bytes()
            .map(|b| {
                let upper = b.to_ascii_uppercase();
                let read = LOOK_ALIKES.iter().find(|(seen, _)| *seen == upper).map_or(upper, |(_, meant)| *meant);
                char::from(read.to_ascii_lowercase())
            })
            .collect()
    }
}

impl fmt::Debug for CaptchaAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CaptchaAnswer(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;
    use proptest::prelude::*;

    #[test]
    fn generated_text_has_four_characters_from_the_alphabet() {
        let random = SeededRandom::new(9);
        for _ in 0..500 {
            let text = CaptchaText::generate(&random);
            assert_eq!(text.as_str().len(), LENGTH);
            assert!(text.as_str().bytes().all(|b| ALPHABET.contains(&b)));
        }
    }

    #[test]
    fn the_alphabet_has_no_look_alikes() {
        for confusable in b"0OQD1ILJ7Z5SG68B9A4WXF" {
            assert!(!ALPHABET.contains(confusable), "{}", *confusable as char);
        }
    }

    #[test]
    fn every_look_alike_is_outside_the_alphabet_and_maps_into_it() {
        for (seen, meant) in LOOK_ALIKES {
            assert!(!ALPHABET.contains(seen), "{}", *seen as char);
            assert!(ALPHABET.contains(meant), "{}", *meant as char);
        }
        for required in [(b'X', b'K'), (b'7', b'T'), (b'G', b'C')] {
            assert!(LOOK_ALIKES.contains(&required));
        }
    }

    #[test]
    fn an_answer_is_read_into_the_alphabet_and_alphabet_characters_stay_as_they_are() {
        assert_eq!(CaptchaAnswer::parse("x7Gz").unwrap().in_alphabet(), "ktc2");
        let alphabet = std::str::from_utf8(ALPHABET).unwrap();
        assert_eq!(CaptchaAnswer::parse(alphabet).unwrap().in_alphabet(), alphabet.to_ascii_lowercase());
        // Characters with no look-alike in the alphabet stay, and so stay wrong.
        assert_eq!(CaptchaAnswer::parse("0O5S").unwrap().in_alphabet(), "0o5s");
    }

    #[test]
    fn the_stored_answer_is_lowercase() {
        let random = SeededRandom::new(1);
        let text = CaptchaText::generate(&random);
        assert_eq!(text.answer(), text.as_str().to_lowercase());
    }

    #[test]
    fn an_answer_is_lowercased_and_trimmed() {
        assert_eq!(CaptchaAnswer::parse(" AbC4 ").unwrap().as_str(), "abc4");
    }

    #[test]
    fn an_empty_answer_is_rejected() {
        assert_eq!(CaptchaAnswer::parse("  "), Err(InvalidCaptchaAnswer));
    }

    #[test]
    fn punctuation_and_long_answers_are_rejected() {
        assert!(CaptchaAnswer::parse("ab'--").is_err());
        assert!(CaptchaAnswer::parse(&"a".repeat(17)).is_err());
    }

    proptest! {
        #[test]
        fn whatever_is_accepted_is_1_to_16_lowercase_letters_or_digits(input in "[A-Za-z0-9' é-]{0,18}") {
            if let Ok(parsed) = CaptchaAnswer::parse(&input) {
                prop_assert!((1..=16).contains(&parsed.as_str().len()));
                prop_assert!(parsed.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
            }
        }

        #[test]
        fn alphanumeric_answers_round_trip_lowercased(input in "[A-Za-z0-9]{1,16}") {
            let parsed = CaptchaAnswer::parse(&input).unwrap();
            prop_assert_eq!(parsed.as_str(), input.to_ascii_lowercase());
        }
    }
}
