//! One environment variable each: its name, what it takes and its default,
//! said once, and the lookup that reads them.

use super::ConfigError;
use std::cell::RefCell;

/// Variables whose values are secrets: deployed, they come from the Secrets
/// Manager secret (`SECRETS_ARN`), never from the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Plain,
    Secret,
}

/// A variable's name and whether it is a secret, as the tables list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    pub name: &'static str,
    pub kind: Kind,
}

impl Var {
    pub const fn plain(name: &'static str) -> Self {
        Self { name, kind: Kind::Plain }
    }

    pub const fn secret(name: &'static str) -> Self {
        Self { name, kind: Kind::Secret }
    }
}

/// A whole-number variable with its range and default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Number {
    pub name: &'static str,
    pub default: i64,
    pub min: i64,
    pub max: i64,
    /// What one unit is, for the error message ("seconds", "sends").
    pub unit: &'static str,
}

/// The longest lifetime any variable takes: a leap year.
const YEAR: i64 = 366 * 24 * 3600;

impl Number {
    /// Whole seconds from 1 to a year.
    pub const fn seconds(name: &'static str, default: i64) -> Self {
        Self { name, default, min: 1, max: YEAR, unit: "seconds" }
    }

    /// A cap: from 1 to a million.
    pub const fn count(name: &'static str, default: i64) -> Self {
        Self { name, default, min: 1, max: 1_000_000, unit: "a whole number" }
    }

    pub const fn var(&self) -> Var {
        Var::plain(self.name)
    }

    /// The value, or the default when unset; out of range names the variable.
    pub fn read(&self, env: &Env<'_>) -> Result<i64, ConfigError> {
        match env.get(self.name) {
            None => Ok(self.default),
            Some(value) => match value.trim().parse::<i64>() {
                Ok(n) if (self.min..=self.max).contains(&n) => Ok(n),
                _ => Err(ConfigError::Invalid {
                    name: self.name,
                    reason: format!("expected {} from {} to {}", self.unit, self.min, self.max),
                }),
            },
        }
    }
}

/// Reads variables through a lookup, recording which it read (the tests
/// tie the tables to what the code reads). Empty values count as unset.
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    read: RefCell<Vec<&'static str>>,
}

impl std::fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env").field("read", &self.read.borrow()).finish_non_exhaustive()
    }
}

impl<'a> Env<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup, read: RefCell::new(Vec::new()) }
    }

    /// The variable's value, if set and not blank.
    pub fn get(&self, name: &'static str) -> Option<String> {
        self.read.borrow_mut().push(name);
        (self.lookup)(name).filter(|value| !value.trim().is_empty())
    }

    /// Every name read so far.
    #[cfg(test)]
    pub fn read(&self) -> Vec<&'static str> {
        self.read.borrow().clone()
    }
}

/// A service's base URL: https, or plain http to a loopback address only
/// (the tests' stand-ins). Returned without a trailing slash.
pub fn base_url(env: &Env<'_>, name: &'static str, default: &str) -> Result<String, ConfigError> {
    let text = env.get(name).unwrap_or_else(|| default.to_owned());
    let invalid = || ConfigError::Invalid {
        name,
        reason: "expected an https URL (plain http only to a loopback address, for tests)".to_owned(),
    };
    let url = url::Url::parse(text.trim()).map_err(|_| invalid())?;
    let allowed = match url.scheme() {
        "https" => url.host().is_some(),
        "http" => crate::endpoint::is_loopback(&url),
        _ => false,
    };
    if !allowed || !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(invalid());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}
