//! Issuing a captcha.

use super::{Error, Limit, keys};
use crate::captcha::render;
use crate::clock::Clock;
use crate::domain::{CaptchaId, CaptchaText};
use crate::random::Random;
use crate::store::{CancelReason, Cond, Item, Op, Store, StoreError};

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
    /// Draws a new captcha for `id`, replacing any earlier one, and returns
    /// its PNG. One request: a transaction counting the client's captchas
    /// with the write, or a PutItem when the client's address is unknown.
    pub async fn issue(&self, id: &CaptchaId, client_ip: Option<&str>) -> Result<Vec<u8>, Error> {
        let text = CaptchaText::generate(&self.random);
        let png = render(&text, &self.random).map_err(Error::internal)?;
        let now = self.clock.now();
        let item = Item::new(keys::captcha(id)).with_s(keys::ANSWER, text.answer()).expiring_at(now + self.ttl);
        let Some(ip) = client_ip else {
            self.store.put(item, Cond::Always, now).await?;
            return Ok(png);
        };
        let ops = vec![self.limit.count(ip, now), Op::Put { item, cond: Cond::Always }];
        match self.store.transact(ops, now).await {
            Ok(()) => Ok(png),
            Err(StoreError::Cancelled { reasons }) => match reasons.first() {
                Some(CancelReason::ConditionFailed { current }) => Err(self.limit.refusal(current.as_ref(), now)),
                _ => Err(Error::internal(format!("captcha transaction cancelled: {reasons:?}"))),
            },
            Err(error) => Err(error.into()),
        }
    }
}
