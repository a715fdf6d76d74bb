//! CloudWatch metrics as Embedded Metric Format lines: CloudWatch Logs
//! turns each line into metric data points, so recording one costs no call.

use serde_json::{Map, Value, json};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The namespace when none is configured.
pub const DEFAULT_NAMESPACE: &str = "PhoneVerify";

static NAMESPACE: OnceLock<String> = OnceLock::new();

/// Sets the namespace every line names, once per process (`METRICS_NAMESPACE`).
pub fn init(namespace: &str) {
    let _ = NAMESPACE.set(namespace.to_owned());
}

fn namespace() -> &'static str {
    NAMESPACE.get().map_or(DEFAULT_NAMESPACE, String::as_str)
}

/// A CloudWatch unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// Every metric the code emits, with its unit and the dimension sets it is
/// published under (`[]` is the total over every dimension value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::VariantArray)]
pub enum Metric {
    /// An SMS code handed to the provider, by `Purpose` and by `Prefix` (the
    /// number's first three digits).
    CodesSent,
    /// A right code spent by the request it was sent for, by `Purpose`.
    CodesVerified,
    /// A code handed out to a configured test number: no SMS was sent.
    TestNumberUses,
    /// A request answered with an error, by its `Error` key.
    Refusals,
    /// A send attempted through the provider.
    ProviderCalls,
    /// A send the provider refused or did not answer, by `Kind`.
    ProviderErrors,
    /// How long the provider took to answer a send.
    ProviderLatency,
    /// One provider attempt, by `Provider` and by its `Outcome` there:
    /// `sent`, `provider_refused`, `number_refused` or `unknown`.
    ProviderAttempts,
    /// A send moved on from `Provider` after its provider-side refusal.
    Failovers,
    /// How long one DynamoDB call took, by `Operation`.
    DynamoDbLatency,
    /// A function's process started, by `Function`.
    ColdStarts,
    /// A human check judged, by `Provider` and `Verdict` (`pass`, `fail`,
    /// `spent`, `unavailable`).
    CaptchaVerdicts,
    /// How long the human check took to judge, by `Provider`.
    CaptchaLatency,
    /// A login that started a session, by `Method` (`password`, `sms_code`, `one_tap`).
    Logins,
    /// An account created, by `Method`: the proof of its number (`sms_code`, `one_tap`).
    SignUps,
    /// A `GetMobile` call, by `Outcome`: `proven`, `refused` or `failed`.
    OneTapCalls,
    /// How long `GetMobile` took to answer.
    OneTapLatency,
}

impl Metric {
    /// Every metric, derived from the enum so none is left out.
    pub const ALL: &[Metric] = <Metric as strum::VariantArray>::VARIANTS;

    pub fn name(self) -> &'static str {
        match self {
            Metric::CodesSent => "CodesSent",
            Metric::CodesVerified => "CodesVerified",
            Metric::TestNumberUses => "TestNumberUses",
            Metric::Refusals => "Refusals",
            Metric::ProviderCalls => "ProviderCalls",
            Metric::ProviderErrors => "ProviderErrors",
            Metric::ProviderLatency => "ProviderLatency",
            Metric::ProviderAttempts => "ProviderAttempts",
            Metric::Failovers => "Failovers",
            Metric::DynamoDbLatency => "DynamoDBLatency",
            Metric::ColdStarts => "ColdStarts",
            Metric::CaptchaVerdicts => "CaptchaVerdicts",
            Metric::CaptchaLatency => "CaptchaLatency",
            Metric::Logins => "Logins",
            Metric::SignUps => "SignUps",
            Metric::OneTapCalls => "OneTapCalls",
            Metric::OneTapLatency => "OneTapLatency",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Metric::ProviderLatency | Metric::DynamoDbLatency | Metric::CaptchaLatency | Metric::OneTapLatency => {
                Unit::Milliseconds
            }
            _ => Unit::Count,
        }
    }

    /// The dimension sets, each a list of dimension names; a record gives
    /// a value for every name they use.
    pub fn dimension_sets(self) -> &'static [&'static [&'static str]] {
        match self {
            Metric::CodesSent => &[&[], &["Purpose"], &["Prefix"]],
            Metric::CodesVerified => &[&[], &["Purpose"]],
            Metric::Refusals => &[&["Error"]],
            Metric::ProviderErrors => &[&[], &["Kind"]],
            Metric::ProviderAttempts => &[&["Provider"], &["Provider", "Outcome"]],
            Metric::Failovers => &[&[], &["Provider"]],
            Metric::DynamoDbLatency => &[&["Operation"]],
            Metric::ColdStarts => &[&["Function"]],
            Metric::CaptchaVerdicts => &[&["Provider", "Verdict"]],
            Metric::CaptchaLatency => &[&["Provider"]],
            Metric::Logins | Metric::SignUps => &[&[], &["Method"]],
            Metric::OneTapCalls => &[&[], &["Outcome"]],
            Metric::TestNumberUses | Metric::ProviderCalls | Metric::ProviderLatency | Metric::OneTapLatency => &[&[]],
        }
    }

    /// Every dimension name the sets use, in order of first use.
    pub fn dimensions(self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = Vec::new();
        for name in self.dimension_sets().iter().flat_map(|set| set.iter()) {
            if !names.contains(name) {
                names.push(name);
            }
        }
        names
    }
}

