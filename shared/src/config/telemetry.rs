//! Where metrics go.

use super::ConfigError;
use super::var::{Env, Var};

pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";

/// The section's variables.
pub(super) const VARIABLES: [Var; 1] = [Var::plain(METRICS_NAMESPACE)];

/// The CloudWatch namespace: letters, digits and `. - _ / # :`, at most 255.
pub(super) fn namespace(env: &Env<'_>) -> Result<String, ConfigError> {
    let namespace =
        env.get(METRICS_NAMESPACE).unwrap_or_else(|| crate::telemetry::metrics::DEFAULT_NAMESPACE.to_owned());
    let valid =
        namespace.len() <= 255 && namespace.bytes().all(|b| b.is_ascii_alphanumeric() || b".-_/#:".contains(&b));
    if !valid {
        return Err(ConfigError::invalid(METRICS_NAMESPACE, "expected letters, digits and . - _ / # : only"));
    }
    Ok(namespace)
}
