//! Coming back: log in by password or SMS code, reset a password, end every
//! session at once, close the account.

mod login;
mod mobile;
mod one_tap;
mod register;
mod wechat;

pub use one_tap::OneTapOutcome;
pub use register::{NewUser, SignUpProof};
pub use wechat::WeChatOutcome;

use super::codes::{self, CODE_GONE, Guess, RightGuess};
use super::users::{ACCOUNT_CHANGED, MIRROR_CHANGED, UserRecord, session_account};
use super::{Challenge, Error, HumanCheck, Limits, keys};
use crate::clock::{Clock, EpochSeconds};
use crate::config::Config;
use crate::crypto::code_key::CodeKey;
use crate::crypto::password::PasswordHasher;
use crate::domain::{ClientKey, Password, Purpose, SessionToken, SmsCode, SmsCodeId};
use crate::random::Random;
use crate::store::{Cancelled, Cond, Op, Store, StoreError, Write};
use crate::telemetry::audit::{self, LoginMethod};
use crate::telemetry::{Metric, metrics};
use std::sync::Arc;

/// How a logged-in person proves to be the owner, to close the account or
/// change its number.
#[derive(Debug, Clone)]
pub enum LoginProof {
    Password(Password),
    /// A code sent to the account's number with the purpose of the change:
    /// `close` to close it, `change_mobile_old` to move it to another number.
    Code {
        code: SmsCode,
        id: SmsCodeId,
    },
}

/// Signs people up, logs them in and manages their accounts: the register
/// and account functions both run it.
#[derive(Debug)]
pub struct AccountService<S, C, R> {
    pub store: S,
    pub clock: C,
    pub random: Arc<R>,
    pub hasher: PasswordHasher,
    pub code_key: CodeKey,
    pub limits: Limits,
    /// Seconds a new session lasts.
    pub session_ttl: i64,
    /// The human check a login past its failures must pass
    /// (`CAPTCHA_PROVIDER`), as an SMS send does.
    pub human: HumanCheck,
    /// Seconds a signup ticket lasts.
    pub ticket_ttl: i64,
}

