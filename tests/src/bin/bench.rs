//! `make bench`: measures cold starts, warm latency, DynamoDB calls per
//! request, hashing cost and load, and prints a Markdown report. It reports;
//! it never fails on a timing.
//!
//! Needs DynamoDB Local (`AWS_ENDPOINT_URL_DYNAMODB`) and the release
//! bootstraps from `make build` (`LAMBDA_BINARIES`, default target/lambda).

use serde_json::{Value, json};
use shared::clock::{Clock, SystemClock};
use shared::domain::{CaptchaId, Mobile, Password};
use shared::password::PasswordHasher;
use shared::random::OsRandom;
use shared::routes::Function as Route;
use shared::service::keys;
use shared::sms::{ConsoleSender, RonglianClient};
use shared::store::{Cond, Item, MemoryStore, Store};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tests::harness::Harness;
use tests::runtime_api::{Function, Outcome};

type Report = String;

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn summary(samples: &mut [Duration]) -> (Duration, Duration, Duration) {
    (percentile(samples, 0.5), percentile(samples, 0.9), percentile(samples, 0.99))
}

fn rss_peak_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

fn event(method: &str, uri: &str, cookie: Option<&str>, body: Option<&Value>) -> Value {
    tests::events::v2(method, uri, cookie.map(|token| format!("__Host-sessionid={token}")).as_deref(), body)
}

fn form(username: &str, mobile: &str, code: &str) -> Value {
    json!({"username": username, "password": "correct horse battery", "password2": "correct horse battery",
        "mobile": mobile, "sms_code": code, "allow": true})
}

fn mobile(n: usize) -> String {
    format!("139{n:08}")
}

/// Writes a live SMS code for `mobile` straight into the store.
async fn seed_code<S: Store>(store: &S, mobile: &str, code: &str) {
    let now = SystemClock.now();
    let item = Item::new(keys::sms_code(&Mobile::parse(mobile).unwrap()))
        .with_s(keys::CODE, code)
        .with_n(keys::ATTEMPTS, 0)
        .with_s(keys::SEND_ID, "bench")
        .expiring_at(now + 600);
    store.put(item, Cond::Always, now).await.unwrap();
}

async fn seed_captcha<S: Store>(store: &S, id: &str, answer: &str) {
    let now = SystemClock.now();
    let item =
        Item::new(keys::captcha(&CaptchaId::parse(id).unwrap())).with_s(keys::ANSWER, answer).expiring_at(now + 600);
    store.put(item, Cond::Always, now).await.unwrap();
}

