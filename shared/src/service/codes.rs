//! Checking a guess of an SMS code, shared by every flow that takes one:
//! a guess is claimed before it is compared, so racing requests see a code
//! at most [`MAX_ATTEMPTS`] times, and only with the code's own id and purpose.

use super::{Error, Limits, keys};
use crate::clock::EpochSeconds;
use crate::crypto::code_key::CodeKey;
use crate::domain::{ClientKey, Mobile, Purpose, SmsCode, SmsCodeId};
use crate::store::{Add, Check, Cond, Op, Store, StoreError, Write};
use crate::telemetry::{Metric, audit, metrics};

/// Wrong guesses a code survives: the fifth destroys it.
pub const MAX_ATTEMPTS: i64 = 5;

/// What the spending write's failed condition means.
pub(super) const CODE_GONE: &str = "sms code spent or replaced";

/// One guess at a code: what the client sent.
#[derive(Debug, Clone)]
pub struct Guess {
    pub mobile: Mobile,
    pub code: SmsCode,
    /// The id the send answered with: only its requester knows it.
    pub id: SmsCodeId,
}

/// A guess that matched: spend it with [`RightGuess::spend`] in the
/// transaction that acts on it, or give it back if that transaction fails
/// for another reason.
#[derive(Debug)]
pub(super) struct RightGuess {
    key: String,
    id: SmsCodeId,
    tag: String,
    mobile: Mobile,
    purpose: Purpose,
    /// Earns the code's prefix more sends, if its send counted against one.
    credit: Option<Write>,
    /// Not a test number's fixed code.
    sent_by_sms: bool,
}

impl RightGuess {
    /// Deletes the code, only if it is still this send's (labelled
    /// [`CODE_GONE`]), and credits its prefix's allowance: a verification
    /// is what refills it.
    pub fn spend(&self) -> Vec<Write> {
        let cond = Cond::Live(vec![Check::eq_s(keys::SEND_ID, self.id.as_str()), Check::eq_s(keys::CODE, &self.tag)]);
        let mut writes = vec![Op::Delete { pk: self.key.clone(), cond }.labelled(CODE_GONE)];
        writes.extend(self.credit.clone());
        writes
    }

    /// Records the verification, once the transaction that spent the code
    /// committed. Only codes that went out by SMS count towards conversion.
    pub fn verified(&self) {
        if self.sent_by_sms {
            metrics::count(Metric::CodesVerified, &[("Purpose", self.purpose.as_str())]);
        }
        audit::code_verified(&self.mobile, self.purpose, !self.sent_by_sms);
    }

    /// The right code is not a wrong guess: gives the attempt back when the
    /// transaction it was for did not happen for another reason.
    pub async fn give_back<S: Store>(&self, store: &S, now: EpochSeconds) {
        let cond = Cond::Live(vec![Check::eq_s(keys::SEND_ID, self.id.as_str())]);
        if let Err(error) = store
            .add(Add { pk: self.key.clone(), attribute: keys::ATTEMPTS, by: -1, expires_at: None, cond }, now)
            .await
        {
            tracing::warn!(error = %error, "giving back a guess failed");
        }
    }
}

/// Claims a guess on the live code sent to `guess.mobile` under `guess.id`
/// for `purpose` (one UpdateItem that counts it and returns the code), then
/// compares. A wrong guess counts against the code and the client's failure
/// cap; a guess that names no live code (none is live, or the id is not the
/// live one's) counts against the client and is answered `SmsCodeExpired`
/// either way, so a made-up id learns nothing of the number's code. Only a
/// guess with the live code's own id hears that its purpose is another.
pub(super) async fn check<S: Store>(
    store: &S,
    code_key: &CodeKey,
    limits: &Limits,
    guess: &Guess,
    purpose: Purpose,
    client: Option<&ClientKey>,
    now: EpochSeconds,
) -> Result<RightGuess, Error> {
    let key = keys::sms_code(&guess.mobile);
    let cond = Cond::Live(vec![
        Check::eq_s(keys::SEND_ID, guess.id.as_str()),
        Check::eq_s(keys::PURPOSE, purpose.as_str()),
        Check::lt(keys::ATTEMPTS, MAX_ATTEMPTS),
    ]);
    let code =
        match store.add(Add { pk: key.clone(), attribute: keys::ATTEMPTS, by: 1, expires_at: None, cond }, now).await {
            Ok(code) => code,
            Err(StoreError::ConditionFailed { current }) => {
                // Only the requester knows the live code's id: with it, the wrong purpose may be named.
                if let Some(current) =
                    current.filter(|current| guess.id.matches(current.s(keys::SEND_ID).unwrap_or_default()))
                    && current.s(keys::PURPOSE).unwrap_or_default() != purpose.as_str()
                {
                    let attempts_left = (MAX_ATTEMPTS - current.n(keys::ATTEMPTS).unwrap_or(MAX_ATTEMPTS)).max(0);
                    return Err(Error::SmsCodeWrongPurpose { attempts_left });
                }
                // Missing, expired, used up, or a made-up id: answered alike whether or not a
                // code is live (nothing of the owner's guesses shows), and counted against the client.
                return Err(counted(store, limits, Error::SmsCodeExpired, client, now).await);
            }
            Err(error) => return Err(error.into()),
        };
    let tag = code.s(keys::CODE)?.to_owned();
    if code_key.verify(&guess.id, &guess.code, &tag) {
        // Only a send that counted against a prefix names it.
        let prefix = code.s(keys::PREFIX).ok();
        let credit = prefix
            .filter(|_| limits.credit_per_verify > 0 && !purpose.number_proven())
            .map(|prefix| limits.sms_per_prefix.credit(prefix, limits.credit_per_verify, now));
        let (mobile, sent_by_sms) = (guess.mobile.clone(), prefix.is_some());
        return Ok(RightGuess { key, id: guess.id.clone(), tag, mobile, purpose, credit, sent_by_sms });
    }
    let attempts_left = (MAX_ATTEMPTS - code.n(keys::ATTEMPTS)?).max(0);
    if attempts_left == 0 {
        // The claim already refuses it; this only tidies up.
        let cond = Cond::Live(vec![Check::eq_s(keys::SEND_ID, guess.id.as_str())]);
        if let Err(error) = store.delete(&key, cond, now).await {
            tracing::warn!(error = %error, "deleting a used-up SMS code failed; it expires by itself");
        }
    }
    Err(counted(store, limits, Error::SmsCodeIncorrect { attempts_left }, client, now).await)
}

/// Counts a failed guess against the client's failure cap: `failure`, or
/// the 429 once that cap is full.
async fn counted<S: Store>(
    store: &S,
    limits: &Limits,
    failure: Error,
    client: Option<&ClientKey>,
    now: EpochSeconds,
) -> Error {
    let Some(client) = client else { return failure };
    match limits.code_failures_per_ip.count_failure(store, client.as_str(), now).await {
        Ok(()) => failure,
        Err(refusal) => refusal,
    }
}
