//! What a send costs through each provider's client: the SMS handler in
//! process on the memory store against each loopback provider server, a
//! failover, and the release SMS bootstrap's cold start with its secrets
//! in the environment or from Secrets Manager.

use crate::fixtures::{event, fresh_mobile, invoke, lambda_env, uuid};
use shared::config::{SECRETS_ARN, SMS_PROVIDERS, secret_variables};
use shared::http::routes::Function as Route;
use shared::sms::{AnySender, ClientOptions};
use shared::store::MemoryStore;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tests::aliyun::{self, AliyunServer};
use tests::harness::Harness;
use tests::report::{Report, Samples, Table, micros, micros_delta, millis};
use tests::ronglian::RonglianServer;
use tests::runtime_api::Function;
use tests::secrets_manager::{self, SecretsManagerServer};
use tests::tencent::TencentServer;

/// The loopback servers every row sends through.
struct Servers {
    ronglian: RonglianServer,
    aliyun: AliyunServer,
    tencent: TencentServer,
}

impl Servers {
    async fn start() -> Self {
        Self {
            ronglian: RonglianServer::start().await,
            aliyun: AliyunServer::start().await,
            tencent: TencentServer::start().await,
        }
    }

    /// Every provider's variables and `SMS_PROVIDERS=order` (empty: the console).
    fn env(&self, order: &str) -> Vec<(&'static str, String)> {
        let mut env: Vec<(&'static str, String)> =
            crate::fixtures::UNLIMITED.iter().map(|(name, value)| (*name, (*value).to_owned())).collect();
        if !order.is_empty() {
            env.push((SMS_PROVIDERS, order.to_owned()));
            env.extend(self.ronglian.env().into_iter().chain(self.aliyun.env()).chain(self.tencent.env()));
        }
        env
    }
}

/// `n` sends of fresh numbers through `order`'s sender, each answered 200.
async fn sends(servers: &Servers, order: &str, n: usize) -> Samples {
    let env = servers.env(order);
    let pairs: Vec<(&str, &str)> = env.iter().map(|(name, value)| (*name, value.as_str())).collect();
    let config = tests::harness::config(&pairs);
    let sender = AnySender::with_options(&config.providers, ClientOptions::default()).unwrap();
    let store = Arc::new(MemoryStore::new());
    let h = Harness::with_config(Arc::clone(&store), Arc::new(sender), &config);
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let id = uuid();
        tests::seed::captcha(&*store, &id, "abcd").await;
        let uri = format!("/sms_codes/{}/?image_code=abcd&image_code_id={id}", fresh_mobile());
        let e = event("GET", &uri, None, None);
        let t = Instant::now();
        let r = h.api.invoke_event(Route::Sms, e).await.unwrap();
        samples.push(t.elapsed());
        assert_eq!(r["statusCode"], 200, "{order}: {r}");
    }
    Samples::new(samples)
}

async fn in_process(report: &mut Report, servers: &Servers, n: usize) {
    report.subsection(&format!("A send through each provider's client, in process, memory store ({n} sends per row)"));
    report.paragraph("The SMS handler with the API Gateway v2 conversion; each client signs its request and sends it over loopback HTTP to this repository's server of that provider, which recomputes the signature before it accepts. The difference from the console row is the client's cost: signing, one HTTP exchange on loopback, reading the answer (a real provider adds its network round trip).");
    let mut table = Table::new(&["SMS_PROVIDERS", "p50", "p99", "over the console, p50"]);
    let console = sends(servers, "", n).await;
    table.row(["(none: console)".to_owned(), micros(console.p50()), micros(console.p99()), "—".to_owned()]);
    for order in ["ronglian", "aliyun", "tencent"] {
        let samples = sends(servers, order, n).await;
        table.row([
            order.to_owned(),
            micros(samples.p50()),
            micros(samples.p99()),
            micros_delta(samples.p50(), console.p50()),
        ]);
    }
    servers.aliyun.set_mode(aliyun::Mode::Code("isv.AMOUNT_NOT_ENOUGH"));
    let failover = sends(servers, "aliyun,tencent", n).await;
    servers.aliyun.set_mode(aliyun::Mode::Normal);
    table.row([
        "aliyun,tencent with Aliyun out of credit (failover)".to_owned(),
        micros(failover.p50()),
        micros(failover.p99()),
        micros_delta(failover.p50(), console.p50()),
    ]);
    report.table(table);
}

