//! An in-process store with the same semantics as the DynamoDB one: for the
//! local API and fast tests.

use super::{Add, Cancelled, Cond, Failed, Item, Op, Store, StoreError, Value, Write};
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
}

fn live(item: Option<&Item>, now: EpochSeconds) -> Option<Item> {
    item.filter(|item| item.is_live(now)).cloned()
}

fn check(items: &HashMap<String, Item>, pk: &str, cond: &Cond, now: EpochSeconds) -> Result<(), StoreError> {
    let stored = items.get(pk);
    if cond.holds(stored, now) { Ok(()) } else { Err(StoreError::ConditionFailed { current: live(stored, now) }) }
}

/// Adds `by` to `attribute` as DynamoDB's `ADD` does, refusing a string.
fn add_to(items: &mut HashMap<String, Item>, add: &Add) -> Result<Item, StoreError> {
    let Add { pk, attribute, by, expires_at, .. } = add;
    let (pk, attribute, by, expires_at) = (pk.as_str(), *attribute, *by, *expires_at);
    let current = match items.get(pk).and_then(|item| item.get(attribute)) {
        Some(Value::N(n)) => *n,
        None => 0,
        Some(Value::S(_)) => return Err(StoreError::Malformed { pk: pk.to_owned(), attribute: attribute.to_owned() }),
    };
    let item = items.entry(pk.to_owned()).or_insert_with(|| Item::new(pk));
    let mut updated = item.clone().with_n(attribute, current + by);
    if let (None, Some(at)) = (updated.expires_at(), expires_at) {
        updated = updated.expiring_at(at);
    }
    *item = updated.clone();
    Ok(updated)
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

    async fn take(
        &self,
        pk: &str,
        unless: Option<&'static str>,
        now: EpochSeconds,
    ) -> Result<Option<Item>, StoreError> {
        let mut items = self.items();
        let kept = unless.is_some_and(|attribute| items.get(pk).is_some_and(|item| item.get(attribute).is_some()));
        let item = if kept { items.get(pk).cloned() } else { items.remove(pk) };
        Ok(item.filter(|item| item.is_live(now)))
    }

    async fn add(&self, add: Add, now: EpochSeconds) -> Result<Item, StoreError> {
        let mut items = self.items();
        check(&items, &add.pk, &add.cond, now)?;
        add_to(&mut items, &add)
    }

    async fn transact(&self, writes: Vec<Write>, now: EpochSeconds) -> Result<(), StoreError> {
        let mut seen = HashSet::new();
        if let Some(write) = writes.iter().find(|write| !seen.insert(write.op.pk())) {
            return Err(StoreError::Rejected(Box::new(DuplicateKey(write.op.pk().to_owned()))));
        }
        let mut items = self.items();
        // DynamoDB refuses to ADD to a string; so does this store, before writing anything.
        for write in &writes {
            if let Op::Add(Add { pk, attribute, .. }) = &write.op
                && let Some(Value::S(_)) = items.get(pk).and_then(|item| item.get(attribute))
            {
                return Err(StoreError::Malformed { pk: pk.clone(), attribute: (*attribute).to_owned() });
            }
        }
        let failed: Vec<Failed> = writes
            .iter()
            .filter(|write| check(&items, write.op.pk(), write.op.cond(), now).is_err())
            .map(|write| Failed { label: write.label, current: live(items.get(write.op.pk()), now) })
            .collect();
        if !failed.is_empty() {
            return Err(StoreError::Cancelled(Cancelled::new(failed)));
        }
        for write in writes {
            match write.op {
                Op::Put { item, .. } => {
                    items.insert(item.pk().to_owned(), item);
                }
                Op::Delete { pk, .. } => {
                    items.remove(&pk);
                }
                Op::Add(add) => {
                    add_to(&mut items, &add)?;
                }
                Op::Check { .. } => {}
            }
        }
        Ok(())
    }
}
