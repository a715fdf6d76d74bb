//! WeChat mini-program login: `wx.login`'s code names the WeChat user
//! (`code2Session`); a user linked to an account logs in, one not linked
//! gets a WeChat ticket and proves a number with WeChat's phone button
//! (`getuserphonenumber`): a number with an account is linked and logged
//! in, one without gets a signup ticket whose account is created linked.
//! Like one-tap, it never resets a password, changes a number or closes
//! an account.

use super::AccountService;
use crate::clock::{Clock, EpochSeconds};
use crate::domain::{ClientKey, Mobile, SessionToken, SignupTicket};
use crate::random::Random;
use crate::service::users::UserRecord;
use crate::service::{Error, keys};
use crate::store::{Check, Cond, Item, Op, Store, StoreError, Write};
use crate::telemetry::audit::{self, Event, LoginMethod};
use crate::telemetry::{Metric, metrics};
use crate::wechat::token::{self, PhoneError};
use crate::wechat::{WeChat, WeChatCode, WeChatError};

/// What a WeChat login or phone proof leads to.
#[derive(Debug)]
pub enum WeChatOutcome {
    /// The linked (or now linked) account is logged in.
    Session(SessionToken),
    /// Not linked: prove a number with `/wechat_phone/` and this ticket.
    NotLinked { wechat_ticket: SignupTicket, expires_in: i64 },
    /// The number has no account: sign up with this ticket; the account is created linked.
    SignUp { ticket: SignupTicket, mobile: Mobile, expires_in: i64 },
}

/// What the writes' failed conditions mean.
const WECHAT_TICKET_GONE: &str = "wechat ticket spent or expired";
pub(super) const ALREADY_LINKED: &str = "wechat user linked already";
const TICKET_TAKEN: &str = "ticket taken";

fn wechat_refusal(error: WeChatError) -> Error {
    match error {
        WeChatError::InvalidCode { .. } => Error::WeChatCodeInvalid(error.into()),
        WeChatError::HighRisk => Error::WeChatHighRisk,
        WeChatError::RateLimited { .. } => Error::WeChatBusy { retry_after: 60 },
        WeChatError::TokenRefused { .. } | WeChatError::Failed { .. } => Error::WeChatFailed(error.into()),
    }
}

/// The link of `openid` to `record`'s account, both ways: the openid's
/// `wechat#` item and the account's `wechatof#` item, each refused if
/// present (the user, or the account, is linked already).
pub(super) fn link(openid: &str, record: &UserRecord) -> [Write; 2] {
    let item = Item::new(keys::wechat_link(openid))
        .with_s(keys::ACCOUNT_ID, record.id.as_str())
        .with_s(keys::MOBILE, record.mobile.as_str());
    let reverse = Item::new(keys::wechat_of(&record.id)).with_s(keys::OPENID, openid);
    [
        Op::Put { item, cond: Cond::NotLive }.labelled(ALREADY_LINKED),
        Op::Put { item: reverse, cond: Cond::NotLive }.labelled(ALREADY_LINKED),
    ]
}

/// Deletes `record`'s link to `openid`, both ways, while it is that link.
pub(super) fn unlink(openid: &str, record: &UserRecord) -> [Write; 2] {
    let this_account = Cond::Present(vec![Check::eq_s(keys::ACCOUNT_ID, record.id.as_str())]);
    let this_user = Cond::Present(vec![Check::eq_s(keys::OPENID, openid)]);
    [
        Op::Delete { pk: keys::wechat_link(openid), cond: this_account }.labelled(LINK_CHANGED),
        Op::Delete { pk: keys::wechat_of(&record.id), cond: this_user }.labelled(LINK_CHANGED),
    ]
}

/// Points `openid`'s link at `moved`'s new number after a number change,
/// while it is still this account's link (the login finds the account by
/// the number's mirror and checks the id).
pub(super) fn follow_move(openid: &str, moved: &UserRecord) -> Write {
    let item = Item::new(keys::wechat_link(openid))
        .with_s(keys::ACCOUNT_ID, moved.id.as_str())
        .with_s(keys::MOBILE, moved.mobile.as_str());
    let this_account = Cond::Present(vec![Check::eq_s(keys::ACCOUNT_ID, moved.id.as_str())]);
    Op::Put { item, cond: this_account }.labelled(LINK_CHANGED)
}

/// The link changed (unlinked, relinked) between its read and its deletion.
pub(super) const LINK_CHANGED: &str = "wechat link changed";

