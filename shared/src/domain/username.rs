//! The name a person signs up with.

use std::fmt;

/// 5 to 20 characters of `[A-Za-z0-9_-]`, not all digits (so a username can
/// never be mistaken for a mobile number). Unique without regard to case.
#[derive(Clone, PartialEq, Eq)]
pub struct Username(String);

/// The input is not an acceptable username.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a username has 5 to 20 letters, digits, '_' or '-', and not only digits")]
pub struct InvalidUsername;

impl Username {
    pub fn parse(input: &str) -> Result<Self, InvalidUsername> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
        let valid =
            (5..=20).contains(&input.len()) && input.bytes().all(allowed) && !input.bytes().all(|b| b.is_ascii_digit());
        if valid { Ok(Self(input.to_owned())) } else { Err(InvalidUsername) }
    }

    /// The username as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The spelling that must be unique: `Alice` and `alice` are one account.
    pub fn canonical(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn letters_digits_underscore_and_hyphen_are_accepted() {
        assert_eq!(Username::parse("Ali_ce-42").unwrap().as_str(), "Ali_ce-42");
    }

    #[test]
    fn four_or_twenty_one_characters_are_rejected() {
        assert_eq!(Username::parse("abcd"), Err(InvalidUsername));
        assert_eq!(Username::parse(&"a".repeat(21)), Err(InvalidUsername));
    }

    #[test]
    fn a_name_of_only_digits_is_rejected() {
        assert!(Username::parse("13800138000").is_err());
    }

    #[test]
    fn spaces_and_non_ascii_letters_are_rejected() {
        assert!(Username::parse("alice smith").is_err());
        assert!(Username::parse("名字名字名字").is_err());
    }

    #[test]
    fn case_does_not_make_a_username_unique() {
        assert_eq!(Username::parse("Alice").unwrap().canonical(), Username::parse("aLICE").unwrap().canonical());
    }

    proptest! {
        #[test]
        fn whatever_is_accepted_is_5_to_20_allowed_characters_not_all_digits(input in "[A-Za-z0-9_ é-]{0,24}") {
            if let Ok(name) = Username::parse(&input) {
                prop_assert!((5..=20).contains(&name.as_str().len()));
                prop_assert!(name.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
                prop_assert!(!name.as_str().bytes().all(|b| b.is_ascii_digit()));
                prop_assert_eq!(Username::parse(&name.canonical()).map(|n| n.canonical()), Ok(name.canonical()));
            }
        }

        #[test]
        fn valid_names_round_trip(input in "[a-z_-][A-Za-z0-9_-]{4,19}") {
            let parsed = Username::parse(&input).unwrap();
            prop_assert_eq!(parsed.as_str(), input.as_str());
        }
    }
}
