//! The store on DynamoDB: each operation is one request, its condition the
//! expression [`Expression`] builds from a [`Cond`].

mod client;
mod expression;
mod table;

pub(crate) use client::sdk_config;
pub use client::{client_from_env, https_client};
pub use table::create_table;

use super::{Add, Cancelled, Cond, Failed, Item, Op, PK, Store, StoreError, Value, Write};
use crate::clock::EpochSeconds;
use crate::telemetry::{Metric, metrics};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, ReturnValuesOnConditionCheckFailure as OnFailure,
    TransactWriteItem, Update,
};
use expression::{Expression, with_expression};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// How often a transaction that lost a race with another one (DynamoDB's
/// `TransactionConflict`) is tried again before the store counts as unavailable.
const CONFLICT_RETRIES: u32 = 4;
/// Conflict retries stop once this much time has gone, whatever is left of
/// [`CONFLICT_RETRIES`], so they never stretch a request past its budget.
const CONFLICT_BUDGET: Duration = Duration::from_secs(1);

/// The table on DynamoDB, through a client built once per cold start.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

type Attributes = HashMap<String, AttributeValue>;

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

fn key(pk: &str) -> Attributes {
    HashMap::from([(PK.to_owned(), AttributeValue::S(pk.to_owned()))])
}

fn to_attribute(value: &Value) -> AttributeValue {
    match value {
        Value::S(s) => AttributeValue::S(s.clone()),
        Value::N(n) => AttributeValue::N(n.to_string()),
    }
}

fn to_attributes(item: &Item) -> Attributes {
    item.attributes().map(|(name, value)| (name.to_owned(), to_attribute(value))).collect()
}

/// Converts a returned item, dropping it when it has expired: TTL deletes
/// late, and an expired item must look absent.
fn from_attributes(attributes: &Attributes, now: EpochSeconds) -> Result<Option<Item>, StoreError> {
    let malformed = |name: &str| {
        let pk = match attributes.get(PK) {
            Some(AttributeValue::S(pk)) => pk.clone(),
            _ => String::new(),
        };
        StoreError::Malformed { pk, attribute: name.to_owned() }
    };
    let mut converted = BTreeMap::new();
    for (name, value) in attributes {
        let value = match value {
            AttributeValue::S(s) => Value::S(s.clone()),
            AttributeValue::N(n) => Value::N(n.parse().map_err(|_| malformed(name))?),
            _ => return Err(malformed(name)),
        };
        converted.insert(name.clone(), value);
    }
    let item = Item::from_attributes(converted);
    Ok(item.is_live(now).then_some(item))
}

fn optional(attributes: Option<&Attributes>, now: EpochSeconds) -> Result<Option<Item>, StoreError> {
    match attributes {
        Some(attributes) if !attributes.is_empty() => from_attributes(attributes, now),
        _ => Ok(None),
    }
}

/// Maps an SDK failure that is not a failed condition: a malformed request is
/// our bug; anything else (throttling, timeouts, no connection, 5xx) means
/// the store is unavailable after the SDK's own retries.
fn failure<E>(error: SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match error.code() {
        Some("ValidationException" | "SerializationException") => StoreError::Rejected(Box::new(error)),
        _ => StoreError::unavailable(error),
    }
}

fn rejected(error: BuildError) -> StoreError {
    StoreError::Rejected(Box::new(error))
}

/// A single write's failure: its failed condition with the item it saw, or
/// [`failure`]. Each operation's error type names the exception itself.
macro_rules! single_write_failure {
    ($error:expr, $now:expr, $Exception:path) => {{
        let error = $error;
        match error.as_service_error() {
            Some($Exception(e)) => StoreError::ConditionFailed { current: optional(e.item(), $now)? },
            _ => failure(error),
        }
    }};
}

impl Store for DynamoStore {
    async fn get(&self, pk: &str, now: EpochSeconds) -> Result<Option<Item>, StoreError> {
        let output = self.client.get_item().table_name(&self.table).set_key(Some(key(pk))).consistent_read(true).send();
        let output = timed("GetItem", output).await.map_err(failure)?;
        optional(output.item(), now)
    }

