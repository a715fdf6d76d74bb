//! Looking up and ending sessions.

use super::{Error, keys};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::{Mobile, SessionToken};
use crate::store::{Cond, Store};

/// Who a session belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub username: String,
    pub mobile: Mobile,
}

/// Reads and deletes sessions.
#[derive(Debug)]
pub struct SessionService<S, C> {
    pub store: S,
    pub clock: C,
}

impl<S: Store, C: Clock> SessionService<S, C> {
    /// The service as every entry point wires it.
    pub fn new(_config: &Config, store: S, clock: C) -> Self {
        Self { store, clock }
    }

    /// The live session for `token`. One GetItem.
    pub async fn current(&self, token: &SessionToken) -> Result<SessionInfo, Error> {
        let item = self.store.get(&keys::session(&token.hash()), self.clock.now()).await?;
        let item = item.ok_or(Error::NotLoggedIn)?;
        let mobile = Mobile::parse(item.s(keys::MOBILE)?).map_err(Error::internal)?;
        Ok(SessionInfo { username: item.s(keys::USERNAME)?.to_owned(), mobile })
    }

    /// Ends the session for `token`, if there is one. One DeleteItem.
    pub async fn end(&self, token: &SessionToken) -> Result<(), Error> {
        self.store.delete(&keys::session(&token.hash()), Cond::Always, self.clock.now()).await?;
        Ok(())
    }
}
