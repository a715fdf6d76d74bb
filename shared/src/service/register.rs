//! Registering: claim a guess of the SMS code, then spend the code, create
//! the user and its mobile guard and start a session in one transaction.

use super::{Error, Limits, keys};
use crate::clock::{Clock, EpochSeconds};
use crate::code_key::CodeKey;
use crate::config::Config;
use crate::domain::{ClientKey, Mobile, Password, SessionToken, SmsCode, SmsCodeId, Username};
use crate::password::PasswordHasher;
use crate::random::Random;
use crate::store::{Cancelled, Check, Cond, Item, Op, Store, StoreError};
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
    /// The id the send answered with: only its requester knows it.
    pub sms_code_id: SmsCodeId,
}

/// Creates accounts.
#[derive(Debug)]
pub struct RegisterService<S, C, R> {
    pub store: S,
    pub clock: C,
    pub random: Arc<R>,
    pub hasher: PasswordHasher,
    pub code_key: CodeKey,
    pub limits: Limits,
    /// Seconds a new session lasts.
    pub session_ttl: i64,
}

/// What the register transaction's failed conditions mean.
const CODE_GONE: &str = "sms code spent or replaced";
const USERNAME_TAKEN: &str = "username taken";
const MOBILE_TAKEN: &str = "mobile taken";

