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
    /// Creates the user and returns a new session's token. One transaction:
    /// the code is spent, the username and the number are claimed and the
    /// session is written, or nothing is.
    pub async fn register(&self, user: NewUser) -> Result<SessionToken, Error> {
        let password_hash = self.hash(user.password.clone()).await?;
        let now = self.clock.now();
        let token = SessionToken::generate(&*self.random);
        let code_key = keys::sms_code(&user.mobile);
        let ops = vec![
            Op::Delete {
                pk: code_key.clone(),
                cond: Cond::Live(vec![
                    Check::eq(keys::CODE, Value::S(user.sms_code.as_str().to_owned())),
                    Check::lt(keys::ATTEMPTS, MAX_ATTEMPTS),
                ]),
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
        match self.store.transact(ops, now).await {
            Ok(()) => {
                tracing::info!(username = %user.username, mobile = %user.mobile, "user registered");
                Ok(token)
            }
            Err(StoreError::Cancelled { reasons }) => Err(self.refusal(&reasons, &user, &code_key, now).await),
            Err(error) => Err(error.into()),
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

    async fn refusal(&self, reasons: &[CancelReason], user: &NewUser, code_key: &str, now: EpochSeconds) -> Error {
        let failed = |index: usize| match reasons.get(index) {
            Some(CancelReason::ConditionFailed { current }) => Some(current.as_ref()),
            _ => None,
        };
        if let Some(code) = failed(0) {
            let Some(code) = code else { return Error::SmsCodeExpired };
            let attempts = code.n(keys::ATTEMPTS).unwrap_or(MAX_ATTEMPTS);
            if attempts >= MAX_ATTEMPTS {
                return Error::SmsCodeExpired;
            }
            let stored = code.s(keys::CODE).unwrap_or_default();
            if !user.sms_code.matches(stored) {
                return self.count_wrong_guess(code_key, code, now).await;
            }
        }
        if failed(1).is_some() {
            return Error::UsernameTaken;
        }
        if failed(2).is_some() {
            return Error::MobileTaken;
        }
        // The code changed between the transaction and this look (a new SMS,
        // or a concurrent guess): say so rather than guess at the cause.
        if failed(0).is_some() {
            return Error::SmsCodeExpired;
        }
        Error::internal(format!("transaction cancelled without a failed condition: {reasons:?}"))
    }

    /// Counts a wrong guess; the fifth destroys the code.
    async fn count_wrong_guess(&self, code_key: &str, code: &Item, now: EpochSeconds) -> Error {
        let send_id = code.s(keys::SEND_ID).unwrap_or_default().to_owned();
        let same_code = || Check::eq(keys::SEND_ID, Value::S(send_id.clone()));
        let counted = self
            .store
            .increment(
                code_key,
                keys::ATTEMPTS,
                Cond::Live(vec![same_code(), Check::lt(keys::ATTEMPTS, MAX_ATTEMPTS)]),
                now,
            )
            .await;
        match counted {
            Ok(updated) if updated.n(keys::ATTEMPTS).unwrap_or(MAX_ATTEMPTS) >= MAX_ATTEMPTS => {
                // The register transaction already refuses a code at the limit; deleting it just tidies up.
                if let Err(error) = self.store.delete(code_key, Cond::Live(vec![same_code()]), now).await {
                    tracing::warn!(error = %error, "deleting a used-up SMS code failed; it expires by itself");
                }
                Error::SmsCodeIncorrect
            }
            Ok(_) => Error::SmsCodeIncorrect,
            // Spent, replaced or used up meanwhile.
            Err(StoreError::ConditionFailed { .. }) => Error::SmsCodeIncorrect,
            Err(error) => error.into(),
        }
    }
}
