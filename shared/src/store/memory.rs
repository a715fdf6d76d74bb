//! An in-process store with the same semantics as the DynamoDB one: for the
//! local API and fast tests.

use super::{CancelReason, Cond, Item, Op, Store, StoreError, Value};
use crate::clock::EpochSeconds;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A table in a `HashMap` behind one lock: every operation is atomic. Expired
/// items stay until overwritten or deleted, as they do in DynamoDB until TTL
/// catches up, and count as absent.
#[derive(Debug, Default)]
pub struct MemoryStore {
    items: Mutex<HashMap<String, Item>>,
}

#[derive(Debug, thiserror::Error)]
#[error("a transaction cannot touch item {0} twice")]
struct DuplicateKey(String);

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn items(&self) -> MutexGuard<'_, HashMap<String, Item>> {
        // Every operation checks before it mutates, so a panic cannot leave a half-applied write.
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every item, live or expired, for tests that inspect what was written.
    pub fn dump(&self) -> Vec<Item> {
        let mut items: Vec<Item> = self.items().values().cloned().collect();
        items.sort_by(|a, b| a.pk().cmp(b.pk()));
        items
    }
}

fn live(item: Option<&Item>, now: EpochSeconds) -> Option<Item> {
    item.filter(|item| item.is_live(now)).cloned()
}

fn check(items: &HashMap<String, Item>, pk: &str, cond: &Cond, now: EpochSeconds) -> Result<(), StoreError> {
    let stored = items.get(pk);
    if cond.holds(stored, now) { Ok(()) } else { Err(StoreError::ConditionFailed { current: live(stored, now) }) }
}

impl Store for MemoryStore {
    async fn get(&self, pk: &str, now: EpochSeconds) -> Result<Option<Item>, StoreError> {
        Ok(live(self.items().get(pk), now))
    }

    async fn put(&self, item: Item, cond: Cond, now: EpochSeconds) -> Result<(), StoreError> {
        let mut items = self.items();
        check(&items, item.pk(), &cond, now)?;
        items.insert(item.pk().to_owned(), item);
        Ok(())
    }

    async fn delete(&self, pk: &str, cond: Cond, now: EpochSeconds) -> Result<(), StoreError> {
        let mut items = self.items();
        check(&items, pk, &cond, now)?;
        items.remove(pk);
        Ok(())
    }

    async fn take(&self, pk: &str, now: EpochSeconds) -> Result<Option<Item>, StoreError> {
        Ok(self.items().remove(pk).filter(|item| item.is_live(now)))
    }

    async fn increment(
        &self,
        pk: &str,
        attribute: &'static str,
        cond: Cond,
        now: EpochSeconds,
    ) -> Result<Item, StoreError> {
        let mut items = self.items();
        check(&items, pk, &cond, now)?;
        let item = items.entry(pk.to_owned()).or_insert_with(|| Item::new(pk));
        let next = match item.get(attribute) {
            Some(Value::N(n)) => n + 1,
            None => 1,
            Some(Value::S(_)) => {
                return Err(StoreError::Malformed { pk: pk.to_owned(), attribute: attribute.to_owned() });
            }
        };
        *item = item.clone().with_n(attribute, next);
        Ok(item.clone())
    }

    async fn transact(&self, ops: Vec<Op>, now: EpochSeconds) -> Result<(), StoreError> {
        let mut seen = HashSet::new();
        if let Some(op) = ops.iter().find(|op| !seen.insert(op.pk())) {
            return Err(StoreError::Rejected(Box::new(DuplicateKey(op.pk().to_owned()))));
        }
        let mut items = self.items();
        // DynamoDB refuses to ADD to a string; so does this store, before writing anything.
        for op in &ops {
            if let Op::Add { pk, attribute, .. } = op
                && let Some(Value::S(_)) = items.get(pk).and_then(|item| item.get(attribute))
            {
                return Err(StoreError::Malformed { pk: pk.clone(), attribute: (*attribute).to_owned() });
            }
        }
        let reasons: Vec<CancelReason> = ops
            .iter()
            .map(|op| {
                let pk = op.pk();
                match check(&items, pk, op.cond(), now) {
                    Ok(()) => CancelReason::Passed,
                    Err(_) => CancelReason::ConditionFailed { current: live(items.get(pk), now) },
                }
            })
            .collect();
        if reasons.iter().any(|reason| *reason != CancelReason::Passed) {
            return Err(StoreError::Cancelled { reasons });
        }
        for op in ops {
            match op {
                Op::Put { item, .. } => {
                    items.insert(item.pk().to_owned(), item);
                }
                Op::Delete { pk, .. } => {
                    items.remove(&pk);
                }
                Op::Add { pk, attribute, by, expires_at, .. } => {
                    let item = items.entry(pk.clone()).or_insert_with(|| Item::new(pk.as_str()));
                    let current = match item.get(attribute) {
                        Some(Value::N(n)) => *n,
                        _ => 0,
                    };
                    let mut updated = item.clone().with_n(attribute, current + by);
                    if updated.expires_at().is_none() {
                        updated = updated.expiring_at(expires_at);
                    }
                    *item = updated;
                }
            }
        }
        Ok(())
    }
}
