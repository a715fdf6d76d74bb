//! Either store, chosen at start-up (the local API picks by configuration).

use super::{Add, Cond, DynamoStore, Item, MemoryStore, Store, StoreError, Write};
use crate::clock::EpochSeconds;

/// Either store, chosen at start-up.
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

    async fn take(
        &self,
        pk: &str,
        unless: Option<&'static str>,
        now: EpochSeconds,
    ) -> Result<Option<Item>, StoreError> {
        delegate!(self, store => store.take(pk, unless, now))
    }

    async fn add(&self, add: Add, now: EpochSeconds) -> Result<Item, StoreError> {
        delegate!(self, store => store.add(add, now))
    }

    async fn transact(&self, writes: Vec<Write>, now: EpochSeconds) -> Result<(), StoreError> {
        delegate!(self, store => store.transact(writes, now))
    }
}
