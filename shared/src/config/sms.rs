//! The SMS code: its lifetimes, which numbers get one, the key codes are
//! kept under and the test numbers.

use super::ConfigError;
use super::var::{Env, Number, Var};
use crate::domain::{Mobile, SmsCode};
use secrecy::SecretString;
use std::fmt;

pub const CAPTCHA_TTL_SECONDS: Number = Number::seconds("CAPTCHA_TTL_SECONDS", 300);
pub const SMS_COOLDOWN_SECONDS: Number = Number::seconds("SMS_COOLDOWN_SECONDS", 180);
pub const SMS_CODE_TTL_SECONDS: Number = Number::seconds("SMS_CODE_TTL_SECONDS", 180);
pub const SMS_NUMBER_PREFIXES: &str = "SMS_NUMBER_PREFIXES";
pub const SMS_CODE_KEY: &str = "SMS_CODE_KEY";
pub const SMS_TEST_NUMBERS: &str = "SMS_TEST_NUMBERS";

/// The section's variables.
pub(super) const VARIABLES: [Var; 6] = [
    CAPTCHA_TTL_SECONDS.var(),
    SMS_COOLDOWN_SECONDS.var(),
    SMS_CODE_TTL_SECONDS.var(),
    Var::plain(SMS_NUMBER_PREFIXES),
    Var::secret(SMS_CODE_KEY),
    Var::plain(SMS_TEST_NUMBERS),
];

/// Every mainland China mobile number: what `Mobile` accepts at all.
pub const DEFAULT_SMS_NUMBER_PREFIXES: &str = "13,14,15,16,17,18,19";

/// The shortest `SMS_CODE_KEY` taken.
const MIN_CODE_KEY_LEN: usize = 32;

/// What the SMS section reads.
#[derive(Debug, Clone)]
pub(super) struct SmsSection {
    pub captcha_ttl: i64,
    pub cooldown: i64,
    pub code_ttl: i64,
    pub number_prefixes: Vec<String>,
    pub code_key: Option<SecretString>,
    pub test_numbers: TestNumbers,
}

impl SmsSection {
    pub(super) fn read(env: &Env<'_>) -> Result<Self, ConfigError> {
        let code_key = match env.get(SMS_CODE_KEY) {
            Some(key) if key.len() >= MIN_CODE_KEY_LEN => Some(SecretString::from(key)),
            Some(_) => {
                return Err(ConfigError::invalid(SMS_CODE_KEY, "expected at least 32 characters of random text"));
            }
            None => None,
        };
        let prefixes = env.get(SMS_NUMBER_PREFIXES).unwrap_or_else(|| DEFAULT_SMS_NUMBER_PREFIXES.to_owned());
        let number_prefixes: Vec<String> =
            prefixes.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect();
        let valid_prefix =
            |p: &String| (1..=11).contains(&p.len()) && p.starts_with('1') && p.bytes().all(|b| b.is_ascii_digit());
        if number_prefixes.is_empty() || !number_prefixes.iter().all(valid_prefix) {
            return Err(ConfigError::invalid(
                SMS_NUMBER_PREFIXES,
                "expected comma-separated digit prefixes of mobile numbers, such as 13,15,18",
            ));
        }
        Ok(Self {
            captcha_ttl: CAPTCHA_TTL_SECONDS.read(env)?,
            cooldown: SMS_COOLDOWN_SECONDS.read(env)?,
            code_ttl: SMS_CODE_TTL_SECONDS.read(env)?,
            number_prefixes,
            code_key,
            test_numbers: env
                .get(SMS_TEST_NUMBERS)
                .map(|text| TestNumbers::parse(&text))
                .transpose()?
                .unwrap_or_default(),
        })
    }
}

/// Numbers that get a fixed code and no SMS, for app-store review and QA
/// (`SMS_TEST_NUMBERS`, `number:code` pairs). `Debug` shows masked numbers only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TestNumbers(Vec<(Mobile, SmsCode)>);

impl TestNumbers {
    /// At most this many pairs: test numbers are an exception, not a pool.
    pub const MAX: usize = 10;

    /// The fixed code of `mobile`, if it is a test number.
    pub fn code_for(&self, mobile: &Mobile) -> Option<&SmsCode> {
        self.0.iter().find(|(number, _)| number == mobile).map(|(_, code)| code)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses `number:code,number:code`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let invalid = |reason| ConfigError::invalid(SMS_TEST_NUMBERS, reason);
        let pairs = text
            .split(',')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (number, code) = pair.split_once(':').ok_or_else(|| invalid("expected number:code pairs"))?;
                let number =
                    Mobile::parse(number.trim()).map_err(|_| invalid("a test number is not a mobile number"))?;
                let code = SmsCode::parse(code.trim()).map_err(|_| invalid("a test code is not six digits"))?;
                Ok((number, code))
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        if pairs.len() > Self::MAX {
            return Err(invalid("at most 10 test numbers"));
        }
        if pairs.iter().enumerate().any(|(i, (number, _))| pairs[..i].iter().any(|(earlier, _)| earlier == number)) {
            return Err(invalid("a test number is listed twice"));
        }
        Ok(Self(pairs))
    }
}

impl fmt::Debug for TestNumbers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter().map(|(number, _)| number.masked().to_string())).finish()
    }
}
