//! The store on DynamoDB: each operation is one request, its condition a
//! DynamoDB condition expression equivalent to [`Cond::holds`].

use super::{CancelReason, CmpOp, Cond, EXPIRES_AT, Item, Op, PK, Store, StoreError, Value};
use crate::clock::EpochSeconds;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, KeySchemaElement, KeyType, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem, Update,
};
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

    fn key(pk: &str) -> Attributes {
        HashMap::from([(PK.to_owned(), AttributeValue::S(pk.to_owned()))])
    }
}

/// A condition as DynamoDB expression parts.
#[derive(Debug, Default)]
struct Expression {
    text: Option<String>,
    names: Option<HashMap<String, String>>,
    values: Option<Attributes>,
}

fn expression(cond: &Cond, now: EpochSeconds) -> Expression {
    // DynamoDB refuses unused names and values, so each condition adds only its own.
    let mut names = HashMap::from([("#pk".to_owned(), PK.to_owned())]);
    let mut values = HashMap::new();
    let live = |names: &mut HashMap<String, String>, values: &mut Attributes| {
        names.insert("#exp".to_owned(), EXPIRES_AT.to_owned());
        values.insert(":now".to_owned(), AttributeValue::N(now.to_string()));
    };
    let text = match cond {
        Cond::Always => return Expression::default(),
        Cond::NotLive => {
            live(&mut names, &mut values);
            "attribute_not_exists(#pk) OR #exp <= :now".to_owned()
        }
        Cond::Below { attribute, limit } => {
            names.insert("#lim".to_owned(), (*attribute).to_owned());
            values.insert(":limit".to_owned(), AttributeValue::N(limit.to_string()));
            "attribute_not_exists(#pk) OR #lim < :limit".to_owned()
        }
        Cond::Live(checks) => {
            live(&mut names, &mut values);
            let mut text = "attribute_exists(#pk) AND #exp > :now".to_owned();
            for (index, check) in checks.iter().enumerate() {
                let (name, value) = (format!("#a{index}"), format!(":v{index}"));
                let op = match check.op {
                    CmpOp::Eq => "=",
                    CmpOp::Lt => "<",
                };
                text.push_str(&format!(" AND {name} {op} {value}"));
                names.insert(name, check.attribute.to_owned());
                values.insert(value, to_attribute(&check.value));
            }
            text
        }
    };
    Expression { text: Some(text), names: Some(names), values: Some(values) }
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
    let mut converted = BTreeMap::new();
    for (name, value) in attributes {
        let value = match value {
            AttributeValue::S(s) => Value::S(s.clone()),
            AttributeValue::N(n) => Value::N(n.parse().map_err(|_| malformed(attributes, name))?),
            _ => return Err(malformed(attributes, name)),
        };
        converted.insert(name.clone(), value);
    }
    let item = Item::from_attributes(converted);
    Ok(item.is_live(now).then_some(item))
}

