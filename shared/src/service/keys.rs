//! Partition keys and attribute names: the table's layout in one place.

use crate::domain::{AccountId, CaptchaId, Mobile, TokenHash, Username};

/// `captcha#<uuid>`: `answer` (lowercase), `expires_at`; once a send has
/// passed it, `request` (HMAC of the captcha id, the answer, the number and
/// the purpose) and `send_id` instead, until the cooldown ends: how a
/// repeat of that same send is recognised (`request` is `released` once
/// the provider refused that send: no repeat matches it). Takes leave a
/// marker in place.
pub fn captcha(id: &CaptchaId) -> String {
    format!("captcha#{id}")
}

/// `pass#<provider>#<sha256 of the ticket or lot_number>`: a provider's
/// pass, spent: `request` (the tag of the request that claimed it),
/// `expires_at` an hour on; once a send has passed with it, `send_id` and
/// `retry_at` too, a marker as the captcha's is
/// ([`crate::human::Proof::key`] names it).
pub fn pass(provider: &str, id: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("pass#{provider}#{}", hex::encode(Sha256::digest(id.as_bytes())))
}

/// `sendflag#<mobile>`: `send_id`, `expires_at` = end of the cooldown.
pub fn send_flag(mobile: &Mobile) -> String {
    format!("sendflag#{}", mobile.as_str())
}

/// `smscode#<mobile>`: `code` (HMAC), `attempts`, `send_id`, `purpose`,
/// `expires_at`, and `prefix` when the code went out by SMS (not a test
/// number's): verifying it credits the prefix when its purpose is one that
/// pays the prefix's allowance (see `Purpose::number_proven`).
pub fn sms_code(mobile: &Mobile) -> String {
    format!("smscode#{}", mobile.as_str())
}

/// `user#<lowercase username>`: the username's guard, and the account it
/// points at: `account_id`, `username`, `mobile`, `password_hash`,
/// `created_at`, `gen` (the session generation: sessions of an older one
/// are over).
pub fn user(username: &Username) -> String {
    format!("user#{}", username.canonical())
}

/// `gen#<account id>`: `gen`, the account's session generation alone,
/// under the account's own id, so the session function can check a session
/// without reading the user item and its password hash, and no later
/// account of the same name or number can ever bring a session back.
/// Written with the user item, always; deleted when the account closes.
pub fn generation(id: &AccountId) -> String {
    format!("gen#{}", id.as_str())
}

/// `mobile#<mobile>`: one account per number, and a mirror of its user
/// item (same attributes, `account_id` among them), so a login by number is one read. Both are
/// always written in one transaction.
pub fn mobile_guard(mobile: &Mobile) -> String {
    format!("mobile#{}", mobile.as_str())
}

/// `session#<sha256 of token>`: `account_id`, `gen`, `username`, `mobile`,
/// `created_at`, `expires_at`: live while `gen#<account_id>` holds `gen`.
pub fn session(hash: &TokenHash) -> String {
    format!("session#{}", hash.as_str())
}

/// `signupticket#<sha256 of ticket>`: `mobile` (the number the carrier
/// proved), `expires_at`. Spent by the sign-up it lets through, in the
/// transaction that creates the account.
pub fn signup_ticket(hash: &TokenHash) -> String {
    format!("signupticket#{}", hash.as_str())
}

/// `wechattoken#<appid>`: `token`, the mini program's access token, and
/// `expires_at` a few minutes before WeChat's own expiry: one token for
/// every function and cold start (fetching a new one ends the old).
pub fn wechat_token(app_id: &str) -> String {
    format!("wechattoken#{app_id}")
}

/// `wechat#<openid>`: the account a WeChat user is linked to,
/// `account_id` and `mobile`; a login by it holds only while the number's
/// mirror still names that id (a closed account's link logs nobody in).
pub fn wechat_link(openid: &str) -> String {
    format!("wechat#{openid}")
}

/// `wechatof#<account id>`: `openid`, the WeChat user linked to the
/// account (at most one), written and deleted with its `wechat#` link, so
/// closing or unlinking the account finds the link to delete.
pub fn wechat_of(id: &AccountId) -> String {
    format!("wechatof#{}", id.as_str())
}

/// `wechatticket#<sha256 of ticket>`: `openid`, `expires_at`: a WeChat user
/// not yet linked, between `/wechat_login/` and `/wechat_phone/`.
pub fn wechat_ticket(hash: &TokenHash) -> String {
    format!("wechatticket#{}", hash.as_str())
}

pub const TOKEN: &str = "token";
pub const OPENID: &str = "openid";
pub const ANSWER: &str = "answer";
pub const SEND_ID: &str = "send_id";
pub const CODE: &str = "code";
pub const ATTEMPTS: &str = "attempts";
pub const ACCOUNT_ID: &str = "account_id";
pub const USERNAME: &str = "username";
pub const MOBILE: &str = "mobile";
pub const PASSWORD_HASH: &str = "password_hash";
pub const CREATED_AT: &str = "created_at";
pub const GEN: &str = "gen";
pub const PURPOSE: &str = "purpose";
pub const REQUEST: &str = "request";
pub const PREFIX: &str = "prefix";
/// When a send marker's cooldown ends (its `expires_at` may be later).
pub const RETRY_AT: &str = "retry_at";
/// The number in a `limit#<kind>#<subject>#<window>` counter.
pub const COUNT: &str = "count";
