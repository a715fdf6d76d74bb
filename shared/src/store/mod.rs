//! The one table behind every function, as a few atomic operations.
//!
//! Items live under a string partition key `pk`. Short-lived items carry
//! `expires_at` (epoch seconds) for DynamoDB TTL, which deletes late, so both
//! implementations treat an item whose `expires_at <= now` as absent in every
//! read, every condition and every item they hand back.

mod any;
mod cond;
mod dynamo;
mod error;
mod item;
mod memory;
mod write;

pub use any::AnyStore;
pub use cond::{Check, CmpOp, Cond};
pub(crate) use dynamo::sdk_config;
pub use dynamo::{DynamoStore, client_from_env, create_table, https_client};
pub use error::StoreError;
pub use item::{Item, Value, key_kind};
pub use memory::MemoryStore;
pub use write::{Add, Cancelled, Failed, Label, Op, Write};

use crate::clock::EpochSeconds;
use std::future::Future;

/// The partition key attribute.
pub const PK: &str = "pk";
/// The TTL attribute, epoch seconds.
pub const EXPIRES_AT: &str = "expires_at";

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
    /// of concurrent takers exactly one gets a live item. An item that has
    /// the attribute `unless` is left in place and returned all the same:
    /// the caller tells the two apart by that attribute.
    fn take(
        &self,
        pk: &str,
        unless: Option<&'static str>,
        now: EpochSeconds,
    ) -> impl Future<Output = Result<Option<Item>, StoreError>> + Send;

    /// Applies one [`Add`] alone and returns the item as written (one
    /// UpdateItem).
    fn add(&self, add: Add, now: EpochSeconds) -> impl Future<Output = Result<Item, StoreError>> + Send;

    /// Writes all of `writes` or none (TransactWriteItems). On failed
    /// conditions nothing is written and [`StoreError::Cancelled`] names
    /// their labels.
    fn transact(&self, writes: Vec<Write>, now: EpochSeconds) -> impl Future<Output = Result<(), StoreError>> + Send;
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

    fn take(
        &self,
        pk: &str,
        unless: Option<&'static str>,
        now: EpochSeconds,
    ) -> impl Future<Output = Result<Option<Item>, StoreError>> + Send {
        (**self).take(pk, unless, now)
    }

    fn add(&self, add: Add, now: EpochSeconds) -> impl Future<Output = Result<Item, StoreError>> + Send {
        (**self).add(add, now)
    }

    fn transact(&self, writes: Vec<Write>, now: EpochSeconds) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).transact(writes, now)
    }
}
