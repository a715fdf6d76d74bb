//! What an SMS code is for: a code is good only for the purpose it was sent for.

/// The use a code was sent for. `Register` and `ChangeMobile` go only to
/// numbers without an account; the others only to registered ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Register,
    Login,
    Reset,
    Close,
    /// To the number an account moves to: proves the new number.
    ChangeMobile,
    /// To the number an account moves from: proves the owner, as a
    /// password would.
    ChangeMobileOld,
}

/// The input names no purpose.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the purpose is register, login, reset, close, change_mobile or change_mobile_old")]
pub struct InvalidPurpose;

impl Purpose {
    /// `register` when absent, as the original's only flow.
    pub fn parse(input: Option<&str>) -> Result<Self, InvalidPurpose> {
        match input {
            None | Some("register") => Ok(Self::Register),
            Some("login") => Ok(Self::Login),
            Some("reset") => Ok(Self::Reset),
            Some("close") => Ok(Self::Close),
            Some("change_mobile") => Ok(Self::ChangeMobile),
            Some("change_mobile_old") => Ok(Self::ChangeMobileOld),
            Some(_) => Err(InvalidPurpose),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Login => "login",
            Self::Reset => "reset",
            Self::Close => "close",
            Self::ChangeMobile => "change_mobile",
            Self::ChangeMobileOld => "change_mobile_old",
        }
    }

    /// Whether the number must already have an account.
    pub fn needs_account(self) -> bool {
        match self {
            Self::Register | Self::ChangeMobile => false,
            Self::Login | Self::Reset | Self::Close | Self::ChangeMobileOld => true,
        }
    }

    /// Whether a code for this purpose goes to a number that already proved
    /// itself (a code sent to it was verified when its account was made):
    /// such sends never pay, and their verifications never earn, the number
    /// prefix's allowance, so a pumping run against a prefix cannot keep its
    /// registered owners from logging in, resetting or closing. Every new
    /// purpose must say which it is.
    pub fn number_proven(self) -> bool {
        match self {
            Self::Register | Self::ChangeMobile => false,
            Self::Login | Self::Reset | Self::Close | Self::ChangeMobileOld => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_purpose_is_register_and_each_name_parses_to_itself() {
        assert_eq!(Purpose::parse(None), Ok(Purpose::Register));
        let every = [
            Purpose::Register,
            Purpose::Login,
            Purpose::Reset,
            Purpose::Close,
            Purpose::ChangeMobile,
            Purpose::ChangeMobileOld,
        ];
        for purpose in every {
            assert_eq!(Purpose::parse(Some(purpose.as_str())), Ok(purpose));
        }
    }

    #[test]
    fn other_names_are_refused() {
        for bad in ["", "Login", "signup", "reset ", "change-mobile", "change_mobile_new"] {
            assert_eq!(Purpose::parse(Some(bad)), Err(InvalidPurpose), "{bad:?}");
        }
    }

    #[test]
    fn only_codes_to_numbers_not_yet_proven_pay_the_prefix_allowance() {
        assert!(!Purpose::Register.number_proven() && !Purpose::ChangeMobile.number_proven());
        for proven in [Purpose::Login, Purpose::Reset, Purpose::Close, Purpose::ChangeMobileOld] {
            assert!(proven.number_proven(), "{proven:?}");
        }
    }

    #[test]
    fn only_a_sign_up_code_and_a_new_number_s_code_go_to_a_number_without_an_account() {
        assert!(!Purpose::Register.needs_account() && !Purpose::ChangeMobile.needs_account());
        assert!(Purpose::Login.needs_account() && Purpose::Reset.needs_account() && Purpose::Close.needs_account());
        assert!(Purpose::ChangeMobileOld.needs_account());
    }
}