/// The default lifetimes with the abuse limits out of the way: one client
/// address sends every request here.
fn unlimited() -> shared::config::Config {
    tests::harness::config(&[
        ("SMS_PER_IP_PER_HOUR", "1000000"),
        ("SMS_PER_MINUTE", "1000000"),
        ("CAPTCHAS_PER_IP_PER_MINUTE", "1000000"),
    ])
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn cold_starts(report: &mut Report, runs: usize) {
    let store = tests::dynamo_store().await;
    let ronglian = tests::ronglian::RonglianServer::start().await;
    let config = ronglian.config();
    let base =
        vec![("TABLE_NAME", store.table().to_owned()), ("AWS_ENDPOINT_URL_DYNAMODB", tests::dynamodb_endpoint())];
    let mut sms_env = base.clone();
    sms_env.extend([
        ("RONGLIAN_ACCOUNT_SID", config.account_sid.clone()),
        ("RONGLIAN_AUTH_TOKEN", secrecy::ExposeSecret::expose_secret(&config.auth_token).to_owned()),
        ("RONGLIAN_APP_ID", config.app_id.clone()),
        ("RONGLIAN_TEMPLATE_ID", config.template_id.clone()),
        ("RONGLIAN_BASE_URL", config.base_url.clone()),
    ]);
    writeln!(report, "\n## 1. Cold start (release bootstrap under a loopback Runtime API, {runs} starts each)\n")
        .unwrap();
    writeln!(report, "First request: captcha happy path; SMS with an unknown captcha (one transaction); a registration with the right code (claim, Argon2id, transaction); session lookup with an unknown cookie.\n").unwrap();
    writeln!(report, "| function | init → first `/next` p50 | p90 | first response p50 | p90 | peak RSS p50 | max |")
        .unwrap();
    writeln!(report, "| --- | --- | --- | --- | --- | --- | --- |").unwrap();
    let mut worst_ready = Duration::ZERO;
    let mut worst_rss = 0;
    for name in ["captcha", "sms", "register", "session"] {
        let (mut ready, mut first, mut rss) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            let env = if name == "sms" { &sms_env } else { &base };
            let function = Function::start(name, env).await;
            ready.push(function.ready().await);
            let request = match name {
                "captcha" => event("GET", &format!("/image_codes/{}/", uuid()), None, None),
                "sms" => event(
                    "GET",
                    &format!("/sms_codes/{}/?image_code=abcd&image_code_id={}", mobile(run), uuid()),
                    None,
                    None,
                ),
                "register" => {
                    seed_code(&store, &mobile(run), "123456").await;
                    event("POST", "/register/", None, Some(&form(&format!("cold_{run:04}"), &mobile(run), "123456")))
                }
                _ => event("GET", "/session", Some(&"A".repeat(43)), None),
            };
            let outcome = function.api.invoke(request).await;
            first.push(function.started.elapsed());
            let expected = if name == "captcha" || name == "register" {
                200
            } else if name == "sms" {
                400
            } else {
                401
            };
            assert!(matches!(outcome, Outcome::Response(ref r) if r["statusCode"] == expected), "{name}: {outcome:?}");
            rss.push(function.child.id().and_then(rss_peak_kib).unwrap_or(0));
            function.stop().await;
        }
        rss.sort();
        let (r50, r90, _) = summary(&mut ready);
        worst_ready = worst_ready.max(r50);
        worst_rss = worst_rss.max(rss[rss.len() / 2]);
        let (f50, f90, _) = summary(&mut first);
        writeln!(
            report,
            "| {name} | {} | {} | {} | {} | {:.1} MB | {:.1} MB |",
            millis(r50),
            millis(r90),
            millis(f50),
            millis(f90),
            rss[rss.len() / 2] as f64 / 1024.0,
            rss[rss.len() - 1] as f64 / 1024.0
        )
        .unwrap();
    }
    writeln!(
        report,
        "SUMMARY | cold start to first `/next` ≤ 15 ms (median; 10 ms aimed) | slowest function's median {} |",
        millis(worst_ready)
    )
    .unwrap();
    writeln!(
        report,
        "SUMMARY | peak RSS ≤ 30 MB | largest median {:.1} MB (register: Argon2id's 19 MiB) |",
        worst_rss as f64 / 1024.0
    )
    .unwrap();
}

/// The routes and outcomes measured warm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Captcha,
    CaptchaBadId,
    Sms,
    SmsTooFrequent,
    SmsWrongAnswer,
    Register,
    RegisterWrongCode,
    Session,
    SessionNoCookie,
}

impl Case {
    const ALL: [Case; 9] = [
        Case::Captcha,
        Case::CaptchaBadId,
        Case::Sms,
        Case::SmsTooFrequent,
        Case::SmsWrongAnswer,
        Case::Register,
        Case::RegisterWrongCode,
        Case::Session,
        Case::SessionNoCookie,
    ];

