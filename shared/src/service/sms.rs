//! Sending an SMS code: spend the captcha, hold the send flag, store the code
//! and send it, with the checks in one transaction.

use super::{Error, Limit, Limits, keys};
use crate::clock::{Clock, EpochSeconds};
use crate::domain::{CaptchaAnswer, CaptchaId, Mobile, SmsCode};
use crate::random::Random;
use crate::sms::SmsSender;
use crate::store::{CancelReason, Check, Cond, Item, Op, Store, StoreError, Value};

/// Sends verification codes, at most one per number per cooldown.
#[derive(Debug)]
pub struct SmsService<S, M, C, R> {
    pub store: S,
    pub sender: M,
    pub clock: C,
    pub random: R,
    /// Seconds before the same number may get another code.
    pub cooldown: i64,
    /// Seconds a code stays valid.
    pub code_ttl: i64,
    pub limits: Limits,
    /// Only numbers starting with one of these get an SMS.
    pub allowed_prefixes: Vec<String>,
}

/// The caps one send counts against, in the order of its transaction's
/// writes after the captcha, the flag and the code.
fn counted<'a>(limits: &Limits, mobile: &'a Mobile, client_ip: Option<&'a str>) -> Vec<(Limit, &'a str)> {
    let mut caps = vec![(limits.sms_per_mobile, mobile.as_str())];
    if let Some(ip) = client_ip {
        caps.push((limits.sms_per_ip, ip));
    }
    caps.push((limits.sms_global, "all"));
    caps
}

impl<S: Store, M: SmsSender, C: Clock, R: Random> SmsService<S, M, C, R> {
    /// Checks the captcha (spending it, right or wrong), holds the number's
    /// send flag and stores a new code, all in one transaction; then sends
    /// the code. If sending fails, the flag and the code are released so the
    /// person can try again at once.
    pub async fn send_code(
        &self,
        mobile: &Mobile,
        captcha_id: &CaptchaId,
        answer: &CaptchaAnswer,
        client_ip: Option<&str>,
    ) -> Result<(), Error> {
        if !self.allowed_prefixes.iter().any(|prefix| mobile.as_str().starts_with(prefix.as_str())) {
            return Err(Error::NumberNotAllowed);
        }
        let now = self.clock.now();
        let code = SmsCode::generate(&self.random);
        let send_id = random_id(&self.random);
        let captcha_key = keys::captcha(captcha_id);
        let ops = vec![
            Op::Delete {
                pk: captcha_key.clone(),
                cond: Cond::Live(vec![Check::eq(keys::ANSWER, Value::S(answer.as_str().to_owned()))]),
            },
            Op::Put {
                item: Item::new(keys::send_flag(mobile))
                    .with_s(keys::SEND_ID, &send_id)
                    .expiring_at(now + self.cooldown),
                cond: Cond::NotLive,
            },
            Op::Put {
                item: Item::new(keys::sms_code(mobile))
                    .with_s(keys::CODE, code.as_str())
                    .with_n(keys::ATTEMPTS, 0)
                    .with_s(keys::SEND_ID, &send_id)
                    .expiring_at(now + self.code_ttl),
                cond: Cond::Always,
            },
        ];
        let caps = counted(&self.limits, mobile, client_ip);
        let ops = ops.into_iter().chain(caps.iter().map(|(limit, subject)| limit.count(subject, now))).collect();
        match self.store.transact(ops, now).await {
            Ok(()) => {}
            Err(StoreError::Cancelled { reasons }) => {
                return Err(self.refusal(&reasons, &caps, &captcha_key, answer, now).await);
            }
            Err(error) => return Err(error.into()),
        }

        let minutes = u32::try_from((self.code_ttl + 59) / 60).unwrap_or(u32::MAX);
        match self.sender.send(mobile, &code, minutes).await {
            Ok(()) => {
                tracing::info!(to = %mobile, "SMS code sent");
                Ok(())
            }
            Err(error) => {
                tracing::warn!(to = %mobile, error = %error, "sending the SMS failed; releasing the send flag");
                self.release(mobile, &send_id, &caps, now).await;
                Err(Error::SmsFailed(error))
            }
        }
    }

    /// Tells why the transaction was refused, spending the captcha where it
    /// is still there: every attempt, right or wrong, uses it up.
    async fn refusal(
        &self,
        reasons: &[CancelReason],
        caps: &[(Limit, &str)],
        captcha_key: &str,
        answer: &CaptchaAnswer,
        now: EpochSeconds,
    ) -> Error {
        let failed = |index: usize| match reasons.get(index) {
            Some(CancelReason::ConditionFailed { current }) => Some(current.as_ref()),
            _ => None,
        };
        if let Some(captcha) = failed(0) {
            let Some(captcha) = captcha else { return Error::CaptchaExpired };
            let stored = captcha.get(keys::ANSWER).cloned().unwrap_or(Value::S(String::new()));
            self.spend_captcha(captcha_key, stored, now).await;
            return Error::CaptchaIncorrect;
        }
        if let Some(flag) = failed(1) {
            self.spend_captcha(captcha_key, Value::S(answer.as_str().to_owned()), now).await;
            let retry_after = flag.and_then(Item::expires_at).map_or(1, |at| (at - now).max(1));
            return Error::TooFrequent { retry_after };
        }
        // Writes 3.. are the caps, in `counted`'s order.
        for (index, (limit, _)) in caps.iter().enumerate() {
            if let Some(counter) = failed(3 + index) {
                self.spend_captcha(captcha_key, Value::S(answer.as_str().to_owned()), now).await;
                return limit.refusal(counter, now);
            }
        }
        Error::internal(format!("transaction cancelled without a failed condition: {reasons:?}"))
    }

    /// Deletes the captcha if it still holds the answer that was checked.
    async fn spend_captcha(&self, captcha_key: &str, answer: Value, now: EpochSeconds) {
        let cond = Cond::Live(vec![Check::eq(keys::ANSWER, answer)]);
        match self.store.delete(captcha_key, cond, now).await {
            // Spent by a concurrent attempt, or replaced by a new captcha: nothing to do.
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => {}
            Err(error) => tracing::warn!(error = %error, "spending the captcha failed; it expires by itself"),
        }
    }

    /// Removes this send's flag and code, if they are still this send's, and
    /// gives back its counts.
    async fn release(&self, mobile: &Mobile, send_id: &str, caps: &[(Limit, &str)], now: EpochSeconds) {
        let mine = || Cond::Live(vec![Check::eq(keys::SEND_ID, Value::S(send_id.to_owned()))]);
        let mut ops = vec![
            Op::Delete { pk: keys::send_flag(mobile), cond: mine() },
            Op::Delete { pk: keys::sms_code(mobile), cond: mine() },
        ];
        ops.extend(caps.iter().map(|(limit, subject)| limit.give_back(subject, now)));
        if let Err(error) = self.store.transact(ops, now).await {
            tracing::warn!(to = %mobile, error = %error, "releasing the send flag failed; it expires with the cooldown");
        }
    }
}

/// 128 random bits in hex: tells one send's items from another's.
fn random_id(random: &impl Random) -> String {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
