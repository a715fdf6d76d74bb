//! Where captcha's warm time goes, layer by layer: the PNG, the handler on
//! the memory store, the SDK and the transaction on DynamoDB Local, and the
//! Lambda boundary. Each layer is timed on its own; the differences of
//! medians apportion the end-to-end median.

use crate::fixtures::{event, invoke, lambda_env, unlimited, uuid};
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use shared::captcha::render;
use shared::clock::{Clock, SystemClock};
use shared::domain::{CaptchaId, CaptchaText};
use shared::http::routes::Function as Route;
use shared::random::OsRandom;
use shared::sms::ConsoleSender;
use shared::store::{DynamoStore, MemoryStore, Store, create_table};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tests::harness::Harness;
use tests::report::{Report, Samples, Table, micros, micros_delta};
use tests::runtime_api::Function;

/// A signed request as the SDK sent it.
#[derive(Debug, Clone)]
struct Sent {
    uri: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Keeps the last TransactWriteItems request the client sent.
#[derive(Debug, Clone, Default)]
struct LastTransaction(Arc<Mutex<Option<Sent>>>);

impl Intercept for LastTransaction {
    fn name(&self) -> &'static str {
        "LastTransaction"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        if request.headers().get("x-amz-target").is_some_and(|t| t.ends_with("TransactWriteItems")) {
            *self.0.lock().unwrap() = Some(Sent {
                uri: request.uri().to_owned(),
                headers: request.headers().iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
                body: request.body().bytes().unwrap_or_default().to_vec(),
            });
        }
        Ok(())
    }
}

async fn time<F: Future>(n: usize, mut step: impl FnMut() -> F) -> Samples {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        step().await;
        samples.push(t.elapsed());
    }
    Samples::new(samples)
}

fn captcha_event() -> serde_json::Value {
    event("GET", &format!("/image_codes/{}/", uuid()), None, None)
}

pub async fn run(report: &mut Report, n: usize) {
    let ip = shared::domain::ClientKey::from_ip(tests::events::CLIENT_IP);
    let memory = Harness::with_config(Arc::new(MemoryStore::new()), Arc::new(ConsoleSender::new()), &unlimited());
    let last = LastTransaction::default();
    let client = tests::dynamo_client().await.config().to_builder().interceptor(last.clone()).build();
    let client = aws_sdk_dynamodb::Client::from_conf(client);
    let table = format!("bench-{}", uuid());
    create_table(&client, &table).await.unwrap();
    let store = Arc::new(DynamoStore::new(client, table));
    let dynamo = Harness::with_config(Arc::clone(&store), Arc::new(ConsoleSender::new()), &unlimited());

    let render = time(n, || async { render(&CaptchaText::generate(&OsRandom), &OsRandom).unwrap() }).await;
    let issue_memory =
        time(n, || async { memory.api.captcha.issue(&CaptchaId::parse(&uuid()).unwrap(), Some(&ip)).await.unwrap() })
            .await;
    let handler_memory =
        time(n, || async { memory.api.invoke_event(Route::Captcha, captcha_event()).await.unwrap() }).await;
    let get_item = time(n, || async { store.get("captcha#absent", SystemClock.now()).await.unwrap() }).await;
    let issue_dynamo =
        time(n, || async { dynamo.api.captcha.issue(&CaptchaId::parse(&uuid()).unwrap(), Some(&ip)).await.unwrap() })
            .await;
    let handler_dynamo =
        time(n, || async { dynamo.api.invoke_event(Route::Captcha, captcha_event()).await.unwrap() }).await;

    // The last transaction, replayed byte for byte without the SDK:
    // DynamoDB Local does not check signatures.
    let sent = last.0.lock().unwrap().clone().expect("the captcha sent a TransactWriteItems");
    let http = shared::startup::tls::reqwest_builder().build().unwrap();
    let raw = time(n, || {
        let mut request = http.post(&sent.uri).body(sent.body.clone());
        for (name, value) in &sent.headers {
            if !name.eq_ignore_ascii_case("content-length") {
                request = request.header(name, value);
            }
        }
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "{:?}", response.text().await);
            response.bytes().await.unwrap()
        }
    })
    .await;

    let function = Function::start("captcha", &lambda_env(&store, None)).await;
    let mut end_to_end = Vec::with_capacity(n);
    for _ in 0..n {
        end_to_end.push(invoke(&function, captcha_event(), 200).await.1);
    }
    function.stop().await;
    let end_to_end = Samples::new(end_to_end);

    report.subsection(&format!("Where captcha's warm time goes ({n} requests per layer)"));
    report.paragraph("Each layer timed alone, in the bench binary (release profile) unless it says otherwise.");
    let mut layers = Table::new(&["layer", "p50", "p99"]);
    for (label, samples) in [
        ("render + PNG encode", &render),
        ("`CaptchaService::issue` on MemoryStore (render, answer, one memory write)", &issue_memory),
        ("captcha handler on MemoryStore (event, issue, base64, response)", &handler_memory),
        ("GetItem of an absent key on DynamoDB Local through the SDK (the smallest call)", &get_item),
        ("`CaptchaService::issue` on DynamoDB Local (one TransactWriteItems)", &issue_dynamo),
        ("captcha handler on DynamoDB Local", &handler_dynamo),
        ("that TransactWriteItems replayed over HTTP without the SDK", &raw),
        ("end to end: release bootstrap under the Runtime API", &end_to_end),
    ] {
        layers.row([label.to_owned(), micros(samples.p50()), micros(samples.p99())]);
    }
    report.table(layers);

    let p50 = |s: &Samples| s.p50();
    let sdk = p50(&issue_dynamo).saturating_sub(p50(&issue_memory)).saturating_sub(p50(&raw));
    let mut apportioned = Table::new(&["part of the end-to-end p50", "p50", "from"]);
    let parts: [(&str, String, &str); 6] = [
        ("render + PNG encode", micros(p50(&render)), "render"),
        (
            "captcha text, item, memory write",
            micros_delta(p50(&issue_memory), p50(&render)),
            "issue on memory − render",
        ),
        (
            "handler: event in, base64, response out",
            micros_delta(p50(&handler_memory), p50(&issue_memory)),
            "handler − issue, on memory",
        ),
        ("DynamoDB Local: HTTP + the transaction", micros(p50(&raw)), "raw replay"),
        ("SDK: serialise, sign, send, parse", micros(sdk), "issue on DynamoDB − issue on memory − raw replay"),
        (
            "Lambda runtime + Runtime API round trip",
            micros_delta(p50(&end_to_end), p50(&handler_dynamo)),
            "end to end − handler on DynamoDB",
        ),
    ];
    for (part, value, from) in parts {
        apportioned.row([part.to_owned(), value, from.to_owned()]);
    }
    report.table(apportioned);
}
