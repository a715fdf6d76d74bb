//! Outgoing HTTPS through reqwest: rustls on ring with the Mozilla roots
//! compiled in, so building a client reads no certificate files and needs no
//! process-wide crypto provider.

/// A reqwest client builder with that TLS set up; add timeouts and build.
pub fn reqwest_builder() -> reqwest::ClientBuilder {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let tls =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map(|builder| builder.with_root_certificates(roots).with_no_client_auth());
    match tls {
        Ok(tls) => reqwest::Client::builder().tls_backend_preconfigured(tls),
        // Unreachable: ring supports rustls's default protocol versions.
        Err(error) => {
            tracing::error!(error = %error, "TLS set-up failed; HTTPS requests will fail");
            reqwest::Client::builder()
        }
    }
}
