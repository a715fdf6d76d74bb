//! Human checks: what a person hands back from a captcha (a [`Proof`]), and
//! the [`Verifier`] that judges it: the built-in image, Tencent Cloud
//! captcha (天御) or GeeTest v4, chosen by `CAPTCHA_PROVIDER`. Every
//! verifier fails closed: a service that cannot be asked is an error, never a
//! pass. Spending each proof once is the caller's ([`crate::service::human`]).

mod builtin;
mod geetest;
mod tencent;

pub use builtin::BuiltinImage;
pub use geetest::{GeetestClient, GeetestSignedValidate};
pub use tencent::{TencentCaptchaClient, TencentSignedCheck};

use crate::config::{CaptchaConfig, VerifierConfig};
use crate::domain::{CaptchaAnswer, CaptchaId};
use crate::sms::ClientOptions;
use serde_json::{Map, Value};
use std::future::Future;

/// Which human check a deployment uses (`CAPTCHA_PROVIDER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaptchaProvider {
    /// Our own image (`GET /image_codes/{uuid}/`): the default.
    Builtin,
    /// Tencent Cloud captcha, `DescribeCaptchaResult`.
    Tencent,
    /// GeeTest v4, `/validate`.
    Geetest,
}

impl CaptchaProvider {
    pub const ALL: [CaptchaProvider; 3] =
        [CaptchaProvider::Builtin, CaptchaProvider::Tencent, CaptchaProvider::Geetest];

    /// The name in `CAPTCHA_PROVIDER`, metrics and audit lines.
    pub fn name(self) -> &'static str {
        match self {
            CaptchaProvider::Builtin => "builtin",
            CaptchaProvider::Tencent => "tencent",
            CaptchaProvider::Geetest => "geetest",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|provider| provider.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The request fields a proof for this provider carries.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            CaptchaProvider::Builtin => &["image_code", "image_code_id"],
            CaptchaProvider::Tencent => &["ticket", "randstr"],
            CaptchaProvider::Geetest => &["lot_number", "captcha_output", "pass_token", "gen_time"],
        }
    }
}

/// What a person handed back from a human check, read from a request's
/// query or JSON body. `Debug` shows which kind only.
#[derive(Clone, PartialEq, Eq)]
pub enum Proof {
    /// The built-in image: the captcha's uuid and the characters read.
    Image { id: CaptchaId, answer: CaptchaAnswer },
    /// Tencent's widget's `ticket` and `randstr`.
    Tencent { ticket: String, randstr: String },
    /// GeeTest v4's widget's four fields (`getValidate()`).
    Geetest { lot_number: String, captcha_output: String, pass_token: String, gen_time: String },
}

impl std::fmt::Debug for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Proof({})", self.provider().name())
    }
}

/// A request's proof could not be read; maps to a 400 naming which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadProof {
    /// A field the provider needs is absent or blank (`missing_parameters`).
    #[error("a field of the human check is missing")]
    Missing,
    /// `image_code_id` is not a uuid (`invalid_captcha_id`).
    #[error("the captcha id is not a uuid")]
    InvalidCaptchaId,
    /// `image_code` is not 1 to 16 letters or digits (`invalid_image_code`).
    #[error("the image code is not 1 to 16 letters or digits")]
    InvalidImageCode,
    /// A provider's field is too long, not printable ASCII, or `gen_time`
    /// not digits (`invalid_captcha_response`).
    #[error("a field of the human check is malformed")]
    Invalid,
}

/// The longest field a provider's widget hands back that we accept.
const MAX_FIELD: usize = 2048;

