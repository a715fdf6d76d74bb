//! Sending an SMS code: judge the captcha once, then hold the send flag,
//! store the code and count the caps in one transaction, then send.

use super::{Error, Limit, Limits, keys};
use crate::clock::{Clock, EpochSeconds};
use crate::code_key::CodeKey;
use crate::config::Config;
use crate::domain::{CaptchaAnswer, CaptchaId, ClientKey, Mobile, Purpose, SmsCode, SmsCodeId};
use crate::random::Random;
use crate::sms::SmsSender;
use crate::store::{Cancelled, Check, Cond, Item, Op, Store, StoreError, Write};
use subtle::ConstantTimeEq;

/// Sends verification codes, at most one per number per cooldown.
#[derive(Debug)]
pub struct SmsService<S, M, C, R> {
    pub store: S,
    pub sender: M,
    pub clock: C,
    pub random: R,
    pub code_key: CodeKey,
    /// Seconds before the same number may get another code.
    pub cooldown: i64,
    /// Seconds a code stays valid.
    pub code_ttl: i64,
    pub limits: Limits,
    /// Only numbers starting with one of these get an SMS.
    pub allowed_prefixes: Vec<String>,
}

/// What the send transaction's failed conditions mean.
const SEND_FLAG_HELD: &str = "send flag held";
const MOBILE_TAKEN: &str = "mobile registered";
const MOBILE_NOT_REGISTERED: &str = "mobile not registered";

impl<S: Store, M: SmsSender, C: Clock, R: Random> SmsService<S, M, C, R> {
    /// The service as every entry point wires it, from the configuration.
    pub fn new(config: &Config, store: S, sender: M, clock: C, random: R, code_key: CodeKey) -> Self {
        Self {
            store,
            sender,
            clock,
            random,
            code_key,
            cooldown: config.lifetimes.sms_cooldown,
            code_ttl: config.lifetimes.sms_code,
            limits: Limits::from(config.limits),
            allowed_prefixes: config.sms_number_prefixes.clone(),
        }
    }

    /// Sends a code for `purpose` to `mobile` and returns the id every guess
    /// of it must carry. Two DynamoDB calls on the happy path:
    ///
    /// 1. One DeleteItem takes the captcha: of concurrent requests on one
    ///    captcha exactly one judges it; a wrong or unknown answer counts
    ///    against the client's failure cap and ends there, having touched no
    ///    item but its captcha and its own counter.
    /// 2. One transaction holds the number's send flag, stores the code's
    ///    HMAC, checks the number is registered or not as `purpose` needs
    ///    (a sign-up code to a taken number costs no SMS), counts the per-number,
    ///    per-client and deployment-wide caps and checks the client's
    ///    failure cap.
    ///
    /// Then the SMS goes out. Only a send the provider certainly did not
    /// accept gives back the flag, the code and the counts; after an unknown
    /// outcome they stay, and the client is told when to retry.
    pub async fn send_code(
        &self,
        mobile: &Mobile,
        captcha_id: &CaptchaId,
        answer: &CaptchaAnswer,
        purpose: Purpose,
        client: Option<&ClientKey>,
    ) -> Result<SmsCodeId, Error> {
        if !self.allowed_prefixes.iter().any(|prefix| mobile.as_str().starts_with(prefix.as_str())) {
            return Err(Error::NumberNotAllowed);
        }
        let now = self.clock.now();
        self.judge_captcha(captcha_id, answer, client, now).await?;

        let code = SmsCode::generate(&self.random);
        let id = SmsCodeId::generate(&self.random);
        let caps = self.caps(mobile, client);
        let mut writes = vec![
            Op::Put {
                item: Item::new(keys::send_flag(mobile))
                    .with_s(keys::SEND_ID, id.as_str())
                    .expiring_at(now + self.cooldown),
                cond: Cond::NotLive,
            }
            .labelled(SEND_FLAG_HELD),
            Op::Put {
                item: Item::new(keys::sms_code(mobile))
                    .with_s(keys::CODE, self.code_key.tag(&id, &code))
                    .with_n(keys::ATTEMPTS, 0)
                    .with_s(keys::SEND_ID, id.as_str())
                    .with_s(keys::PURPOSE, purpose.as_str())
                    .expiring_at(now + self.code_ttl),
                cond: Cond::Always,
            }
            .labelled("sms code"),
            if purpose.needs_account() {
                Op::Check { pk: keys::mobile_guard(mobile), cond: Cond::Present(vec![]) }
                    .labelled(MOBILE_NOT_REGISTERED)
            } else {
                Op::Check { pk: keys::mobile_guard(mobile), cond: Cond::NotLive }.labelled(MOBILE_TAKEN)
            },
        ];
        writes.extend(caps.iter().map(|(limit, subject)| limit.count(subject, now)));
        if let Some(client) = client {
            writes.push(self.limits.captcha_failures_per_ip.check(client.as_str(), now));
        }
        match self.store.transact(writes, now).await {
            Ok(()) => {}
            Err(StoreError::Cancelled(cancelled)) => return Err(self.refusal(cancelled, client, now)),
            Err(error) => return Err(error.into()),
        }

        let minutes = u32::try_from((self.code_ttl + 59) / 60).unwrap_or(u32::MAX);
        match self.sender.send(mobile, &code, minutes).await {
            Ok(()) => {
                tracing::info!(to = %mobile, "SMS code sent");
                Ok(id)
            }
            Err(error) if error.certainly_not_sent() => {
                tracing::warn!(to = %mobile, error = %error, "the provider did not accept the SMS; releasing the send flag");
                self.release(mobile, &id, &caps, now).await;
                Err(Error::SmsFailed { source: error, retry_after: None })
            }
            Err(error) => {
                tracing::warn!(to = %mobile, error = %error, "the SMS outcome is unknown; the cooldown and the counts stay");
                Err(Error::SmsFailed { source: error, retry_after: Some(self.cooldown) })
            }
        }
    }