/// A dimension's name and value.
pub type Dimension = (&'static str, String);

/// One data point waiting for its request's end.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub metric: Metric,
    pub value: f64,
    /// A value for each of the metric's dimensions, in its order.
    pub dimensions: Vec<Dimension>,
}

/// Counts one `metric` with these dimension values.
pub fn count(metric: Metric, dimensions: &[(&'static str, &str)]) {
    record(metric, 1.0, dimensions);
}

/// Records a duration in milliseconds.
pub fn elapsed(metric: Metric, duration: Duration, dimensions: &[(&'static str, &str)]) {
    record(metric, duration.as_secs_f64() * 1_000.0, dimensions);
}

/// Records a data point: kept for the request's end inside a request's
/// scope, else written at once.
pub fn record(metric: Metric, value: f64, dimensions: &[(&'static str, &str)]) {
    debug_assert_eq!(
        dimensions.iter().map(|(name, _)| *name).collect::<Vec<_>>(),
        metric.dimensions(),
        "{} takes these dimensions",
        metric.name()
    );
    let record = Record {
        metric,
        value,
        dimensions: dimensions.iter().map(|(name, value)| (*name, (*value).to_owned())).collect(),
    };
    let mut unscoped = Some(record);
    super::with_scope(|scope| scope.records.extend(unscoped.take()));
    if let Some(record) = unscoped {
        for line in lines(&[record], now_millis()) {
            println!("{line}");
        }
    }
}

/// Times `future` into `metric`.
pub async fn timed<T>(
    metric: Metric,
    dimensions: &[(&'static str, &str)],
    future: impl std::future::Future<Output = T>,
) -> T {
    let started = std::time::Instant::now();
    let output = future.await;
    elapsed(metric, started.elapsed(), dimensions);
    output
}

pub(super) fn now_millis() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

/// The EMF lines for `records`: one per distinct set of dimension values,
/// each metric once with all its values (EMF takes up to 100 per line).
pub fn lines(records: &[Record], timestamp: u128) -> Vec<String> {
    let mut groups: Vec<(&[Dimension], Vec<&Record>)> = Vec::new();
    for record in records {
        match groups.iter_mut().find(|(dimensions, _)| *dimensions == record.dimensions.as_slice()) {
            Some((_, members)) => members.push(record),
            None => groups.push((&record.dimensions, vec![record])),
        }
    }
    groups
        .into_iter()
        .flat_map(|(dimensions, members)| {
            let mut metrics: Vec<(Metric, Vec<f64>)> = Vec::new();
            for record in members {
                match metrics.iter_mut().find(|(metric, _)| *metric == record.metric) {
                    Some((_, values)) => values.push(record.value),
                    None => metrics.push((record.metric, vec![record.value])),
                }
            }
            metrics
                .into_iter()
                .flat_map(|(metric, values)| {
                    values.chunks(100).map(|chunk| (metric, chunk.to_vec())).collect::<Vec<_>>()
                })
                .map(|(metric, values)| line(metric, dimensions, &values, timestamp))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn line(metric: Metric, dimensions: &[Dimension], values: &[f64], timestamp: u128) -> String {
    let mut root = Map::new();
    root.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": namespace(),
                "Dimensions": metric.dimension_sets(),
                "Metrics": [{ "Name": metric.name(), "Unit": metric.unit().as_str() }],
            }],
        }),
    );
    for (name, value) in dimensions {
        root.insert((*name).to_owned(), Value::from(value.as_str()));
    }
    let value = match values {
        [one] => json!(one),
        many => json!(many),
    };
    root.insert(metric.name().to_owned(), value);
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).unwrap()
    }

    #[test]
    fn a_line_declares_its_metric_unit_and_dimension_sets_and_carries_the_values() {
        let record = |value| Record {
            metric: Metric::CodesSent,
            value,
            dimensions: vec![("Purpose", "register".to_owned()), ("Prefix", "138".to_owned())],
        };
        let lines = lines(&[record(1.0), record(1.0)], 1_700_000_000_000);
        assert_eq!(lines.len(), 1);
        let line = parse(&lines[0]);
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000_u64);
        assert_eq!(directive["Namespace"], DEFAULT_NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([[], ["Purpose"], ["Prefix"]]));
        assert_eq!(directive["Metrics"], json!([{"Name": "CodesSent", "Unit": "Count"}]));
        assert_eq!((&line["Purpose"], &line["Prefix"]), (&json!("register"), &json!("138")));
        assert_eq!(line["CodesSent"], json!([1.0, 1.0]));
    }

    #[test]
    fn other_dimension_values_are_other_lines_and_more_than_100_values_are_split() {
        let latency = |operation: &str| Record {
            metric: Metric::DynamoDbLatency,
            value: 3.5,
            dimensions: vec![("Operation", operation.to_owned())],
        };
        assert_eq!(lines(&[latency("GetItem"), latency("TransactWriteItems")], 0).len(), 2);
        let many = vec![latency("GetItem"); 150];
        let lines = lines(&many, 0);
        assert_eq!(lines.len(), 2);
        assert_eq!(parse(&lines[0])["DynamoDBLatency"].as_array().map(Vec::len), Some(100));
        assert_eq!(parse(&lines[0])["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"], "Milliseconds");
    }

    #[test]
    fn every_metric_has_a_unique_name_and_at_most_30_dimensions_per_set() {
        let mut names: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Metric::ALL.len());
        assert!(Metric::ALL.iter().all(|m| m.dimension_sets().iter().all(|set| set.len() <= 30)));
    }
}
