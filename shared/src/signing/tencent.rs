//! Tencent Cloud API 3.0's TC3-HMAC-SHA256, for any service (`sms`, and
//! `captcha` for Tencent's human check).
//!
//! `CanonicalRequest = "POST\n/\n\n" + "content-type:…\nhost:…\n" + "\n" +
//! "content-type;host" + "\n" + hex(sha256(body))`; the key is derived from
//! `"TC3" + SecretKey` through the UTC date, the service and `tc3_request`.
//!
//! Also the API 3.0 answer's envelope (`Answer`, `ApiError`), the same
//! for every service.

use super::{hmac_sha256, sha256_hex, utc_date};

/// The algorithm's name, first in the `Authorization` header.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The headers signed: Tencent's SDKs sign these two.
const SIGNED_HEADERS: &str = "content-type;host";

/// One POST to sign. The timestamp is an input, from the caller's injected clock.
#[derive(Debug, Clone)]
pub struct Tc3Request<'a> {
    /// `sms`, `captcha`, …: the credential scope's service and the host's first label.
    pub service: &'a str,
    /// e.g. `sms.tencentcloudapi.com`.
    pub host: &'a str,
    pub content_type: &'a str,
    /// `X-TC-Action`, e.g. `SendSms`.
    pub action: &'a str,
    /// `X-TC-Version`, e.g. `2021-01-11`.
    pub version: &'a str,
    /// `X-TC-Region`; some APIs take none.
    pub region: Option<&'a str>,
    /// Unix seconds: `X-TC-Timestamp`, and its UTC date in the scope.
    pub timestamp: i64,
    pub body: &'a [u8],
}

/// What signing produced: the headers to send and the intermediate value
/// the official example prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Tc3Signature {
    pub hashed_canonical_request: String,
    /// Hex HMAC-SHA256: as good as the key for this one request.
    pub signature: String,
    /// `Authorization`, `Content-Type`, `Host` and the `X-TC-*` headers.
    pub headers: Vec<(&'static str, String)>,
}

impl std::fmt::Debug for Tc3Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tc3Signature").finish_non_exhaustive()
    }
}

impl Tc3Request<'_> {
    /// Signs with the SecretId / SecretKey pair.
    pub fn sign(&self, secret_id: &str, secret_key: &str) -> Tc3Signature {
        let canonical_request = format!(
            "POST\n/\n\ncontent-type:{}\nhost:{}\n\n{SIGNED_HEADERS}\n{}",
            self.content_type.trim().to_ascii_lowercase(),
            self.host.trim().to_ascii_lowercase(),
            sha256_hex(self.body)
        );
        let hashed_canonical_request = sha256_hex(canonical_request.as_bytes());
        let date = utc_date(self.timestamp);
        let scope = format!("{date}/{}/tc3_request", self.service);
        let string_to_sign = format!("{ALGORITHM}\n{}\n{scope}\n{hashed_canonical_request}", self.timestamp);
        let key = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
        let key = hmac_sha256(&key, self.service.as_bytes());
        let key = hmac_sha256(&key, b"tc3_request");
        let signature = hex::encode(hmac_sha256(&key, string_to_sign.as_bytes()));
        let mut headers = vec![
            (
                "Authorization",
                format!(
                    "{ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}"
                ),
            ),
            ("Content-Type", self.content_type.to_owned()),
            ("Host", self.host.to_owned()),
            ("X-TC-Action", self.action.to_owned()),
            ("X-TC-Version", self.version.to_owned()),
            ("X-TC-Timestamp", self.timestamp.to_string()),
        ];
        if let Some(region) = self.region {
            headers.push(("X-TC-Region", region.to_owned()));
        }
        Tc3Signature { hashed_canonical_request, signature, headers }
    }
}

/// An API 3.0 answer, `{"Response": {…}}`: `R` is the API's own fields
/// beside [`ApiError`].
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Answer<R> {
    pub response: R,
}

/// `Response.Error`: the service refused the request whole.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ApiError {
    pub code: String,
    #[serde(default)]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
    const BODY: &str = r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;

    /// The official example (`/work/shared/sms-providers/README.md`): service `cvm`.
    fn official() -> Tc3Request<'static> {
        Tc3Request {
            service: "cvm",
            host: "cvm.tencentcloudapi.com",
            content_type: "application/json; charset=utf-8",
            action: "DescribeInstances",
            version: "2017-03-12",
            region: Some("ap-guangzhou"),
            timestamp: 1_551_113_065,
            body: BODY.as_bytes(),
        }
    }

    #[test]
    fn the_official_example_gives_the_published_signature() {
        let signed = official().sign("AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", KEY);
        assert_eq!(signed.hashed_canonical_request, "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
        assert_eq!(signed.signature, "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
        assert_eq!(
            signed.headers[0],
            (
                "Authorization",
                "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168".to_owned()
            )
        );
        let names: Vec<&str> = signed.headers.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            ["Authorization", "Content-Type", "Host", "X-TC-Action", "X-TC-Version", "X-TC-Timestamp", "X-TC-Region"]
        );
        assert_eq!(signed.headers[5].1, "1551113065");
    }

    #[test]
    fn the_service_time_body_and_key_each_change_the_signature() {
        let base = official().sign("id", KEY).signature;
        let sms = Tc3Request { service: "sms", ..official() };
        let later = Tc3Request { timestamp: 1_551_113_066, ..official() };
        let body = Tc3Request { body: b"{}", ..official() };
        for changed in [sms, later, body] {
            assert_ne!(changed.sign("id", KEY).signature, base, "{changed:?}");
        }
        assert_ne!(official().sign("id", "other").signature, base);
    }

    #[test]
    fn without_a_region_there_is_no_region_header() {
        let signed = Tc3Request { region: None, ..official() }.sign("id", KEY);
        assert!(signed.headers.iter().all(|(n, _)| *n != "X-TC-Region"));
        assert!(!format!("{signed:?}").contains(&signed.signature));
    }
}
