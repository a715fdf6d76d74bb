//! Where secret values come from: deployed, one Secrets Manager secret (a
//! JSON object of variable names to values, `SECRETS_ARN`), read once per
//! execution environment; locally, the environment as for any variable.

use super::ConfigError;
use std::collections::HashMap;

/// The ARN (or name) of the secret holding every secret variable.
pub const SECRETS_ARN: &str = "SECRETS_ARN";

/// Secret values by variable name. `Debug` shows the names only.
#[derive(Default, Clone)]
pub struct Secrets(HashMap<String, String>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.0.keys().collect();
        names.sort();
        f.debug_tuple("Secrets").field(&names).finish()
    }
}

impl Secrets {
    /// Parses the secret's `SecretString`: `{"NAME": "value", …}`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        // serde_json's error names a position, never the text.
        serde_json::from_str(text)
            .map(Self)
            .map_err(|e| ConfigError::Secrets(format!("the secret is not a JSON object of strings ({e})")))
    }

    pub fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    /// The Secrets Manager client of the SDK's environment (the execution
    /// role's credentials; `AWS_ENDPOINT_URL_SECRETS_MANAGER` for a stand-in).
    pub async fn client_from_env() -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&crate::store::sdk_config("AWS_ENDPOINT_URL_SECRETS_MANAGER").await)
    }

    /// Reads `arn` with one `GetSecretValue` call. The error names the
    /// service's answer, never a value.
    pub async fn fetch(client: &aws_sdk_secretsmanager::Client, arn: &str) -> Result<Self, ConfigError> {
        let output = client
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| ConfigError::Secrets(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?;
        let text =
            output.secret_string().ok_or_else(|| ConfigError::Secrets("the secret has no SecretString".to_owned()))?;
        Self::parse(text)
    }
}