    async fn put(&self, item: Item, cond: Cond, now: EpochSeconds) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException as Failed;
        let request = self.client.put_item().table_name(&self.table).set_item(Some(to_attributes(&item)));
        let request = with_expression!(request, Expression::condition(&cond, now));
        match timed("PutItem", request.return_values_on_condition_check_failure(OnFailure::AllOld).send()).await {
            Ok(_) => Ok(()),
            Err(error) => Err(single_write_failure!(error, now, Failed)),
        }
    }

    async fn delete(&self, pk: &str, cond: Cond, now: EpochSeconds) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException as Failed;
        let request = self.client.delete_item().table_name(&self.table).set_key(Some(key(pk)));
        let request = with_expression!(request, Expression::condition(&cond, now));
        match timed("DeleteItem", request.return_values_on_condition_check_failure(OnFailure::AllOld).send()).await {
            Ok(_) => Ok(()),
            Err(error) => Err(single_write_failure!(error, now, Failed)),
        }
    }

    async fn take(
        &self,
        pk: &str,
        unless: Option<&'static str>,
        now: EpochSeconds,
    ) -> Result<Option<Item>, StoreError> {
        use aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException as Failed;
        // `attribute_exists(pk)` changes nothing on DynamoDB, where a delete is
        // atomic anyway; DynamoDB Local, though, hands ALL_OLD to several
        // concurrent unconditional deletes of one item, and a conditional one to one only.
        let request = self.client.delete_item().table_name(&self.table).set_key(Some(key(pk)));
        let request = match unless {
            None => request.condition_expression("attribute_exists(pk)"),
            Some(attribute) => request
                .condition_expression("attribute_exists(pk) AND attribute_not_exists(#unless)")
                .expression_attribute_names("#unless", attribute),
        };
        let request =
            request.return_values(ReturnValue::AllOld).return_values_on_condition_check_failure(OnFailure::AllOld);
        match timed("DeleteItem", request.send()).await {
            Ok(output) => optional(output.attributes(), now),
            // Absent (no item comes back), or kept for its `unless` attribute.
            Err(error) => match error.as_service_error() {
                Some(Failed(failed)) => optional(failed.item(), now),
                _ => Err(failure(error)),
            },
        }
    }

    async fn add(&self, add: Add, now: EpochSeconds) -> Result<Item, StoreError> {
        let Add { pk, attribute, by, expires_at, cond } = add;
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException as Failed;
        let expression = Expression::condition(&cond, now).with_add(attribute, by, expires_at);
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(&pk)))
            .set_update_expression(expression.update.clone());
        let request = with_expression!(request, expression)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(OnFailure::AllOld);
        match timed("UpdateItem", request.send()).await {
            Ok(output) => {
                // ALL_NEW of a successful update is the item as written, expired or not.
                let attributes = output.attributes().cloned().unwrap_or_default();
                optional(Some(&attributes), EpochSeconds::MIN)?
                    .ok_or_else(|| StoreError::Malformed { pk, attribute: attribute.to_owned() })
            }
            Err(error) => Err(single_write_failure!(error, now, Failed)),
        }
    }

    async fn transact(&self, writes: Vec<Write>, now: EpochSeconds) -> Result<(), StoreError> {
        let items = writes.iter().map(|write| self.transact_item(&write.op, now)).collect::<Result<Vec<_>, _>>()?;
        let mut attempt = 0;
        let started = std::time::Instant::now();
        loop {
            let request = self.client.transact_write_items().set_transact_items(Some(items.clone())).send();
            let result = timed("TransactWriteItems", request).await;
            let error = match result {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = error.as_service_error()
            else {
                return Err(failure(error));
            };
            // DynamoDB gives one reason per write, in the order sent: turned into labels here, and only here.
            let mut failed = Vec::new();
            let mut conflict = false;
            for (write, reason) in writes.iter().zip(cancelled.cancellation_reasons()) {
                match reason.code() {
                    Some("ConditionalCheckFailed") => {
                        failed.push(Failed { label: write.label, current: optional(reason.item(), now)? })
                    }
                    Some("None") | None => {}
                    Some("TransactionConflict") => conflict = true,
                    // Throttling, capacity or validation: not a verdict on any condition.
                    Some(_) => return Err(failure(error)),
                }
            }
            if !failed.is_empty() || !conflict {
                return Err(StoreError::Cancelled(Cancelled::new(failed)));
            }
            if attempt == CONFLICT_RETRIES || started.elapsed() > CONFLICT_BUDGET {
                return Err(StoreError::unavailable(error));
            }
            attempt += 1;
            tokio::time::sleep(backoff(attempt)).await;
        }
    }
}

/// Growing waits with full jitter, so that requests that conflicted once
/// do not collide again in step.
fn backoff(attempt: u32) -> Duration {
    use rand::Rng;
    let ceiling = 10u64 << attempt.min(6);
    Duration::from_millis(rand::rng().random_range(1..=ceiling))
}

impl DynamoStore {
    fn transact_item(&self, op: &Op, now: EpochSeconds) -> Result<TransactWriteItem, StoreError> {
        let item = match op {
            Op::Put { item, cond } => {
                let put = Put::builder().table_name(&self.table).set_item(Some(to_attributes(item)));
                let put = with_expression!(put, Expression::condition(cond, now));
                TransactWriteItem::builder()
                    .put(put.return_values_on_condition_check_failure(OnFailure::AllOld).build().map_err(rejected)?)
            }
            Op::Delete { pk, cond } => {
                let delete = Delete::builder().table_name(&self.table).set_key(Some(key(pk)));
                let delete = with_expression!(delete, Expression::condition(cond, now));
                TransactWriteItem::builder().delete(
                    delete.return_values_on_condition_check_failure(OnFailure::AllOld).build().map_err(rejected)?,
                )
            }
            Op::Add(Add { pk, attribute, by, expires_at, cond }) => {
                let expression = Expression::condition(cond, now).with_add(attribute, *by, *expires_at);
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(pk)))
                    .set_update_expression(expression.update.clone());
                let update = with_expression!(update, expression);
                TransactWriteItem::builder().update(
                    update.return_values_on_condition_check_failure(OnFailure::AllOld).build().map_err(rejected)?,
                )
            }
            Op::Check { pk, cond } => {
                let check = ConditionCheck::builder().table_name(&self.table).set_key(Some(key(pk)));
                let check = with_expression!(check, Expression::condition(cond, now));
                TransactWriteItem::builder().condition_check(
                    check.return_values_on_condition_check_failure(OnFailure::AllOld).build().map_err(rejected)?,
                )
            }
        };
        Ok(item.build())
    }
}

/// Awaits one DynamoDB call, recording how long it took.
async fn timed<T>(operation: &'static str, call: impl std::future::Future<Output = T>) -> T {
    metrics::timed(Metric::DynamoDbLatency, &[("Operation", operation)], call).await
}
