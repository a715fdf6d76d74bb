//! Carrier one-tap: the carrier proves the number (`GetMobile`); a number
//! with an account gets a session, one without a signup ticket that
//! `POST /register/` takes in place of an SMS code. One-tap proves the
//! phone in hand, not its owner's consent, so it never resets a password,
//! changes a number or closes an account: only these two doors take it.

use super::AccountService;
use crate::clock::Clock;
use crate::domain::{CarrierToken, ClientKey, Mobile, SessionToken, SignupTicket};
use crate::one_tap::{NumberProver, OneTapError};
use crate::random::Random;
use crate::service::users::UserRecord;
use crate::service::{Error, keys};
use crate::store::{Cond, Item, Store, StoreError};
use crate::telemetry::audit::{self, Event, LoginMethod};
use crate::telemetry::{Metric, metrics};

/// What a proven number leads to.
#[derive(Debug)]
pub enum OneTapOutcome {
    /// The number's account is logged in.
    Session(SessionToken),
    /// The number has no account: sign up with this ticket within `expires_in` seconds.
    SignUp { ticket: SignupTicket, mobile: Mobile, expires_in: i64 },
}

/// What the ticket write's failed condition means: 256 random bits make it a broken RNG.
const TICKET_TAKEN: &str = "signup ticket taken";

impl<S: Store, C: Clock, R: Random + 'static> AccountService<S, C, R> {
    /// Exchanges a carrier token for its number with `carrier` and logs the
    /// number's account in, or hands out a signup ticket for it.
    ///
    /// Three DynamoDB calls: the client's one-tap count (one conditional
    /// UpdateItem, before the paid call, refused once full), the number's
    /// mirror (GetItem), then the session's transaction (while the account
    /// is as read) or the ticket's PutItem.
    pub async fn one_tap_login<P: NumberProver>(
        &self,
        carrier: &P,
        token: &CarrierToken,
        client: Option<&ClientKey>,
    ) -> Result<OneTapOutcome, Error> {
        let now = self.clock.now();
        if let Some(client) = client {
            self.limits.one_tap_per_ip.take(&self.store, client.as_str(), now).await?;
        }
        let proven = metrics::timed(Metric::OneTapLatency, &[], carrier.get_mobile(token)).await;
        let outcome = proven.as_ref().map_or_else(OneTapError::outcome, |_| "proven");
        metrics::count(Metric::OneTapCalls, &[("Outcome", outcome)]);
        let mobile = match proven {
            Ok(mobile) => mobile,
            Err(error @ OneTapError::Refused { .. }) => return Err(Error::OneTapRefused(error.into())),
            Err(error @ OneTapError::Failed { .. }) => return Err(Error::OneTapFailed(error.into())),
        };
        audit::mobile(&mobile);
        let guard = keys::mobile_guard(&mobile);
        let Some(item) = self.store.get(&guard, now).await? else {
            return self.issue_ticket(mobile, now).await;
        };
        let record = UserRecord::from_item(&item)?;
        let session = SessionToken::generate(&*self.random);
        let writes = vec![record.start_session(&session, now, self.session_ttl), record.check_unchanged(guard)];
        match self.store.transact(writes, now).await {
            Ok(()) => {}
            Err(StoreError::Cancelled(cancelled)) => return Err(super::account_refusal(cancelled)),
            Err(error) => return Err(error.into()),
        }
        metrics::count(Metric::Logins, &[("Method", LoginMethod::OneTap.as_str())]);
        tracing::info!(username = %record.username, "logged in by carrier one-tap");
        Ok(OneTapOutcome::Session(session))
    }

    /// A ticket for signing `mobile` up, bound to it and short-lived.
    async fn issue_ticket(&self, mobile: Mobile, now: i64) -> Result<OneTapOutcome, Error> {
        audit::expect(Event::SignupTicketIssued);
        audit::method(LoginMethod::OneTap);
        let ticket = SignupTicket::generate(&*self.random);
        let expires_in = self.ticket_ttl;
        let item = Item::new(keys::signup_ticket(&ticket.hash()))
            .with_s(keys::MOBILE, mobile.as_str())
            .expiring_at(now + expires_in);
        match self.store.put(item, Cond::NotLive, now).await {
            Ok(()) => {}
            Err(StoreError::ConditionFailed { .. }) => return Err(Error::internal(TICKET_TAKEN)),
            Err(error) => return Err(error.into()),
        }
        tracing::info!(mobile = %mobile, "carrier one-tap proved a number without an account: signup ticket issued");
        Ok(OneTapOutcome::SignUp { ticket, mobile, expires_in })
    }
}