impl<S: Store, C: Clock, R: Random + 'static> RegisterService<S, C, R> {
    /// The service as every entry point wires it, from the configuration.
    pub fn new(config: &Config, store: S, clock: C, random: Arc<R>, code_key: CodeKey) -> Self {
        Self {
            store,
            clock,
            random,
            hasher: PasswordHasher::owasp(),
            code_key,
            limits: Limits::from(config.limits),
            session_ttl: config.lifetimes.session,
        }
    }

    /// Creates the user and returns a new session's token.
    ///
    /// First one UpdateItem claims a guess: it counts the attempt, and hands
    /// back the code, only while the code is live, has guesses left and was
    /// sent under `sms_code_id`, so a guess without the id counts nothing
    /// and however many requests race, at most five ever see the code. A
    /// wrong guess ends there, before any password hashing, and counts
    /// against the client's failure cap. A right one is spent in one
    /// transaction that also claims the username and the number and writes
    /// the session: all of it happens, or none.
    pub async fn register(&self, user: NewUser, client: Option<&ClientKey>) -> Result<SessionToken, Error> {
        let now = self.clock.now();
        let code_key = keys::sms_code(&user.mobile);
        let code = self.claim_guess(&code_key, &user.sms_code_id, now).await?;
        let stored = code.s(keys::CODE)?.to_owned();
        if !self.code_key.verify(&user.sms_code_id, &user.sms_code, &stored) {
            let attempts_left = (MAX_ATTEMPTS - code.n(keys::ATTEMPTS)?).max(0);
            if attempts_left == 0 {
                self.destroy(&code_key, &user.sms_code_id, now).await;
            }
            if let Some(client) = client {
                self.limits.code_failures_per_ip.count_failure(&self.store, client.as_str(), now).await?;
            }
            return Err(Error::SmsCodeIncorrect { attempts_left });
        }

        let password_hash = self.hash(user.password.clone()).await?;
        let token = SessionToken::generate(&*self.random);
        let mut writes = vec![
            Op::Delete {
                pk: code_key.clone(),
                cond: Cond::Live(vec![
                    Check::eq_s(keys::SEND_ID, user.sms_code_id.as_str()),
                    Check::eq_s(keys::CODE, stored),
                ]),
            }
            .labelled(CODE_GONE),
            Op::Put {
                item: Item::new(keys::user(&user.username))
                    .with_s(keys::USERNAME, user.username.as_str())
                    .with_s(keys::MOBILE, user.mobile.as_str())
                    .with_s(keys::PASSWORD_HASH, password_hash)
                    .with_n(keys::CREATED_AT, now),
                cond: Cond::NotLive,
            }
            .labelled(USERNAME_TAKEN),
            Op::Put {
                item: Item::new(keys::mobile_guard(&user.mobile)).with_s(keys::USERNAME, user.username.as_str()),
                cond: Cond::NotLive,
            }
            .labelled(MOBILE_TAKEN),
            Op::Put {
                item: Item::new(keys::session(&token.hash()))
                    .with_s(keys::USERNAME, user.username.as_str())
                    .with_s(keys::MOBILE, user.mobile.as_str())
                    .with_n(keys::CREATED_AT, now)
                    .expiring_at(now + self.session_ttl),
                cond: Cond::NotLive,
            }
            .labelled("session id taken"),
        ];
        if let Some(client) = client {
            writes.push(self.limits.code_failures_per_ip.check(client.as_str(), now));
        }
        let refusal = match self.store.transact(writes, now).await {
            Ok(()) => {
                tracing::info!(username = %user.username, mobile = %user.mobile, "user registered");
                return Ok(token);
            }
            Err(StoreError::Cancelled(cancelled)) => self.refusal(cancelled, now),
            Err(error) => error.into(),
        };
        if !matches!(refusal, Error::SmsCodeExpired) {
            // The right code is not a guess: give the attempt back for the retry.
            self.give_back_guess(&code_key, &user.sms_code_id, now).await;
        }
        Err(refusal)
    }

    /// Counts one guess on the live code sent under `id`, if it has guesses
    /// left, and returns the code as counted. A guess naming another send
    /// counts nothing.
    async fn claim_guess(&self, code_key: &str, id: &SmsCodeId, now: EpochSeconds) -> Result<Item, Error> {
        let cond = Cond::Live(vec![Check::eq_s(keys::SEND_ID, id.as_str()), Check::lt(keys::ATTEMPTS, MAX_ATTEMPTS)]);
        match self.store.add(code_key, keys::ATTEMPTS, 1, None, cond, now).await {
            Ok(code) => Ok(code),
            Err(StoreError::ConditionFailed { current: Some(current) })
                if !id.matches(current.s(keys::SEND_ID).unwrap_or_default()) =>
            {
                let attempts_left = (MAX_ATTEMPTS - current.n(keys::ATTEMPTS).unwrap_or(MAX_ATTEMPTS)).max(0);
                Err(Error::SmsCodeIdMismatch { attempts_left })
            }
            // Missing, expired, or out of guesses: either way this code is done.
            Err(StoreError::ConditionFailed { .. }) => Err(Error::SmsCodeExpired),
            Err(error) => Err(error.into()),
        }
    }

    /// Deletes a code whose guesses are used up; the claim already refuses
    /// it, so this only tidies up.
    async fn destroy(&self, code_key: &str, id: &SmsCodeId, now: EpochSeconds) {
        let cond = Cond::Live(vec![Check::eq_s(keys::SEND_ID, id.as_str())]);
        if let Err(error) = self.store.delete(code_key, cond, now).await {
            tracing::warn!(error = %error, "deleting a used-up SMS code failed; it expires by itself");
        }
    }

    async fn give_back_guess(&self, code_key: &str, id: &SmsCodeId, now: EpochSeconds) {
        let cond = Cond::Live(vec![Check::eq_s(keys::SEND_ID, id.as_str())]);
        if let Err(error) = self.store.add(code_key, keys::ATTEMPTS, -1, None, cond, now).await {
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

    /// Why the transaction was refused: the code first, then the username,
    /// then the number, then the client's failure cap.
    fn refusal(&self, cancelled: Cancelled, now: EpochSeconds) -> Error {
        let failures = self.limits.code_failures_per_ip;
        if cancelled.failed(CODE_GONE).is_some() {
            // Spent by a concurrent request with the same right code, or replaced by a new SMS.
            Error::SmsCodeExpired
        } else if cancelled.failed(USERNAME_TAKEN).is_some() {
            Error::UsernameTaken
        } else if cancelled.failed(MOBILE_TAKEN).is_some() {
            Error::MobileTaken
        } else if let Some(counter) = cancelled.failed(failures.label()) {
            failures.refusal(counter, now)
        } else {
            Error::internal(StoreError::Cancelled(cancelled))
        }
    }
}
