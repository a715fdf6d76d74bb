//! Aliyun's signature v3, ACS3-HMAC-SHA256, for RPC-style APIs (SMS
//! `SendSms`, one-tap `GetMobile`).
//!
//! `CanonicalRequest = METHOD \n path \n canonical query \n canonical headers
//! \n signed names \n hex(sha256(body))`; the signature is
//! `hex(HMAC-SHA256(secret, "ACS3-HMAC-SHA256\n" + hex(sha256(CanonicalRequest))))`.

use super::{hmac_sha256, iso8601_utc, rfc3986, sha256_hex};

/// The algorithm's name, first in the `Authorization` header.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// One request to sign. Time and nonce are inputs: the caller takes them from
/// its injected clock and RNG, and a nonce is never reused.
#[derive(Debug, Clone)]
pub struct Acs3Request<'a> {
    pub method: &'a str,
    /// `aliyuncs.com` host, e.g. `dysmsapi.aliyuncs.com`.
    pub host: &'a str,
    /// The path, `/` for RPC-style APIs.
    pub path: &'a str,
    /// Query parameters, in any order.
    pub query: &'a [(&'a str, &'a str)],
    /// Headers signed besides host and the `x-acs-*` ones (e.g.
    /// `content-type`), names in any case.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    /// `x-acs-action`, e.g. `SendSms`.
    pub action: &'a str,
    /// `x-acs-version`, e.g. `2017-05-25`.
    pub version: &'a str,
    /// Unix seconds; sent as `x-acs-date` in UTC.
    pub timestamp: i64,
    /// `x-acs-signature-nonce`, unique per request.
    pub nonce: &'a str,
}

/// What signing produced: the headers to send (every signed one plus
/// `Authorization`), and the intermediate value the official example prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Acs3Signature {
    pub hashed_canonical_request: String,
    /// Hex HMAC-SHA256: as good as the secret for this one request.
    pub signature: String,
    /// Lower-case names, sorted, `Authorization` last.
    pub headers: Vec<(String, String)>,
}

impl std::fmt::Debug for Acs3Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acs3Signature").finish_non_exhaustive()
    }
}

/// `k=v` pairs sorted by name, each side RFC 3986-encoded, joined by `&`:
/// the canonical query, and the `application/x-www-form-urlencoded` body
/// Aliyun's SDKs send.
pub fn canonical_query(params: &[(&str, &str)]) -> String {
    let mut encoded: Vec<(String, String)> = params.iter().map(|(k, v)| (rfc3986(k), rfc3986(v))).collect();
    encoded.sort();
    encoded.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

impl Acs3Request<'_> {
    /// Signs with the AccessKey pair.
    pub fn sign(&self, access_key_id: &str, access_key_secret: &str) -> Acs3Signature {
        let mut headers: Vec<(String, String)> = vec![
            ("host".to_owned(), self.host.to_owned()),
            ("x-acs-action".to_owned(), self.action.to_owned()),
            ("x-acs-content-sha256".to_owned(), sha256_hex(self.body)),
            ("x-acs-date".to_owned(), iso8601_utc(self.timestamp)),
            ("x-acs-signature-nonce".to_owned(), self.nonce.to_owned()),
            ("x-acs-version".to_owned(), self.version.to_owned()),
        ];
        headers.extend(self.headers.iter().map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned())));
        headers.sort();
        let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
        let signed_names = headers.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(";");
        let canonical_request = format!(
            "{}\n{}\n{}\n{canonical_headers}\n{signed_names}\n{}",
            self.method,
            self.path,
            canonical_query(self.query),
            sha256_hex(self.body)
        );
        let hashed_canonical_request = sha256_hex(canonical_request.as_bytes());
        let string_to_sign = format!("{ALGORITHM}\n{hashed_canonical_request}");
        let signature = hex::encode(hmac_sha256(access_key_secret.as_bytes(), string_to_sign.as_bytes()));
        headers.push((
            "authorization".to_owned(),
            format!("{ALGORITHM} Credential={access_key_id},SignedHeaders={signed_names},Signature={signature}"),
        ));
        Acs3Signature { hashed_canonical_request, signature, headers }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The official v3 example (`/work/shared/sms-providers/README.md`).
    fn official() -> Acs3Request<'static> {
        Acs3Request {
            method: "POST",
            host: "ecs.cn-shanghai.aliyuncs.com",
            path: "/",
            query: &[("RegionId", "cn-shanghai"), ("ImageId", "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd")],
            headers: &[],
            body: b"",
            action: "RunInstances",
            version: "2014-05-26",
            timestamp: 1_698_315_752, // 2023-10-26T10:22:32Z
            nonce: "3156853299f313e23d1673dc12e1703d",
        }
    }

    #[test]
    fn the_official_example_gives_the_published_signature() {
        let signed = official().sign("YourAccessKeyId", "YourAccessKeySecret");
        assert_eq!(signed.hashed_canonical_request, "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259");
        assert_eq!(signed.signature, "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0");
        let authorization = &signed.headers.last().unwrap().1;
        assert_eq!(
            authorization,
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    #[test]
    fn every_input_changes_the_signature() {
        let base = official().sign("id", "YourAccessKeySecret").signature;
        let other_nonce = Acs3Request { nonce: "another", ..official() };
        let other_time = Acs3Request { timestamp: 1_698_315_753, ..official() };
        let other_body = Acs3Request { body: b"x", ..official() };
        let other_header = Acs3Request { headers: &[("Content-Type", "text/plain")], ..official() };
        for changed in [other_nonce, other_time, other_body, other_header] {
            assert_ne!(changed.sign("id", "YourAccessKeySecret").signature, base, "{changed:?}");
        }
        assert_ne!(official().sign("id", "other").signature, base);
    }

    #[test]
    fn the_signature_is_not_in_the_debug_output() {
        let signed = official().sign("id", "YourAccessKeySecret");
        assert!(!format!("{signed:?}").contains(&signed.signature));
    }

    #[test]
    fn the_canonical_query_is_sorted_and_rfc3986_encoded() {
        assert_eq!(canonical_query(&[("b", "x y"), ("a", "{\"code\":\"1\"}")]), "a=%7B%22code%22%3A%221%22%7D&b=x%20y");
    }
}