    fn label(self) -> &'static str {
        match self {
            Case::Captcha => "captcha: 200",
            Case::CaptchaBadId => "captcha: 400 invalid_captcha_id",
            Case::Sms => "sms: 200",
            Case::SmsTooFrequent => "sms: 429 too_frequent",
            Case::SmsWrongAnswer => "sms: 400 captcha_incorrect",
            Case::Register => "register: 200 (Argon2id included)",
            Case::RegisterWrongCode => "register: 400 sms_code_incorrect (no hashing)",
            Case::Session => "session: 200",
            Case::SessionNoCookie => "session: 401 (no cookie)",
        }
    }

    /// Seeds what request `i` needs and returns its route, event and expected status.
    async fn prepare<S: Store>(self, i: usize, n: usize, store: &S, tokens: &[String]) -> (Route, Value, u16) {
        match self {
            Case::Captcha => (Route::Captcha, event("GET", &format!("/image_codes/{}/", uuid()), None, None), 200),
            Case::CaptchaBadId => (Route::Captcha, event("GET", "/image_codes/not-a-uuid/", None, None), 400),
            Case::Sms | Case::SmsTooFrequent | Case::SmsWrongAnswer => {
                let id = uuid();
                seed_captcha(store, &id, "abcd").await;
                let (number, answer, status) = match self {
                    Case::Sms => (mobile(i), "abcd", 200),
                    Case::SmsTooFrequent => (mobile(i), "abcd", 429),
                    _ => (mobile(n + i), "wxyz", 400),
                };
                let uri = format!("/sms_codes/{number}/?image_code={answer}&image_code_id={id}");
                (Route::Sms, event("GET", &uri, None, None), status)
            }
            Case::Register | Case::RegisterWrongCode => {
                let wrong = self == Case::RegisterWrongCode;
                let number = mobile(if wrong { 3 * n + i } else { 2 * n + i });
                seed_code(store, &number, "123456").await;
                let name = format!("{}_{i:05}", if wrong { "wrong" } else { "user" });
                let body = form(&name, &number, if wrong { "654321" } else { "123456" });
                (Route::Register, event("POST", "/register/", None, Some(&body)), if wrong { 400 } else { 200 })
            }
            Case::Session => (Route::Session, event("GET", "/session", Some(&tokens[i % tokens.len()]), None), 200),
            Case::SessionNoCookie => (Route::Session, event("GET", "/session", None, None), 401),
        }
    }
}

/// Warm latency of each route in process (handler only, API Gateway event
/// conversion included) and the DynamoDB calls each made.
async fn warm<S: Store + 'static>(
    report: &mut Report,
    label: &str,
    store: Arc<S>,
    calls: Option<tests::counting::CallLog>,
    n: usize,
) {
    let h = Harness::with_config(Arc::clone(&store), Arc::new(ConsoleSender::new()), &unlimited());
    let take = || calls.as_ref().map(|c| c.take()).unwrap_or_default();
    writeln!(report, "\n### {label} ({n} requests per row)\n").unwrap();
    writeln!(report, "| route: outcome | p50 | p99 | DynamoDB calls (counted) |\n| --- | --- | --- | --- |").unwrap();
    let mut tokens = Vec::new();
    for case in Case::ALL {
        let (mut samples, mut ops) = (Vec::with_capacity(n), Vec::new());
        for i in 0..n {
            let (route, e, status) = case.prepare(i, n, &*store, &tokens).await;
            take();
            let t = Instant::now();
            let r = h.api.invoke_event(route, e).await.unwrap();
            samples.push(t.elapsed());
            ops = take();
            assert_eq!(r["statusCode"], status, "{case:?}: {r}");
            if case == Case::Register {
                let cookie = r["cookies"][0].as_str().unwrap();
                tokens.push(cookie.trim_start_matches("__Host-sessionid=").split(';').next().unwrap().to_owned());
            }
        }
        let (p50, _, p99) = summary(&mut samples);
        let ops = match (&calls, ops.len()) {
            (None, _) => "not counted (memory)".to_owned(),
            (Some(_), 0) => "0".to_owned(),
            (Some(_), count) => format!("{count} ({})", ops.join(" + ")),
        };
        writeln!(report, "| {} | {} | {} | {ops} |", case.label(), micros(p50), micros(p99)).unwrap();
        if calls.is_none() && matches!(case, Case::Sms | Case::Session) {
            writeln!(
                report,
                "SUMMARY | handler overhead without DynamoDB and hashing ≤ 100 µs p50 | {}: {} |",
                case.label(),
                micros(p50)
            )
            .unwrap();
        }
        if calls.is_some() && matches!(case, Case::Captcha | Case::Sms | Case::Session) {
            writeln!(report, "SUMMARY | DynamoDB calls, {} = 1 | {ops} |", case.label()).unwrap();
        }
        if calls.is_some() && case == Case::Register {
            writeln!(
                report,
                "SUMMARY | DynamoDB calls, {} = 1 (2 by design: a guess is claimed first) | {ops} |",
                case.label()
            )
            .unwrap();
        }
    }
}

