//! The message table against the contract: every `error` key openapi.yaml
//! lists has its message in English and Chinese, and the table has no key
//! the contract does not list; and the local API answers in the reader's
//! language.

use serde_json::json;
use shared::http::messages::MESSAGES;
use std::collections::BTreeSet;

#[test]
fn every_error_key_of_the_contract_has_both_languages_and_no_other_exists() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let openapi: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(root.join("openapi.yaml")).unwrap()).unwrap();
    let listed: BTreeSet<String> = openapi["components"]["schemas"]["Error"]["properties"]["error"]["enum"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|key| key.as_str().unwrap().to_owned())
        .collect();
    let in_table: BTreeSet<String> = MESSAGES.iter().map(|text| text.key().to_owned()).collect();
    assert_eq!(listed, in_table);
}

#[tokio::test]
async fn the_local_api_answers_in_the_readers_language() {
    let h = tests::harness::on_memory();
    let uri = format!("/sms_codes/13800138000/?image_code=abcd&image_code_id={}", uuid::Uuid::new_v4());
    for (accept, errmsg, language) in [
        (Some("zh-CN,zh;q=0.9"), "验证已过期，请重新验证", "zh-CN"),
        (Some("en-GB,en;q=0.9"), "The verification has expired, please verify again", "en"),
        (None, "The verification has expired, please verify again", "en"),
    ] {
        let mut request = tests::events::request("GET", &uri, None, None, tests::events::CLIENT_IP);
        if let Some(accept) = accept {
            request.headers.push(("accept-language".to_owned(), accept.to_owned()));
        }
        let response = h.api.handle_http(request).await;
        assert_eq!(response.headers()["content-language"], language, "{accept:?}");
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body, json!({"code": 400, "errmsg": errmsg, "error": "captcha_expired"}), "{accept:?}");
    }
}
