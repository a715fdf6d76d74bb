//! An AWS Secrets Manager stand-in on loopback for `GetSecretValue`, checking
//! what the service checks that matters to us: a POST of
//! `application/x-amz-json-1.1` whose `X-Amz-Target` is
//! `secretsmanager.GetSecretValue`, a SigV4 `Authorization` for the service
//! `secretsmanager` by a known access key, its signature recomputed from the
//! request as received, and a `SecretId` (ARN or name) that exists. It answers
//! with the service's JSON and error types and counts every call.

use crate::loopback::{Reply, Server, Shared};
use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};
use shared::signing::{hmac_sha256, sha256_hex};
use std::sync::Arc;

pub const ACCESS_KEY_ID: &str = "AKIDSECRETSTANDIN01";
pub const SECRET_ACCESS_KEY: &str = "secrets-stand-in-secret-access-key";
pub const REGION: &str = "us-east-1";
pub const NAME: &str = "phone-verify/config";
pub const ARN: &str = "arn:aws:secretsmanager:us-east-1:123456789012:secret:phone-verify/config-AbCdEf";

/// What the stand-in keeps: the one secret's `SecretString`.
pub struct State {
    secret_string: String,
}

/// A running stand-in holding one secret, [`ARN`] (also found by [`NAME`]).
pub type SecretsManagerServer = Server<(), State>;

impl SecretsManagerServer {
    /// Serves a secret whose `SecretString` is `secret_string`.
    pub async fn start(secret_string: &str) -> Self {
        Server::spawn((), State { secret_string: secret_string.to_owned() }, answer).await
    }

    pub fn endpoint(&self) -> String {
        self.base_url()
    }

    /// A client of this stand-in signing with its known key, as the SDK
    /// would with the execution role's credentials.
    pub fn client(&self) -> aws_sdk_secretsmanager::Client {
        self.client_signing_with(SECRET_ACCESS_KEY)
    }

    /// A client signing with another secret key: its signatures must fail.
    pub fn client_signing_with(&self, secret_access_key: &str) -> aws_sdk_secretsmanager::Client {
        use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(shared::store::https_client())
            .endpoint_url(self.endpoint())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(ACCESS_KEY_ID, secret_access_key, None, None, "stand-in"))
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }

    /// How many requests arrived.
    pub fn calls(&self) -> usize {
        self.received()
    }
}

fn reply(status: u16, body: &Value) -> Reply {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string())
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

async fn answer(parts: http::request::Parts, body: Bytes, _: (), server: Arc<Shared<(), State>>) -> Reply {
    match check(&parts, &body) {
        Err((status, kind, reason)) => {
            server.refuse(kind, reason);
            reply(status, &json!({"__type": kind, "message": reason}))
        }
        Ok(()) => {
            let secret_string = server.state().secret_string.clone();
            reply(
                200,
                &json!({
                    "ARN": ARN,
                    "Name": NAME,
                    "SecretString": secret_string,
                    "VersionId": "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1",
                    "VersionStages": ["AWSCURRENT"],
                    "CreatedDate": 1.523477145713E9
                }),
            )
        }
    }
}

type Refusal = (u16, &'static str, &'static str);

fn check(parts: &http::request::Parts, body: &[u8]) -> Result<(), Refusal> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if parts.method != http::Method::POST {
        return Err((405, "UnknownOperationException", "POST only"));
    }
    if header("x-amz-target") != Some("secretsmanager.GetSecretValue") {
        return Err((400, "UnknownOperationException", "X-Amz-Target must be secretsmanager.GetSecretValue"));
    }
    if header("content-type") != Some("application/x-amz-json-1.1") {
        return Err((400, "SerializationException", "Content-Type must be application/x-amz-json-1.1"));
    }
    verify_sigv4(parts, body)?;
    let request: Value =
        serde_json::from_slice(body).map_err(|_| (400, "SerializationException", "the body is not JSON"))?;
    match request["SecretId"].as_str() {
        Some(ARN | NAME) => Ok(()),
        Some(_) => Err((400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")),
        None => Err((400, "InvalidParameterException", "SecretId is required")),
    }
}

/// SigV4 as the service checks it: the credential scope (key, date, region,
/// service), the date header, and the signature over the canonical request
/// recomputed from the request as received.
fn verify_sigv4(parts: &http::request::Parts, body: &[u8]) -> Result<(), Refusal> {
    let missing = (400, "MissingAuthenticationTokenException", "a SigV4 Authorization header is required");
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let authorization = header("authorization").ok_or(missing)?;
    let fields = authorization.strip_prefix("AWS4-HMAC-SHA256 ").ok_or(missing)?;
    let field = |name: &str| fields.split(',').find_map(|f| f.trim().strip_prefix(name)?.strip_prefix('='));
    let incomplete = (400, "IncompleteSignatureException", "Credential, SignedHeaders and Signature are required");
    let (credential, signed_headers, signature) = (
        field("Credential").ok_or(incomplete)?,
        field("SignedHeaders").ok_or(incomplete)?,
        field("Signature").ok_or(incomplete)?,
    );
    let scope: Vec<&str> = credential.split('/').collect();
    let [key, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err((400, "IncompleteSignatureException", "the credential scope is malformed"));
    };
    if *key != ACCESS_KEY_ID {
        return Err((400, "UnrecognizedClientException", "the security token included in the request is invalid"));
    }
    if *service != "secretsmanager" || *region != REGION {
        return Err((400, "InvalidSignatureException", "the credential scope names another service or region"));
    }
    let amz_date = header("x-amz-date").ok_or((400, "IncompleteSignatureException", "X-Amz-Date is required"))?;
    if !amz_date.starts_with(date) {
        return Err((400, "InvalidSignatureException", "the scope's date is not X-Amz-Date's"));
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"host") || !names.contains(&"x-amz-date") || !names.contains(&"x-amz-target") {
        return Err((400, "InvalidSignatureException", "host, x-amz-date and x-amz-target must be signed"));
    }
    let mut canonical_headers = String::new();
    for name in &names {
        let values: Vec<String> = parts
            .headers
            .get_all(*name)
            .iter()
            .map(|v| v.to_str().unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return Err((400, "InvalidSignatureException", "a signed header is missing"));
        }
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or_default();
    let canonical_request =
        format!("POST\n{path}\n{query}\n{canonical_headers}\n{signed_headers}\n{}", sha256_hex(body));
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let k_date = hmac_sha256(format!("AWS4{SECRET_ACCESS_KEY}").as_bytes(), date.as_bytes());
    let k_region = hmac_sha256(&k_date, region.as_bytes());
    let k_service = hmac_sha256(&k_region, service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"aws4_request");
    let expected = hex::encode(hmac_sha256(&k_signing, string_to_sign.as_bytes()));
    if expected != signature {
        return Err((400, "InvalidSignatureException", "the request signature we calculated does not match"));
    }
    Ok(())
}