impl Proof {
    /// Reads `provider`'s fields through `field`, which gives a field's value
    /// if present: query parameters and JSON body fields alike, so that any
    /// route can take a human check (see [`Proof::from_json`]).
    pub fn from_fields(provider: CaptchaProvider, field: impl Fn(&str) -> Option<String>) -> Result<Self, BadProof> {
        let present = |name: &str| field(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let values: Vec<String> =
            provider.fields().iter().map(|name| present(name)).collect::<Option<_>>().ok_or(BadProof::Missing)?;
        let printable = |value: &String| value.len() <= MAX_FIELD && value.bytes().all(|b| b.is_ascii_graphic());
        let mut values = values.into_iter();
        let mut next = || values.next().unwrap_or_default();
        match provider {
            CaptchaProvider::Builtin => {
                let (answer, id) = (next(), next());
                let id = CaptchaId::parse(&id).map_err(|_| BadProof::InvalidCaptchaId)?;
                let answer = CaptchaAnswer::parse(&answer).map_err(|_| BadProof::InvalidImageCode)?;
                Ok(Proof::Image { id, answer })
            }
            CaptchaProvider::Tencent => {
                let (ticket, randstr) = (next(), next());
                if ![&ticket, &randstr].into_iter().all(printable) {
                    return Err(BadProof::Invalid);
                }
                Ok(Proof::Tencent { ticket, randstr })
            }
            CaptchaProvider::Geetest => {
                let (lot_number, captcha_output, pass_token, gen_time) = (next(), next(), next(), next());
                let digits = gen_time.len() <= 20 && gen_time.bytes().all(|b| b.is_ascii_digit());
                if !digits || ![&lot_number, &captcha_output, &pass_token].into_iter().all(printable) {
                    return Err(BadProof::Invalid);
                }
                Ok(Proof::Geetest { lot_number, captcha_output, pass_token, gen_time })
            }
        }
    }

    /// Reads `provider`'s fields from a JSON body: each must be a string
    /// (`{"image_code": "…", "image_code_id": "…"}`, `{"ticket": …,
    /// "randstr": …}`, or GeeTest's four).
    pub fn from_json(provider: CaptchaProvider, form: &Map<String, Value>) -> Result<Self, BadProof> {
        if provider.fields().iter().any(|name| form.get(*name).is_some_and(|v| !v.is_string())) {
            return Err(BadProof::Invalid);
        }
        Self::from_fields(provider, |name| form.get(name).and_then(Value::as_str).map(str::to_owned))
    }

    pub fn provider(&self) -> CaptchaProvider {
        match self {
            Proof::Image { .. } => CaptchaProvider::Builtin,
            Proof::Tencent { .. } => CaptchaProvider::Tencent,
            Proof::Geetest { .. } => CaptchaProvider::Geetest,
        }
    }

    /// What names this proof in a request's tag (an HMAC): the image's id
    /// and answer as read into the alphabet, a provider's fields.
    pub fn parts(&self) -> Vec<String> {
        match self {
            Proof::Image { id, answer } => vec![id.as_str().to_owned(), answer.in_alphabet()],
            Proof::Tencent { ticket, randstr } => vec!["tencent".to_owned(), ticket.clone(), randstr.clone()],
            Proof::Geetest { lot_number, captcha_output, pass_token, gen_time } => vec![
                "geetest".to_owned(),
                lot_number.clone(),
                captcha_output.clone(),
                pass_token.clone(),
                gen_time.clone(),
            ],
        }
    }

    /// The item that spends this proof once: the image's own
    /// `captcha#<uuid>`, else `pass#<provider>#<sha256 of the ticket or
    /// lot_number>` (what the provider itself would accept twice).
    pub fn key(&self) -> String {
        use crate::service::keys;
        match self {
            Proof::Image { id, .. } => keys::captcha(id),
            Proof::Tencent { ticket, .. } => keys::pass("tencent", ticket),
            Proof::Geetest { lot_number, .. } => keys::pass("geetest", lot_number),
        }
    }
}

/// A verifier's judgement of one proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A person passed.
    Pass,
    /// Refused: a wrong answer, or a pass the service does not accept;
    /// `reason` is the service's code, safe to log.
    Fail { reason: String },
}

/// The verifier could not judge: it timed out, could not be reached, or
/// answered something other than a verdict. Never a pass.
#[derive(Debug, thiserror::Error)]
#[error("the {} human check is unavailable: {detail}", .provider.name())]
pub struct VerifierError {
    pub provider: CaptchaProvider,
    pub detail: String,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// A human check: judges a proof whose single use the caller has already
/// claimed. Implementations never pass what they could not judge.
pub trait Verifier: Send + Sync {
    /// Which provider, and so which fields its proofs carry.
    fn provider(&self) -> CaptchaProvider;

