//! End to end at the Lambda boundary: each real function binary runs as
//! Lambda runs it, under a Runtime API on loopback, fed API Gateway HTTP API
//! v2 events, against DynamoDB Local and a loopback Ronglian server.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use shared::clock::{Clock, SystemClock};
use shared::domain::CaptchaId;
use shared::service::keys;
use shared::store::{DynamoStore, Store};
use shared::telemetry::Metric;
use tests::ronglian::RonglianServer;
use tests::runtime_api::{Function, Outcome};
use tests::telemetry::total;

fn request(method: &str, uri: &str, cookies: &[String], body: Option<Value>) -> Value {
    let cookie = (!cookies.is_empty()).then(|| cookies.join("; "));
    tests::events::v2(method, uri, cookie.as_deref(), body.as_ref())
}

async fn call(function: &Function, event: Value) -> Value {
    match function.api.invoke(event).await {
        Outcome::Response(response) => response,
        Outcome::Error(error) => panic!("the function reported an error: {error}"),
    }
}

/// The code key the sms and register functions share.
const SMS_CODE_KEY: &str = "a test key for the runtime API suite, 48 bytes";

fn body_json(response: &Value) -> Value {
    assert_eq!(response["isBase64Encoded"], false);
    serde_json::from_str(response["body"].as_str().unwrap()).unwrap()
}