    /// Spends the captcha with one atomic take and compares the answer in
    /// code: right or wrong, this is its only judgement.
    async fn judge_captcha(
        &self,
        captcha_id: &CaptchaId,
        answer: &CaptchaAnswer,
        client: Option<&ClientKey>,
        now: EpochSeconds,
    ) -> Result<(), Error> {
        let captcha = self.store.take(&keys::captcha(captcha_id), now).await?;
        let failure = match &captcha {
            None => Error::CaptchaExpired,
            Some(captcha) if bool::from(captcha.s(keys::ANSWER)?.as_bytes().ct_eq(answer.as_str().as_bytes())) => {
                return Ok(());
            }
            Some(_) => Error::CaptchaIncorrect,
        };
        if let Some(client) = client {
            self.limits.captcha_failures_per_ip.count_failure(&self.store, client.as_str(), now).await?;
        }
        Err(failure)
    }

    /// The caps one send counts against.
    fn caps<'a>(&self, mobile: &'a Mobile, client: Option<&'a ClientKey>) -> Vec<(Limit, &'a str)> {
        let mut caps = vec![(self.limits.sms_per_mobile, mobile.as_str())];
        if let Some(client) = client {
            caps.push((self.limits.sms_per_ip, client.as_str()));
        }
        caps.push((self.limits.sms_global, "all"));
        caps
    }

    /// Why the send transaction was refused: the number first, then its
    /// cooldown, then the caps.
    fn refusal(&self, cancelled: Cancelled, client: Option<&ClientKey>, now: EpochSeconds) -> Error {
        if cancelled.failed(MOBILE_TAKEN).is_some() {
            return Error::MobileTaken;
        }
        if cancelled.failed(MOBILE_NOT_REGISTERED).is_some() {
            return Error::MobileNotRegistered;
        }
        if let Some(flag) = cancelled.failed(SEND_FLAG_HELD) {
            let retry_after = flag.and_then(Item::expires_at).map_or(1, |at| (at - now).max(1));
            return Error::TooFrequent { retry_after };
        }
        let limits = &self.limits;
        let client_caps = client.map(|_| [limits.sms_per_ip, limits.captcha_failures_per_ip]);
        let caps = [limits.sms_per_mobile, limits.sms_global].into_iter().chain(client_caps.into_iter().flatten());
        for limit in caps {
            if let Some(counter) = cancelled.failed(limit.label()) {
                return limit.refusal(counter, now);
            }
        }
        Error::internal(StoreError::Cancelled(cancelled))
    }

    /// Removes this send's flag and code, if they are still this send's, and
    /// gives back its counts: only after a certain refusal by the provider.
    async fn release(&self, mobile: &Mobile, id: &SmsCodeId, caps: &[(Limit, &str)], now: EpochSeconds) {
        let mine = || Cond::Live(vec![Check::eq_s(keys::SEND_ID, id.as_str())]);
        let mut writes: Vec<Write> = vec![
            Op::Delete { pk: keys::send_flag(mobile), cond: mine() }.labelled("send flag taken over"),
            Op::Delete { pk: keys::sms_code(mobile), cond: mine() }.labelled("sms code taken over"),
        ];
        writes.extend(caps.iter().map(|(limit, subject)| limit.give_back(subject, now)));
        if let Err(error) = self.store.transact(writes, now).await {
            tracing::warn!(to = %mobile, error = %error, "releasing the send flag failed; it expires with the cooldown");
        }
    }
}
