//! Issuing a captcha, and judging an answer to one: the one place every
//! flow that takes a captcha (an SMS send, a login past its failures) asks.

use super::{Error, Limit, Limits, keys};
use crate::captcha::render;
use crate::clock::{Clock, EpochSeconds};
use crate::config::Config;
use crate::domain::{CaptchaAnswer, CaptchaId, CaptchaText, ClientKey};
use crate::random::Random;
use crate::store::{Cond, Item, Op, Store, StoreError};
use subtle::ConstantTimeEq;

/// A captcha's answer as a request carries it: the built-in captcha's
/// `image_code_id` and `image_code`.
#[derive(Debug, Clone)]
pub struct CaptchaProof {
    pub id: CaptchaId,
    pub answer: CaptchaAnswer,
}

/// What taking a captcha found.
#[derive(Debug)]
pub(super) enum Taken {
    /// The right answer: the captcha is spent.
    Right,
    /// The marker a send that passed it left (see [`keys::captcha`]), left
    /// in place: spent, unless the taker is that very send again.
    Marker(Item),
    /// Unknown, expired or answered wrong: spent all the same.
    Failed(Error),
}

/// Takes the captcha `id` with one atomic DeleteItem and compares the
/// answer in code: of concurrent takers exactly one judges it, right or
/// wrong, once.
pub(super) async fn take<S: Store>(
    store: &S,
    id: &CaptchaId,
    answer: &CaptchaAnswer,
    now: EpochSeconds,
) -> Result<Taken, Error> {
    let Some(item) = store.take(&keys::captcha(id), Some(keys::REQUEST), now).await? else {
        return Ok(Taken::Failed(Error::CaptchaExpired));
    };
    if item.s(keys::REQUEST).is_ok() {
        return Ok(Taken::Marker(item));
    }
    Ok(if same(item.s(keys::ANSWER)?, answer.as_str()) { Taken::Right } else { Taken::Failed(Error::CaptchaIncorrect) })
}

/// Whether two secrets are equal, in constant time.
pub(super) fn same(stored: &str, given: &str) -> bool {
    bool::from(stored.as_bytes().ct_eq(given.as_bytes()))
}

/// Counts a failed captcha against the client's failure cap: `failure`,
/// or the 429 once that cap is full.
pub(super) async fn failed<S: Store>(
    store: &S,
    limits: &Limits,
    failure: Error,
    client: Option<&ClientKey>,
    now: EpochSeconds,
) -> Error {
    let Some(client) = client else { return failure };
    match limits.captcha_failures_per_ip.count_failure(store, client.as_str(), now).await {
        Ok(()) => failure,
        Err(refusal) => refusal,
    }
}

/// Judges `proof` for a request that is no send (a login past its
/// failures): right, and it is spent; anything else, a send's marker
/// included, counts against the client. The one function a pluggable
/// captcha replaces for these flows. A right answer from a client whose
/// failure cap is full must still be refused by the caller's transaction
/// ([`Limit::check`] on `captcha_failures_per_ip`), as a send does.
pub(super) async fn judge<S: Store>(
    store: &S,
    limits: &Limits,
    proof: &CaptchaProof,
    client: Option<&ClientKey>,
    now: EpochSeconds,
) -> Result<(), Error> {
    let failure = match take(store, &proof.id, &proof.answer, now).await? {
        Taken::Right => return Ok(()),
        Taken::Marker(_) => Error::CaptchaExpired,
        Taken::Failed(failure) => failure,
    };
    Err(failed(store, limits, failure, client, now).await)
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
