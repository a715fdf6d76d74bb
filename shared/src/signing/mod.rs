//! Request signers of outside services: Aliyun's ACS3-HMAC-SHA256 and Tencent
//! Cloud's TC3-HMAC-SHA256. Pure functions of their inputs (time and nonce
//! are given), so each is tested against the service's published vector.
//! [`SignedPost`] is what a client built on them puts on the wire.

pub mod aliyun;
pub mod tencent;

use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// RFC 3986 unreserved characters stay; everything else is `%XX` (space is
/// `%20`, `*` is `%2A`), as both services' canonical forms want.
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `value` percent-encoded per RFC 3986.
pub fn rfc3986(value: &str) -> String {
    utf8_percent_encode(value, RFC3986).to_string()
}

/// Lower-case hex of SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length: new_from_slice cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// One signed POST, everything that goes on the wire: the URL, every signed
/// header and the authorization (`N` is how the signer names them), the
/// body. Its `Debug` shows the URL only: the body holds a code, a number, a
/// ticket or a token, a header the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedPost<N> {
    /// `{base_url}/`
    pub url: String,
    pub headers: Vec<(N, String)>,
    pub body: String,
}

impl<N> std::fmt::Debug for SignedPost<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedPost").field("url", &self.url).finish_non_exhaustive()
    }
}

impl<N: AsRef<str>> SignedPost<N> {
    /// This POST on `http`, every header as signed but `Host`: reqwest
    /// writes that one from the URL, the same value as signed.
    pub fn post(self, http: &reqwest::Client) -> reqwest::RequestBuilder {
        let mut builder = http.post(self.url).body(self.body);
        for (name, value) in self.headers.iter().filter(|(name, _)| !name.as_ref().eq_ignore_ascii_case("host")) {
            builder = builder.header(name.as_ref(), value);
        }
        builder
    }
}

/// A Unix time as UTC calendar fields: `[year, month, day, hour, minute, second]`.
pub fn utc_fields(epoch_seconds: i64) -> [i64; 6] {
    let (days, second_of_day) = (epoch_seconds.div_euclid(86_400), epoch_seconds.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    [year, month, day, second_of_day / 3600, second_of_day % 3600 / 60, second_of_day % 60]
}

/// `yyyy-MM-ddTHH:mm:ssZ` for a Unix time.
pub fn iso8601_utc(epoch_seconds: i64) -> String {
    let [y, mo, d, h, mi, s] = utc_fields(epoch_seconds);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `yyyy-MM-dd` (UTC) for a Unix time.
pub fn utc_date(epoch_seconds: i64) -> String {
    let [y, mo, d, ..] = utc_fields(epoch_seconds);
    format!("{y:04}-{mo:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3986_keeps_unreserved_and_encodes_space_star_and_tilde_rightly() {
        assert_eq!(rfc3986("a-Z_0.~ *+/=&中"), "a-Z_0.~%20%2A%2B%2F%3D%26%E4%B8%AD");
    }

    #[test]
    fn utc_times_are_written_as_the_services_want() {
        assert_eq!(iso8601_utc(0), "1970-01-01T00:00:00Z");
        // 2024-02-29T23:59:59Z, a leap day.
        assert_eq!(iso8601_utc(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(utc_date(1_551_113_065), "2019-02-25");
    }

    #[test]
    fn hmac_sha256_matches_rfc_4231_case_2() {
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