fn malformed(attributes: &Attributes, name: &str) -> StoreError {
    let pk = match attributes.get(PK) {
        Some(AttributeValue::S(pk)) => pk.clone(),
        _ => String::new(),
    };
    StoreError::Malformed { pk, attribute: name.to_owned() }
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

impl Store for DynamoStore {
    async fn get(&self, pk: &str, now: EpochSeconds) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(failure)?;
        optional(output.item(), now)
    }

    async fn put(&self, item: Item, cond: Cond, now: EpochSeconds) -> Result<(), StoreError> {
        let expression = expression(&cond, now);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attributes(&item)))
            .set_condition_expression(expression.text)
            .set_expression_attribute_names(expression.names)
            .set_expression_attribute_values(expression.values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match error.as_service_error() {
                Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(e)) => {
                    Err(StoreError::ConditionFailed { current: optional(e.item(), now)? })
                }
                _ => Err(failure(error)),
            },
        }
    }

    async fn delete(&self, pk: &str, cond: Cond, now: EpochSeconds) -> Result<(), StoreError> {
        let expression = expression(&cond, now);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk)))
            .set_condition_expression(expression.text)
            .set_expression_attribute_names(expression.names)
            .set_expression_attribute_values(expression.values)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match error.as_service_error() {
                Some(aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(e)) => {
                    Err(StoreError::ConditionFailed { current: optional(e.item(), now)? })
                }
                _ => Err(failure(error)),
            },
        }
    }

    async fn take(&self, pk: &str, now: EpochSeconds) -> Result<Option<Item>, StoreError> {
        // The condition changes nothing on DynamoDB, where a delete is atomic
        // anyway; DynamoDB Local, though, hands ALL_OLD to several concurrent
        // unconditional deletes of one item, and a conditional one to one only.
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => optional(output.attributes(), now),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(None)
            }
            Err(error) => Err(failure(error)),
        }
    }

    async fn increment(
        &self,
        pk: &str,
        attribute: &'static str,
        cond: Cond,
        now: EpochSeconds,
    ) -> Result<Item, StoreError> {
        let mut expression = expression(&cond, now);
        expression.names.get_or_insert_with(HashMap::new).insert("#inc".to_owned(), attribute.to_owned());
        expression.values.get_or_insert_with(HashMap::new).insert(":one".to_owned(), AttributeValue::N("1".to_owned()));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk)))
            .update_expression("ADD #inc :one")
            .set_condition_expression(expression.text)
            .set_expression_attribute_names(expression.names)
            .set_expression_attribute_values(expression.values)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                // ALL_NEW of a successful update is the item as written, expired or not.
                let attributes = output.attributes().cloned().unwrap_or_default();
                optional(Some(&attributes), EpochSeconds::MIN)?
                    .ok_or_else(|| StoreError::Malformed { pk: pk.to_owned(), attribute: attribute.to_owned() })
            }
            Err(error) => match error.as_service_error() {
                Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e)) => {
                    Err(StoreError::ConditionFailed { current: optional(e.item(), now)? })
                }
                _ => Err(failure(error)),
            },
        }
    }

    async fn transact(&self, ops: Vec<Op>, now: EpochSeconds) -> Result<(), StoreError> {
        let items = ops.iter().map(|op| self.transact_item(op, now)).collect::<Result<Vec<_>, _>>()?;
        let mut attempt = 0;
        let started = std::time::Instant::now();
        loop {
            let result = self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await;
            let error = match result {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(
                cancelled,
            )) = error.as_service_error()
            else {
                return Err(failure(error));
            };
            let mut reasons = Vec::with_capacity(ops.len());
            let mut conflict = false;
            for reason in cancelled.cancellation_reasons() {
                match reason.code() {
                    Some("ConditionalCheckFailed") => {
                        reasons.push(CancelReason::ConditionFailed { current: optional(reason.item(), now)? })
                    }
                    Some("None") | None => reasons.push(CancelReason::Passed),
                    Some("TransactionConflict") => {
                        conflict = true;
                        reasons.push(CancelReason::Passed);
                    }
                    // Throttling, capacity or validation: not a verdict on any condition.
                    Some(_) => return Err(failure(error)),
                }
            }
            let decided = reasons.iter().any(|r| matches!(r, CancelReason::ConditionFailed { .. }));
            if decided || !conflict {
                return Err(StoreError::Cancelled { reasons });
            }
            if attempt == CONFLICT_RETRIES || started.elapsed() > CONFLICT_BUDGET {
                return Err(StoreError::unavailable(error));
            }
            attempt += 1;
            // Back off a little, growing, so the winner's write settles first.
            tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
        }
    }
}

