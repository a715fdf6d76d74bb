//! What a store operation can fail with.

use super::{Cancelled, key_kind};

/// What a store operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A single write's condition failed; `current` is the live item, if any.
    #[error("the condition on the item did not hold")]
    ConditionFailed { current: Option<super::Item> },
    /// A transaction wrote nothing because the conditions it names failed.
    #[error("the transaction was cancelled: {0}")]
    Cancelled(Cancelled),
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

impl StoreError {
    pub fn unavailable(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unavailable(source.into())
    }
}
