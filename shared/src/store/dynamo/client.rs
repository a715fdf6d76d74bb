//! The DynamoDB client, built once per cold start with compiled-in trust roots.

use aws_sdk_dynamodb::Client;
use std::time::Duration;

/// The roots DynamoDB's certificates chain to (Amazon Trust Services and
/// the Starfield cross-signing root), compiled in: the client trusts only
/// these, and a cold start reads no certificate files.
static AMAZON_ROOTS: &str = include_str!("../../../assets/amazon-trust-services.pem");

/// Builds the DynamoDB client once per cold start from the SDK's usual
/// environment (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL_DYNAMODB`).
/// Against a loopback endpoint (DynamoDB Local) with no credentials or
/// region set, it supplies static ones itself, so the default chains never
/// probe the instance metadata service; credentials and a region the caller
/// did set are used as they are.
pub async fn client_from_env() -> Client {
    Client::new(&sdk_config("AWS_ENDPOINT_URL_DYNAMODB").await)
}

/// The SDK configuration every AWS client here is built from: compiled-in
/// trust roots, short timeouts, and static local credentials when
/// `endpoint_variable` points at a loopback stand-in.
pub(crate) async fn sdk_config(endpoint_variable: &str) -> aws_config::SdkConfig {
    use aws_config::timeout::TimeoutConfig;
    use aws_sdk_dynamodb::config::{Credentials, Region};

    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .http_client(https_client());
    let set = |name: &str| std::env::var(name).is_ok_and(|value| !value.trim().is_empty());
    if crate::endpoint::is_loopback_text(&std::env::var(endpoint_variable).unwrap_or_default()) {
        if !set("AWS_REGION") && !set("AWS_DEFAULT_REGION") {
            loader = loader.region(Region::new("us-east-1"));
        }
        if !set("AWS_ACCESS_KEY_ID") && !set("AWS_PROFILE") {
            loader = loader.credentials_provider(Credentials::new("local", "local", None, None, "loopback"));
        }
    }
    loader.load().await
}

/// The SDK's HTTPS client on ring with the compiled-in Amazon trust roots,
/// which every AWS client here (and a test's client of a stand-in) uses.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore, rustls_provider::CryptoMode};
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
    https.build_https()
}
