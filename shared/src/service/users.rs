//! An account as stored: its generation under its own id (`gen#<id>`), the
//! `user#` item and the `mobile#` mirror that point at that id, all written
//! together, and the sessions that belong to the id and its generation.

use super::{Error, keys};
use crate::clock::EpochSeconds;
use crate::domain::{AccountId, Mobile, SessionToken, Username};
use crate::store::{Check, Cond, Item, Op, Store, Value, Write};

/// One account. `id` is its identity, drawn at sign-up and never changed;
/// `generation` its session generation: a session made under an older one,
/// or under another id, is over, which is how every session ends at once.
#[derive(Debug, Clone)]
pub(super) struct UserRecord {
    pub id: AccountId,
    pub username: Username,
    pub mobile: Mobile,
    pub password_hash: String,
    pub created_at: EpochSeconds,
    pub generation: i64,
}

/// What a write's failed condition means when it insists on the account as read.
pub(super) const ACCOUNT_CHANGED: &str = "account changed or closed";
pub(super) const MIRROR_CHANGED: &str = "account mirror changed or closed";
/// A new account's id was live already: 128 random bits make this a broken RNG.
pub(super) const ACCOUNT_ID_TAKEN: &str = "account id taken";
/// The session being carried over to a new generation ended (logged out,
/// expired, or moved on) between its read and the write.
pub(super) const SESSION_ENDED: &str = "this session ended";

impl UserRecord {
    /// Reads a `user#` item or its `mobile#` mirror.
    pub fn from_item(item: &Item) -> Result<Self, Error> {
        Ok(Self {
            id: AccountId::parse(item.s(keys::ACCOUNT_ID)?).map_err(Error::internal)?,
            username: Username::parse(item.s(keys::USERNAME)?).map_err(Error::internal)?,
            mobile: Mobile::parse(item.s(keys::MOBILE)?).map_err(Error::internal)?,
            password_hash: item.s(keys::PASSWORD_HASH)?.to_owned(),
            created_at: item.n(keys::CREATED_AT).unwrap_or_default(),
            generation: item.n(keys::GEN).unwrap_or_default(),
        })
    }

    fn item(&self, pk: String) -> Item {
        Item::new(pk)
            .with_s(keys::ACCOUNT_ID, self.id.as_str())
            .with_s(keys::USERNAME, self.username.as_str())
            .with_s(keys::MOBILE, self.mobile.as_str())
            .with_s(keys::PASSWORD_HASH, &self.password_hash)
            .with_n(keys::CREATED_AT, self.created_at)
            .with_n(keys::GEN, self.generation)
    }

    fn generation_item(&self) -> Item {
        Item::new(keys::generation(&self.id)).with_n(keys::GEN, self.generation)
    }

    fn same_generation(&self) -> Cond {
        Cond::Present(vec![Check::eq(keys::GEN, Value::N(self.generation))])
    }

    /// Creates the account's generation, its user item and its mirror,
    /// refusing a taken username or number (and an id that was ever live).
    pub fn create(&self, username_taken: &'static str, mobile_taken: &'static str) -> [Write; 3] {
        [
            Op::Put { item: self.item(keys::user(&self.username)), cond: Cond::NotLive }.labelled(username_taken),
            Op::Put { item: self.item(keys::mobile_guard(&self.mobile)), cond: Cond::NotLive }.labelled(mobile_taken),
            Op::Put { item: self.generation_item(), cond: Cond::NotLive }.labelled(ACCOUNT_ID_TAKEN),
        ]
    }

    /// Overwrites the three items with `self`, only if they are still at
    /// `read`'s id, generation and password. The number must be `read`'s:
    /// moving it is another write.
    pub fn replace(&self, read: &UserRecord) -> [Write; 3] {
        [
            Op::Put { item: self.item(keys::user(&self.username)), cond: read.unchanged() }.labelled(ACCOUNT_CHANGED),
            Op::Put { item: self.item(keys::mobile_guard(&self.mobile)), cond: read.unchanged() }
                .labelled(MIRROR_CHANGED),
            Op::Put { item: self.generation_item(), cond: read.same_generation() }.labelled(ACCOUNT_CHANGED),
        ]
    }

    /// Moves `read`'s number to `self`'s (and its generation on, as `self`
    /// says): the user item is overwritten and the old number's mirror
    /// deleted only while both are as read; the new number's mirror is
    /// written only while no account holds that number (labelled
    /// `mobile_taken`). Four items, so the transaction it goes in can
    /// carry a spent code and a session next to it.
    pub fn move_mobile(&self, read: &UserRecord, mobile_taken: &'static str) -> [Write; 4] {
        debug_assert!(self.mobile != read.mobile, "a move to the same number would touch one item twice");
        [
            Op::Put { item: self.item(keys::user(&self.username)), cond: read.unchanged() }.labelled(ACCOUNT_CHANGED),
            Op::Delete { pk: keys::mobile_guard(&read.mobile), cond: read.unchanged() }.labelled(MIRROR_CHANGED),
            Op::Put { item: self.item(keys::mobile_guard(&self.mobile)), cond: Cond::NotLive }.labelled(mobile_taken),
            Op::Put { item: self.generation_item(), cond: read.same_generation() }.labelled(ACCOUNT_CHANGED),
        ]
    }