    /// Judges `proof`. `stored` is what spending it took from the store (the
    /// built-in image's answer; `None` for a provider's pass), `user_ip` the
    /// client's address as API Gateway saw it.
    fn verify(
        &self,
        proof: &Proof,
        stored: Option<&str>,
        user_ip: Option<&str>,
    ) -> impl Future<Output = Result<Verdict, VerifierError>> + Send;
}

/// The configured verifier, chosen once per cold start.
#[derive(Debug, Clone)]
pub enum AnyVerifier {
    Builtin(BuiltinImage),
    Tencent(TencentCaptchaClient),
    Geetest(GeetestClient),
}

impl AnyVerifier {
    /// The verifier `config` names, with its timeout (`CAPTCHA_TIMEOUT_MS`).
    pub fn from_config(config: &CaptchaConfig) -> Self {
        Self::with_options(&config.verifier, ClientOptions { timeout: config.timeout, ..ClientOptions::default() })
    }

    /// The verifier `config` names, on the given clock and timeout.
    pub fn with_options(config: &VerifierConfig, options: ClientOptions) -> Self {
        match config {
            VerifierConfig::Builtin => AnyVerifier::Builtin(BuiltinImage),
            VerifierConfig::Tencent(tencent) => {
                AnyVerifier::Tencent(TencentCaptchaClient::new(tencent.clone(), options))
            }
            VerifierConfig::Geetest(geetest) => AnyVerifier::Geetest(GeetestClient::new(geetest.clone(), options)),
        }
    }
}

impl Default for AnyVerifier {
    fn default() -> Self {
        AnyVerifier::Builtin(BuiltinImage)
    }
}

impl Verifier for AnyVerifier {
    fn provider(&self) -> CaptchaProvider {
        match self {
            AnyVerifier::Builtin(v) => v.provider(),
            AnyVerifier::Tencent(v) => v.provider(),
            AnyVerifier::Geetest(v) => v.provider(),
        }
    }

    async fn verify(
        &self,
        proof: &Proof,
        stored: Option<&str>,
        user_ip: Option<&str>,
    ) -> Result<Verdict, VerifierError> {
        match self {
            AnyVerifier::Builtin(v) => v.verify(proof, stored, user_ip).await,
            AnyVerifier::Tencent(v) => v.verify(proof, stored, user_ip).await,
            AnyVerifier::Geetest(v) => v.verify(proof, stored, user_ip).await,
        }
    }
}

/// The HTTP client of a verifier, as a provider's
/// ([`crate::sms::http_client`]): `timeout` in all, no redirects. Built
/// once; if it cannot be built every verification is unavailable.
fn http_client(timeout: std::time::Duration) -> Result<reqwest::Client, std::sync::Arc<reqwest::Error>> {
    crate::sms::http_client(timeout).map_err(std::sync::Arc::new)
}

/// Sends `request` and reads the whole answer; any failure is unavailable.
/// Errors carry no URL.
async fn exchange(
    provider: CaptchaProvider,
    request: reqwest::RequestBuilder,
) -> Result<(reqwest::StatusCode, Vec<u8>), VerifierError> {
    let failed = |detail: &str, e: reqwest::Error| VerifierError {
        provider,
        detail: detail.to_owned(),
        source: Some(Box::new(e.without_url())),
    };
    let response = request.send().await.map_err(|e| {
        let detail = if e.is_timeout() {
            "no answer in time"
        } else if e.is_connect() {
            "no connection"
        } else {
            "the request failed"
        };
        failed(detail, e)
    })?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| failed("reading the answer failed", e))?;
    Ok((status, body.to_vec()))
}

