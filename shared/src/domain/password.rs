//! A password as typed at sign-up.

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

/// 8 to 64 characters of any kind, with no composition rules (NIST SP
/// 800-63B). Held in a [`SecretString`]: it has no `Display`, `Debug` prints
/// nothing of it, and its memory is zeroed when it is dropped.
#[derive(Debug, Clone)]
pub struct Password(SecretString);

/// The input is not an acceptable password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a password has 8 to 64 characters")]
pub struct InvalidPassword;

impl Password {
    pub fn parse(input: &str) -> Result<Self, InvalidPassword> {
        if (8..=64).contains(&input.chars().count()) { Ok(Self(input.into())) } else { Err(InvalidPassword) }
    }

    /// The password's bytes, for the hasher only.
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }
}

/// Compared in time independent of where two differ.
impl PartialEq for Password {
    fn eq(&self, other: &Self) -> bool {
        self.expose().ct_eq(other.expose()).into()
    }
}

impl Eq for Password {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn eight_characters_of_any_kind_are_accepted() {
        assert_eq!(Password::parse("pass word").unwrap().expose(), b"pass word");
        assert_eq!(Password::parse("密码密码密码密码").unwrap().expose(), "密码密码密码密码".as_bytes());
    }

    #[test]
    fn seven_or_sixty_five_characters_are_rejected() {
        assert_eq!(Password::parse("1234567"), Err(InvalidPassword));
        assert_eq!(Password::parse(&"x".repeat(65)), Err(InvalidPassword));
    }

    #[test]
    fn debug_shows_nothing_of_the_password() {
        let shown = format!("{:?}", Password::parse("hunter2hunter2").unwrap());
        assert!(!shown.contains("hunter"), "{shown}");
    }

    proptest! {
        /// Characters, not bytes, are counted; the password is kept as typed.
        #[test]
        fn a_password_is_accepted_exactly_when_it_has_8_to_64_characters(input in "\\PC{0,80}") {
            let count = input.chars().count();
            match Password::parse(&input) {
                Ok(password) => {
                    prop_assert!((8..=64).contains(&count), "{count}");
                    prop_assert_eq!(password.expose(), input.as_bytes());
                }
                Err(_) => prop_assert!(!(8..=64).contains(&count), "{count}"),
            }
        }

        #[test]
        fn debug_never_holds_the_password(input in "[a-z]{8,64}") {
            let shown = format!("{:?}", Password::parse(&input).unwrap());
            prop_assert!(!shown.contains(&input), "{}", shown);
        }
    }
}
