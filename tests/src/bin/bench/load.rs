//! Load: the local API on DynamoDB Local under closed-loop clients, each
//! looping captcha then SMS.

use crate::fixtures::{unlimited, uuid};
use crate::machine::Machine;
use shared::clock::{Clock, SystemClock};
use shared::domain::CaptchaId;
use shared::random::OsRandom;
use shared::service::keys;
use shared::sms::ConsoleSender;
use shared::store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tests::report::{Report, Samples, Table, millis};

#[derive(Default)]
struct Counts {
    ok: AtomicUsize,
    limited: AtomicUsize,
    errors: AtomicUsize,
}

impl Counts {
    fn count(&self, status: Option<u16>) {
        let counter = match status {
            Some(200) => &self.ok,
            Some(429) => &self.limited,
            _ => &self.errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

pub async fn run(report: &mut Report, machine: &Machine, clients: usize, seconds: u64) {
    let store = Arc::new(tests::dynamo_store().await);
    let api = Arc::new(local_api::LocalApi::new(
        Arc::clone(&store),
        Arc::new(ConsoleSender::new()),
        Arc::new(SystemClock),
        Arc::new(OsRandom),
        &unlimited(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(local_api::serve(listener, api));
    let http = shared::startup::tls::reqwest_builder().pool_max_idle_per_host(clients).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let counts = Arc::new(Counts::default());
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, base, store, counts) = (http.clone(), base.clone(), Arc::clone(&store), Arc::clone(&counts));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0;
            while Instant::now() < deadline {
                let id = uuid();
                let t = Instant::now();
                let captcha = http.get(format!("{base}/image_codes/{id}/")).send().await;
                latencies.push(t.elapsed());
                counts.count(captcha.ok().map(|r| r.status().as_u16()));
                let answer = store
                    .get(&keys::captcha(&CaptchaId::parse(&id).unwrap()), SystemClock.now())
                    .await
                    .ok()
                    .flatten()
                    .and_then(|item| item.s(keys::ANSWER).ok().map(str::to_owned))
                    .unwrap_or_default();
                // 20 numbers per client: once each has had a code, sends hit the cooldown.
                let mobile = format!("136{:04}{:04}", client, i % 20);
                i += 1;
                let t = Instant::now();
                let uri = format!("{base}/sms_codes/{mobile}/?image_code={answer}&image_code_id={id}");
                let sms = http.get(uri).send().await;
                latencies.push(t.elapsed());
                counts.count(sms.ok().map(|r| r.status().as_u16()));
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    server.abort();
    let latencies = Samples::new(latencies);
    report.section(&format!("Load: local API on DynamoDB Local, {clients} closed-loop clients for {seconds} s"));
    report.paragraph(&format!(
        "Each client loops: captcha, then SMS for one of its 20 numbers (the captcha's answer read from the table). Load generator, API and DynamoDB Local share the {} cores.",
        machine.cores
    ));
    let mut table = Table::new(&["requests", "throughput", "p50", "p99", "200", "429 (intended)", "errors"]);
    let load = |counter: &AtomicUsize| counter.load(Ordering::Relaxed).to_string();
    table.row([
        latencies.count().to_string(),
        format!("{:.0} req/s", latencies.count() as f64 / seconds as f64),
        millis(latencies.p50()),
        millis(latencies.p99()),
        load(&counts.ok),
        load(&counts.limited),
        load(&counts.errors),
    ]);
    report.table(table);
}