    /// Carries the live session `session` (of `token`) over to this
    /// account's generation and number, keeping its token and lifetime:
    /// only while it is still the session read (same account, same older
    /// generation, not ended), labelled [`SESSION_ENDED`].
    pub fn carry_session(&self, token: &SessionToken, session: &LiveSession) -> Write {
        let item = Item::new(keys::session(&token.hash()))
            .with_s(keys::ACCOUNT_ID, self.id.as_str())
            .with_s(keys::USERNAME, self.username.as_str())
            .with_s(keys::MOBILE, self.mobile.as_str())
            .with_n(keys::GEN, self.generation)
            .with_n(keys::CREATED_AT, session.created_at)
            .expiring_at(session.expires_at);
        let cond = Cond::Live(vec![
            Check::eq_s(keys::ACCOUNT_ID, session.account_id.as_str()),
            Check::eq(keys::GEN, Value::N(session.generation)),
        ]);
        Op::Put { item, cond }.labelled(SESSION_ENDED)
    }

    /// Deletes the three items, only if they are still as read.
    pub fn delete(&self) -> [Write; 3] {
        [
            Op::Delete { pk: keys::user(&self.username), cond: self.unchanged() }.labelled(ACCOUNT_CHANGED),
            Op::Delete { pk: keys::mobile_guard(&self.mobile), cond: self.unchanged() }.labelled(MIRROR_CHANGED),
            Op::Delete { pk: keys::generation(&self.id), cond: self.same_generation() }.labelled(ACCOUNT_CHANGED),
        ]
    }

    /// Goes through only while the account is as read: a password reset,
    /// a log-out everywhere or a closing in between refuses it.
    pub fn check_unchanged(&self, pk: String) -> Write {
        Op::Check { pk, cond: self.unchanged() }.labelled(ACCOUNT_CHANGED)
    }

    fn unchanged(&self) -> Cond {
        Cond::Present(vec![
            Check::eq_s(keys::ACCOUNT_ID, self.id.as_str()),
            Check::eq(keys::GEN, Value::N(self.generation)),
            Check::eq_s(keys::PASSWORD_HASH, &self.password_hash),
        ])
    }

    /// A new session of this account and generation. It carries what a
    /// session read needs (the id, the generation, the name and number it
    /// shows), so checking it costs one read of `gen#<id>` and no more.
    pub fn start_session(&self, token: &SessionToken, now: EpochSeconds, ttl: i64) -> Write {
        let item = Item::new(keys::session(&token.hash()))
            .with_s(keys::ACCOUNT_ID, self.id.as_str())
            .with_s(keys::USERNAME, self.username.as_str())
            .with_s(keys::MOBILE, self.mobile.as_str())
            .with_n(keys::GEN, self.generation)
            .with_n(keys::CREATED_AT, now)
            .expiring_at(now + ttl);
        Op::Put { item, cond: Cond::NotLive }.labelled("session id taken")
    }
}

/// A live session: its item, and its account (by id) still at the
/// generation it was made under.
#[derive(Debug, Clone)]
pub(super) struct LiveSession {
    pub account_id: AccountId,
    pub username: Username,
    pub mobile: Mobile,
    pub generation: i64,
    pub created_at: EpochSeconds,
    pub expires_at: EpochSeconds,
}

/// The session item of `token`. One without an account id (written before
/// accounts had one) belongs to no account and is no session.
async fn session_item<S: Store>(store: &S, token: &SessionToken, now: EpochSeconds) -> Result<LiveSession, Error> {
    let session = store.get(&keys::session(&token.hash()), now).await?.ok_or(Error::NotLoggedIn)?;
    let account_id = session.s(keys::ACCOUNT_ID).ok().and_then(|id| AccountId::parse(id).ok());
    Ok(LiveSession {
        account_id: account_id.ok_or(Error::NotLoggedIn)?,
        username: Username::parse(session.s(keys::USERNAME)?).map_err(Error::internal)?,
        mobile: Mobile::parse(session.s(keys::MOBILE)?).map_err(Error::internal)?,
        generation: session.n(keys::GEN).unwrap_or_default(),
        created_at: session.n(keys::CREATED_AT).unwrap_or_default(),
        expires_at: session.expires_at().unwrap_or_default(),
    })
}

/// Two GetItems: the session, then its account's `gen#<id>` item, which
/// holds nothing but the generation. A closed account's id is gone for
/// good, so its sessions are over whoever takes the name or number later.
pub(super) async fn live_session<S: Store>(
    store: &S,
    token: &SessionToken,
    now: EpochSeconds,
) -> Result<LiveSession, Error> {
    let session = session_item(store, token, now).await?;
    let generation = store.get(&keys::generation(&session.account_id), now).await?.ok_or(Error::NotLoggedIn)?;
    if generation.n(keys::GEN)? != session.generation {
        return Err(Error::NotLoggedIn);
    }
    Ok(session)
}

/// Two GetItems: the session, then the account as stored under its
/// username, for the changes a session may make to it; the username's
/// account must be the session's (same id) at the session's generation.
pub(super) async fn session_account<S: Store>(
    store: &S,
    token: &SessionToken,
    now: EpochSeconds,
) -> Result<UserRecord, Error> {
    Ok(session_and_account(store, token, now).await?.1)
}

/// [`session_account`], with the session item as read.
pub(super) async fn session_and_account<S: Store>(
    store: &S,
    token: &SessionToken,
    now: EpochSeconds,
) -> Result<(LiveSession, UserRecord), Error> {
    let session = session_item(store, token, now).await?;
    let user = store.get(&keys::user(&session.username), now).await?.ok_or(Error::NotLoggedIn)?;
    let user = UserRecord::from_item(&user)?;
    if user.id != session.account_id || user.generation != session.generation {
        return Err(Error::NotLoggedIn);
    }
    Ok((session, user))
}
