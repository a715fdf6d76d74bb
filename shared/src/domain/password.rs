//! A password as typed at sign-up.

use std::fmt;

/// 8 to 64 characters of any kind, with no composition rules (NIST SP
/// 800-63B). It has no `Display`, and `Debug` prints nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

/// The input is not an acceptable password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a password has 8 to 64 characters")]
pub struct InvalidPassword;

impl Password {
    pub fn parse(input: &str) -> Result<Self, InvalidPassword> {
        if (8..=64).contains(&input.chars().count()) { Ok(Self(input.to_owned())) } else { Err(InvalidPassword) }
    }

    /// The password's bytes, for the hasher only.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn eight_characters_of_any_kind_are_accepted() {
        assert!(Password::parse("pass word").is_ok());
        assert!(Password::parse("密码密码密码密码").is_ok());
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
        #[test]
        fn parsing_never_panics(input in "\\PC*") {
            let _ = Password::parse(&input);
        }
    }
}
