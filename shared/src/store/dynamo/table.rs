//! Creating the table for DynamoDB Local and tests.

use super::failure;
use crate::store::{EXPIRES_AT, PK, StoreError};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
};

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