/// What every function here starts with: the test's table on DynamoDB Local,
/// and logs at TRACE, where the runtime logs raw events.
fn lambda_env(store: &DynamoStore) -> Vec<(&'static str, String)> {
    vec![
        ("TABLE_NAME", store.table().to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", tests::dynamodb_endpoint()),
        ("AWS_LAMBDA_LOG_LEVEL", "TRACE".to_owned()),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_flow_through_the_lambda_runtime_api() {
    let store = tests::dynamo_store().await;
    let ronglian = RonglianServer::start().await;
    // Every function logs at TRACE: no level may print a secret.
    let mut env = lambda_env(&store);
    env.push(("SMS_CODE_KEY", SMS_CODE_KEY.to_owned()));
    let captcha = Function::start("captcha", &env).await;
    let session = Function::start("session", &env).await;
    let register = Function::start("register", &env).await;
    env.extend(ronglian.env());
    let sms = Function::start("sms", &env).await;

    // Captcha: a base64 PNG.
    let id = uuid::Uuid::new_v4().to_string();
    let response = call(&captcha, request("GET", &format!("/image_codes/{id}/"), &[], None)).await;
    assert_eq!(response["statusCode"], 200);
    assert_eq!(response["isBase64Encoded"], true);
    assert_eq!(response["headers"]["content-type"], "image/png");
    assert_eq!(response["headers"]["cache-control"], "no-store");
    let png = STANDARD.decode(response["body"].as_str().unwrap()).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    let answer = store
        .get(&keys::captcha(&CaptchaId::parse(&id).unwrap()), SystemClock.now())
        .await
        .unwrap()
        .unwrap()
        .s(keys::ANSWER)
        .unwrap()
        .to_owned();

    // SMS: sent through the loopback Ronglian server, which checked the signature.
    let mobile = "13800138000";
    let uri = format!("/sms_codes/{mobile}/?image_code={}&image_code_id={id}", answer.to_uppercase());
    let response = call(&sms, request("GET", &uri, &[], None)).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    let sent = body_json(&response);
    assert_eq!((sent["code"].as_i64(), sent["errmsg"].as_str()), (Some(0), Some("ok")), "{sent}");
    let sms_code_id = sent["sms_code_id"].as_str().unwrap().to_owned();
    assert_eq!(sms_code_id.len(), 32, "{sent}");
    assert!(ronglian.refusals().is_empty(), "{:?}", ronglian.refusals());
    let code = ronglian.last_code_for(mobile).unwrap();
    assert_eq!(ronglian.accepted()[0].datas, vec![code.clone(), "3".to_owned()]);

    // The same send again (an app that lost the answer): the same id, nothing sent.
    let response = call(&sms, request("GET", &uri, &[], None)).await;
    assert_eq!(response["statusCode"], 200, "a repeat of the send: {response}");
    assert_eq!(body_json(&response)["sms_code_id"], sms_code_id.as_str());
    assert_eq!(ronglian.accepted().len(), 1, "a repeat sends nothing");
    // The same captcha for another number: it was spent by the first request.
    let other = format!("/sms_codes/13900139000/?image_code={answer}&image_code_id={id}");
    let response = call(&sms, request("GET", &other, &[], None)).await;
    assert_eq!(response["statusCode"], 400, "the captcha was spent: {response}");
    assert_eq!(body_json(&response)["error"], "captcha_expired");

    // Register: the cookie travels in the v2 response's `cookies`, not in headers.
    let form = json!({"username": "alice_01", "password": "correct horse", "password2": "correct horse",
        "mobile": mobile, "sms_code": code, "sms_code_id": sms_code_id, "allow": true});
    let response = call(&register, request("POST", "/register/", &[], Some(form))).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert!(response["headers"].get("set-cookie").is_none());
    let cookie = response["cookies"][0].as_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-sessionid=") && cookie.contains("HttpOnly; Secure; SameSite=Lax"), "{cookie}");
    let session_cookie = cookie.split(';').next().unwrap().to_owned();
    let session_token = session_cookie.trim_start_matches("__Host-sessionid=").to_owned();

    // Session: the cookie comes back in the event's `cookies`.
    let response = call(&session, request("GET", "/session", std::slice::from_ref(&session_cookie), None)).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    let who = body_json(&response);
    assert_eq!((who["username"].as_str(), who["mobile"].as_str()), (Some("alice_01"), Some("138****8000")), "{who}");
    assert_eq!(who["expires_at"].as_i64().unwrap() - who["created_at"].as_i64().unwrap(), 14 * 24 * 3600);
    let response = call(&session, request("DELETE", "/session", std::slice::from_ref(&session_cookie), None)).await;
    assert!(response["cookies"][0].as_str().unwrap().contains("Max-Age=0"));
    let response = call(&session, request("GET", "/session", &[session_cookie], None)).await;
    assert_eq!(response["statusCode"], 401);

    // The logs are JSON lines and never show the secrets that went through.
    let mut logs = String::new();
    for function in [captcha, sms, register, session] {
        logs.push_str(&function.stop().await);
    }
    let secrets = [
        tests::ronglian::AUTH_TOKEN,
        code.as_str(),
        "correct horse",
        mobile,
        &session_token,
        &sms_code_id,
        SMS_CODE_KEY,
    ];
    for secret in secrets {
        assert!(!logs.contains(secret), "{secret:?} appears in the logs:\n{logs}");
    }
    assert!(logs.contains("138****8000"), "{logs}");

    // The sends' audit lines: the send, its repeat (marked, nothing sent) and the spent captcha.
    let sends: Vec<(String, bool)> = tests::telemetry::audit_events(&logs)
        .iter()
        .filter(|event| event["audit"] == "code_sent")
        .map(|event| (event["outcome"].as_str().unwrap().to_owned(), event["repeated"] == true))
        .collect();
    let expected = [("ok", false), ("ok", true), ("captcha_expired", false)].map(|(o, r)| (o.to_owned(), r));
    assert_eq!(sends, expected);

    // The metrics CloudWatch reads from those logs: checked against the catalogue as they are parsed.
    let points = tests::telemetry::metrics(&logs);
    assert!(points.iter().all(|p| p.namespace == "PhoneVerify"), "the default namespace");
    for function in ["captcha", "sms", "register", "session"] {
        assert_eq!(total(&points, Metric::ColdStarts, &[("Function", function)]), 1.0, "{function}");
    }
    assert_eq!(total(&points, Metric::CodesSent, &[("Purpose", "register"), ("Prefix", "138")]), 1.0);
    assert_eq!(total(&points, Metric::ProviderCalls, &[]), 1.0);
    assert_eq!(total(&points, Metric::ProviderErrors, &[]), 0.0);
    assert_eq!(total(&points, Metric::CodesVerified, &[("Purpose", "register")]), 1.0);
    assert_eq!(total(&points, Metric::Refusals, &[("Error", "captcha_expired")]), 1.0);
    assert_eq!(total(&points, Metric::Refusals, &[("Error", "not_logged_in")]), 1.0);
    let latency = |metric, with: &[(&str, &str)]| {
        points
            .iter()
            .filter(|p| {
                p.metric == metric && with.iter().all(|w| p.dimensions.contains(&(w.0.to_owned(), w.1.to_owned())))
            })
            .flat_map(|p| p.values.clone())
            .collect::<Vec<f64>>()
    };
    let provider = latency(Metric::ProviderLatency, &[]);
    assert!(provider.len() == 1 && provider[0] > 0.0, "{provider:?}");
    for operation in ["DeleteItem", "TransactWriteItems", "UpdateItem", "GetItem"] {
        let calls = latency(Metric::DynamoDbLatency, &[("Operation", operation)]);
        assert!(!calls.is_empty() && calls.iter().all(|ms| *ms > 0.0), "{operation}: {calls:?}");
    }
}

#[tokio::test]
async fn a_missing_variable_fails_the_cold_start_with_one_line_naming_it() {
    for (name, env, variable) in [
        ("captcha", vec![], "TABLE_NAME is not set"),
        ("sms", vec![("TABLE_NAME", "t".to_owned())], "SMS_PROVIDERS is not set"),
        (
            "sms",
            vec![("TABLE_NAME", "t".to_owned()), ("SMS_PROVIDERS", "aliyun".to_owned())],
            "ALIYUN_ACCESS_KEY_ID is not set",
        ),
        (
            "register",
            vec![("TABLE_NAME", "t".to_owned()), ("SESSION_TTL_SECONDS", "soon".to_owned())],
            "SESSION_TTL_SECONDS is invalid",
        ),
    ] {
        let mut function = Function::start(name, &env).await;
        let status = tokio::time::timeout(std::time::Duration::from_secs(10), function.child.wait())
            .await
            .expect("the function should exit at init")
            .unwrap();
        assert!(!status.success(), "{name}");
        assert!(function.api.first_next().is_none(), "{name} must not take invocations");
        let logs = function.stop().await;
        let lines: Vec<&str> = logs.lines().filter(|l| l.contains("invalid configuration")).collect();
        assert_eq!(lines.len(), 1, "{name}: {logs}");
        assert!(lines[0].contains(variable), "{name}: {}", lines[0]);
    }
}

/// Invokes and returns the status and the JSON body.
async fn status_and_body(function: &Function, event: Value) -> (u64, Value) {
    let response = call(function, event).await;
    (response["statusCode"].as_u64().unwrap(), body_json(&response))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn returning_users_through_the_lambda_runtime_api() {
    let store = tests::dynamo_store().await;
    let ronglian = RonglianServer::start().await;
    let mut env = lambda_env(&store);
    env.extend([
        ("SMS_CODE_KEY", SMS_CODE_KEY.to_owned()),
        ("SMS_COOLDOWN_SECONDS", "1".to_owned()),
        ("METRICS_NAMESPACE", "PhoneVerify/test-stack".to_owned()),
    ]);
    env.extend(ronglian.env());
    let (sms, register, account, session) = (
        Function::start("sms", &env).await,
        Function::start("register", &env).await,
        Function::start("account", &env).await,
        Function::start("session", &env).await,
    );
    let mobile = "13800138000";
    let send = |purpose: &'static str| {
        let (sms, store, ronglian) = (&sms, &store, &ronglian);
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
            let id = uuid::Uuid::new_v4().to_string();
            tests::seed::captcha(store, &id, "abcd").await;
            let uri = format!("/sms_codes/{mobile}/?image_code=abcd&image_code_id={id}&purpose={purpose}");
            let (status, body) = status_and_body(sms, request("GET", &uri, &[], None)).await;
            assert_eq!(status, 200, "{purpose}: {body}");
            let code = ronglian.last_code_for(mobile).unwrap();
            (code, body["sms_code_id"].as_str().unwrap().to_owned())
        }
    };
    let cookie_of = |response: &Value| response["cookies"][0].as_str().unwrap().split(';').next().unwrap().to_owned();

    let (code, id) = send("register").await;
    let form = json!({"username": "alice_01", "password": "correct horse", "password2": "correct horse",
        "mobile": mobile, "sms_code": code, "sms_code_id": id, "allow": true});
    let browser = cookie_of(&call(&register, request("POST", "/register/", &[], Some(form))).await);

    // Password login for an app: the token in the body, then a bearer.
    let login = json!({"account": mobile, "password": "correct horse", "session": "token"});
    let (status, body) = status_and_body(&account, request("POST", "/login/", &[], Some(login))).await;
    assert_eq!(status, 200, "{body}");
    let app_token = body["token"].as_str().unwrap().to_owned();
    let mut whoami = request("GET", "/session", &[], None);
    whoami["headers"]["authorization"] = json!(format!("Bearer {app_token}"));
    assert_eq!(status_and_body(&session, whoami.clone()).await.1["username"], "alice_01");
    let wrong = json!({"account": "alice_01", "password": "not the password"});
    let (status, body) = status_and_body(&account, request("POST", "/login", &[], Some(wrong))).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("login_failed")));

    // SMS login, then a reset that ends every older session.
    let (code, id) = send("login").await;
    let form = json!({"mobile": mobile, "sms_code": code, "sms_code_id": id});
    let by_code = cookie_of(&call(&account, request("POST", "/sms_login/", &[], Some(form))).await);
    let (code, id) = send("reset").await;
    let form = json!({"mobile": mobile, "sms_code": code, "sms_code_id": id,
        "password": "a new secret", "password2": "a new secret"});
    let after_reset = cookie_of(&call(&account, request("POST", "/password_reset/", &[], Some(form))).await);
    for old in [&browser, &by_code] {
        let (status, _) = status_and_body(&session, request("GET", "/session", std::slice::from_ref(old), None)).await;
        assert_eq!(status, 401, "{old}");
    }
    assert_eq!(status_and_body(&session, whoami.clone()).await.0, 401, "the app's token ended too");

    // Log out everywhere, log in again, close the account.
    let (status, _) =
        status_and_body(&account, request("DELETE", "/sessions", std::slice::from_ref(&after_reset), None)).await;
    assert_eq!(status, 200);
    let login = json!({"account": "alice_01", "password": "a new secret"});
    let fresh = cookie_of(&call(&account, request("POST", "/login/", &[], Some(login))).await);
    let close = json!({"password": "a new secret"});
    let (status, body) =
        status_and_body(&account, request("DELETE", "/account", std::slice::from_ref(&fresh), Some(close))).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = status_and_body(&session, request("GET", "/session", &[fresh], None)).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("not_logged_in")));

    let mut logs = String::new();
    for function in [sms, register, account, session] {
        logs.push_str(&function.stop().await);
    }
    for secret in ["correct horse", "a new secret", mobile, app_token.as_str(), SMS_CODE_KEY] {
        assert!(!logs.contains(secret), "{secret:?} appears in the logs");
    }

    // One audit line per security event, in order, with the masked number, the client and the request.
    let events = tests::telemetry::audit_events(&logs);
    let seen: Vec<(&str, &str, Option<&str>)> = events
        .iter()
        .map(|e| {
            (
                e["audit"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
                e["purpose"].as_str().or(e["method"].as_str()),
            )
        })
        .collect();
    let expected = [
        // Each send's provider attempt (Ronglian, the only provider), before its code_sent.
        ("sms_attempt", "ok", None),
        ("sms_attempt", "ok", None),
        ("sms_attempt", "ok", None),
        ("code_sent", "ok", Some("register")),
        ("code_verified", "ok", Some("register")),
        // The sign-up says how its number was proven.
        ("account_created", "ok", Some("sms_code")),
        ("login_succeeded", "ok", Some("password")),
        ("login_failed", "login_failed", Some("password")),
        ("code_sent", "ok", Some("login")),
        ("code_verified", "ok", Some("login")),
        ("login_succeeded", "ok", Some("sms_code")),
        ("code_sent", "ok", Some("reset")),
        ("code_verified", "ok", Some("reset")),
        ("password_reset", "ok", None),
        ("sessions_revoked", "ok", None),
        ("login_succeeded", "ok", Some("password")),
        ("account_closed", "ok", None),
    ];
    // Each function's output is read whole, so events are in order per function: compare as multisets.
    let mut sorted = seen.clone();
    sorted.sort();
    let mut wanted = expected.to_vec();
    wanted.sort();
    assert_eq!(sorted, wanted, "{events:#?}");
    let client = tests::events::CLIENT_IP.to_string();
    for event in &events {
        assert_eq!(event["mobile"], "138****8000", "{event}");
        assert_eq!(event["client_ip"], client.as_str(), "{event}");
        assert!(event["request_id"].as_str().is_some_and(|id| !id.is_empty()), "{event}");
        assert!(["sms", "register", "account"].contains(&event["function"].as_str().unwrap()), "{event}");
        assert!(event["time"].as_u64().is_some_and(|t| t > 1_600_000_000_000), "{event}");
    }
    let points = tests::telemetry::metrics(&logs);
    assert!(points.iter().all(|p| p.namespace == "PhoneVerify/test-stack"), "METRICS_NAMESPACE names the namespace");
    for purpose in ["register", "login", "reset"] {
        assert_eq!(total(&points, Metric::CodesSent, &[("Purpose", purpose)]), 1.0, "{purpose}");
        assert_eq!(total(&points, Metric::CodesVerified, &[("Purpose", purpose)]), 1.0, "{purpose}");
    }
    assert_eq!(total(&points, Metric::Refusals, &[("Error", "login_failed")]), 1.0);
}

