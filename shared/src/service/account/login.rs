//! Logging in with a password. The owner who knows it always gets in: past
//! the failures an account name or a client may have, a login needs a
//! captcha, never waits out a lock. Every cap is counted before the
//! Argon2id work, so a refused login costs no hash, and what a login
//! answers depends only on the name as typed and the client, never on
//! which other name of the same account failed before.

use super::AccountService;
use crate::clock::{Clock, EpochSeconds};
use crate::domain::{Account, ClientKey, Password, SessionToken};
use crate::random::Random;
use crate::service::users::UserRecord;
use crate::service::{Challenge, Error, keys};
use crate::store::{Store, StoreError, Write};
use crate::telemetry::audit::{self, LoginMethod};
use crate::telemetry::{Metric, metrics};

impl<S: Store, C: Clock, R: Random + 'static> AccountService<S, C, R> {
    /// Logs in with a username or number and a password; returns a new
    /// session's token.
    ///
    /// A captcha, if the request carries one, is judged first by the
    /// configured human check ([`crate::service::HumanCheck::check`]: one
    /// DeleteItem takes the built-in image, one conditional PutItem claims
    /// a provider's pass before the provider is asked). Then one transaction counts the attempt against the name
    /// as typed and against the client (see [`AccountService::admit`]), while
    /// one GetItem reads the user or its mirror under the number, both at
    /// once; only an admitted attempt is hashed, once, an unknown account
    /// against a dummy hash: the same answer, the same work. A right
    /// password then writes the session in one transaction that clears the
    /// name's failures and gives the client its count back. Three DynamoDB
    /// calls in two round trips (four with a captcha); a refusal stops after
    /// the first round trip, before any hashing.
    pub async fn login(
        &self,
        account: &str,
        password: &Password,
        captcha: Option<Challenge<'_>>,
        client: Option<&ClientKey>,
    ) -> Result<SessionToken, Error> {
        let now = self.clock.now();
        let account = Account::parse(account).ok();
        let key = match &account {
            Some(Account::Username(username)) => Some(keys::user(username)),
            Some(Account::Mobile(mobile)) => Some(keys::mobile_guard(mobile)),
            None => None,
        };
        // Counted under the name as typed (whatever its case): not the account's other name.
        let name = account.as_ref().map(Account::canonical);
        let read = async {
            match &key {
                Some(key) => self.store.get(key, now).await.map_err(Error::from),
                None => Ok(None),
            }
        };
        let (admitted, record) = tokio::join!(self.admit(name.as_deref(), captcha, client, now), read);
        let record = record?.map(|item| UserRecord::from_item(&item)).transpose()?;
        match (&record, &account) {
            (Some(record), _) => audit::mobile(&record.mobile),
            (None, Some(Account::Mobile(mobile))) => audit::mobile(mobile),
            _ => {}
        }
        let admitted = admitted?;
        let matches = match &record {
            Some(record) => self.hasher.verify(password, &record.password_hash).await,
            None => self.hasher.verify_unknown(password).await,
        }
        .map_err(Error::internal)?;
        let (Some(record), Some(key), true) = (record, key, matches) else {
            return Err(Error::LoginFailed);
        };

        let token = SessionToken::generate(&*self.random);
        let mut writes = vec![record.start_session(&token, now, self.session_ttl), record.check_unchanged(key)];
        writes.extend(admitted);
        match self.store.transact(writes, now).await {
            Ok(()) => {}
            Err(StoreError::Cancelled(cancelled)) => return Err(super::account_refusal(cancelled)),
            Err(error) => return Err(error.into()),
        }
        metrics::count(Metric::Logins, &[("Method", LoginMethod::Password.as_str())]);
        tracing::info!(username = %record.username, "logged in with a password");
        if self.hasher.needs_rehash(&record.password_hash) {
            self.rehash(&record, password, now).await;
        }
        Ok(token)
    }

    /// Checks the password of a logged-in account (closing it): admitted
    /// as a login under its username is, then hashed. Returns the writes
    /// that undo the attempt's count, for the transaction that acts on it.
    pub(super) async fn check_password(
        &self,
        user: &UserRecord,
        password: &Password,
        captcha: Option<Challenge<'_>>,
        client: Option<&ClientKey>,
        now: EpochSeconds,
    ) -> Result<Vec<Write>, Error> {
        let admitted = self.admit(Some(&user.username.canonical()), captcha, client, now).await?;
        if !self.hasher.verify(password, &user.password_hash).await.map_err(Error::internal)? {
            return Err(Error::LoginFailed);
        }
        Ok(admitted)
    }

    /// Lets a password attempt through to the hash, or refuses it first.
    ///
    /// A captcha, if given, is judged once
    /// ([`crate::service::HumanCheck::check`]). Then one
    /// transaction counts the attempt as a failure, before it is one:
    /// against the client under its hard cap (and, without a captcha, under
    /// the lower count past which its logins need one), and against the
    /// name as typed (without a captcha, under the count past which logins
    /// with it need one; with a captcha, always); with a captcha it also
    /// checks the client's captcha failure cap, as a send does. Concurrent
    /// attempts are all counted and never pass a cap. A refusal (429
    /// `captcha_required`, `login_ip_limit` or `captcha_failure_limit`)
    /// ends there, unhashed, and still counts against the client under its
    /// hard cap. Returns the writes that undo the count once the password
    /// turns out right: the name's failures cleared, the client's count
    /// given back.
    async fn admit(
        &self,
        name: Option<&str>,
        captcha: Option<Challenge<'_>>,
        client: Option<&ClientKey>,
        now: EpochSeconds,
    ) -> Result<Vec<Write>, Error> {
        let limits = &self.limits;
        let solved = match captcha {
            Some(proof) => {
                // Boxed: a verifier's request is a deep future, and a login nests it in a join.
                Box::pin(self.human.check(&self.store, proof.proof, client, proof.user_ip, now)).await?;
                true
            }
            None => false,
        };
        let (hard, soft, per_name) =
            (limits.login_failures_per_ip, limits.login_captcha_per_ip, limits.login_failures_per_account);
        let mut writes = Vec::new();
        let mut undo = Vec::new();
        if let Some(client) = client {
            writes.push(if solved { hard.count(client.as_str(), now) } else { soft.count(client.as_str(), now) });
            if solved {
                writes.push(limits.captcha_failures_per_ip.check(client.as_str(), now));
            }
            undo.push(hard.give_back(client.as_str(), now));
        }
        if let Some(name) = name {
            writes.push(if solved { per_name.count_always(name, now) } else { per_name.count(name, now) });
            undo.push(per_name.reset(name, now));
        }
        if writes.is_empty() {
            return Ok(undo);
        }
        let cancelled = match self.store.transact(writes, now).await {
            Ok(()) => return Ok(undo),
            Err(StoreError::Cancelled(cancelled)) => cancelled,
            Err(error) => return Err(error.into()),
        };
        let client_counter = cancelled.failed(hard.label());
        if let Some(counter) = client_counter.filter(|counter| hard.is_full(*counter)) {
            return Err(hard.refusal(counter, now));
        }
        if let Some(counter) = cancelled.failed(limits.captcha_failures_per_ip.label()) {
            return Err(limits.captcha_failures_per_ip.refusal(counter, now));
        }
        if let Some(counter) = client_counter {
            return Err(soft.refusal(counter, now));
        }
        // The name asks for a captcha; the client's count still takes the attempt.
        if let Some(client) = client {
            hard.count_failure(&self.store, client.as_str(), now).await?;
        }
        match cancelled.failed(per_name.label()) {
            Some(counter) => Err(per_name.refusal(counter, now)),
            None => Err(Error::internal(StoreError::Cancelled(cancelled))),
        }
    }
}
