//! Issuing a captcha. Judging an answer to one is the human check's
//! ([`super::human::HumanCheck`]), whichever flow asks.

use super::{Error, Limit, Limits, keys};
use crate::captcha::render;
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{CaptchaId, CaptchaText, ClientKey};
use crate::random::Random;
use crate::store::{Cond, Item, Op, Store, StoreError};

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
