//! Changing the number (换绑手机号): a code to the new number, proof of the
//! owner, then one transaction that moves the number and ends every other
//! session.

use super::{AccountService, LoginProof, account_refusal};
use crate::clock::Clock;
use crate::domain::{ClientKey, Purpose, SessionToken};
use crate::random::Random;
use crate::service::codes::{self, Guess};
use crate::service::users::{SESSION_ENDED, UserRecord, session_and_account};
use crate::service::{Challenge, Error};
use crate::store::{Store, StoreError};
use crate::telemetry::audit;

/// What the move's failed condition means: another account holds the new number.
const MOBILE_TAKEN: &str = "new mobile taken";

impl<S: Store, C: Clock, R: Random + 'static> AccountService<S, C, R> {
    /// Moves the account of `token` to the number of `guess`, a code sent
    /// there with purpose `change_mobile`, confirmed by `proof`: the
    /// password, or a code sent to the account's current number with
    /// purpose `change_mobile_old`.
    ///
    /// Each code is judged once: claimed (one UpdateItem), and a right one
    /// spent at once by its own transaction, before anything else is
    /// judged, so a wrong password costs the new number's code too. Then
    /// one transaction overwrites the user item with the new number and
    /// the next generation, deletes the old number's mirror, writes the new
    /// one (refused if the number has an account: `mobile_taken`), moves
    /// `gen#<id>` on, so that every other session ends, and carries this
    /// session over to the new generation under the same token; a WeChat
    /// link, if any (read first, one GetItem), is rewritten to the new
    /// number in the same transaction so WeChat login keeps finding the
    /// account. Nothing of it happens unless all of it does.
    pub async fn change_mobile(
        &self,
        token: &SessionToken,
        guess: &Guess,
        proof: LoginProof,
        captcha: Option<Challenge<'_>>,
        client: Option<&ClientKey>,
    ) -> Result<(), Error> {
        let now = self.clock.now();
        let (session, read) = session_and_account(&self.store, token, now).await?;
        audit::mobile(&guess.mobile);
        audit::previous_mobile(&read.mobile);
        if guess.mobile == read.mobile {
            // The account's own number is taken, by itself; a move onto it would touch one item twice.
            return Err(Error::MobileTaken);
        }
        // Boxed: a move nests a claim, a spend and a login's admission, a
        // future deep enough to overflow a 2 MiB thread stack unoptimised.
        let right = Box::pin(codes::check(
            &self.store,
            &self.code_key,
            &self.limits,
            guess,
            Purpose::ChangeMobile,
            client,
            now,
        ))
        .await?;
        Box::pin(self.spend_code(&right, right.spend(), now)).await?;
        let (old, undo) =
            Box::pin(self.judge_owner(&read, proof, captcha, Purpose::ChangeMobileOld, client, now)).await?;
        if let Some(old) = old {
            self.spend_code(&old, old.spend(), now).await?;
        }

        let moved = UserRecord { mobile: guess.mobile.clone(), generation: read.generation + 1, ..read.clone() };
        let mut writes = moved.move_mobile(&read, MOBILE_TAKEN).to_vec();
        writes.push(moved.carry_session(token, &session));
        writes.extend(undo);
        // A WeChat link follows the account to its new number.
        if let Some(openid) = Box::pin(self.linked_openid(&read, now)).await? {
            writes.push(super::wechat::follow_move(&openid, &moved));
        }
        match self.store.transact(writes, now).await {
            Ok(()) => {}
            Err(StoreError::Cancelled(cancelled)) if cancelled.failed(MOBILE_TAKEN).is_some() => {
                return Err(Error::MobileTaken);
            }
            Err(StoreError::Cancelled(cancelled))
                if cancelled.failed(SESSION_ENDED).is_some()
                    || cancelled.failed(super::wechat::LINK_CHANGED).is_some() =>
            {
                return Err(Error::NotLoggedIn);
            }
            Err(StoreError::Cancelled(cancelled)) => return Err(account_refusal(cancelled)),
            Err(error) => return Err(error.into()),
        }
        tracing::info!(username = %read.username, from = %read.mobile, to = %moved.mobile,
            "mobile number changed; every other session ended");
        Ok(())
    }
}
