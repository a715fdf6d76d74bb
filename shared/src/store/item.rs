//! Items and attribute values, as the services read and write them.

use super::{EXPIRES_AT, PK, StoreError};
use crate::clock::EpochSeconds;
use std::collections::BTreeMap;

/// An attribute value: the two DynamoDB types this service stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    S(String),
    N(i64),
}

/// One item: its attributes by name, `pk` among them.
///
/// `Debug` shows the kind of key (`smscode#…`) and the attribute names, never
/// a value: items hold codes, answers, hashes and phone numbers, and a
/// `Debug` can end up in a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Item(BTreeMap<String, Value>);

/// The kind part of a key, `smscode` of `smscode#13800138000`: safe to log.
pub fn key_kind(pk: &str) -> &str {
    pk.split('#').next().unwrap_or_default()
}

impl std::fmt::Debug for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.keys().map(String::as_str).filter(|name| *name != PK).collect();
        write!(f, "Item({}#…, {names:?})", key_kind(self.pk()))
    }
}

impl Item {
    pub fn new(pk: impl Into<String>) -> Self {
        let mut attributes = BTreeMap::new();
        attributes.insert(PK.to_owned(), Value::S(pk.into()));
        Self(attributes)
    }

    /// Adds a string attribute.
    pub fn with_s(mut self, name: &str, value: impl Into<String>) -> Self {
        self.0.insert(name.to_owned(), Value::S(value.into()));
        self
    }

    /// Adds a number attribute.
    pub fn with_n(mut self, name: &str, value: i64) -> Self {
        self.0.insert(name.to_owned(), Value::N(value));
        self
    }

    /// Sets `expires_at`.
    pub fn expiring_at(self, at: EpochSeconds) -> Self {
        self.with_n(EXPIRES_AT, at)
    }

    pub fn pk(&self) -> &str {
        match self.0.get(PK) {
            Some(Value::S(pk)) => pk,
            _ => "",
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A string attribute, or [`StoreError::Malformed`] naming it.
    pub fn s(&self, name: &'static str) -> Result<&str, StoreError> {
        match self.0.get(name) {
            Some(Value::S(value)) => Ok(value),
            _ => Err(self.malformed(name)),
        }
    }

    /// A number attribute, or [`StoreError::Malformed`] naming it.
    pub fn n(&self, name: &'static str) -> Result<i64, StoreError> {
        match self.0.get(name) {
            Some(Value::N(value)) => Ok(*value),
            _ => Err(self.malformed(name)),
        }
    }

    pub fn expires_at(&self) -> Option<EpochSeconds> {
        match self.0.get(EXPIRES_AT) {
            Some(Value::N(at)) => Some(*at),
            _ => None,
        }
    }

    /// Whether the item counts as present at `now`: permanent items always
    /// do, expiring ones until `expires_at`.
    pub fn is_live(&self, now: EpochSeconds) -> bool {
        self.expires_at().is_none_or(|at| at > now)
    }

    pub fn attributes(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }

    fn malformed(&self, attribute: &'static str) -> StoreError {
        StoreError::Malformed { pk: self.pk().to_owned(), attribute: attribute.to_owned() }
    }

    pub(crate) fn from_attributes(attributes: BTreeMap<String, Value>) -> Self {
        Self(attributes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_no_value_and_no_full_key() {
        let item = Item::new("smscode#13800138000").with_s("code", "123456").expiring_at(99);
        let shown = format!("{item:?}");
        assert!(!shown.contains("123456") && !shown.contains("13800138000"), "{shown}");
        assert!(shown.contains("smscode#") && shown.contains("code"), "{shown}");
    }

    #[test]
    fn a_malformed_item_error_names_the_kind_not_the_key() {
        let error = Item::new("mobile#13800138000").s("username").unwrap_err();
        assert_eq!(error.to_string(), "a mobile# item has no valid `username`");
    }

    #[test]
    fn an_item_is_live_until_its_expiry_and_a_permanent_one_always() {
        let item = Item::new("k#1").expiring_at(100);
        assert!(item.is_live(99) && !item.is_live(100));
        assert!(Item::new("user#a").is_live(i64::MAX));
    }
}
