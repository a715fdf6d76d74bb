//! Registering: spend the SMS code, create the user and its mobile guard and
//! start a session, in one transaction.

use super::{Error, keys};
use crate::clock::{Clock, EpochSeconds};
use crate::domain::{Mobile, Password, SessionToken, SmsCode, Username};
use crate::password::PasswordHasher;
use crate::random::Random;
use crate::store::{CancelReason, Check, Cond, Item, Op, Store, StoreError, Value};
use std::sync::Arc;

/// Wrong guesses a code survives: the fifth destroys it.
pub const MAX_ATTEMPTS: i64 = 5;

/// A sign-up request, parsed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub password: Password,
    pub mobile: Mobile,
    pub sms_code: SmsCode,
}

/// Creates accounts.
#[derive(Debug)]
pub struct RegisterService<S, C, R> {
    pub store: S,
    pub clock: C,
    pub random: Arc<R>,
    pub hasher: PasswordHasher,
    /// Seconds a new session lasts.
    pub session_ttl: i64,
}

impl<S: Store, C: Clock, R: Random + 'static> RegisterService<S, C, R> {
    /// Creates the user and returns a new session's token.
    ///
    /// First one UpdateItem claims a guess: it counts the attempt, and hands
    /// back the code, only while the code is live and has guesses left, so
    /// however many requests race, at most five ever see the code. A wrong
    /// guess ends there, before any password hashing. A right one is spent in
    /// one transaction that also claims the username and the number and
    /// writes the session: all of it happens, or none.
    pub async fn register(&self, user: NewUser) -> Result<SessionToken, Error> {
        let now = self.clock.now();
        let code_key = keys::sms_code(&user.mobile);
        let code = self.claim_guess(&code_key, now).await?;
        let send_id = code.s(keys::SEND_ID)?.to_owned();
        if !user.sms_code.matches(code.s(keys::CODE)?) {
            if code.n(keys::ATTEMPTS)? >= MAX_ATTEMPTS {
                self.destroy(&code_key, &send_id, now).await;
            }
            return Err(Error::SmsCodeIncorrect);
        }

        let password_hash = self.hash(user.password.clone()).await?;
        let token = SessionToken::generate(&*self.random);
        let this_code = || Check::eq(keys::SEND_ID, Value::S(send_id.clone()));
        let ops = vec![
            Op::Delete {
                pk: code_key.clone(),
                cond: Cond::Live(vec![this_code(), Check::eq(keys::CODE, Value::S(user.sms_code.as_str().to_owned()))]),
            },
            Op::Put {
                item: Item::new(keys::user(&user.username))
                    .with_s(keys::USERNAME, user.username.as_str())
                    .with_s(keys::MOBILE, user.mobile.as_str())
                    .with_s(keys::PASSWORD_HASH, password_hash)
                    .with_n(keys::CREATED_AT, now),
                cond: Cond::NotLive,
            },
            Op::Put {
                item: Item::new(keys::mobile_guard(&user.mobile)).with_s(keys::USERNAME, user.username.as_str()),
                cond: Cond::NotLive,
            },
            Op::Put {
                item: Item::new(keys::session(&token.hash()))
                    .with_s(keys::USERNAME, user.username.as_str())
                    .with_s(keys::MOBILE, user.mobile.as_str())
                    .expiring_at(now + self.session_ttl),
                cond: Cond::NotLive,
            },
        ];
        let refusal = match self.store.transact(ops, now).await {
            Ok(()) => {
                tracing::info!(username = %user.username, mobile = %user.mobile, "user registered");
                return Ok(token);
            }
            Err(StoreError::Cancelled { reasons }) => refusal(&reasons),
            Err(error) => error.into(),
        };
        if !matches!(refusal, Error::SmsCodeExpired) {
            // The right code is not a guess: give the attempt back for the retry.
            self.give_back_guess(&code_key, &send_id, now).await;
        }
        Err(refusal)
    }

    /// Counts one guess on the live code, if it has guesses left, and returns
    /// the code as counted.
    async fn claim_guess(&self, code_key: &str, now: EpochSeconds) -> Result<Item, Error> {
        let cond = Cond::Live(vec![Check::lt(keys::ATTEMPTS, MAX_ATTEMPTS)]);
        match self.store.increment(code_key, keys::ATTEMPTS, cond, now).await {
            Ok(code) => Ok(code),
            // Missing, expired, or out of guesses: either way this code is done.
            Err(StoreError::ConditionFailed { .. }) => Err(Error::SmsCodeExpired),
            Err(error) => Err(error.into()),
        }
    }

    /// Deletes a code whose guesses are used up; the claim already refuses
    /// it, so this only tidies up.
    async fn destroy(&self, code_key: &str, send_id: &str, now: EpochSeconds) {
        let cond = Cond::Live(vec![Check::eq(keys::SEND_ID, Value::S(send_id.to_owned()))]);
        if let Err(error) = self.store.delete(code_key, cond, now).await {
            tracing::warn!(error = %error, "deleting a used-up SMS code failed; it expires by itself");
        }
    }

    async fn give_back_guess(&self, code_key: &str, send_id: &str, now: EpochSeconds) {
        let op = Op::Add {
            pk: code_key.to_owned(),
            attribute: keys::ATTEMPTS,
            by: -1,
            expires_at: now,
            cond: Cond::Live(vec![Check::eq(keys::SEND_ID, Value::S(send_id.to_owned()))]),
        };
        if let Err(error) = self.store.transact(vec![op], now).await {
            tracing::warn!(error = %error, "giving back a guess failed");
        }
    }

    /// Argon2id takes tens of milliseconds of CPU: keep it off the async threads.
    async fn hash(&self, password: Password) -> Result<String, Error> {
        let (hasher, random) = (self.hasher.clone(), Arc::clone(&self.random));
        tokio::task::spawn_blocking(move || hasher.hash(&password, &*random))
            .await
            .map_err(Error::internal)?
            .map_err(Error::internal)
    }
}

/// Why the transaction was refused, by the first write whose condition failed.
fn refusal(reasons: &[CancelReason]) -> Error {
    let failed = |index: usize| matches!(reasons.get(index), Some(CancelReason::ConditionFailed { .. }));
    if failed(0) {
        // Spent by a concurrent request with the same right code, or replaced by a new SMS.
        Error::SmsCodeExpired
    } else if failed(1) {
        Error::UsernameTaken
    } else if failed(2) {
        Error::MobileTaken
    } else {
        Error::internal("the register transaction was cancelled without a failed condition")
    }
}
