//! The mini program's access token, shared through the table: every
//! function and cold start uses the one stored under `wechattoken#<appid>`
//! until shortly before it expires. A refresher fetches `stable_token` and
//! writes it only if no live token is there (one conditional PutItem), so
//! of concurrent refreshers one wins and the rest use its token.

use super::{WeChat, WeChatCode, WeChatError};
use crate::clock::EpochSeconds;
use crate::domain::Mobile;
use crate::service::keys;
use crate::store::{Check, Cond, Item, Store, StoreError};

/// Stored tokens expire this much before WeChat's own expiry, so none is
/// used in its last minutes.
pub const EXPIRY_MARGIN_SECONDS: i64 = 300;

/// Why no number came back.
#[derive(Debug, thiserror::Error)]
pub enum PhoneError {
    #[error(transparent)]
    WeChat(#[from] WeChatError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The live shared token, fetching and storing one when there is none.
/// One GetItem while a token is live; a refresh adds the fetch and one
/// PutItem (and a GetItem when another refresher won).
pub async fn access_token<S: Store, W: WeChat>(store: &S, wechat: &W, now: EpochSeconds) -> Result<String, PhoneError> {
    let key = keys::wechat_token(wechat.app_id());
    if let Some(item) = store.get(&key, now).await? {
        return Ok(item.s(keys::TOKEN)?.to_owned());
    }
    refresh(store, wechat, false, now).await
}

async fn refresh<S: Store, W: WeChat>(
    store: &S,
    wechat: &W,
    force: bool,
    now: EpochSeconds,
) -> Result<String, PhoneError> {
    let key = keys::wechat_token(wechat.app_id());
    let fetched = wechat.fetch_access_token(force).await?;
    let lifetime = (fetched.expires_in - EXPIRY_MARGIN_SECONDS).max(1);
    let item = Item::new(key.clone()).with_s(keys::TOKEN, &fetched.token).expiring_at(now + lifetime);
    match store.put(item, Cond::NotLive, now).await {
        Ok(()) => Ok(fetched.token),
        // Another refresher stored one first: everyone uses that one.
        Err(StoreError::ConditionFailed { .. }) => match store.get(&key, now).await? {
            Some(item) => Ok(item.s(keys::TOKEN)?.to_owned()),
            None => Ok(fetched.token),
        },
        Err(error) => Err(error.into()),
    }
}

/// The number behind a phone-button code, with the shared token. When
/// WeChat refuses the token (`40001`: not the latest), it is removed if it
/// is still the stored one, a new one is forced, and the call is made once more.
pub async fn phone_number<S: Store, W: WeChat>(
    store: &S,
    wechat: &W,
    code: &WeChatCode,
    now: EpochSeconds,
) -> Result<Mobile, PhoneError> {
    let token = access_token(store, wechat, now).await?;
    match wechat.phone_number(&token, code).await {
        Err(WeChatError::TokenRefused { .. }) => {
            let key = keys::wechat_token(wechat.app_id());
            let still_ours = Cond::Present(vec![Check::eq_s(keys::TOKEN, token.as_str())]);
            match store.delete(&key, still_ours, now).await {
                Ok(()) | Err(StoreError::ConditionFailed { .. }) => {}
                Err(error) => return Err(error.into()),
            }
            let token = refresh(store, wechat, true, now).await?;
            Ok(wechat.phone_number(&token, code).await?)
        }
        answer => Ok(answer?),
    }
}