fn unavailable(provider: CaptchaProvider, detail: impl Into<String>) -> VerifierError {
    VerifierError { provider, detail: detail.into(), source: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn fields(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| map.get(name).cloned()
    }

    const UUID: &str = "3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c";

    #[test]
    fn each_provider_reads_its_own_fields_and_names_what_is_wrong() {
        let image =
            Proof::from_fields(CaptchaProvider::Builtin, fields(&[("image_code", "KX7G"), ("image_code_id", UUID)]));
        assert!(matches!(image, Ok(Proof::Image { .. })));
        let tencent =
            Proof::from_fields(CaptchaProvider::Tencent, fields(&[("ticket", "t03abc*_-"), ("randstr", "@xyz")]));
        assert_eq!(tencent, Ok(Proof::Tencent { ticket: "t03abc*_-".into(), randstr: "@xyz".into() }));
        let geetest =
            [("lot_number", "a1"), ("captcha_output", "b2"), ("pass_token", "c3"), ("gen_time", "1700000000")];
        assert!(matches!(Proof::from_fields(CaptchaProvider::Geetest, fields(&geetest)), Ok(Proof::Geetest { .. })));

        assert_eq!(Proof::from_fields(CaptchaProvider::Tencent, fields(&[("ticket", "t")])), Err(BadProof::Missing));
        assert_eq!(
            Proof::from_fields(CaptchaProvider::Tencent, fields(&[("ticket", "  "), ("randstr", "r")])),
            Err(BadProof::Missing)
        );
        // The image's fields do not satisfy another provider, and the reverse.
        assert_eq!(
            Proof::from_fields(CaptchaProvider::Tencent, fields(&[("image_code", "KX7G"), ("image_code_id", UUID)])),
            Err(BadProof::Missing)
        );
        assert_eq!(
            Proof::from_fields(CaptchaProvider::Builtin, fields(&[("image_code", "K"), ("image_code_id", "nope")])),
            Err(BadProof::InvalidCaptchaId)
        );
        assert_eq!(
            Proof::from_fields(CaptchaProvider::Builtin, fields(&[("image_code", "K-'"), ("image_code_id", UUID)])),
            Err(BadProof::InvalidImageCode)
        );
        let long = "t".repeat(MAX_FIELD + 1);
        for (ticket, randstr) in [(long.as_str(), "r"), ("t\u{7f}", "r"), ("t", "r s"), ("票", "r")] {
            assert_eq!(
                Proof::from_fields(CaptchaProvider::Tencent, fields(&[("ticket", ticket), ("randstr", randstr)])),
                Err(BadProof::Invalid),
                "{ticket:?} {randstr:?}"
            );
        }
        let mut bad_time = geetest;
        bad_time[3] = ("gen_time", "17e9");
        assert_eq!(Proof::from_fields(CaptchaProvider::Geetest, fields(&bad_time)), Err(BadProof::Invalid));
    }

    #[test]
    fn a_json_body_gives_the_same_proof_as_a_query_and_non_strings_are_refused() {
        let form: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"image_code": "kx7g", "image_code_id": UUID, "account": "a"}))
                .unwrap();
        let query =
            Proof::from_fields(CaptchaProvider::Builtin, fields(&[("image_code", "KX7G"), ("image_code_id", UUID)]));
        assert_eq!(Proof::from_json(CaptchaProvider::Builtin, &form), query);
        let numbers: Map<String, Value> =
            serde_json::from_value(serde_json::json!({"ticket": 12, "randstr": "r"})).unwrap();
        assert_eq!(Proof::from_json(CaptchaProvider::Tencent, &numbers), Err(BadProof::Invalid));
    }

    #[test]
    fn a_pass_is_spent_under_a_hash_of_its_ticket_and_debug_shows_no_field() {
        let proof = Proof::Tencent { ticket: "secret-ticket".into(), randstr: "r".into() };
        let key = proof.key();
        assert!(key.starts_with("pass#tencent#") && !key.contains("secret-ticket"), "{key}");
        assert_eq!(key.len(), "pass#tencent#".len() + 64);
        let other = Proof::Tencent { ticket: "secret-ticket".into(), randstr: "other".into() };
        assert_eq!(other.key(), key, "one ticket, one spend, whatever the randstr");
        assert_eq!(format!("{proof:?}"), "Proof(tencent)");
        let geetest = Proof::Geetest {
            lot_number: "lot".into(),
            captcha_output: "o".into(),
            pass_token: "p".into(),
            gen_time: "1".into(),
        };
        assert!(geetest.key().starts_with("pass#geetest#"));
    }

    #[test]
    fn provider_names_parse_back() {
        for provider in CaptchaProvider::ALL {
            assert_eq!(CaptchaProvider::parse(provider.name()), Some(provider));
        }
        assert_eq!(CaptchaProvider::parse(" Tencent "), Some(CaptchaProvider::Tencent));
        assert_eq!(CaptchaProvider::parse("recaptcha"), None);
    }
}
