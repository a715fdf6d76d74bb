//! A mainland China mobile number, the only kind this service sends SMS to.

use std::fmt;

/// An 11-digit mainland China mobile number matching `^1[3-9]\d{9}$`.
///
/// `Debug` and `Display` print it masked (`138****8000`), so a number can go
/// into a log line without leaking; [`Mobile::as_str`] gives the full number.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Mobile(String);

/// The input is not a mainland China mobile number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a mobile number has 11 digits and starts with 13 to 19")]
pub struct InvalidMobile;

impl Mobile {
    pub fn parse(input: &str) -> Result<Self, InvalidMobile> {
        let bytes = input.as_bytes();
        let valid = bytes.len() == 11
            && bytes[0] == b'1'
            && (b'3'..=b'9').contains(&bytes[1])
            && bytes.iter().all(u8::is_ascii_digit);
        if valid { Ok(Self(input.to_owned())) } else { Err(InvalidMobile) }
    }

    /// The full number, for the SMS provider and the store only.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with its middle four digits hidden: `138****8000`.
    pub fn masked(&self) -> MaskedMobile<'_> {
        MaskedMobile(&self.0)
    }
}

/// Displays a mobile number as `138****8000`.
#[derive(Clone, Copy)]
pub struct MaskedMobile<'a>(&'a str);

impl fmt::Display for MaskedMobile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Parsing guarantees 11 ASCII digits, so byte slicing is on char boundaries.
        write!(f, "{}****{}", &self.0[..3], &self.0[7..])
    }
}

impl fmt::Debug for MaskedMobile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.masked().fmt(f)
    }
}

impl fmt::Debug for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mobile({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_valid_number_is_accepted() {
        assert_eq!(Mobile::parse("13800138000").unwrap().as_str(), "13800138000");
    }

    #[test]
    fn every_second_digit_from_3_to_9_is_accepted() {
        for second in 3..=9 {
            assert!(Mobile::parse(&format!("1{second}800138000")).is_ok());
        }
    }

    #[test]
    fn a_second_digit_below_3_is_rejected() {
        assert_eq!(Mobile::parse("12800138000"), Err(InvalidMobile));
    }

    #[test]
    fn ten_or_twelve_digits_are_rejected() {
        assert!(Mobile::parse("1380013800").is_err());
        assert!(Mobile::parse("138001380001").is_err());
    }

    #[test]
    fn letters_spaces_and_a_plus_sign_are_rejected() {
        for input in ["1380013800a", " 13800138000", "+8613800138000", "", "１３８００１３８０００"] {
            assert!(Mobile::parse(input).is_err(), "{input:?} was accepted");
        }
    }

    #[test]
    fn display_and_debug_hide_the_middle_digits() {
        let mobile = Mobile::parse("13800138000").unwrap();
        assert_eq!(mobile.to_string(), "138****8000");
        assert_eq!(format!("{mobile:?}"), "Mobile(138****8000)");
    }

    proptest! {
        #[test]
        fn whatever_is_accepted_is_a_mainland_number(input in "1[0-9]{10}|[0-9]{9,12}|1[3-9][0-9０-９ a+]{9}") {
            if let Ok(mobile) = Mobile::parse(&input) {
                let digits = mobile.as_str().as_bytes();
                prop_assert_eq!(digits.len(), 11);
                prop_assert!(digits[0] == b'1' && (b'3'..=b'9').contains(&digits[1]));
                prop_assert!(digits.iter().all(u8::is_ascii_digit));
            }
        }

        #[test]
        fn the_masked_number_never_holds_the_middle_digits(rest in "[3-9][0-9]{9}") {
            let mobile = Mobile::parse(&format!("1{rest}")).unwrap();
            let (shown, debug) = (mobile.to_string(), format!("{mobile:?}"));
            prop_assert_eq!(&shown[..3], &mobile.as_str()[..3]);
            prop_assert_eq!(&shown[3..7], "****");
            prop_assert_eq!(&shown[7..], &mobile.as_str()[7..]);
            prop_assert_eq!(debug, format!("Mobile({shown})"));
        }

        #[test]
        fn every_well_formed_number_round_trips(rest in "[3-9][0-9]{9}") {
            let input = format!("1{rest}");
            let parsed = Mobile::parse(&input).unwrap();
            prop_assert_eq!(parsed.as_str(), input.as_str());
        }
    }
}
