//! Registering: prove the number (claim a guess of the SMS code, or read a
//! signup ticket the carrier's one-tap earned), then spend the proof,
//! create the user, its mobile guard and its generation and start a
//! session in one transaction.

use super::AccountService;
use crate::clock::{Clock, EpochSeconds};
use crate::domain::{AccountId, ClientKey, Mobile, Password, Purpose, SessionToken, SignupTicket, Username};
use crate::random::Random;
use crate::service::Error;
use crate::service::codes::{self, CODE_GONE, Guess};
use crate::service::keys;
use crate::service::users::{ACCOUNT_ID_TAKEN, UserRecord};
use crate::store::{Cancelled, Check, Cond, Op, Store, StoreError, Write};
use crate::telemetry::audit::{self, LoginMethod};
use crate::telemetry::{Metric, metrics};

/// A sign-up request, parsed.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub password: Password,
    pub proof: SignUpProof,
}

/// How the number signing up was proven.
#[derive(Debug, Clone)]
pub enum SignUpProof {
    /// A code sent by SMS with purpose `register`.
    Code(Guess),
    /// The ticket carrier one-tap handed out for this number.
    Ticket { mobile: Mobile, ticket: SignupTicket },
}

impl SignUpProof {
    /// The number signing up.
    pub fn mobile(&self) -> &Mobile {
        match self {
            SignUpProof::Code(guess) => &guess.mobile,
            SignUpProof::Ticket { mobile, .. } => mobile,
        }
    }

    fn method(&self) -> LoginMethod {
        match self {
            SignUpProof::Code(_) => LoginMethod::SmsCode,
            SignUpProof::Ticket { .. } => LoginMethod::OneTap,
        }
    }
}

/// What the register transaction's failed conditions mean.
const USERNAME_TAKEN: &str = "username taken";
const MOBILE_TAKEN: &str = "mobile taken";
/// The ticket was spent by a concurrent sign-up, or expired, in between.
const TICKET_GONE: &str = "signup ticket spent or expired";

