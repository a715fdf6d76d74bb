//! Issuing a captcha, and judging an answer to one: the one place every
//! flow that takes a captcha (an SMS send, a login past its failures) asks.

use super::human::HumanCheck;
use super::{Error, Limit, Limits, keys};
use crate::captcha::render;
use crate::clock::{Clock, EpochSeconds};
use crate::config::Config;
use crate::domain::{CaptchaId, CaptchaText, ClientKey};
use crate::human::Proof;
use crate::random::Random;
use crate::store::{Cond, Item, Op, Store, StoreError};

/// A human check as a request that sends nothing carries it (a login past
/// its failures, closing, a number change): the deployment's provider's
/// fields ([`Proof`]) and the client's address as API Gateway saw it (the
/// `UserIp` Tencent judges with).
#[derive(Debug, Clone)]
pub struct CaptchaProof {
    pub proof: Proof,
    pub user_ip: Option<String>,
}

/// Judges `proof` for a request that is no send: a pass, and it is spent;
/// anything else, a send's marker included, counts against the client
/// ([`HumanCheck::check`]). A right answer from a client whose failure cap
/// is full must still be refused by the caller's transaction
/// ([`Limit::check`] on `captcha_failures_per_ip`), as a send does.
pub(super) async fn judge<S: Store>(
    store: &S,
    human: &HumanCheck,
    proof: &CaptchaProof,
    client: Option<&ClientKey>,
    now: EpochSeconds,
) -> Result<(), Error> {
    human.check(store, &proof.proof, client, proof.user_ip.as_deref(), now).await
}

/// Draws captchas and keeps their answers for `ttl` seconds.
#[derive(Debug)]
pub struct CaptchaService<S, C, R> {
    pub store: S,
    pub clock: C,
    pub random: R,
    pub ttl: i64,
    /// Captchas per client IP per minute.
    pub limit: Limit,
}

impl<S: Store, C: Clock, R: Random> CaptchaService<S, C, R> {
    /// The service as every entry point wires it, from the configuration.
    pub fn new(config: &Config, store: S, clock: C, random: R) -> Self {
        let limit = Limits::from(config.limits).captchas_per_ip;
        Self { store, clock, random, ttl: config.lifetimes.captcha, limit }
    }

    /// Draws a new captcha for `id`, replacing any earlier one, and returns
    /// its PNG. One request: a transaction counting the client's captchas
    /// with the write, or a PutItem when the client's address is unknown.
    pub async fn issue(&self, id: &CaptchaId, client: Option<&ClientKey>) -> Result<Vec<u8>, Error> {
        let text = CaptchaText::generate(&self.random);
        let png = render(&text, &self.random).map_err(Error::internal)?;
        let now = self.clock.now();
        let item = Item::new(keys::captcha(id)).with_s(keys::ANSWER, text.answer()).expiring_at(now + self.ttl);
        let Some(client) = client else {
            self.store.put(item, Cond::Always, now).await?;
            return Ok(png);
        };
        let writes =
            vec![self.limit.count(client.as_str(), now), Op::Put { item, cond: Cond::Always }.labelled("captcha")];
        match self.store.transact(writes, now).await {
            Ok(()) => Ok(png),
            Err(StoreError::Cancelled(cancelled)) => match cancelled.failed(self.limit.label()) {
                Some(counter) => Err(self.limit.refusal(counter, now)),
                None => Err(Error::internal(StoreError::Cancelled(cancelled))),
            },
            Err(error) => Err(error.into()),
        }
    }
}
