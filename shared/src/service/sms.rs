//! Sending an SMS code: judge the captcha once, then hold the send flag,
//! store the code and count the caps in one transaction, then send.

use super::captcha::{self, Taken};
use super::{Error, Limit, Limits, keys};
use crate::clock::{Clock, EpochSeconds};
use crate::config::{Config, TestNumbers};
use crate::crypto::code_key::CodeKey;
use crate::domain::{CaptchaAnswer, CaptchaId, ClientKey, Mobile, Purpose, SmsCode, SmsCodeId};
use crate::random::Random;
use crate::sms::{NumberRefusal, SmsError, SmsSender};
use crate::store::{Cancelled, Check, Cond, Item, Op, Store, StoreError, Write};
use crate::telemetry::{Metric, audit, metrics};

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
    /// Numbers that get a fixed code and no SMS.
    pub test_numbers: TestNumbers,
}

/// A send's answer: the id every guess of the code must carry, and the
/// seconds until the number may be sent another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentCode {
    pub id: SmsCodeId,
    pub retry_after: i64,
    /// Seconds the code stays valid.
    pub expires_in: i64,
}

/// What the send transaction's failed conditions mean.
const SEND_FLAG_HELD: &str = "send flag held";
const MOBILE_TAKEN: &str = "mobile registered";
const MOBILE_NOT_REGISTERED: &str = "mobile not registered";

