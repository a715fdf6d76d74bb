//! What the functions tell operators: CloudWatch metrics as Embedded Metric
//! Format lines and one audit line per security event, both plain stdout
//! lines that cost no call and no latency.
//!
//! A request runs inside [`scope`]: metrics recorded while it runs are
//! flushed at its end as one EMF line per metric and set of dimension values, and its
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
    /// Audit lines of steps inside the request (provider attempts), in order.
    steps: Vec<String>,
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
    let (result, gathered) = gather(context, request).await;
    for line in gathered.lines(outcome(&result)) {
        println!("{line}");
    }
    result
}

/// Runs `request` in a fresh scope and returns what it gathered.
async fn gather<T>(context: RequestContext, request: impl Future<Output = T>) -> (T, Scope) {
    let cell = RefCell::new(Scope { context, ..Scope::default() });
    SCOPE
        .scope(cell, async {
            let result = request.await;
            (result, SCOPE.with(|cell| std::mem::take(&mut *cell.borrow_mut())))
        })
        .await
}

impl Scope {
    /// The request's lines: its audit event, then its metrics.
    fn lines(&self, outcome: Result<(), &'static str>) -> Vec<String> {
        let audit = self.audit.line(&self.context, outcome);
        let steps = self.steps.iter().cloned();
        steps.chain(audit).chain(metrics::lines(&self.records, metrics::now_millis())).collect()
    }
}

/// Runs `request` as a request and returns the lines it would write.
#[cfg(test)]
pub(crate) async fn scope_lines<T>(context: RequestContext, request: impl Future<Output = T>) -> (T, Vec<String>) {
    let (result, gathered) = gather(context, request).await;
    (result, gathered.lines(Ok(())))
}

/// Runs `f` on the current request's scope, if there is one.
fn with_scope<T>(f: impl FnOnce(&mut Scope) -> T) -> Option<T> {
    SCOPE.try_with(|cell| f(&mut cell.borrow_mut())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Mobile;
    use serde_json::Value;

    #[tokio::test]
    async fn a_request_s_data_points_and_event_wait_for_its_end_and_carry_its_context() {
        let context = RequestContext { function: "sms", request_id: "r-1".to_owned(), client_ip: None };
        let ((), gathered) = gather(context, async {
            audit::expect(Event::CodeSent);
            audit::mobile(&Mobile::parse("13800138000").unwrap());
            metrics::count(Metric::ProviderCalls, &[]);
            metrics::count(Metric::ProviderCalls, &[]);
        })
        .await;
        assert_eq!(gathered.records.len(), 2, "kept for the end, not written");
        let lines: Vec<Value> =
            gathered.lines(Err("sms_failed")).iter().map(|line| serde_json::from_str(line).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!((&lines[0]["audit"], &lines[0]["outcome"]), (&"code_sent".into(), &"sms_failed".into()));
        assert_eq!((&lines[0]["request_id"], &lines[0]["mobile"]), (&"r-1".into(), &"138****8000".into()));
        assert_eq!(lines[1]["ProviderCalls"], serde_json::json!([1.0, 1.0]));
    }

    #[tokio::test]
    async fn outside_a_request_annotations_are_dropped() {
        audit::expect(Event::CodeSent);
        assert!(with_scope(|_| ()).is_none());
        let ((), gathered) = gather(RequestContext::default(), async {}).await;
        assert!(gathered.lines(Ok(())).is_empty(), "a request that expected nothing writes nothing");
    }
}