/// Signing up is the first of an account's operations: the register
/// function runs it on the same service as the account function.
impl<S: Store, C: Clock, R: Random + 'static> AccountService<S, C, R> {
    /// Creates the user and returns a new session's token.
    ///
    /// With a code, first, at once, one UpdateItem refuses a client whose
    /// failure cap is full ([`Limit::refuses`](crate::service::Limit::refuses))
    /// and one claims a guess (see [`codes::check`]); with a ticket, the cap
    /// is asked beside one GetItem that reads the ticket. A wrong guess, a
    /// dead ticket, or any proof from a capped client ends there, before any
    /// password hashing. The proof is spent in one transaction that also
    /// claims the username and the number and writes the session: all of it
    /// happens, or none. A sign-up that fails for a taken name or number
    /// counts against the client (a right code also keeps the attempt it
    /// used, so one code probes at most [`codes::MAX_ATTEMPTS`] names), and
    /// no probe is hashed once a cap refuses.
    pub async fn register(&self, user: NewUser, client: Option<&ClientKey>) -> Result<SessionToken, Error> {
        let now = self.clock.now();
        audit::mobile(user.proof.mobile());
        audit::method(user.proof.method());
        match &user.proof {
            // Boxed: each nests a claim or a read beside the cap's ask, a hash and a transaction.
            SignUpProof::Code(guess) => Box::pin(self.register_with_code(&user, guess, client, now)).await,
            SignUpProof::Ticket { mobile, ticket } => {
                Box::pin(self.register_with_ticket(&user, mobile, ticket, client, now)).await
            }
        }
    }

    /// Refuses a client whose code failure cap is full (one UpdateItem).
    async fn client_capped(&self, client: Option<&ClientKey>, now: EpochSeconds) -> Result<(), Error> {
        match client {
            Some(client) => self.limits.code_failures_per_ip.refuses(&self.store, client.as_str(), now).await,
            None => Ok(()),
        }
    }

    async fn register_with_code(
        &self,
        user: &NewUser,
        guess: &Guess,
        client: Option<&ClientKey>,
        now: EpochSeconds,
    ) -> Result<SessionToken, Error> {
        let failures = self.limits.code_failures_per_ip;
        let claimed = codes::check(&self.store, &self.code_key, &self.limits, guess, Purpose::Register, client, now);
        let (capped, right) = tokio::join!(self.client_capped(client, now), claimed);
        let right = right?;
        if let Err(refusal) = capped {
            right.give_back(&self.store, now).await;
            return Err(refusal);
        }
        let (record, token) = self.new_account(user, now).await?;
        let mut writes = right.spend();
        writes.extend(record.create(USERNAME_TAKEN, MOBILE_TAKEN));
        writes.push(record.start_session(&token, now, self.session_ttl));
        if let Some(client) = client {
            writes.push(self.limits.code_failures_per_ip.check(client.as_str(), now));
        }
        let refusal = match self.store.transact(writes, now).await {
            Ok(()) => {
                right.verified();
                self.registered(user, LoginMethod::SmsCode);
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

    /// Two DynamoDB calls at once, the ticket (GetItem: dead or another
    /// number's ends here, before hashing) and the client's failure cap, then
    /// the transaction that deletes the ticket while it is live and this
    /// number's, so of concurrent sign-ups with one ticket at most one
    /// succeeds; a refused one leaves it unspent, and one refused for a
    /// taken name or number counts against the client.
    async fn register_with_ticket(
        &self,
        user: &NewUser,
        mobile: &Mobile,
        ticket: &SignupTicket,
        client: Option<&ClientKey>,
        now: EpochSeconds,
    ) -> Result<SessionToken, Error> {
        let failures = self.limits.code_failures_per_ip;
        let key = keys::signup_ticket(&ticket.hash());
        let (capped, item) = tokio::join!(self.client_capped(client, now), self.store.get(&key, now));
        let item = item?.ok_or(Error::SignupTicketExpired)?;
        if item.s(keys::MOBILE)? != mobile.as_str() {
            return Err(Error::SignupTicketMismatch);
        }
        capped?;
        // A ticket WeChat's phone button earned names its WeChat user: the account is created linked.
        let openid = item.s(keys::OPENID).ok().map(str::to_owned);
        let method = if openid.is_some() { LoginMethod::WeChat } else { LoginMethod::OneTap };
        audit::method(method);
        let (record, token) = self.new_account(user, now).await?;
        let spend = Op::Delete { pk: key, cond: Cond::Live(vec![Check::eq_s(keys::MOBILE, mobile.as_str())]) };
        let mut writes: Vec<Write> = vec![spend.labelled(TICKET_GONE)];
        writes.extend(record.create(USERNAME_TAKEN, MOBILE_TAKEN));
        writes.push(record.start_session(&token, now, self.session_ttl));
        if let Some(openid) = &openid {
            writes.extend(super::wechat::link(openid, &record));
        }
        if let Some(client) = client {
            writes.push(failures.check(client.as_str(), now));
        }
        let refusal = match self.store.transact(writes, now).await {
            Ok(()) => {
                self.registered(user, method);
                return Ok(token);
            }
            Err(StoreError::Cancelled(cancelled)) if cancelled.failed(TICKET_GONE).is_some() => {
                Error::SignupTicketExpired
            }
            Err(StoreError::Cancelled(cancelled)) if cancelled.failed(super::wechat::ALREADY_LINKED).is_some() => {
                Error::WeChatAlreadyLinked
            }
            Err(StoreError::Cancelled(cancelled)) => self.refusal(cancelled, now),
            Err(error) => error.into(),
        };
        // A failed sign-up: the client pays for the probe.
        if let (Error::UsernameTaken | Error::MobileTaken, Some(client)) = (&refusal, client) {
            failures.count_failure(&self.store, client.as_str(), now).await?;
        }
        Err(refusal)
    }

    /// The account to create, its password hashed, and its first session.
    async fn new_account(&self, user: &NewUser, now: EpochSeconds) -> Result<(UserRecord, SessionToken), Error> {
        let password_hash = self.hasher.hash(&user.password, &*self.random).await.map_err(Error::internal)?;
        let token = SessionToken::generate(&*self.random);
        let record = UserRecord {
            id: AccountId::generate(&*self.random),
            username: user.username.clone(),
            mobile: user.proof.mobile().clone(),
            password_hash,
            created_at: now,
            generation: 0,
        };
        Ok((record, token))
    }

    fn registered(&self, user: &NewUser, method: LoginMethod) {
        metrics::count(Metric::SignUps, &[("Method", method.as_str())]);
        tracing::info!(username = %user.username, mobile = %user.proof.mobile(), "user registered");
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
