//! Issuing a captcha.

use super::{Error, keys};
use crate::captcha::render;
use crate::clock::Clock;
use crate::domain::{CaptchaId, CaptchaText};
use crate::random::Random;
use crate::store::{Cond, Item, Store};

/// Draws captchas and keeps their answers for `ttl` seconds.
#[derive(Debug)]
pub struct CaptchaService<S, C, R> {
    pub store: S,
    pub clock: C,
    pub random: R,
    pub ttl: i64,
}

impl<S: Store, C: Clock, R: Random> CaptchaService<S, C, R> {
    /// Draws a new captcha for `id`, replacing any earlier one, and returns
    /// its PNG. One PutItem.
    pub async fn issue(&self, id: &CaptchaId) -> Result<Vec<u8>, Error> {
        let text = CaptchaText::generate(&self.random);
        let png = render(&text, &self.random).map_err(Error::internal)?;
        let now = self.clock.now();
        let item = Item::new(keys::captcha(id)).with_s(keys::ANSWER, text.answer()).expiring_at(now + self.ttl);
        self.store.put(item, Cond::Always, now).await?;
        Ok(png)
    }
}