impl DynamoStore {
    fn transact_item(&self, op: &Op, now: EpochSeconds) -> Result<TransactWriteItem, StoreError> {
        let rejected = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Rejected(Box::new(e));
        let item = match op {
            Op::Put { item, cond } => {
                let expression = expression(cond, now);
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_attributes(item)))
                    .set_condition_expression(expression.text)
                    .set_expression_attribute_names(expression.names)
                    .set_expression_attribute_values(expression.values)
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .build()
                    .map_err(rejected)?;
                TransactWriteItem::builder().put(put).build()
            }
            Op::Delete { pk, cond } => {
                let expression = expression(cond, now);
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(Self::key(pk)))
                    .set_condition_expression(expression.text)
                    .set_expression_attribute_names(expression.names)
                    .set_expression_attribute_values(expression.values)
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .build()
                    .map_err(rejected)?;
                TransactWriteItem::builder().delete(delete).build()
            }
            Op::Add { pk, attribute, by, expires_at, cond } => {
                let mut expression = expression(cond, now);
                let names = expression.names.get_or_insert_with(HashMap::new);
                names.insert("#exp".to_owned(), EXPIRES_AT.to_owned());
                names.insert("#add".to_owned(), (*attribute).to_owned());
                let values = expression.values.get_or_insert_with(HashMap::new);
                values.insert(":by".to_owned(), AttributeValue::N(by.to_string()));
                values.insert(":at".to_owned(), AttributeValue::N(expires_at.to_string()));
                let update = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(Self::key(pk)))
                    .update_expression("ADD #add :by SET #exp = if_not_exists(#exp, :at)")
                    .set_condition_expression(expression.text)
                    .set_expression_attribute_names(expression.names)
                    .set_expression_attribute_values(expression.values)
                    .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                    .build()
                    .map_err(rejected)?;
                TransactWriteItem::builder().update(update).build()
            }
        };
        Ok(item)
    }
}

/// Creates the table as template.yaml declares it (pay per request, `pk`
/// string hash key, TTL on `expires_at`) unless it exists. For DynamoDB Local
/// and tests; deployments get the table from the template.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(PK)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| StoreError::Rejected(Box::new(e)))?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(PK)
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| StoreError::Rejected(Box::new(e)))?,
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_in_use_exception()) => return Ok(()),
        Err(error) => return Err(failure(error)),
    }
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(EXPIRES_AT)
                .enabled(true)
                .build()
                .map_err(|e| StoreError::Rejected(Box::new(e)))?,
        )
        .send()
        .await
        .map_err(failure)?;
    Ok(())
}

/// The roots DynamoDB's certificates chain to (Amazon Trust Services and
/// the Starfield cross-signing root), compiled in: the client trusts only
/// these, and a cold start reads no certificate files.
static AMAZON_ROOTS: &str = include_str!("../../assets/amazon-trust-services.pem");

/// Builds the DynamoDB client once per cold start from the SDK's usual
/// environment (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL_DYNAMODB`).
/// Against a loopback endpoint (DynamoDB Local) it sets the region and
/// static credentials itself, so the default chains never probe the instance
/// metadata service.
pub async fn client_from_env() -> Client {
    use aws_config::timeout::TimeoutConfig;
    use aws_sdk_dynamodb::config::{Credentials, Region};
    use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};

    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build();
    let trust = AMAZON_ROOTS
        .split_inclusive("-----END CERTIFICATE-----")
        .filter(|pem| pem.contains("BEGIN CERTIFICATE"))
        .fold(TrustStore::empty().with_native_roots(false), |store, pem| store.with_pem_certificate(pem.trim()));
    let mut https = aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring));
    match TlsContext::builder().with_trust_store(trust).build() {
        Ok(context) => https = https.tls_context(context),
        // Unreachable with the compiled-in roots; the default context still works.
        Err(error) => tracing::warn!(error = %error, "using the default TLS trust store"),
    }
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .http_client(https.build_https());
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_default();
    if is_loopback(&endpoint) {
        let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned());
        loader = loader.region(Region::new(region)).credentials_provider(Credentials::new(
            "local",
            "local",
            None,
            None,
            "dynamodb-local",
        ));
    }
    Client::new(&loader.load().await)
}

fn is_loopback(endpoint: &str) -> bool {
    let host = endpoint.split("://").nth(1).unwrap_or_default();
    ["127.", "localhost", "[::1]"].iter().any(|prefix| host.starts_with(prefix))
}
