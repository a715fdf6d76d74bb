//! A human check, spent once and judged: the built-in image's captcha is
//! taken (one DeleteItem), a provider's pass claimed by one conditional put
//! of `pass#<provider>#<hash>` before the provider is asked, so a pass the
//! provider would accept twice still opens one request. Every verdict is a
//! metric and an audit field; a verifier that cannot answer is a 503.

use super::{Error, Limit, Limits, keys};
use crate::clock::EpochSeconds;
use crate::config::Config;
use crate::domain::ClientKey;
use crate::human::{AnyVerifier, CaptchaProvider, Proof, Verdict, Verifier};
use crate::store::{Cond, Item, Store, StoreError};
use crate::telemetry::{Metric, audit, metrics};
use subtle::ConstantTimeEq;

/// How long a provider's spent pass is remembered: longer than either
/// service accepts one (Tencent: 5 minutes).
pub const PASS_TTL: i64 = 3600;

/// The `request` of a pass claimed by a check that makes no send (a login).
const CHECKED: &str = "checked";

/// Every verdict a judgement records, in `CaptchaVerdicts`' `Verdict`
/// dimension and the audit line's `captcha` field.
pub const VERDICTS: [&str; 4] = ["pass", "fail", "spent", "unavailable"];

/// The deployment's human check: its verifier and the client's failure cap.
#[derive(Debug, Clone)]
pub struct HumanCheck {
    pub verifier: AnyVerifier,
    /// Wrong, unknown or spent proofs per client per hour.
    pub failures: Limit,
}

/// A human check a request answered, as a route that makes no send takes
/// it (a login past its failures, closing the account, changing its
/// number): the proof read from the JSON body in the configured provider's
/// fields, and the client's address as API Gateway saw it (Tencent's
/// `UserIp`).
#[derive(Debug, Clone, Copy)]
pub struct Challenge<'a> {
    pub proof: &'a Proof,
    pub user_ip: Option<&'a str>,
}

/// What judging a proof found.
#[derive(Debug)]
pub(crate) enum Judged {
    /// A person passed, just now.
    Passed,
    /// The proof was already spent by this very request (same tag): the
    /// marker its send left.
    Repeat(Item),
}

impl HumanCheck {
    /// `CAPTCHA_PROVIDER`'s verifier with the default timeout, and the
    /// configured failure cap.
    pub fn new(config: &Config) -> Self {
        Self {
            verifier: AnyVerifier::from_config(&config.captcha),
            failures: Limits::from(config.limits).captcha_failures_per_ip,
        }
    }

    /// Which fields a route reads a proof from ([`Proof::from_fields`]).
    pub fn provider(&self) -> CaptchaProvider {
        self.verifier.provider()
    }

    /// Spends `proof` and judges it, for a route that makes no send (the
    /// login's challenge): `Ok` only for a person's first use of it. Wrong,
    /// unknown and spent proofs count against the client's failure cap.
    pub async fn check<S: Store>(
        &self,
        store: &S,
        proof: &Proof,
        client: Option<&ClientKey>,
        user_ip: Option<&str>,
        now: EpochSeconds,
    ) -> Result<(), Error> {
        match self.judge(store, proof, CHECKED, client, user_ip, now).await? {
            Judged::Passed => Ok(()),
            Judged::Repeat(_) => {
                self.count_failure(store, client, now).await?;
                Err(Error::CaptchaExpired)
            }
        }
    }

    /// Spends `proof` for the request tagged `request` and judges it. A
    /// marker a send left under the proof's key with this same tag is
    /// handed back (a repeat); anything else that finds the proof spent,
    /// and every refusal, counts a failure.
    pub(crate) async fn judge<S: Store>(
        &self,
        store: &S,
        proof: &Proof,
        request: &str,
        client: Option<&ClientKey>,
        user_ip: Option<&str>,
        now: EpochSeconds,
    ) -> Result<Judged, Error> {
        let provider = self.provider();
        audit::captcha_provider(provider.name());
        if proof.provider() != provider {
            return Err(Error::internal(format!(
                "a {} proof for the {} check",
                proof.provider().name(),
                provider.name()
            )));
        }
        let key = proof.key();
        let same = |stored: &str| bool::from(stored.as_bytes().ct_eq(request.as_bytes()));
        // A send's marker answers a repeat until its cooldown ends; a
        // provider's pass outlives it, spent.
        let cooling = |marker: &Item| marker.n(keys::RETRY_AT).map_or(true, |at| at > now);
        let stored = match proof {
            Proof::Image { .. } => match store.take(&key, Some(keys::REQUEST), now).await? {
                None => return self.spent(store, client, now).await,
                Some(item) => match item.s(keys::REQUEST) {
                    Ok(made_by) if same(made_by) && cooling(&item) => return Ok(Judged::Repeat(item)),
                    Ok(_) => return self.spent(store, client, now).await,
                    Err(_) => Some(item.s(keys::ANSWER)?.to_owned()),
                },
            },
            Proof::Tencent { .. } | Proof::Geetest { .. } => {
                let claim = Item::new(key).with_s(keys::REQUEST, request).expiring_at(now + PASS_TTL);
                match store.put(claim, Cond::NotLive, now).await {
                    Ok(()) => None,
                    Err(StoreError::ConditionFailed { current: Some(marker) })
                        if marker.s(keys::REQUEST).is_ok_and(same)
                            && marker.get(keys::SEND_ID).is_some()
                            && cooling(&marker) =>
                    {
                        return Ok(Judged::Repeat(marker));
                    }
                    Err(StoreError::ConditionFailed { .. }) => return self.spent(store, client, now).await,
                    Err(error) => return Err(error.into()),
                }
            }
        };
        let verdict = metrics::timed(
            Metric::CaptchaLatency,
            &[("Provider", provider.name())],
            // On the heap: a provider's HTTP exchange is a large future, and
            // every send and login would carry it on its stack.
            Box::pin(self.verifier.verify(proof, stored.as_deref(), user_ip)),
        )
        .await;
        match verdict {
            Ok(Verdict::Pass) => {
                record(provider, "pass");
                Ok(Judged::Passed)
            }
            Ok(Verdict::Fail { reason }) => {
                record(provider, "fail");
                tracing::info!(provider = provider.name(), reason, "the human check refused");
                self.count_failure(store, client, now).await?;
                Err(Error::CaptchaIncorrect)
            }
            Err(error) => {
                record(provider, "unavailable");
                Err(Error::CaptchaUnavailable(error))
            }
        }
    }

