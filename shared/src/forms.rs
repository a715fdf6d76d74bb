//! Fields that several JSON forms share, parsed once, each naming itself
//! when it is wrong.

use crate::domain::{Mobile, Password, SmsCode, SmsCodeId};
use crate::http::{ApiError, BadRequest, text};
use crate::service::Guess;
use serde_json::{Map, Value};

/// `password` and its repetition `password2`.
pub fn new_password(form: &Map<String, Value>) -> Result<Password, ApiError> {
    let password = Password::parse(text(form, "password"))?;
    if text(form, "password2") != text(form, "password") {
        return Err(BadRequest::PasswordMismatch.into());
    }
    Ok(password)
}

/// `mobile`, `sms_code` and `sms_code_id`.
pub fn guess(form: &Map<String, Value>) -> Result<Guess, ApiError> {
    let mobile = Mobile::parse(text(form, "mobile"))?;
    let code = SmsCode::parse(text(form, "sms_code"))?;
    let id = SmsCodeId::parse(text(form, "sms_code_id"))?;
    Ok(Guess { mobile, code, id })
}