/// The SMS binary as deployed: `SMS_PROVIDERS=aliyun,tencent`, every secret
/// from the Secrets Manager stand-in (`SECRETS_ARN`) and none in the
/// environment, Aliyun in arrears so Tencent sends, logging at TRACE.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sms_function_fails_over_with_its_secrets_from_secrets_manager() {
    use tests::aliyun::{self, AliyunServer};
    use tests::secrets_manager::{self, SecretsManagerServer};
    use tests::tencent::TencentServer;

    let store = tests::dynamo_store().await;
    let (aliyun, tencent) = (AliyunServer::start().await, TencentServer::start().await);
    aliyun.set_mode(aliyun::Mode::Code("isv.AMOUNT_NOT_ENOUGH"));
    let secret = json!({
        "SMS_CODE_KEY": SMS_CODE_KEY,
        "ALIYUN_ACCESS_KEY_SECRET": aliyun::ACCESS_KEY_SECRET,
        "TENCENT_SECRET_KEY": tests::tencent::SECRET_KEY,
    });
    let secrets = SecretsManagerServer::start(&secret.to_string()).await;
    let secret_names = ["SMS_CODE_KEY", "ALIYUN_ACCESS_KEY_SECRET", "TENCENT_SECRET_KEY"];
    let mut env = lambda_env(&store);
    env.extend([
        ("SMS_PROVIDERS", "aliyun,tencent".to_owned()),
        ("SECRETS_ARN", secrets_manager::ARN.to_owned()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets.endpoint()),
        ("AWS_REGION", secrets_manager::REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", secrets_manager::ACCESS_KEY_ID.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", secrets_manager::SECRET_ACCESS_KEY.to_owned()),
    ]);
    // The plain variables only: a secret one in the environment would be ignored.
    env.extend(aliyun.env().into_iter().chain(tencent.env()).filter(|(name, _)| !secret_names.contains(name)));
    let sms = Function::start("sms", &env).await;

    let (id, answer) = (uuid::Uuid::new_v4().to_string(), "abcd");
    tests::seed::captcha(&store, &id, answer).await;
    let mobile = "13800138000";
    let uri = format!("/sms_codes/{mobile}/?image_code={answer}&image_code_id={id}");
    let response = call(&sms, request("GET", &uri, &[], None)).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert_eq!((secrets.calls(), secrets.refusals()), (1, Vec::<String>::new()), "one GetSecretValue per cold start");
    assert_eq!((aliyun.received(), aliyun.accepted().len()), (1, 0));
    let code = tencent.accepted()[0].params[0].clone();
    let second = uuid::Uuid::new_v4().to_string();
    tests::seed::captcha(&store, &second, answer).await;
    let uri = format!("/sms_codes/13900139000/?image_code={answer}&image_code_id={second}");
    assert_eq!(call(&sms, request("GET", &uri, &[], None)).await["statusCode"], 200);
    assert_eq!(secrets.calls(), 1, "the secret is kept for the execution environment");

    let logs = sms.stop().await;
    for leaked in [SMS_CODE_KEY, aliyun::ACCESS_KEY_SECRET, tests::tencent::SECRET_KEY, code.as_str(), mobile] {
        assert!(!logs.contains(leaked), "{leaked:?} appears in the logs:\n{logs}");
    }
    let attempts: Vec<(String, String)> = tests::telemetry::audit_events(&logs)
        .iter()
        .filter(|event| event["audit"] == "sms_attempt")
        .map(|event| (event["provider"].as_str().unwrap().to_owned(), event["outcome"].as_str().unwrap().to_owned()))
        .collect();
    let expected =
        [("aliyun", "provider_refused"), ("tencent", "ok"), ("aliyun", "provider_refused"), ("tencent", "ok")];
    assert_eq!(attempts, expected.map(|(p, o)| (p.to_owned(), o.to_owned())));
    let points = tests::telemetry::metrics(&logs);
    assert_eq!(total(&points, Metric::Failovers, &[("Provider", "aliyun")]), 2.0);
    assert_eq!(total(&points, Metric::ProviderAttempts, &[("Provider", "tencent"), ("Outcome", "sent")]), 2.0);
    assert_eq!(
        total(&points, Metric::ProviderAttempts, &[("Provider", "aliyun"), ("Outcome", "provider_refused")]),
        2.0
    );
}