impl<S: Store, C: Clock, R: Random + 'static> AccountService<S, C, R> {
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
            human: HumanCheck::new(config),
            ticket_ttl: config.one_tap.ticket_ttl,
        }
    }

    /// Logs in with a code sent to the number with purpose `login`.
    pub async fn login_with_code(&self, guess: &Guess, client: Option<&ClientKey>) -> Result<SessionToken, Error> {
        let now = self.clock.now();
        audit::mobile(&guess.mobile);
        let right = codes::check(&self.store, &self.code_key, &self.limits, guess, Purpose::Login, client, now).await?;
        let record = self.mirror(guess, &right, now).await?;
        let token = SessionToken::generate(&*self.random);
        let mut writes = right.spend();
        writes.extend([
            record.start_session(&token, now, self.session_ttl),
            record.check_unchanged(keys::mobile_guard(&record.mobile)),
        ]);
        self.spend_code(&right, writes, now).await?;
        metrics::count(Metric::Logins, &[("Method", LoginMethod::SmsCode.as_str())]);
        tracing::info!(username = %record.username, "logged in with an SMS code");
        Ok(token)
    }

    /// Sets a new password with a code sent with purpose `reset`: every
    /// older session ends at once (the generation moves on) and a new one
    /// starts.
    pub async fn reset_password(
        &self,
        guess: &Guess,
        password: Password,
        client: Option<&ClientKey>,
    ) -> Result<SessionToken, Error> {
        let now = self.clock.now();
        audit::mobile(&guess.mobile);
        let right = codes::check(&self.store, &self.code_key, &self.limits, guess, Purpose::Reset, client, now).await?;
        let password_hash = self.hasher.hash(&password, &*self.random).await.map_err(Error::internal)?;
        let read = self.mirror(guess, &right, now).await?;
        let updated = UserRecord { password_hash, generation: read.generation + 1, ..read.clone() };
        let token = SessionToken::generate(&*self.random);
        let mut writes = right.spend();
        writes.extend(updated.replace(&read));
        writes.push(updated.start_session(&token, now, self.session_ttl));
        self.spend_code(&right, writes, now).await?;
        tracing::info!(username = %read.username, "password reset; every older session ended");
        Ok(token)
    }

    /// Ends every session of the account `token` belongs to.
    pub async fn end_all_sessions(&self, token: &SessionToken) -> Result<(), Error> {
        let now = self.clock.now();
        let read = session_account(&self.store, token, now).await?;
        audit::mobile(&read.mobile);
        let updated = UserRecord { generation: read.generation + 1, ..read.clone() };
        let mut writes = updated.replace(&read).to_vec();
        writes.push(Op::Delete { pk: keys::session(&token.hash()), cond: Cond::Always }.labelled("this session"));
        self.account_write(writes, now).await?;
        tracing::info!(username = %read.username, "every session ended");
        Ok(())
    }

    /// Closes the account `token` belongs to, confirmed by its password (and
    /// a captcha once its name's or the client's failures ask for one, see
    /// [`AccountService::login`]) or a `close` code: the user, its number's
    /// guard and (by the generation they carried) every session go in one
    /// transaction; the username and the number are free again.
    pub async fn close(
        &self,
        token: &SessionToken,
        proof: LoginProof,
        captcha: Option<Challenge<'_>>,
        client: Option<&ClientKey>,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let user = session_account(&self.store, token, now).await?;
        audit::mobile(&user.mobile);
        let (right, undo) = Box::pin(self.judge_owner(&user, proof, captcha, Purpose::Close, client, now)).await?;
        let mut writes = user.delete().to_vec();
        writes.push(Op::Delete { pk: keys::session(&token.hash()), cond: Cond::Always }.labelled("this session"));
        // The WeChat link goes with the account.
        if let Some(openid) = self.linked_openid(&user, now).await? {
            writes.extend(wechat::unlink(&openid, &user));
        }
        writes.extend(undo);
        match &right {
            Some(right) => {
                writes.extend(right.spend());
                self.spend_code(right, writes, now).await?;
            }
            None => self.account_write(writes, now).await?,
        }
        tracing::info!(username = %user.username, mobile = %user.mobile, "account closed");
        Ok(())
    }

    /// Judges a logged-in owner's proof: the password, admitted and hashed
    /// as a login under the account's username is (see
    /// `check_password`), or a code sent to the account's number for
    /// `purpose`, claimed and returned to be spent. Returns the code and
    /// the writes that undo a right password's count, for the transaction
    /// that acts on the proof.
    async fn judge_owner(
        &self,
        user: &UserRecord,
        proof: LoginProof,
        captcha: Option<Challenge<'_>>,
        purpose: Purpose,
        client: Option<&ClientKey>,
        now: EpochSeconds,
    ) -> Result<(Option<RightGuess>, Vec<Write>), Error> {
        match proof {
            LoginProof::Password(password) => {
                Ok((None, Box::pin(self.check_password(user, &password, captcha, client, now)).await?))
            }
            LoginProof::Code { code, id } => {
                let guess = Guess { mobile: user.mobile.clone(), code, id };
                let right =
                    codes::check(&self.store, &self.code_key, &self.limits, &guess, purpose, client, now).await?;
                Ok((Some(right), Vec::new()))
            }
        }
    }

    /// The account of the number a right code was sent to, from its mirror.
    async fn mirror(&self, guess: &Guess, right: &RightGuess, now: EpochSeconds) -> Result<UserRecord, Error> {
        match self.store.get(&keys::mobile_guard(&guess.mobile), now).await? {
            Some(item) => UserRecord::from_item(&item),
            None => {
                right.give_back(&self.store, now).await;
                Err(Error::MobileNotRegistered)
            }
        }
    }

    /// Runs a transaction that spends a right code; gives the guess back if
    /// it failed for another reason.
    async fn spend_code(&self, right: &RightGuess, writes: Vec<Write>, now: EpochSeconds) -> Result<(), Error> {
        let error = match self.store.transact(writes, now).await {
            Ok(()) => {
                right.verified();
                return Ok(());
            }
            Err(StoreError::Cancelled(cancelled)) if cancelled.failed(CODE_GONE).is_some() => {
                return Err(Error::SmsCodeExpired);
            }
            Err(StoreError::Cancelled(cancelled)) if cancelled.failed(wechat::LINK_CHANGED).is_some() => {
                Error::NotLoggedIn
            }
            Err(StoreError::Cancelled(cancelled)) => account_refusal(cancelled),
            Err(error) => error.into(),
        };
        right.give_back(&self.store, now).await;
        Err(error)
    }

    async fn account_write(&self, writes: Vec<Write>, now: EpochSeconds) -> Result<(), Error> {
        match self.store.transact(writes, now).await {
            Ok(()) => Ok(()),
            Err(StoreError::Cancelled(cancelled)) if cancelled.failed(wechat::LINK_CHANGED).is_some() => {
                Err(Error::NotLoggedIn)
            }
            Err(StoreError::Cancelled(cancelled)) => Err(account_refusal(cancelled)),
            Err(error) => Err(error.into()),
        }
    }

    /// Redoes a hash made with older parameters, if the account is still as
    /// read; a failure only leaves the old hash in place.
    async fn rehash(&self, read: &UserRecord, password: &Password, now: EpochSeconds) {
        let rehashed = match self.hasher.hash(password, &*self.random).await {
            Ok(password_hash) => UserRecord { password_hash, ..read.clone() },
            Err(error) => return tracing::warn!(error = %error, "rehashing a password failed"),
        };
        if let Err(error) = self.account_write(rehashed.replace(read).to_vec(), now).await {
            tracing::warn!(error = %error, "storing a rehashed password failed; the old hash stays");
        }
    }
}

/// A transaction on an account that changed (a reset, a log-out everywhere,
/// a closing) between its read and its write.
pub(super) fn account_refusal(cancelled: Cancelled) -> Error {
    if cancelled.failed(ACCOUNT_CHANGED).is_some() || cancelled.failed(MIRROR_CHANGED).is_some() {
        Error::NotLoggedIn
    } else {
        Error::internal(StoreError::Cancelled(cancelled))
    }
}
