//! The one table behind every function, as a few atomic operations.
//!
//! Items live under a string partition key `pk`. Short-lived items carry
//! `expires_at` (epoch seconds) for DynamoDB TTL, which deletes late, so both
//! implementations treat an item whose `expires_at <= now` as absent in every
//! read, every condition and every item they hand back.

mod dynamo;
mod memory;

pub use dynamo::{DynamoStore, client_from_env, create_table};
pub use memory::MemoryStore;

use crate::clock::EpochSeconds;
use std::collections::BTreeMap;
use std::future::Future;

/// The partition key attribute.
pub const PK: &str = "pk";
/// The TTL attribute, epoch seconds.
pub const EXPIRES_AT: &str = "expires_at";

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

/// A condition on the item a write touches, evaluated atomically with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// No condition.
    Always,
    /// No live item: absent, or present with `expires_at <= now`. For
    /// permanent items (no `expires_at`) this is plain absence.
    NotLive,
    /// A live expiring item (`expires_at > now`) whose attributes pass every check.
    Live(Vec<Check>),
    /// No item, or one whose number `attribute` is below `limit`: for
    /// counters, whose keys name their time window (an expired window's key
    /// is never written again).
    Below { attribute: &'static str, limit: i64 },
}

impl Cond {
    /// Whether the condition holds for the stored item (live or not) at `now`:
    /// the reference semantics the DynamoDB expressions implement.
    pub fn holds(&self, stored: Option<&Item>, now: EpochSeconds) -> bool {
        match self {
            Cond::Always => true,
            Cond::NotLive => stored.is_none_or(|item| !item.is_live(now)),
            Cond::Live(checks) => stored.is_some_and(|item| {
                item.expires_at().is_some_and(|at| at > now) && checks.iter().all(|check| check.passes(item))
            }),
            Cond::Below { attribute, limit } => {
                stored.is_none_or(|item| matches!(item.get(attribute), Some(Value::N(n)) if n < limit))
            }
        }
    }
}

/// One comparison of a stored attribute with a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub attribute: &'static str,
    pub op: CmpOp,
    pub value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Lt,
}

impl Check {
    pub fn eq(attribute: &'static str, value: Value) -> Self {
        Self { attribute, op: CmpOp::Eq, value }
    }

    pub fn lt(attribute: &'static str, value: i64) -> Self {
        Self { attribute, op: CmpOp::Lt, value: Value::N(value) }
    }

    fn passes(&self, item: &Item) -> bool {
        match (self.op, item.get(self.attribute), &self.value) {
            (CmpOp::Eq, Some(stored), value) => stored == value,
            (CmpOp::Lt, Some(Value::N(stored)), Value::N(value)) => stored < value,
            _ => false,
        }
    }
}

/// One write of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Put {
        item: Item,
        cond: Cond,
    },
    Delete {
        pk: String,
        cond: Cond,
    },
    /// Adds `by` to the number `attribute` (creating the item, and the
    /// attribute at 0, if missing) and sets `expires_at` if the item has none.
    Add {
        pk: String,
        attribute: &'static str,
        by: i64,
        expires_at: EpochSeconds,
        cond: Cond,
    },
}

impl Op {
    pub fn pk(&self) -> &str {
        match self {
            Op::Put { item, .. } => item.pk(),
            Op::Delete { pk, .. } | Op::Add { pk, .. } => pk,
        }
    }

    pub fn cond(&self) -> &Cond {
        match self {
            Op::Put { cond, .. } | Op::Delete { cond, .. } | Op::Add { cond, .. } => cond,
        }
    }
}

/// Why one write of a cancelled transaction did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelReason {
    /// Its condition held; another write's did not.
    Passed,
    /// Its condition failed; `current` is the live item it saw, if any.
    ConditionFailed { current: Option<Item> },
}

/// What a store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A single write's condition failed; `current` is the live item, if any.
    #[error("the condition on the item did not hold")]
    ConditionFailed { current: Option<Item> },
    /// A transaction wrote nothing; one reason per write, in order.
    #[error("the transaction was cancelled: {}", describe(.reasons))]
    Cancelled { reasons: Vec<CancelReason> },
    /// The store could not be reached, throttled us, or kept conflicting,
    /// after the client's bounded retries.
    #[error("the store is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store refused the request as malformed: a bug on our side.
    #[error("the store rejected the request")]
    Rejected(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored item lacks an attribute or has it with the wrong type.
    #[error("a {}# item has no valid `{attribute}`", key_kind(.pk))]
    Malformed { pk: String, attribute: String },
}

fn describe(reasons: &[CancelReason]) -> String {
    let failed: Vec<String> = reasons
        .iter()
        .enumerate()
        .filter(|(_, reason)| matches!(reason, CancelReason::ConditionFailed { .. }))
        .map(|(index, _)| index.to_string())
        .collect();
    format!("condition failed on write {}", failed.join(", "))
}

