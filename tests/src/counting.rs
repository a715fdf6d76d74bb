//! Counts the requests a DynamoDB client sends, by operation, with an SDK
//! interceptor: what "one DynamoDB call per request" is measured with.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use std::sync::{Arc, Mutex};

/// The operations sent so far (`GetItem`, `TransactWriteItems`, ...),
/// retries included, in order.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<String>>>, Arc<Mutex<Vec<String>>>);

impl CallLog {
    pub fn take(&self) -> Vec<String> {
        self.1.lock().unwrap().clear();
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// The request bodies sent since the last [`CallLog::take`]: which items
    /// the calls named.
    pub fn bodies(&self) -> Vec<String> {
        self.1.lock().unwrap().clone()
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context.request().headers().get("x-amz-target").unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or(target).to_owned();
        self.0.lock().unwrap().push(operation);
        let body = context.request().body().bytes().map(|b| String::from_utf8_lossy(b).into_owned());
        self.1.lock().unwrap().push(body.unwrap_or_default());
        Ok(())
    }
}