async fn failure_path_calls(report: &mut Report) {
    let (h, calls) = tests::harness::on_dynamodb().await;
    let closed = shared::config::RonglianConfig {
        base_url: tests::faults::closed_port_url(),
        ..tests::ronglian::RonglianServer::start().await.config()
    };
    let failing = Harness::with_sender(Arc::clone(&h.store), Arc::new(RonglianClient::new(closed).unwrap()));
    let id = uuid();
    seed_captcha(&*h.store, &id, "abcd").await;
    calls.take();
    let r = failing.get(&format!("/sms_codes/13700000000/?image_code=abcd&image_code_id={id}")).await;
    assert_eq!(r.status, 502);
    let provider_down = calls.take();
    let r = h.get(&format!("/sms_codes/13700000000/?image_code=abcd&image_code_id={}", uuid())).await;
    assert_eq!(r.error(), "captcha_expired");
    let expired = calls.take();
    writeln!(
        report,
        "\nOther paths, counted: SMS with the provider down (502): {} ({}); SMS with an unknown captcha: {} ({}).",
        provider_down.len(),
        provider_down.join(" + "),
        expired.len(),
        expired.join(" + ")
    )
    .unwrap();
}

/// Invokes `function` with each event in turn, checking every status;
/// returns p50 and p99 of the round trips through the Runtime API.
async fn invoke_all(function: &Function, events: Vec<Value>, status: u16) -> (Duration, Duration) {
    let mut samples = Vec::with_capacity(events.len());
    for event in events {
        let t = Instant::now();
        let outcome = function.api.invoke(event).await;
        samples.push(t.elapsed());
        assert!(matches!(outcome, Outcome::Response(ref r) if r["statusCode"] == status), "{outcome:?}");
    }
    let (p50, _, p99) = summary(&mut samples);
    (p50, p99)
}

async fn runtime_warm(report: &mut Report, n: usize) {
    let store = tests::dynamo_store().await;
    // One client address sends every request: lift its captcha cap.
    let env = vec![
        ("TABLE_NAME", store.table().to_owned()),
        ("AWS_ENDPOINT_URL_DYNAMODB", tests::dynamodb_endpoint()),
        ("CAPTCHAS_PER_IP_PER_MINUTE", "1000000".to_owned()),
    ];
    writeln!(
        report,
        "\n## 3. Warm latency end to end through the Runtime API (release bootstrap, DynamoDB Local, {n} requests)\n"
    )
    .unwrap();
    writeln!(report, "| route: outcome | p50 | p99 |\n| --- | --- | --- |").unwrap();
    let captcha = Function::start("captcha", &env).await;
    let events = (0..n).map(|_| event("GET", &format!("/image_codes/{}/", uuid()), None, None)).collect();
    let (p50, p99) = invoke_all(&captcha, events, 200).await;
    writeln!(report, "| captcha: 200 | {} | {} |", micros(p50), micros(p99)).unwrap();
    let session = Function::start("session", &env).await;
    let events = (0..n).map(|_| event("GET", "/session", Some(&"A".repeat(43)), None)).collect();
    let (p50, p99) = invoke_all(&session, events, 401).await;
    writeln!(report, "| session: 401 (GetItem, unknown token) | {} | {} |", micros(p50), micros(p99)).unwrap();
    let register = Function::start("register", &env).await;
    let mut events = Vec::with_capacity(n);
    for i in 0..n {
        let number = mobile(5 * n + i);
        seed_code(&store, &number, "123456").await;
        events.push(event("POST", "/register/", None, Some(&form(&format!("warm_{i:05}"), &number, "123456"))));
    }
    let (p50, p99) = invoke_all(&register, events, 200).await;
    writeln!(report, "| register: 200 (claim, Argon2id, transaction) | {} | {} |", micros(p50), micros(p99)).unwrap();
    register.stop().await;
    let captcha_rss = captcha.child.id().and_then(rss_peak_kib).unwrap_or(0);
    writeln!(report, "\nPeak RSS of the captcha function after {n} requests: {:.1} MB.", captcha_rss as f64 / 1024.0)
        .unwrap();
    captcha.stop().await;
    session.stop().await;
}

