//! Looking up and ending sessions.

use super::Error;
use super::keys;
use super::users::live_session;
use crate::clock::{Clock, EpochSeconds};
use crate::domain::{Mobile, SessionToken};
use crate::store::{Cond, Store};

/// Who a session belongs to, and its lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub username: String,
    pub mobile: Mobile,
    pub created_at: EpochSeconds,
    pub expires_at: EpochSeconds,
}

/// Reads and deletes sessions.
#[derive(Debug)]
pub struct SessionService<S, C> {
    pub store: S,
    pub clock: C,
}

impl<S: Store, C: Clock> SessionService<S, C> {
    /// The service as every entry point wires it.
    pub fn new(store: S, clock: C) -> Self {
        Self { store, clock }
    }

    /// The live session for `token`: two GetItems, the session and its
    /// account's generation, since a session of an older one (before a
    /// password reset, a log-out everywhere, a closed account) is over.
    pub async fn current(&self, token: &SessionToken) -> Result<SessionInfo, Error> {
        let session = live_session(&self.store, token, self.clock.now()).await?;
        Ok(SessionInfo {
            username: session.username.as_str().to_owned(),
            mobile: session.mobile,
            created_at: session.created_at,
            expires_at: session.expires_at,
        })
    }

    /// Ends the session for `token`, if there is one. One DeleteItem.
    pub async fn end(&self, token: &SessionToken) -> Result<(), Error> {
        self.store.delete(&keys::session(&token.hash()), Cond::Always, self.clock.now()).await?;
        Ok(())
    }
}