/// The `request` of a released send's marker: no request's HMAC.
const RELEASED: &str = "released";

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
            test_numbers: config.test_numbers.clone(),
        }
    }

    /// Sends a code for `purpose` to `mobile` and returns the id every guess
    /// of it must carry. Two DynamoDB calls on the happy path:
    ///
    /// 1. One DeleteItem takes the captcha: of concurrent requests on one
    ///    captcha exactly one judges it; a wrong or unknown answer counts
    ///    against the client's failure cap and ends there, having touched no
    ///    item but its captcha and its own counter. A captcha already taken
    ///    by this very send (same captcha, answer, number and purpose, within
    ///    the cooldown: an app retrying a send whose answer it lost) answers
    ///    with the first send's id again and sends nothing.
    /// 2. One transaction holds the number's send flag, stores the code's
    ///    HMAC, checks the number is registered or not as `purpose` needs
    ///    (a sign-up code to a taken number costs no SMS), counts the per-number,
    ///    per-client, per-prefix (for a number that has not proved itself:
    ///    see [`Purpose::number_proven`]) and deployment-wide caps and checks the
    ///    client's failure cap.
    ///
    /// Then the SMS goes out (through the providers in failover order, see
    /// [`crate::sms::FailoverSender`]), unless the number is a test number,
    /// whose fixed code is stored instead. Only a send every provider
    /// certainly did not accept gives back the flag, the code and the counts
    /// (one more transaction); after an unknown outcome they stay, and the
    /// client is told when to retry.
    pub async fn send_code(
        &self,
        mobile: &Mobile,
        captcha_id: &CaptchaId,
        answer: &CaptchaAnswer,
        purpose: Purpose,
        client: Option<&ClientKey>,
    ) -> Result<SentCode, Error> {
        audit::mobile(mobile);
        audit::purpose(purpose);
        if !self.allowed_prefixes.iter().any(|prefix| mobile.as_str().starts_with(prefix.as_str())) {
            return Err(Error::NumberNotAllowed);
        }
        let now = self.clock.now();
        // Labelled, so that no code's tag (id:code) can ever equal a request's.
        let parts = ["send", captcha_id.as_str(), answer.as_str(), mobile.as_str(), purpose.as_str()];
        let request = self.code_key.tag_parts(&parts);
        if let Some(repeated) = self.judge_captcha(captcha_id, answer, &request, client, now).await? {
            return Ok(repeated);
        }

        let fixed = self.test_numbers.code_for(mobile);
        let code = fixed.cloned().unwrap_or_else(|| SmsCode::generate(&self.random));
        let id = SmsCodeId::generate(&self.random);
        // A test number's sends cost nothing and its verifications earn nothing.
        let prefix = fixed.is_none().then(|| self.limits.prefix(mobile));
        // A number that proved itself (it has an account) never pays its prefix's allowance.
        let caps = self.caps(mobile, client, prefix.filter(|_| !purpose.number_proven()));
        let mut code_item = Item::new(keys::sms_code(mobile))
            .with_s(keys::CODE, self.code_key.tag(&id, &code))
            .with_n(keys::ATTEMPTS, 0)
            .with_s(keys::SEND_ID, id.as_str())
            .with_s(keys::PURPOSE, purpose.as_str())
            .expiring_at(now + self.code_ttl);
        if let Some(prefix) = prefix {
            code_item = code_item.with_s(keys::PREFIX, prefix);
        }
        let mut writes = vec![
            Op::Put {
                item: Item::new(keys::send_flag(mobile))
                    .with_s(keys::SEND_ID, id.as_str())
                    .expiring_at(now + self.cooldown),
                cond: Cond::NotLive,
            }
            .labelled(SEND_FLAG_HELD),
            Op::Put {
                item: Item::new(keys::captcha(captcha_id))
                    .with_s(keys::REQUEST, &request)
                    .with_s(keys::SEND_ID, id.as_str())
                    .expiring_at(now + self.cooldown),
                cond: Cond::Always,
            }
            .labelled("captcha passed"),
            Op::Put { item: code_item, cond: Cond::Always }.labelled("sms code"),
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
        let sent = SentCode { id, retry_after: self.cooldown, expires_in: self.code_ttl };
        if fixed.is_some() {
            audit::test_number();
            metrics::count(Metric::TestNumberUses, &[]);
            tracing::warn!(to = %mobile, purpose = purpose.as_str(), "a test number was given its fixed code; no SMS sent");
            return Ok(sent);
        }

        match self.deliver(mobile, &code, purpose).await {
            Ok(()) => Ok(sent),
            Err(error) if error.certainly_not_sent() => {
                self.release(mobile, captcha_id, &sent.id, &caps, now).await;
                Err(match error {
                    SmsError::NumberRefused { reason: NumberRefusal::RateLimited, .. } => {
                        Error::ProviderLimit { retry_after: self.cooldown }
                    }
                    SmsError::NumberRefused { reason: NumberRefusal::InvalidNumber, .. } => Error::NumberRefused,
                    error => Error::SmsRefused(Box::new(error)),
                })
            }
            Err(error) => Err(Error::SmsUncertain { retry_after: self.cooldown, cause: Box::new(error) }),
        }
    }

    /// Hands the code to the provider, timing it and counting the outcome.
    async fn deliver(&self, mobile: &Mobile, code: &SmsCode, purpose: Purpose) -> Result<(), SmsError> {
        let minutes = u32::try_from((self.code_ttl + 59) / 60).unwrap_or(u32::MAX);
        metrics::count(Metric::ProviderCalls, &[]);
        let result = metrics::timed(Metric::ProviderLatency, &[], self.sender.send(mobile, code, minutes)).await;
        match &result {
            Ok(()) => {
                let carrier = &mobile.as_str()[..3];
                metrics::count(Metric::CodesSent, &[("Purpose", purpose.as_str()), ("Prefix", carrier)]);
                tracing::info!(to = %mobile, "SMS code sent");
            }
            Err(error) => {
                metrics::count(Metric::ProviderErrors, &[("Kind", error.kind())]);
                if error.certainly_not_sent() {
                    tracing::warn!(to = %mobile, error = %error, "the provider did not accept the SMS; releasing the send flag");
                } else {
                    tracing::warn!(to = %mobile, error = %error, "the SMS outcome is unknown; the cooldown and the counts stay");
                }
            }
        }
        result
    }

    /// Spends the captcha with one atomic take and compares the answer in
    /// code ([`captcha::take`]): right or wrong, this is its only judgement.
    /// A captcha a send has already passed is a marker of that send
    /// (`request`), which the take leaves in place: the same send again gets
    /// the first one's answer, however many times and however concurrently;
    /// anything else finds the captcha spent.
    async fn judge_captcha(
        &self,
        captcha_id: &CaptchaId,
        answer: &CaptchaAnswer,
        request: &str,
        client: Option<&ClientKey>,
        now: EpochSeconds,
    ) -> Result<Option<SentCode>, Error> {
        let failure = match captcha::take(&self.store, captcha_id, answer, now).await? {
            Taken::Right => return Ok(None),
            Taken::Marker(marker) if marker.s(keys::REQUEST).is_ok_and(|made_by| captcha::same(made_by, request)) => {
                return self.repeated(&marker, now).map(Some);
            }
            // Another request's marker: this captcha was spent.
            Taken::Marker(_) => Error::CaptchaExpired,
            Taken::Failed(failure) => failure,
        };
        Err(captcha::failed(&self.store, &self.limits, failure, client, now).await)
    }

    /// The answer to a repeat of the send `marker` records: its id and what
    /// is left of its cooldown and its code. Nothing is sent or written.
    fn repeated(&self, marker: &Item, now: EpochSeconds) -> Result<SentCode, Error> {
        let id = SmsCodeId::parse(marker.s(keys::SEND_ID)?).map_err(Error::internal)?;
        let retry_after = marker.expires_at().map_or(self.cooldown, |at| (at - now).max(1));
        // The marker lasts the cooldown from the send; the code, its lifetime from the send.
        let expires_in = (self.code_ttl - (self.cooldown - retry_after)).max(0);
        audit::repeated();
        tracing::info!("a repeated send answered with its first code; nothing sent");
        Ok(SentCode { id, retry_after, expires_in })
    }

    /// The caps one send counts against.
    fn caps<'a>(
        &self,
        mobile: &'a Mobile,
        client: Option<&'a ClientKey>,
        prefix: Option<&'a str>,
    ) -> Vec<(Limit, &'a str)> {
        let mut caps = vec![(self.limits.sms_per_mobile, mobile.as_str())];
        if let Some(client) = client {
            caps.push((self.limits.sms_per_ip, client.as_str()));
        }
        if let Some(prefix) = prefix {
            caps.push((self.limits.sms_per_prefix, prefix));
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
        let caps = [limits.sms_per_mobile, limits.sms_global, limits.sms_per_prefix]
            .into_iter()
            .chain(client_caps.into_iter().flatten());
        for limit in caps {
            if let Some(counter) = cancelled.failed(limit.label()) {
                return limit.refusal(counter, now);
            }
        }
        Error::internal(StoreError::Cancelled(cancelled))
    }

    /// Removes this send's flag and code, if they are still this send's, and
    /// gives back its counts: only after a certain refusal by the provider.
    async fn release(
        &self,
        mobile: &Mobile,
        captcha_id: &CaptchaId,
        id: &SmsCodeId,
        caps: &[(Limit, &str)],
        now: EpochSeconds,
    ) {
        let mine = || Cond::Live(vec![Check::eq_s(keys::SEND_ID, id.as_str())]);
        let mut writes: Vec<Write> = vec![
            Op::Delete { pk: keys::send_flag(mobile), cond: mine() }.labelled("send flag taken over"),
            Op::Delete { pk: keys::sms_code(mobile), cond: mine() }.labelled("sms code taken over"),
        ];
        writes.extend(caps.iter().map(|(limit, subject)| limit.give_back(subject, now)));
        if let Err(error) = self.store.transact(writes, now).await {
            tracing::warn!(to = %mobile, error = %error, "releasing the send flag failed; it expires with the cooldown");
        }
        // On its own: a marker replaced by a new captcha must not stop the release above.
        self.spend_marker(captcha_id, id, now).await;
    }

    /// Replaces a released send's marker with one no request matches, until
    /// the cooldown ends, if it is still this send's (a new captcha under
    /// the id is left alone). Takes never remove a marker, so no repeat can
    /// put the old one back.
    async fn spend_marker(&self, captcha_id: &CaptchaId, id: &SmsCodeId, now: EpochSeconds) {
        let spent = Item::new(keys::captcha(captcha_id))
            .with_s(keys::REQUEST, RELEASED)
            .with_s(keys::SEND_ID, id.as_str())
            .expiring_at(now + self.cooldown);
        let mine = Cond::Live(vec![Check::eq_s(keys::SEND_ID, id.as_str())]);
        match self.store.put(spent, mine, now).await {
            Ok(()) | Err(StoreError::ConditionFailed { .. }) => {}
            Err(error) => tracing::warn!(error = %error, "spending a released send's captcha marker failed"),
        }
    }
}
