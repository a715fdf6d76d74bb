//! What the functions tell operators: CloudWatch metrics as Embedded Metric
//! Format lines and one audit line per security event, both plain stdout
//! lines that cost no call and no latency.
//!
//! A request runs inside [`scope`]: metrics recorded while it runs are
//! flushed at its end as one EMF line per set of dimension values, and its
//! audit event is written with the outcome. Outside a scope (tests, start-up)
//! a metric is written at once and annotations are dropped.

pub mod audit;
pub mod metrics;

use std::cell::RefCell;
use std::future::Future;

pub use audit::Event;
pub use metrics::Metric;

/// Who asked: what audit lines and metrics carry about the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The function's name (`sms`, `account`, ...).
    pub function: &'static str,
    /// API Gateway's request id, else Lambda's.
    pub request_id: String,
    /// The address API Gateway saw.
    pub client_ip: Option<String>,
}

/// What one request has gathered so far.
#[derive(Debug, Default)]
struct Scope {
    context: RequestContext,
    records: Vec<metrics::Record>,
    audit: audit::Pending,
}

tokio::task_local! {
    static SCOPE: RefCell<Scope>;
}

/// Runs `request` with `context` as the current request: afterwards its
/// audit event (if one was expected) is written with `outcome` of the
/// result, then its metrics.
pub async fn scope<T>(
    context: RequestContext,
    request: impl Future<Output = T>,
    outcome: impl FnOnce(&T) -> Result<(), &'static str>,
) -> T {
    let cell = RefCell::new(Scope { context, ..Scope::default() });
    let (result, cell) = SCOPE
        .scope(cell, async {
            let result = request.await;
            let cell = SCOPE.with(|cell| std::mem::take(&mut *cell.borrow_mut()));
            (result, cell)
        })
        .await;
    let Scope { context, records, audit } = cell;
    if let Some(line) = audit.line(&context, outcome(&result)) {
        println!("{line}");
    }
    for line in metrics::lines(&records, metrics::now_millis()) {
        println!("{line}");
    }
    result
}

/// Runs `f` on the current request's scope, if there is one.
fn with_scope<T>(f: impl FnOnce(&mut Scope) -> T) -> Option<T> {
    SCOPE.try_with(|cell| f(&mut cell.borrow_mut())).ok()
}
