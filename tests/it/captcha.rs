//! `GET /image_codes/{uuid}/` on both stores, and through a real API Gateway
//! v2 event.

use serde_json::Value;
use shared::clock::Clock;
use shared::domain::CaptchaId;
use shared::service::keys;
use shared::store::Store;
use tests::flows_on_both_stores;
use tests::harness::Harness;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

async fn a_good_uuid_gets_a_png_and_its_answer_is_kept_for_300_seconds<S: Store + 'static>(h: Harness<S>) {
    let id = "3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c";
    let response = h.get(&format!("/image_codes/{id}/")).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some("image/png"));
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert!(response.body.starts_with(PNG_SIGNATURE));
    let item = h.store.get(&keys::captcha(&CaptchaId::parse(id).unwrap()), h.clock.now()).await.unwrap().unwrap();
    let answer = item.s(keys::ANSWER).unwrap();
    assert_eq!(answer.len(), 4);
    assert_eq!(answer, answer.to_lowercase());
    assert_eq!(item.expires_at(), Some(h.clock.now() + 300));
}

async fn the_path_without_a_trailing_slash_works_too<S: Store + 'static>(h: Harness<S>) {
    let response = h.get("/image_codes/3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c").await;
    assert_eq!(response.status, 200);
}

async fn a_bad_uuid_is_a_400_and_stores_nothing<S: Store + 'static>(h: Harness<S>) {
    for bad in ["not-a-uuid", "3f0c9a5e2b1d4c8e9f6a1d2e3f4a5b6c", "%F0%9F%98%80", "3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6"]
    {
        let response = h.get(&format!("/image_codes/{bad}/")).await;
        assert_eq!(response.status, 400, "{bad}");
        assert_eq!(response.error(), "invalid_captcha_id");
        assert_eq!(response.header("content-type"), Some("application/json"));
        let stored = h.store.get(&format!("captcha#{bad}"), h.clock.now()).await.unwrap();
        assert_eq!(stored, None, "nothing stored under {bad}");
    }
}

async fn a_new_request_for_the_same_uuid_replaces_the_answer<S: Store + 'static>(h: Harness<S>) {
    let (id, first) = h.captcha().await;
    h.clock.advance(10);
    let mut replaced = first.clone();
    // Four characters from 14: retry the rare draw of the same answer.
    for _ in 0..5 {
        assert_eq!(h.get(&format!("/image_codes/{id}/")).await.status, 200);
        replaced = h.captcha_answer(&id).await.unwrap();
        if replaced != first {
            break;
        }
    }
    assert_ne!(replaced, first);
    let old = h.get(&format!("/sms_codes/13800138000/?image_code={first}&image_code_id={id}")).await;
    assert_eq!(old.error(), "captcha_incorrect", "the earlier answer no longer counts");
}

async fn a_captcha_expires_after_300_seconds_even_before_ttl_deletes_it<S: Store + 'static>(h: Harness<S>) {
    let (id, answer) = h.captcha().await;
    h.clock.advance(300);
    assert_eq!(h.captcha_answer(&id).await, None);
    let response = h.get(&format!("/sms_codes/13800138000/?image_code={answer}&image_code_id={id}")).await;
    assert_eq!(response.status, 400);
    assert_eq!(response.error(), "captcha_expired");
}

flows_on_both_stores!(
    a_good_uuid_gets_a_png_and_its_answer_is_kept_for_300_seconds,
    the_path_without_a_trailing_slash_works_too,
    a_bad_uuid_is_a_400_and_stores_nothing,
    a_new_request_for_the_same_uuid_replaces_the_answer,
    a_captcha_expires_after_300_seconds_even_before_ttl_deletes_it,
);

/// The fixture is lambda_http's own API Gateway HTTP API v2 example event,
/// pointed at the captcha route.
#[tokio::test]
async fn a_real_v2_event_gets_a_base64_png_in_the_lambda_response() {
    let h = tests::harness::on_memory();
    let mut event: Value = serde_json::from_str(include_str!("../fixtures/apigw_v2_proxy_request.json")).unwrap();
    let id = "0b9a5d2e-8c1f-4e3a-9b7d-6f5e4d3c2b1a";
    event["routeKey"] = "GET /image_codes/{uuid}/".into();
    event["rawPath"] = format!("/image_codes/{id}/").into();
    event["requestContext"]["http"]["path"] = format!("/image_codes/{id}/").into();
    event["requestContext"]["http"]["method"] = "GET".into();
    event["pathParameters"] = serde_json::json!({ "uuid": id });
    let lambda = h.api.invoke_event(shared::http::routes::Function::Captcha, event).await.unwrap();
    assert_eq!(lambda["statusCode"], 200);
    assert_eq!(lambda["isBase64Encoded"], true);
    assert_eq!(lambda["headers"]["content-type"], "image/png");
    let body = lambda["body"].as_str().unwrap();
    use base64::Engine;
    let png = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
    assert!(png.starts_with(PNG_SIGNATURE));
    assert!(h.captcha_answer(id).await.is_some());
}
