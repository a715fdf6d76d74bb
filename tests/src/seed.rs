//! Items written straight into a store, for tests and benchmarks that need
//! a live SMS code or captcha without going through the API.

use shared::clock::{Clock, SystemClock};
use shared::domain::{CaptchaId, Mobile};
use shared::service::keys;
use shared::store::{Cond, Item, Store};

/// A live SMS code for `mobile`, unattempted, valid for ten minutes.
pub async fn sms_code<S: Store>(store: &S, mobile: &str, code: &str) {
    let now = SystemClock.now();
    let item = Item::new(keys::sms_code(&Mobile::parse(mobile).unwrap()))
        .with_s(keys::CODE, code)
        .with_n(keys::ATTEMPTS, 0)
        .with_s(keys::SEND_ID, "seeded")
        .expiring_at(now + 600);
    store.put(item, Cond::Always, now).await.unwrap();
}

/// A live captcha `id` whose answer is `answer`, valid for ten minutes.
pub async fn captcha<S: Store>(store: &S, id: &str, answer: &str) {
    let now = SystemClock.now();
    let item =
        Item::new(keys::captcha(&CaptchaId::parse(id).unwrap())).with_s(keys::ANSWER, answer).expiring_at(now + 600);
    store.put(item, Cond::Always, now).await.unwrap();
}
