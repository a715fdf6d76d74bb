//! Items written straight into a store, for tests and benchmarks that need
//! a live SMS code or captcha without going through the API.

use crate::harness::TEST_CODE_KEY;
use shared::clock::{Clock, EpochSeconds, SystemClock};
use shared::crypto::code_key::CodeKey;
use shared::domain::{CaptchaId, Mobile, SmsCode, SmsCodeId};
use shared::random::OsRandom;
use shared::service::keys;
use shared::store::{Cond, Item, Store};

/// A live sign-up code for `mobile`, unattempted, valid for ten minutes,
/// stored as a send under [`TEST_CODE_KEY`] would store it; returns its
/// `sms_code_id`.
pub async fn sms_code<S: Store>(store: &S, mobile: &str, code: &str) -> String {
    sms_code_at(store, mobile, code, "register", SystemClock.now()).await
}

/// [`sms_code`] for `purpose`, written at `now`.
pub async fn sms_code_at<S: Store>(store: &S, mobile: &str, code: &str, purpose: &str, now: EpochSeconds) -> String {
    let id = SmsCodeId::generate(&OsRandom);
    let tag = CodeKey::new(TEST_CODE_KEY.as_bytes()).tag(&id, &SmsCode::parse(code).unwrap());
    let item = Item::new(keys::sms_code(&Mobile::parse(mobile).unwrap()))
        .with_s(keys::CODE, tag)
        .with_n(keys::ATTEMPTS, 0)
        .with_s(keys::SEND_ID, id.as_str())
        .with_s(keys::PURPOSE, purpose)
        // As a send writes it: the default 7-digit prefix it counted against, which verifying credits.
        .with_s(keys::PREFIX, &mobile[..7])
        .expiring_at(now + 600);
    store.put(item, Cond::Always, now).await.unwrap();
    id.as_str().to_owned()
}

/// A live captcha `id` whose answer is `answer`, valid for ten minutes.
pub async fn captcha<S: Store>(store: &S, id: &str, answer: &str) {
    captcha_at(store, id, answer, SystemClock.now()).await;
}

/// [`captcha`], written at `now`.
pub async fn captcha_at<S: Store>(store: &S, id: &str, answer: &str, now: EpochSeconds) {
    let item =
        Item::new(keys::captcha(&CaptchaId::parse(id).unwrap())).with_s(keys::ANSWER, answer).expiring_at(now + 600);
    store.put(item, Cond::Always, now).await.unwrap();
}

/// A registered user (its `user#` item and `mobile#` mirror, generation 0)
/// whose password is `password`, hashed with the production parameters.
pub async fn user<S: Store>(store: &S, username: &str, mobile: &str, password: &str) {
    let now = SystemClock.now();
    let hash = shared::crypto::password::PasswordHasher::owasp()
        .hash(&shared::domain::Password::parse(password).unwrap(), &OsRandom)
        .unwrap();
    let username = shared::domain::Username::parse(username).unwrap();
    let mobile = Mobile::parse(mobile).unwrap();
    for pk in [keys::user(&username), keys::mobile_guard(&mobile)] {
        let item = Item::new(pk)
            .with_s(keys::USERNAME, username.as_str())
            .with_s(keys::MOBILE, mobile.as_str())
            .with_s(keys::PASSWORD_HASH, &hash)
            .with_n(keys::CREATED_AT, now)
            .with_n(keys::GEN, 0);
        store.put(item, Cond::Always, now).await.unwrap();
    }
    store.put(Item::new(keys::generation(&username)).with_n(keys::GEN, 0), Cond::Always, now).await.unwrap();
}
