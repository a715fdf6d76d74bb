//! Memory at the Lambda boundary: the register function, run as Lambda runs
//! it against DynamoDB Local, keeps its peak RSS flat over warm sign-ups.
//! Lambda bills by that peak, and growth that is fine at 50 calls ends in an
//! out-of-memory kill at some later count or parameter.

use serde_json::json;
use tests::runtime_api::{Function, Outcome};

/// How much the peak may grow after the first sign-up: small allocations
/// settling, never a second Argon2id block (19 MiB).
const MARGIN_KIB: u64 = 4 * 1024;
const SIGN_UPS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_peak_rss_stays_flat_over_50_sign_ups_on_dynamodb() {
    let store = tests::dynamo_store().await;
    let env = [
        ("TABLE_NAME", store.table().to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", tests::dynamodb_endpoint()),
        ("SMS_CODE_KEY", tests::harness::TEST_CODE_KEY.to_owned()),
    ];
    let register = Function::start("register", &env).await;
    let mut peaks = Vec::with_capacity(SIGN_UPS);
    for i in 0..SIGN_UPS {
        let mobile = format!("139{i:08}");
        let id = tests::seed::sms_code(&store, &mobile, "123456").await;
        let form = json!({"username": format!("user_{i:03}"), "password": "correct horse battery",
            "password2": "correct horse battery", "mobile": mobile, "sms_code": "123456", "sms_code_id": id,
            "allow": true});
        let outcome = register.api.invoke(tests::events::v2("POST", "/register/", None, Some(&form))).await;
        assert!(matches!(outcome, Outcome::Response(ref r) if r["statusCode"] == 200), "sign-up {i}: {outcome:?}");
        peaks.push(register.peak_rss_kib());
    }
    let (first, last) = (peaks[0], peaks[SIGN_UPS - 1]);
    assert!(
        last <= first + MARGIN_KIB,
        "peak RSS grew from {first} KiB after the first sign-up to {last} KiB after {SIGN_UPS}; \
         peak after each, KiB: {peaks:?}"
    );
    register.stop().await;
}
