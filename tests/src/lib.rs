//! Test kit for the end-to-end suites: DynamoDB Local tables, loopback
//! Ronglian, Aliyun and Tencent Cloud SMS servers, Tencent Cloud captcha and
//! GeeTest v4 servers, an Aliyun one-tap (`GetMobile`) server and a WeChat
//! server that check signatures, keys and single use as the real services do,
//! a Secrets Manager stand-in, a fault server, helpers to run one case on both
//! stores, and the Markdown report `make bench` writes.

pub mod aliyun;
pub mod counting;
pub mod dypns;
pub mod events;
pub mod faults;
pub mod geetest;
pub mod harness;
pub mod loopback;
pub mod proxy;
pub mod report;
pub mod ronglian;
pub mod runtime_api;
pub mod secrets_manager;
pub mod seed;
mod tc3;
pub mod telemetry;
pub mod tencent;
pub mod tencent_captcha;
pub mod wechat;

use aws_sdk_dynamodb::Client;
use shared::store::{DynamoStore, MemoryStore, client_from_env, create_table};

/// The DynamoDB Local endpoint. The suites never skip DynamoDB: without an
/// endpoint they fail and say how to run them.
pub fn dynamodb_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect(
        "AWS_ENDPOINT_URL_DYNAMODB is not set. Run the suite with `make test`, which starts DynamoDB Local \
         (scripts/dynamodb-local run cargo test --workspace).",
    )
}

/// A client built as the Lambdas build theirs. Each test makes its own:
/// a client's connection pool belongs to the runtime it first ran on, and
/// every `#[tokio::test]` has a runtime of its own.
pub async fn dynamo_client() -> Client {
    dynamodb_endpoint();
    client_from_env().await
}

/// A new, empty table of the production shape, for one test.
pub async fn dynamo_store() -> DynamoStore {
    let client = dynamo_client().await;
    let table = format!("test-{}", uuid::Uuid::new_v4());
    create_table(&client, &table).await.expect("creating a table on DynamoDB Local failed: is it running?");
    DynamoStore::new(client, table)
}

pub fn memory_store() -> MemoryStore {
    MemoryStore::new()
}

/// Runs each named async test function (taking `Arc<impl Store>`) once on a
/// `MemoryStore` (in `mod memory`) and once on a fresh DynamoDB Local table
/// (in `mod dynamodb`).
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(std::sync::Arc::new($crate::memory_store())).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name(std::sync::Arc::new($crate::dynamo_store().await)).await
                }
            )*
        }
    };
}

/// Like [`on_both_stores!`], for test functions that take a
/// [`harness::Harness`] on the store.
#[macro_export]
macro_rules! flows_on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::harness::Harness::new(std::sync::Arc::new($crate::memory_store()))).await
                }
            )*
        }
        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::harness::Harness::new(std::sync::Arc::new($crate::dynamo_store().await))).await
                }
            )*
        }
    };
}