fn hashing(report: &mut Report) {
    let hasher = PasswordHasher::owasp();
    let password = Password::parse("correct horse battery").unwrap();
    let mut samples: Vec<Duration> = (0..50)
        .map(|_| {
            let t = Instant::now();
            hasher.hash(&password, &OsRandom).unwrap();
            t.elapsed()
        })
        .collect();
    let (p50, p90, _) = summary(&mut samples);
    writeln!(report, "\n## 4. Argon2id (m=19456 KiB, t=2, p=1), 50 hashes on one core, in the bench binary (opt-level \"s\"; the register function is built at 3, see its end-to-end row in section 3)\n\np50 {}, p90 {}. Lambda gives a function CPU in proportion to memory (1,769 MB = one vCPU); at the template's 512 MB expect about 3.5× this.", millis(p50), millis(p90)).unwrap();
}

async fn load(report: &mut Report, clients: usize, seconds: u64) {
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
    let http = shared::tls::reqwest_builder().pool_max_idle_per_host(clients).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (ok, limited, errors) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, base, store) = (http.clone(), base.clone(), Arc::clone(&store));
        let (ok, limited, errors) = (Arc::clone(&ok), Arc::clone(&limited), Arc::clone(&errors));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = 0;
            while Instant::now() < deadline {
                let id = uuid();
                let t = Instant::now();
                let captcha = http.get(format!("{base}/image_codes/{id}/")).send().await;
                latencies.push(t.elapsed());
                match captcha.map(|r| r.status().as_u16()) {
                    Ok(200) => ok.fetch_add(1, Ordering::Relaxed),
                    _ => errors.fetch_add(1, Ordering::Relaxed),
                };
                let answer = store
                    .get(&keys::captcha(&CaptchaId::parse(&id).unwrap()), SystemClock.now())
                    .await
                    .ok()
                    .flatten()
                    .and_then(|item| item.s(keys::ANSWER).ok().map(str::to_owned))
                    .unwrap_or_default();
                // 20 numbers per client: once each has had a code, sends hit the cooldown.
                let m = format!("136{:04}{:04}", client, i % 20);
                i += 1;
                let t = Instant::now();
                let sms =
                    http.get(format!("{base}/sms_codes/{m}/?image_code={answer}&image_code_id={id}")).send().await;
                latencies.push(t.elapsed());
                match sms.map(|r| r.status().as_u16()) {
                    Ok(200) => ok.fetch_add(1, Ordering::Relaxed),
                    Ok(429) => limited.fetch_add(1, Ordering::Relaxed),
                    _ => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    server.abort();
    let total = latencies.len();
    let (p50, _, p99) = summary(&mut latencies);
    let (ok, limited, errors) =
        (ok.load(Ordering::Relaxed), limited.load(Ordering::Relaxed), errors.load(Ordering::Relaxed));
    writeln!(report, "\n## 5. Load: local API on DynamoDB Local, {clients} closed-loop clients for {seconds} s\n")
        .unwrap();
    writeln!(report, "Each client loops: captcha, then SMS for one of its 20 numbers (the captcha's answer read from the table). Load generator, API and DynamoDB Local share the 2 cores.\n").unwrap();
    writeln!(report, "| requests | throughput | p50 | p99 | 200 | 429 (intended) | errors |\n| --- | --- | --- | --- | --- | --- | --- |").unwrap();
    writeln!(
        report,
        "| {total} | {:.0} req/s | {} | {} | {ok} | {limited} | {errors} |",
        total as f64 / seconds as f64,
        millis(p50),
        millis(p99)
    )
    .unwrap();
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (starts, n, seconds) = if quick { (3, 50, 3) } else { (20, 1000, 30) };
    let args: Vec<String> = std::env::args().collect();
    let out = args.iter().position(|a| a == "--out").and_then(|i| args.get(i + 1)).cloned();
    let mut report = String::new();
    cold_starts(&mut report, starts).await;
    writeln!(report, "\n## 2. Warm latency in process (handler + API Gateway v2 conversion)").unwrap();
    warm(&mut report, "MemoryStore: the handlers' own cost", Arc::new(MemoryStore::new()), None, n).await;
    let (h, calls) = tests::harness::on_dynamodb().await;
    warm(&mut report, "DynamoDB Local", Arc::clone(&h.store), Some(calls), n).await;
    failure_path_calls(&mut report).await;
    runtime_warm(&mut report, n).await;
    hashing(&mut report);
    load(&mut report, 50, seconds).await;
    match out {
        Some(path) => std::fs::write(path, report).unwrap(),
        None => print!("{report}"),
    }
}