/// The sms binary judging through `captcha` (a provider's variables, its key
/// among the secrets), sending through Ronglian, its secrets from the
/// Secrets Manager stand-in, logging at TRACE.
async fn sms_with_captcha(
    store: &DynamoStore,
    ronglian: &RonglianServer,
    captcha: &[(&'static str, String)],
    secrets: &tests::secrets_manager::SecretsManagerServer,
) -> Function {
    use tests::secrets_manager;
    let secret_names = shared::config::secret_variables().collect::<Vec<_>>();
    let mut env = lambda_env(store);
    env.extend([
        ("SECRETS_ARN", secrets_manager::ARN.to_owned()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets.endpoint()),
        ("AWS_REGION", secrets_manager::REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", secrets_manager::ACCESS_KEY_ID.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", secrets_manager::SECRET_ACCESS_KEY.to_owned()),
        ("CAPTCHA_TIMEOUT_MS", "300".to_owned()),
    ]);
    let plain = ronglian.env().into_iter().chain(captcha.iter().cloned());
    env.extend(plain.filter(|(name, _)| !secret_names.contains(name)));
    Function::start("sms", &env).await
}

fn status_and_error(response: &Value) -> (u64, String) {
    let error = body_json(response)["error"].as_str().unwrap_or_default().to_owned();
    (response["statusCode"].as_u64().unwrap(), error)
}

/// The verdicts in the sms function's audit lines, in order.
fn captcha_verdicts(logs: &str, provider: &str) -> Vec<String> {
    tests::telemetry::audit_events(logs)
        .iter()
        .filter(|event| event["audit"] == "code_sent")
        .inspect(|event| assert_eq!(event["captcha_provider"], provider, "{event}"))
        .filter_map(|event| event["captcha"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sms_function_judges_tencent_captcha_passes_once_and_fails_closed() {
    use tests::secrets_manager::SecretsManagerServer;
    use tests::tencent_captcha::{self, TencentCaptchaServer};
    let store = tests::dynamo_store().await;
    let (ronglian, captcha) = (RonglianServer::start().await, TencentCaptchaServer::start().await);
    let secret = json!({
        "SMS_CODE_KEY": SMS_CODE_KEY,
        "RONGLIAN_AUTH_TOKEN": tests::ronglian::AUTH_TOKEN,
        "TENCENT_SECRET_KEY": tencent_captcha::SECRET_KEY,
        "TENCENT_CAPTCHA_APP_SECRET_KEY": tencent_captcha::APP_SECRET_KEY,
    });
    let secrets = SecretsManagerServer::start(&secret.to_string()).await;
    let sms = sms_with_captcha(&store, &ronglian, &captcha.env(), &secrets).await;
    let client_ip = tests::events::CLIENT_IP.to_string();
    let query = |(ticket, randstr): &(String, String)| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("ticket", ticket)
            .append_pair("randstr", randstr)
            .finish()
    };

    let pass = captcha.issue(&client_ip);
    let uri = format!("/sms_codes/13800138000/?{}", query(&pass));
    let response = call(&sms, request("GET", &uri, &[], None)).await;
    assert_eq!(response["statusCode"], 200, "{response} {:?}", captcha.refusals());
    let code = ronglian.last_code_for("13800138000").expect("the code was sent");
    // Reused for another number, forged, and with the verifier stalled: no SMS.
    let reused = format!("/sms_codes/13900139000/?{}", query(&pass));
    assert_eq!(
        status_and_error(&call(&sms, request("GET", &reused, &[], None)).await),
        (400, "captcha_expired".to_owned())
    );
    let forged = format!("/sms_codes/13900139000/?{}", query(&("t03forged*".to_owned(), pass.1.clone())));
    assert_eq!(
        status_and_error(&call(&sms, request("GET", &forged, &[], None)).await),
        (400, "captcha_incorrect".to_owned())
    );
    captcha.set_mode(tencent_captcha::Mode::Stall(std::time::Duration::from_secs(10)));
    let stalled = format!("/sms_codes/13900139000/?{}", query(&captcha.issue(&client_ip)));
    assert_eq!(
        status_and_error(&call(&sms, request("GET", &stalled, &[], None)).await),
        (503, "captcha_unavailable".to_owned())
    );
    assert_eq!((ronglian.accepted().len(), captcha.received()), (1, 3), "one SMS; the reused pass asked no one");

    let logs = sms.stop().await;
    for leaked in [tencent_captcha::SECRET_KEY, tencent_captcha::APP_SECRET_KEY, pass.0.as_str(), code.as_str()] {
        assert!(!logs.contains(leaked), "{leaked:?} appears in the logs:\n{logs}");
    }
    assert_eq!(captcha_verdicts(&logs, "tencent"), ["pass", "spent", "fail", "unavailable"]);
    let points = tests::telemetry::metrics(&logs);
    for verdict in ["pass", "spent", "fail", "unavailable"] {
        let counted = total(&points, Metric::CaptchaVerdicts, &[("Provider", "tencent"), ("Verdict", verdict)]);
        assert_eq!(counted, 1.0, "{verdict}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sms_function_judges_geetest_passes_once_and_fails_closed() {
    use tests::geetest::{self, GeetestServer};
    use tests::secrets_manager::SecretsManagerServer;
    let store = tests::dynamo_store().await;
    let (ronglian, captcha) = (RonglianServer::start().await, GeetestServer::start().await);
    let secret = json!({
        "SMS_CODE_KEY": SMS_CODE_KEY,
        "RONGLIAN_AUTH_TOKEN": tests::ronglian::AUTH_TOKEN,
        "GEETEST_CAPTCHA_KEY": geetest::CAPTCHA_KEY,
    });
    let secrets = SecretsManagerServer::start(&secret.to_string()).await;
    let sms = sms_with_captcha(&store, &ronglian, &captcha.env(), &secrets).await;

    let pass = captcha.issue();
    let uri = format!("/sms_codes/13800138000/?{}", pass.query());
    let response = call(&sms, request("GET", &uri, &[], None)).await;
    assert_eq!(response["statusCode"], 200, "{response} {:?}", captcha.refusals());
    let code = ronglian.last_code_for("13800138000").expect("the code was sent");
    let reused = format!("/sms_codes/13900139000/?{}", pass.query());
    assert_eq!(
        status_and_error(&call(&sms, request("GET", &reused, &[], None)).await),
        (400, "captcha_expired".to_owned())
    );
    let mixed = geetest::Pass { pass_token: captcha.issue().pass_token, ..captcha.issue() };
    let forged = format!("/sms_codes/13900139000/?{}", mixed.query());
    assert_eq!(
        status_and_error(&call(&sms, request("GET", &forged, &[], None)).await),
        (400, "captcha_incorrect".to_owned())
    );
    captcha.set_mode(geetest::Mode::Stall(std::time::Duration::from_secs(10)));
    let stalled = format!("/sms_codes/13900139000/?{}", captcha.issue().query());
    assert_eq!(
        status_and_error(&call(&sms, request("GET", &stalled, &[], None)).await),
        (503, "captcha_unavailable".to_owned())
    );
    assert_eq!((ronglian.accepted().len(), captcha.received()), (1, 3), "one SMS; the reused pass asked no one");

    let logs = sms.stop().await;
    for leaked in [geetest::CAPTCHA_KEY, pass.pass_token.as_str(), code.as_str()] {
        assert!(!logs.contains(leaked), "{leaked:?} appears in the logs:\n{logs}");
    }
    assert_eq!(captcha_verdicts(&logs, "geetest"), ["pass", "spent", "fail", "unavailable"]);
}

/// Carrier one-tap at the Lambda boundary: the register binary, configured
/// from its environment as deployed, proves numbers with a loopback
/// `GetMobile` that checks the signature; its audit lines and metrics say
/// the proof was one-tap, and its logs hold no token, ticket or number.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_tap_through_the_register_function() {
    let store = tests::dynamo_store().await;
    let dypns = tests::dypns::DypnsServer::start().await;
    let mut env = lambda_env(&store);
    env.push(("SMS_CODE_KEY", SMS_CODE_KEY.to_owned()));
    env.extend(dypns.env());
    let register = Function::start("register", &env).await;
    let mobile = "13900001234";

    let first = dypns.issue(mobile);
    let response = call(&register, request("POST", "/one_tap_login/", &[], Some(json!({"token": first})))).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    assert!(response["cookies"].as_array().is_none_or(Vec::is_empty), "no session before the account: {response}");
    let ticket = body_json(&response)["signup_ticket"].as_str().unwrap().to_owned();
    let used = call(&register, request("POST", "/one_tap_login/", &[], Some(json!({"token": first})))).await;
    assert_eq!((used["statusCode"].as_i64(), body_json(&used)["error"].as_str()), (Some(401), Some("one_tap_refused")));

    let form = json!({"username": "alice_01", "password": "correct horse", "password2": "correct horse",
        "mobile": mobile, "signup_ticket": ticket, "allow": true});
    let response = call(&register, request("POST", "/register/", &[], Some(form))).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    let second = dypns.issue(mobile);
    let body = json!({"token": second, "session": "token"});
    let response = call(&register, request("POST", "/one_tap_login", &[], Some(body))).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    let session_token = body_json(&response)["token"].as_str().unwrap().to_owned();
    assert!(dypns.refusals().iter().all(|r| r.starts_with(tests::dypns::TOKEN_REFUSED)), "{:?}", dypns.refusals());

    let logs = register.stop().await;
    for secret in [first.as_str(), second.as_str(), &ticket, &session_token, mobile, tests::aliyun::ACCESS_KEY_SECRET] {
        assert!(!logs.contains(secret), "{secret:?} appears in the logs:\n{logs}");
    }
    let events: Vec<(String, String, String)> = tests::telemetry::audit_events(&logs)
        .iter()
        .map(|e| {
            let field = |name: &str| e[name].as_str().unwrap_or_default().to_owned();
            (field("audit"), field("outcome"), field("method"))
        })
        .collect();
    let expected = [
        ("signup_ticket_issued", "ok", "one_tap"),
        ("login_failed", "one_tap_refused", "one_tap"),
        ("account_created", "ok", "one_tap"),
        ("login_succeeded", "ok", "one_tap"),
    ];
    let expected: Vec<(String, String, String)> =
        expected.iter().map(|(a, o, m)| ((*a).to_owned(), (*o).to_owned(), (*m).to_owned())).collect();
    assert_eq!(events, expected, "{logs}");
    let points = tests::telemetry::metrics(&logs);
    assert_eq!(total(&points, Metric::OneTapCalls, &[("Outcome", "proven")]), 2.0);
    assert_eq!(total(&points, Metric::OneTapCalls, &[("Outcome", "refused")]), 1.0);
    assert_eq!(total(&points, Metric::SignUps, &[("Method", "one_tap")]), 1.0);
    assert_eq!(total(&points, Metric::Logins, &[("Method", "one_tap")]), 1.0);
}

/// WeChat mini-program login at the Lambda boundary: the register binary,
/// configured from its environment, against a loopback WeChat; its logs
/// hold no code, session_key, secret, access token, ticket or number.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wechat_login_through_the_register_function() {
    let store = tests::dynamo_store().await;
    let wechat = tests::wechat::WeChatServer::start().await;
    let mut env = lambda_env(&store);
    env.push(("SMS_CODE_KEY", SMS_CODE_KEY.to_owned()));
    env.extend(wechat.env());
    let register = Function::start("register", &env).await;
    let mobile = "13900001234";

    let login_code = wechat.login_code("o6_runtime_user", None);
    let response = call(&register, request("POST", "/wechat_login/", &[], Some(json!({"code": login_code})))).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    let wechat_ticket = body_json(&response)["wechat_ticket"].as_str().unwrap().to_owned();
    let phone_code = wechat.phone_code(mobile);
    let body = json!({"wechat_ticket": wechat_ticket, "phone_code": phone_code});
    let response = call(&register, request("POST", "/wechat_phone/", &[], Some(body))).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    let signup_ticket = body_json(&response)["signup_ticket"].as_str().unwrap().to_owned();
    let form = json!({"username": "wx_user_01", "password": "correct horse", "password2": "correct horse",
        "mobile": mobile, "signup_ticket": signup_ticket, "allow": true});
    assert_eq!(call(&register, request("POST", "/register/", &[], Some(form))).await["statusCode"], 200);
    let again = wechat.login_code("o6_runtime_user", None);
    let body = json!({"code": again, "session": "token"});
    let response = call(&register, request("POST", "/wechat_login", &[], Some(body))).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    let session_token = body_json(&response)["token"].as_str().unwrap().to_owned();
    assert!(wechat.refusals().is_empty(), "{:?}", wechat.refusals());

    let logs = register.stop().await;
    for secret in [
        login_code.as_str(),
        again.as_str(),
        phone_code.as_str(),
        &wechat_ticket,
        &signup_ticket,
        &session_token,
        mobile,
        "c2Vzc2lvbi1rZXktc2VjcmV0",
        tests::wechat::APP_SECRET,
        "ACCESS.",
    ] {
        assert!(!logs.contains(secret), "{secret:?} appears in the logs:\n{logs}");
    }
    let events: Vec<(String, String)> = tests::telemetry::audit_events(&logs)
        .iter()
        .map(|e| {
            (e["audit"].as_str().unwrap_or_default().to_owned(), e["method"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    let expected: Vec<(String, String)> = [
        ("signup_ticket_issued", "wechat"),
        ("signup_ticket_issued", "wechat"),
        ("account_created", "wechat"),
        ("login_succeeded", "wechat"),
    ]
    .iter()
    .map(|(a, m)| ((*a).to_owned(), (*m).to_owned()))
    .collect();
    assert_eq!(events, expected, "{logs}");
    let points = tests::telemetry::metrics(&logs);
    assert_eq!(total(&points, Metric::SignUps, &[("Method", "wechat")]), 1.0);
    assert_eq!(total(&points, Metric::Logins, &[("Method", "wechat")]), 1.0);
}
