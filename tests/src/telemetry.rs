//! Reading what the functions told operators: the EMF metric lines and the
//! audit lines in a function's output, each checked against the code's
//! catalogue as CloudWatch would read it.

use serde_json::Value;
use shared::telemetry::Metric;

/// Every line of `logs` that parses as a JSON object.
fn json_lines(logs: &str) -> impl Iterator<Item = Value> + '_ {
    logs.lines().filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok()).filter(Value::is_object)
}

/// One metric data point set, as CloudWatch reads it from an EMF line.
#[derive(Debug, Clone, PartialEq)]
pub struct DataPoints {
    pub namespace: String,
    pub metric: Metric,
    /// The value of each dimension the metric is published under.
    pub dimensions: Vec<(String, String)>,
    pub values: Vec<f64>,
}

/// The EMF lines of `logs`, each checked as CloudWatch would: a metric it
/// declares is one of the code's, with its unit and dimension sets, a
/// string value for every dimension and a number (or up to 100) as value.
/// Panics naming the line otherwise.
pub fn metrics(logs: &str) -> Vec<DataPoints> {
    let mut points = Vec::new();
    for line in json_lines(logs).filter(|line| line.get("_aws").is_some()) {
        assert!(line["_aws"]["Timestamp"].as_u64().is_some_and(|t| t > 1_600_000_000_000), "{line}");
        for directive in line["_aws"]["CloudWatchMetrics"].as_array().unwrap_or_else(|| panic!("{line}")) {
            let namespace = directive["Namespace"].as_str().unwrap_or_else(|| panic!("{line}")).to_owned();
            for declared in directive["Metrics"].as_array().unwrap_or_else(|| panic!("{line}")) {
                let name = declared["Name"].as_str().unwrap_or_else(|| panic!("{line}"));
                let metric = Metric::ALL
                    .iter()
                    .copied()
                    .find(|metric| metric.name() == name)
                    .unwrap_or_else(|| panic!("{name} is not in the catalogue: {line}"));
                assert_eq!(declared["Unit"], metric.unit().as_str(), "{line}");
                let sets: Vec<Vec<String>> = serde_json::from_value(directive["Dimensions"].clone()).unwrap();
                let expected: Vec<Vec<String>> = metric
                    .dimension_sets()
                    .iter()
                    .map(|set| set.iter().map(|name| (*name).to_owned()).collect())
                    .collect();
                assert_eq!(sets, expected, "{line}");
                let dimensions = metric
                    .dimensions()
                    .into_iter()
                    .map(|dimension| {
                        let value = line[dimension].as_str().unwrap_or_else(|| panic!("{dimension} missing: {line}"));
                        assert!(!value.is_empty(), "{line}");
                        (dimension.to_owned(), value.to_owned())
                    })
                    .collect();
                let values = match &line[name] {
                    Value::Number(n) => vec![n.as_f64().unwrap()],
                    Value::Array(values) => {
                        assert!((1..=100).contains(&values.len()), "{line}");
                        values.iter().map(|v| v.as_f64().unwrap_or_else(|| panic!("{line}"))).collect()
                    }
                    _ => panic!("{name} has no value: {line}"),
                };
                points.push(DataPoints { namespace: namespace.clone(), metric, dimensions, values });
            }
        }
    }
    points
}

/// The sum of `metric` over the data points whose dimensions include `with`.
pub fn total(points: &[DataPoints], metric: Metric, with: &[(&str, &str)]) -> f64 {
    points
        .iter()
        .filter(|p| p.metric == metric)
        .filter(|p| with.iter().all(|(k, v)| p.dimensions.iter().any(|(name, value)| name == k && value == v)))
        .flat_map(|p| p.values.iter())
        .sum()
}

/// The audit lines of `logs`, in order.
pub fn audit_events(logs: &str) -> Vec<Value> {
    json_lines(logs).filter(|line| line.get("audit").is_some()).collect()
}
