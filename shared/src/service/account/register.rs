//! Registering: claim a guess of the SMS code, then spend the code, create
//! the user, its mobile guard and its generation and start a session in one
//! transaction.

use super::AccountService;
use crate::clock::{Clock, EpochSeconds};
use crate::domain::{AccountId, ClientKey, Password, Purpose, SessionToken, Username};
use crate::random::Random;
use crate::service::Error;
use crate::service::codes::{self, CODE_GONE, Guess};
use crate::service::users::{ACCOUNT_ID_TAKEN, UserRecord};
use crate::store::{Cancelled, Store, StoreError};
use crate::telemetry::audit;

/// A sign-up request, parsed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub password: Password,
    pub guess: Guess,
}

/// What the register transaction's failed conditions mean.
const USERNAME_TAKEN: &str = "username taken";
const MOBILE_TAKEN: &str = "mobile taken";

/// Signing up is the first of an account's operations: the register
/// function runs it on the same service as the account function.
impl<S: Store, C: Clock, R: Random + 'static> AccountService<S, C, R> {
    /// Creates the user and returns a new session's token.
    ///
    /// First, at once, one UpdateItem refuses a client whose failure cap is
    /// full ([`Limit::refuses`](crate::service::Limit::refuses)) and one
    /// claims a guess (see [`codes::check`]): a wrong guess, or any guess
    /// from a capped client, ends there, before any password hashing. A
    /// right one is spent in one transaction that also claims the username
    /// and the number and writes the session: all of it happens, or none. A
    /// right code whose sign-up fails for a taken name or number keeps the
    /// attempt it used and counts against the client, so one code probes at
    /// most [`codes::MAX_ATTEMPTS`] names, and no probe is hashed once a cap
    /// refuses.
    pub async fn register(&self, user: NewUser, client: Option<&ClientKey>) -> Result<SessionToken, Error> {
        let now = self.clock.now();
        audit::mobile(&user.guess.mobile);
        let failures = self.limits.code_failures_per_ip;
        let capped = async {
            match client {
                Some(client) => failures.refuses(&self.store, client.as_str(), now).await,
                None => Ok(()),
            }
        };
        let claimed =
            codes::check(&self.store, &self.code_key, &self.limits, &user.guess, Purpose::Register, client, now);
        let (capped, right) = tokio::join!(capped, claimed);
        let right = right?;
        if let Err(refusal) = capped {
            right.give_back(&self.store, now).await;
            return Err(refusal);
        }
        let password_hash = self.hasher.hash(&user.password, &*self.random).await.map_err(Error::internal)?;
        let token = SessionToken::generate(&*self.random);
        let record = UserRecord {
            id: AccountId::generate(&*self.random),
            username: user.username.clone(),
            mobile: user.guess.mobile.clone(),
            password_hash,
            created_at: now,
            generation: 0,
        };
        let mut writes = right.spend();
        writes.extend(record.create(USERNAME_TAKEN, MOBILE_TAKEN));
        writes.push(record.start_session(&token, now, self.session_ttl));
        if let Some(client) = client {
            writes.push(self.limits.code_failures_per_ip.check(client.as_str(), now));
        }
        let refusal = match self.store.transact(writes, now).await {
            Ok(()) => {
                right.verified();
                tracing::info!(username = %user.username, mobile = %user.guess.mobile, "user registered");
                return Ok(token);
            }
            Err(StoreError::Cancelled(cancelled)) => self.refusal(cancelled, now),
            Err(error) => error.into(),
        };
        match (&refusal, client) {
            (Error::SmsCodeExpired, _) => {}
            // A failed sign-up: the code's attempt stays used, and the client pays for the probe.
            (Error::UsernameTaken | Error::MobileTaken, Some(client)) => {
                failures.count_failure(&self.store, client.as_str(), now).await?;
            }
            (Error::UsernameTaken | Error::MobileTaken, None) => {}
            _ => right.give_back(&self.store, now).await,
        }
        Err(refusal)
    }

    /// Why the transaction was refused: the code first, then the client's
    /// failure cap (so a full cap answers alike for a taken name and a free
    /// one), then the username, then the number.
    fn refusal(&self, cancelled: Cancelled, now: EpochSeconds) -> Error {
        let failures = self.limits.code_failures_per_ip;
        if cancelled.failed(CODE_GONE).is_some() {
            // Spent by a concurrent request with the same right code, or replaced by a new SMS.
            Error::SmsCodeExpired
        } else if let Some(counter) = cancelled.failed(failures.label()) {
            failures.refusal(counter, now)
        } else if cancelled.failed(USERNAME_TAKEN).is_some() {
            Error::UsernameTaken
        } else if cancelled.failed(MOBILE_TAKEN).is_some() {
            Error::MobileTaken
        } else if cancelled.failed(ACCOUNT_ID_TAKEN).is_some() {
            Error::internal("a new account id was live already: the random source is broken")
        } else {
            Error::internal(StoreError::Cancelled(cancelled))
        }
    }
}