impl StoreError {
    pub fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unavailable(source.into())
    }
}

/// The table, as the atomic operations the services need. Every `now` is the
/// caller's clock: an item with `expires_at <= now` is absent.
pub trait Store: Send + Sync {
    /// Reads one live item, strongly consistent.
    fn get(&self, pk: &str, now: EpochSeconds) -> impl Future<Output = Result<Option<Item>, StoreError>> + Send;

    /// Writes one item if `cond` holds (one conditional PutItem).
    fn put(&self, item: Item, cond: Cond, now: EpochSeconds) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes one item if `cond` holds; deleting nothing under `Always` is fine.
    fn delete(&self, pk: &str, cond: Cond, now: EpochSeconds) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Reads and removes one item in one DeleteItem (`ReturnValues=ALL_OLD`):
    /// of concurrent takers exactly one gets a live item.
    fn take(&self, pk: &str, now: EpochSeconds) -> impl Future<Output = Result<Option<Item>, StoreError>> + Send;

    /// Adds one to a number attribute if `cond` holds; returns the new item.
    fn increment(
        &self,
        pk: &str,
        attribute: &'static str,
        cond: Cond,
        now: EpochSeconds,
    ) -> impl Future<Output = Result<Item, StoreError>> + Send;

    /// Writes all of `ops` or none (TransactWriteItems). On a failed
    /// condition nothing is written and [`StoreError::Cancelled`] names which.
    fn transact(&self, ops: Vec<Op>, now: EpochSeconds) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn get(&self, pk: &str, now: EpochSeconds) -> impl Future<Output = Result<Option<Item>, StoreError>> + Send {
        (**self).get(pk, now)
    }

    fn put(&self, item: Item, cond: Cond, now: EpochSeconds) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).put(item, cond, now)
    }

    fn delete(&self, pk: &str, cond: Cond, now: EpochSeconds) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).delete(pk, cond, now)
    }

    fn take(&self, pk: &str, now: EpochSeconds) -> impl Future<Output = Result<Option<Item>, StoreError>> + Send {
        (**self).take(pk, now)
    }

    fn increment(
        &self,
        pk: &str,
        attribute: &'static str,
        cond: Cond,
        now: EpochSeconds,
    ) -> impl Future<Output = Result<Item, StoreError>> + Send {
        (**self).increment(pk, attribute, cond, now)
    }

    fn transact(&self, ops: Vec<Op>, now: EpochSeconds) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).transact(ops, now)
    }
}

/// Either store, chosen at start-up (the local API picks by configuration).
#[derive(Debug)]
pub enum AnyStore {
    Memory(MemoryStore),
    Dynamo(DynamoStore),
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Memory($store) => $call.await,
            AnyStore::Dynamo($store) => $call.await,
        }
    };
}

impl Store for AnyStore {
    async fn get(&self, pk: &str, now: EpochSeconds) -> Result<Option<Item>, StoreError> {
        delegate!(self, store => store.get(pk, now))
    }

    async fn put(&self, item: Item, cond: Cond, now: EpochSeconds) -> Result<(), StoreError> {
        delegate!(self, store => store.put(item, cond, now))
    }

    async fn delete(&self, pk: &str, cond: Cond, now: EpochSeconds) -> Result<(), StoreError> {
        delegate!(self, store => store.delete(pk, cond, now))
    }

    async fn take(&self, pk: &str, now: EpochSeconds) -> Result<Option<Item>, StoreError> {
        delegate!(self, store => store.take(pk, now))
    }

    async fn increment(
        &self,
        pk: &str,
        attribute: &'static str,
        cond: Cond,
        now: EpochSeconds,
    ) -> Result<Item, StoreError> {
        delegate!(self, store => store.increment(pk, attribute, cond, now))
    }

    async fn transact(&self, ops: Vec<Op>, now: EpochSeconds) -> Result<(), StoreError> {
        delegate!(self, store => store.transact(ops, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_no_value_and_no_full_key() {
        let item = Item::new("smscode#13800138000").with_s("code", "123456").expiring_at(99);
        let shown = format!("{item:?} {:?}", CancelReason::ConditionFailed { current: Some(item.clone()) });
        assert!(!shown.contains("123456") && !shown.contains("13800138000"), "{shown}");
        assert!(shown.contains("smscode#") && shown.contains("code"), "{shown}");
    }

    #[test]
    fn a_malformed_item_error_names_the_kind_not_the_key() {
        let error = Item::new("mobile#13800138000").s("username").unwrap_err();
        assert_eq!(error.to_string(), "a mobile# item has no valid `username`");
    }
}
