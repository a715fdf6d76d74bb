//! Types that parse outside input once, so the rest of the code can trust them.

mod account;
mod account_id;
pub(crate) mod captcha_answer;
mod captcha_id;
mod carrier_token;
mod client_key;
mod mobile;
mod password;
mod purpose;
mod session_token;
mod signup_ticket;
mod sms_code;
mod sms_code_id;
mod username;

pub use account::{Account, InvalidAccount};
pub use account_id::{AccountId, InvalidAccountId};
pub use captcha_answer::{CaptchaAnswer, CaptchaText, InvalidCaptchaAnswer};
pub use captcha_id::{CaptchaId, InvalidCaptchaId};
pub use carrier_token::{CarrierToken, InvalidCarrierToken};
pub use client_key::ClientKey;
pub use mobile::{InvalidMobile, MaskedMobile, Mobile};
pub use password::{InvalidPassword, Password};
pub use purpose::{InvalidPurpose, Purpose};
pub use session_token::{InvalidSessionToken, SessionToken, TokenHash};
pub use signup_ticket::{InvalidSignupTicket, SignupTicket};
pub use sms_code::{InvalidSmsCode, SmsCode};
pub use sms_code_id::{InvalidSmsCodeId, SmsCodeId};
pub use username::{InvalidUsername, Username};