    /// The proof was used before, or never existed.
    async fn spent<S: Store>(&self, store: &S, client: Option<&ClientKey>, now: EpochSeconds) -> Result<Judged, Error> {
        record(self.provider(), "spent");
        self.count_failure(store, client, now).await?;
        Err(Error::CaptchaExpired)
    }

    async fn count_failure<S: Store>(
        &self,
        store: &S,
        client: Option<&ClientKey>,
        now: EpochSeconds,
    ) -> Result<(), Error> {
        match client {
            Some(client) => self.failures.count_failure(store, client.as_str(), now).await,
            None => Ok(()),
        }
    }
}

/// The verdict as a metric and in the request's audit line.
fn record(provider: CaptchaProvider, verdict: &'static str) {
    debug_assert!(VERDICTS.contains(&verdict), "{verdict}");
    metrics::count(Metric::CaptchaVerdicts, &[("Provider", provider.name()), ("Verdict", verdict)]);
    audit::captcha(verdict);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CaptchaAnswer, CaptchaId};
    use crate::store::MemoryStore;

    const NOW: EpochSeconds = 1_700_000_000;

    async fn seeded(store: &MemoryStore, id: &str, answer: &str) -> CaptchaId {
        let id = CaptchaId::parse(id).unwrap();
        let item = Item::new(keys::captcha(&id)).with_s(keys::ANSWER, answer).expiring_at(NOW + 300);
        store.put(item, Cond::Always, NOW).await.unwrap();
        id
    }

    fn image(id: &CaptchaId, answer: &str) -> Proof {
        Proof::Image { id: id.clone(), answer: CaptchaAnswer::parse(answer).unwrap() }
    }

    fn check() -> HumanCheck {
        HumanCheck {
            verifier: AnyVerifier::default(),
            failures: Limits::from(crate::config::LimitsConfig::default()).captcha_failures_per_ip,
        }
    }

    /// The login's challenge: one function, the proof read from the body's fields.
    #[tokio::test]
    async fn a_check_without_a_send_passes_a_proof_once_and_counts_every_refusal() {
        let (store, check) = (MemoryStore::new(), check());
        let client = ClientKey::parse("203.0.113.7");
        let id = seeded(&store, "3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c", "ktc2").await;
        let form = serde_json::json!({"image_code": "X7G2", "image_code_id": id.as_str(), "account": "alice"});
        let proof = Proof::from_json(check.provider(), form.as_object().unwrap()).unwrap();
        check.check(&store, &proof, client.as_ref(), None, NOW).await.unwrap();
        assert!(matches!(check.check(&store, &proof, client.as_ref(), None, NOW).await, Err(Error::CaptchaExpired)));
        let wrong = seeded(&store, "4f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c", "ktc2").await;
        let refused = check.check(&store, &image(&wrong, "ktc3"), client.as_ref(), None, NOW).await;
        assert!(matches!(refused, Err(Error::CaptchaIncorrect)), "{refused:?}");
        let counter = format!("limit#{}#203.0.113.7#{}", check.failures.label(), NOW.div_euclid(check.failures.window));
        let counted = store.get(&counter, NOW).await.unwrap().expect("the failures are counted");
        assert_eq!(counted.n(keys::COUNT).unwrap(), 2);
    }

    #[tokio::test]
    async fn another_providers_proof_is_never_judged() {
        let (store, check) = (MemoryStore::new(), check());
        let tencent = Proof::Tencent { ticket: "t".into(), randstr: "r".into() };
        assert!(matches!(check.check(&store, &tencent, None, None, NOW).await, Err(Error::Internal(_))));
    }
}