/// Cold starts of the release SMS bootstrap sending its first code: secrets
/// in the environment, or every secret from the Secrets Manager stand-in.
async fn cold(report: &mut Report, servers: &Servers, runs: usize) {
    let store = tests::dynamo_store().await;
    let secret_names: Vec<&str> = secret_variables().collect();
    let plain = |mut env: Vec<(&'static str, String)>| {
        env.retain(|(name, _)| !secret_names.contains(name));
        env
    };
    let mut base = lambda_env(&store, None);
    base.retain(|(name, _)| !crate::fixtures::UNLIMITED.iter().any(|(limit, _)| limit == name));
    let from_env: Vec<(&'static str, String)> = base.iter().cloned().chain(servers.env("tencent")).collect();
    let secrets: serde_json::Map<String, serde_json::Value> = from_env
        .iter()
        .filter(|(name, _)| secret_names.contains(name))
        .map(|(name, value)| ((*name).to_owned(), serde_json::Value::String(value.clone())))
        .collect();
    let manager = SecretsManagerServer::start(&serde_json::Value::Object(secrets).to_string()).await;
    let mut from_manager = plain(from_env.clone());
    from_manager.extend([
        (SECRETS_ARN, secrets_manager::ARN.to_owned()),
        ("AWS_ENDPOINT_URL_SECRETS_MANAGER", manager.endpoint()),
        ("AWS_REGION", secrets_manager::REGION.to_owned()),
        ("AWS_ACCESS_KEY_ID", secrets_manager::ACCESS_KEY_ID.to_owned()),
        ("AWS_SECRET_ACCESS_KEY", secrets_manager::SECRET_ACCESS_KEY.to_owned()),
    ]);
    report.subsection(&format!(
        "The SMS bootstrap's cold start with its first send through Tencent ({runs} starts each)"
    ));
    report.paragraph("Release bootstrap under a loopback Runtime API on DynamoDB Local; the first request is a send that Tencent's loopback server accepts. With `SECRETS_ARN` the function reads every secret in one `GetSecretValue` from a loopback Secrets Manager stand-in (which checks the SigV4 signature) before its first `/next`; the real service adds its regional round trip, which this machine cannot measure.");
    let mut table = Table::new(&[
        "secrets",
        "init → first `/next` p50",
        "p90",
        "first send answered p50",
        "p90",
        "GetSecretValue calls",
    ]);
    let mut ready_p50 = Vec::new();
    for (label, env) in [("in the environment", &from_env), ("from Secrets Manager", &from_manager)] {
        let calls_before = manager.calls();
        let (mut ready, mut first) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let function = Function::start("sms", env).await;
            ready.push(function.ready().await);
            let id = uuid();
            tests::seed::captcha(&store, &id, "abcd").await;
            let uri = format!("/sms_codes/{}/?image_code=abcd&image_code_id={id}", fresh_mobile());
            invoke(&function, event("GET", &uri, None, None), 200).await;
            first.push(function.started.elapsed());
            function.stop().await;
        }
        let (ready, first) = (Samples::new(ready), Samples::new(first));
        ready_p50.push(ready.p50());
        table.row([
            label.to_owned(),
            millis(ready.p50()),
            millis(ready.p90()),
            millis(first.p50()),
            millis(first.p90()),
            (manager.calls() - calls_before).to_string(),
        ]);
    }
    report.table(table);
    let added = ready_p50[1].saturating_sub(ready_p50[0]);
    report.goal(
        "Secrets Manager read once per cold start, never per request",
        format!("{} per start (loopback stand-in); one call per start", millis(added.max(Duration::ZERO))),
    );
}

pub async fn run(report: &mut Report, n: usize, runs: usize) {
    report.section("SMS providers: a send's cost per client, failover and secrets");
    let servers = Servers::start().await;
    in_process(report, &servers, n).await;
    cold(report, &servers, runs).await;
}
