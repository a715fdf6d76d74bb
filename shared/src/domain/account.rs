//! What a person logs in with: a username or a mobile number.

use super::{Mobile, Username};

/// A username or a mobile number. Usernames are never all digits, so the
/// two cannot be confused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    Username(Username),
    Mobile(Mobile),
}

/// The input is neither a username nor a mobile number: no account has it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no account can have this name")]
pub struct InvalidAccount;

impl Account {
    pub fn parse(input: &str) -> Result<Self, InvalidAccount> {
        let input = input.trim();
        if let Ok(mobile) = Mobile::parse(input) {
            return Ok(Self::Mobile(mobile));
        }
        Username::parse(input).map(Self::Username).map_err(|_| InvalidAccount)
    }

    /// The spelling failed logins are counted under: one per account, whatever its case.
    pub fn canonical(&self) -> String {
        match self {
            Self::Username(username) => username.canonical(),
            Self::Mobile(mobile) => mobile.as_str().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eleven_digits_are_a_mobile_and_a_name_is_a_username() {
        assert!(matches!(Account::parse("13800138000"), Ok(Account::Mobile(_))));
        assert!(matches!(Account::parse(" Alice_01 "), Ok(Account::Username(_))));
        assert_eq!(Account::parse("Alice_01").unwrap().canonical(), "alice_01");
    }

    #[test]
    fn anything_else_is_no_account() {
        for bad in ["", "1234", "12345678901", "a b c d e", &"x".repeat(21)] {
            assert_eq!(Account::parse(bad), Err(InvalidAccount), "{bad:?}");
        }
    }
}