impl<S: Store, C: Clock, R: Random + 'static> AccountService<S, C, R> {
    /// `/wechat_login/`: the user behind a `wx.login` code. Linked: a
    /// session while the link's account is the number's (a closed account's
    /// link logs nobody in). Not linked: a WeChat ticket. `session_key`
    /// never leaves the WeChat client. The client's WeChat count comes
    /// first, before `code2Session`.
    pub async fn wechat_login<W: WeChat>(
        &self,
        wechat: &W,
        code: &WeChatCode,
        client: Option<&ClientKey>,
    ) -> Result<WeChatOutcome, Error> {
        let now = self.clock.now();
        self.take_wechat_call(client, now).await?;
        let identity = wechat.code_to_session(code).await.map_err(wechat_refusal)?;
        if let Some(link) = self.store.get(&keys::wechat_link(&identity.openid), now).await? {
            let mobile = Mobile::parse(link.s(keys::MOBILE)?).map_err(Error::internal)?;
            audit::mobile(&mobile);
            let guard = keys::mobile_guard(&mobile);
            if let Some(item) = self.store.get(&guard, now).await? {
                let record = UserRecord::from_item(&item)?;
                if record.id.as_str() == link.s(keys::ACCOUNT_ID)? {
                    let session = SessionToken::generate(&*self.random);
                    let writes =
                        vec![record.start_session(&session, now, self.session_ttl), record.check_unchanged(guard)];
                    self.account_transaction(writes, now).await?;
                    metrics::count(Metric::Logins, &[("Method", LoginMethod::WeChat.as_str())]);
                    return Ok(WeChatOutcome::Session(session));
                }
            }
        }
        audit::expect(Event::SignupTicketIssued);
        audit::method(LoginMethod::WeChat);
        let wechat_ticket = SignupTicket::generate(&*self.random);
        let expires_in = self.ticket_ttl;
        let item = Item::new(keys::wechat_ticket(&wechat_ticket.hash()))
            .with_s(keys::OPENID, &identity.openid)
            .expiring_at(now + expires_in);
        self.put_new(item, now).await?;
        Ok(WeChatOutcome::NotLinked { wechat_ticket, expires_in })
    }

    /// `/wechat_phone/`: the number WeChat's phone button proves, for the
    /// user a WeChat ticket names. The number's account is linked and
    /// logged in (spending the ticket in the same transaction); a number
    /// without one gets a signup ticket carrying the openid. The client's
    /// WeChat count comes after the ticket's read, before any call to WeChat.
    pub async fn wechat_phone<W: WeChat>(
        &self,
        wechat: &W,
        wechat_ticket: &SignupTicket,
        phone_code: &WeChatCode,
        client: Option<&ClientKey>,
    ) -> Result<WeChatOutcome, Error> {
        let now = self.clock.now();
        let ticket_key = keys::wechat_ticket(&wechat_ticket.hash());
        let ticket = self.store.get(&ticket_key, now).await?.ok_or(Error::WeChatTicketExpired)?;
        let openid = ticket.s(keys::OPENID)?.to_owned();
        // Before the access token's refresh and the paid getuserphonenumber.
        self.take_wechat_call(client, now).await?;
        let mobile = match token::phone_number(&self.store, wechat, phone_code, now).await {
            Ok(mobile) => mobile,
            Err(PhoneError::WeChat(error)) => return Err(wechat_refusal(error)),
            Err(PhoneError::Store(error)) => return Err(error.into()),
        };
        audit::mobile(&mobile);
        let spend = Op::Delete { pk: ticket_key, cond: Cond::Live(vec![Check::eq_s(keys::OPENID, openid.as_str())]) }
            .labelled(WECHAT_TICKET_GONE);
        let guard = keys::mobile_guard(&mobile);
        match self.store.get(&guard, now).await? {
            Some(item) => {
                let record = UserRecord::from_item(&item)?;
                let session = SessionToken::generate(&*self.random);
                let mut writes = vec![spend];
                writes.extend(link(&openid, &record));
                writes.extend([record.start_session(&session, now, self.session_ttl), record.check_unchanged(guard)]);
                self.account_transaction(writes, now).await?;
                metrics::count(Metric::Logins, &[("Method", LoginMethod::WeChat.as_str())]);
                tracing::info!(username = %record.username, "WeChat user linked by the phone button and logged in");
                Ok(WeChatOutcome::Session(session))
            }
            None => {
                audit::expect(Event::SignupTicketIssued);
                audit::method(LoginMethod::WeChat);
                let ticket = SignupTicket::generate(&*self.random);
                let expires_in = self.ticket_ttl;
                let item = Item::new(keys::signup_ticket(&ticket.hash()))
                    .with_s(keys::MOBILE, mobile.as_str())
                    .with_s(keys::OPENID, &openid)
                    .expiring_at(now + expires_in);
                let put = Op::Put { item, cond: Cond::NotLive }.labelled(TICKET_TAKEN);
                self.account_transaction(vec![spend, put], now).await?;
                Ok(WeChatOutcome::SignUp { ticket, mobile, expires_in })
            }
        }
    }

    /// `POST /account/wechat/`: links the WeChat user behind a `wx.login`
    /// code to the logged-in account; the client's WeChat count comes after
    /// the session's read, before `code2Session`.
    pub async fn link_wechat<W: WeChat>(
        &self,
        wechat: &W,
        token: &SessionToken,
        code: &WeChatCode,
        client: Option<&ClientKey>,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let record = crate::service::users::session_account(&self.store, token, now).await?;
        audit::mobile(&record.mobile);
        self.take_wechat_call(client, now).await?;
        let identity = wechat.code_to_session(code).await.map_err(wechat_refusal)?;
        let mut writes = link(&identity.openid, &record).to_vec();
        writes.push(record.check_unchanged(keys::user(&record.username)));
        self.account_transaction(writes, now).await?;
        tracing::info!(username = %record.username, "WeChat user linked");
        Ok(())
    }

    /// `DELETE /account/wechat/`: removes the logged-in account's WeChat link, if any.
    pub async fn unlink_wechat(&self, token: &SessionToken) -> Result<(), Error> {
        let now = self.clock.now();
        let record = crate::service::users::session_account(&self.store, token, now).await?;
        audit::mobile(&record.mobile);
        let Some(openid) = self.linked_openid(&record, now).await? else { return Ok(()) };
        let mut writes = unlink(&openid, &record).to_vec();
        writes.push(record.check_unchanged(keys::user(&record.username)));
        self.account_transaction(writes, now).await?;
        tracing::info!(username = %record.username, "WeChat user unlinked");
        Ok(())
    }

    /// The openid linked to `record`'s account, if any.
    pub(super) async fn linked_openid(&self, record: &UserRecord, now: EpochSeconds) -> Result<Option<String>, Error> {
        Ok(match self.store.get(&keys::wechat_of(&record.id), now).await? {
            Some(item) => Some(item.s(keys::OPENID)?.to_owned()),
            None => None,
        })
    }

    /// Counts one request to WeChat's API against `client`'s hourly cap
    /// (one conditional UpdateItem, the same counter for the login, the
    /// phone proof and the link), before the call: a full window refuses
    /// with no call to WeChat.
    async fn take_wechat_call(&self, client: Option<&ClientKey>, now: EpochSeconds) -> Result<(), Error> {
        match client {
            Some(client) => self.limits.wechat_per_ip.take(&self.store, client.as_str(), now).await,
            None => Ok(()),
        }
    }

    async fn put_new(&self, item: Item, now: EpochSeconds) -> Result<(), Error> {
        match self.store.put(item, Cond::NotLive, now).await {
            Ok(()) => Ok(()),
            Err(StoreError::ConditionFailed { .. }) => Err(Error::internal(TICKET_TAKEN)),
            Err(error) => Err(error.into()),
        }
    }

    async fn account_transaction(&self, writes: Vec<Write>, now: EpochSeconds) -> Result<(), Error> {
        match self.store.transact(writes, now).await {
            Ok(()) => Ok(()),
            Err(StoreError::Cancelled(cancelled)) if cancelled.failed(WECHAT_TICKET_GONE).is_some() => {
                Err(Error::WeChatTicketExpired)
            }
            Err(StoreError::Cancelled(cancelled)) if cancelled.failed(ALREADY_LINKED).is_some() => {
                Err(Error::WeChatAlreadyLinked)
            }
            // Unlinked or relinked concurrently: the account changed under the request.
            Err(StoreError::Cancelled(cancelled)) if cancelled.failed(LINK_CHANGED).is_some() => {
                Err(Error::NotLoggedIn)
            }
            Err(StoreError::Cancelled(cancelled)) => Err(super::account_refusal(cancelled)),
            Err(error) => Err(error.into()),
        }
    }
}
