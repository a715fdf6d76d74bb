//! Warm latency in process: each route's handler with the API Gateway v2
//! conversion, on the memory store (the handlers' own cost) and on DynamoDB
//! Local, with the DynamoDB calls each request made.

use crate::fixtures::{event, form, fresh_mobile, fresh_username, session_token, unlimited, uuid};
use serde_json::Value;
use shared::http::routes::Function as Route;
use shared::sms::{ConsoleSender, RonglianClient};
use shared::store::{MemoryStore, Store};
use std::sync::Arc;
use std::time::Instant;
use tests::counting::CallLog;
use tests::harness::Harness;
use tests::report::{Report, Samples, Table, micros};

/// The routes and outcomes measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Captcha,
    CaptchaBadId,
    Sms,
    SmsRepeated,
    SmsTooFrequent,
    SmsWrongAnswer,
    Register,
    RegisterWrongCode,
    Session,
    SessionNoCookie,
}

impl Case {
    const ALL: [Case; 10] = [
        Case::Captcha,
        Case::CaptchaBadId,
        Case::Sms,
        Case::SmsRepeated,
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
            Case::SmsRepeated => "sms: 200 repeated send",
            Case::SmsTooFrequent => "sms: 429 too_frequent",
            Case::SmsWrongAnswer => "sms: 400 captcha_incorrect",
            Case::Register => "register: 200 (Argon2id included)",
            Case::RegisterWrongCode => "register: 400 sms_code_incorrect (no hashing)",
            Case::Session => "session: 200",
            Case::SessionNoCookie => "session: 401 (no cookie)",
        }
    }
}

/// What earlier cases left for later ones: numbers that just had a code
/// (the cooldown case resends to them) and live session tokens.
#[derive(Default)]
struct Earlier {
    sms_sent_to: Vec<String>,
    /// The sends' URIs: repeating one answers the same code's id again.
    sms_uris: Vec<String>,
    tokens: Vec<String>,
}

/// Seeds what request `i` of `case` needs; returns its route, event and status.
async fn prepare<S: Store>(case: Case, i: usize, store: &S, earlier: &mut Earlier) -> (Route, Value, u16) {
    match case {
        Case::Captcha => (Route::Captcha, event("GET", &format!("/image_codes/{}/", uuid()), None, None), 200),
        Case::CaptchaBadId => (Route::Captcha, event("GET", "/image_codes/not-a-uuid/", None, None), 400),
        Case::SmsRepeated => (Route::Sms, event("GET", &earlier.sms_uris[i % earlier.sms_uris.len()], None, None), 200),
        Case::Sms | Case::SmsTooFrequent | Case::SmsWrongAnswer => {
            let id = uuid();
            tests::seed::captcha(store, &id, "abcd").await;
            let (number, answer, status) = match case {
                Case::Sms => {
                    let number = fresh_mobile();
                    earlier.sms_sent_to.push(number.clone());
                    (number, "abcd", 200)
                }
                Case::SmsTooFrequent => (earlier.sms_sent_to[i % earlier.sms_sent_to.len()].clone(), "abcd", 429),
                _ => (fresh_mobile(), "wxyz", 400),
            };
            let uri = format!("/sms_codes/{number}/?image_code={answer}&image_code_id={id}");
            if case == Case::Sms {
                earlier.sms_uris.push(uri.clone());
            }
            (Route::Sms, event("GET", &uri, None, None), status)
        }
        Case::Register | Case::RegisterWrongCode => {
            let number = fresh_mobile();
            let id = tests::seed::sms_code(store, &number, "123456").await;
            let (code, status) = if case == Case::Register { ("123456", 200) } else { ("654321", 400) };
            let form = form(&fresh_username(), &number, code, &id);
            (Route::Register, event("POST", "/register/", None, Some(&form)), status)
        }
        Case::Session => {
            (Route::Session, event("GET", "/session", Some(&earlier.tokens[i % earlier.tokens.len()]), None), 200)
        }
        Case::SessionNoCookie => (Route::Session, event("GET", "/session", None, None), 401),
    }
}

/// One table: every case `n` times on `store`; `calls` counts DynamoDB's.
async fn cases<S: Store + 'static>(report: &mut Report, title: &str, store: Arc<S>, calls: Option<CallLog>, n: usize) {
    let h = Harness::with_config(Arc::clone(&store), Arc::new(ConsoleSender::new()), &unlimited());
    let take = || calls.as_ref().map(CallLog::take).unwrap_or_default();
    report.subsection(&format!("{title} ({n} requests per row)"));
    let mut table = Table::new(&["route: outcome", "p50", "p99", "DynamoDB calls (counted)"]);
    let mut earlier = Earlier::default();
    for case in Case::ALL {
        let (mut samples, mut ops) = (Vec::with_capacity(n), Vec::new());
        for i in 0..n {
            let (route, e, status) = prepare(case, i, &*store, &mut earlier).await;
            take();
            let t = Instant::now();
            let r = h.api.invoke_event(route, e).await.unwrap();
            samples.push(t.elapsed());
            ops = take();
            assert_eq!(r["statusCode"], status, "{case:?}: {r}");
            if case == Case::Register {
                earlier.tokens.push(session_token(&r));
            }
        }
        let samples = Samples::new(samples);
        let ops = match (&calls, ops.len()) {
            (None, _) => "not counted (memory)".to_owned(),
            (Some(_), 0) => "0".to_owned(),
            (Some(_), count) => format!("{count} ({})", ops.join(" + ")),
        };
        if calls.is_none() && matches!(case, Case::Sms | Case::Session) {
            report.goal(
                "handler overhead without DynamoDB and hashing ≤ 100 µs p50",
                format!("{}: {}", case.label(), micros(samples.p50())),
            );
        }
        // The designed counts: SMS takes its captcha before the transaction (one judgement per
        // captcha), register asks its client's failure cap while it claims a guess (no probe hashed
        // past a full cap), a session read checks its account's generation.
        let designed = match case {
            Case::Captcha => Some("1"),
            Case::Sms => Some("2: the captcha is taken, then the transaction"),
            Case::SmsRepeated => Some("1: the captcha's take finds the send's marker and leaves it; nothing sent"),
            Case::Register => {
                Some("3: the client's failure cap is asked while a guess is claimed, then the transaction")
            }
            Case::Session => Some("2: the session, then its account's generation"),
            _ => None,
        };
        if let (Some(_), Some(designed)) = (&calls, designed) {
            report.goal(format!("DynamoDB calls, {} = {designed}", case.label()), ops.clone());
        }
        table.row([case.label().to_owned(), micros(samples.p50()), micros(samples.p99()), ops]);
    }
    report.table(table);
}

/// The DynamoDB calls of two failure paths.
async fn failure_paths(report: &mut Report) {
    let (h, calls) = tests::harness::on_dynamodb().await;
    let closed = shared::config::RonglianConfig {
        base_url: tests::faults::closed_port_url(),
        ..tests::ronglian::RonglianServer::start().await.config()
    };
    let failing = Harness::with_sender(Arc::clone(&h.store), Arc::new(RonglianClient::new(closed).unwrap()));
    let id = uuid();
    tests::seed::captcha(&*h.store, &id, "abcd").await;
    calls.take();
    let r = failing.get(&format!("/sms_codes/13700000000/?image_code=abcd&image_code_id={id}")).await;
    assert_eq!(r.status, 502);
    let provider_down = calls.take();
    let r = h.get(&format!("/sms_codes/13700000000/?image_code=abcd&image_code_id={}", uuid())).await;
    assert_eq!(r.error(), "captcha_expired");
    let expired = calls.take();
    report.paragraph(&format!(
        "Other paths, counted: SMS with the provider down (502): {} ({}); SMS with an unknown captcha: {} ({}).",
        provider_down.len(),
        provider_down.join(" + "),
        expired.len(),
        expired.join(" + ")
    ));
}

pub async fn run(report: &mut Report, n: usize) {
    report.section("Warm latency in process (handler + API Gateway v2 conversion)");
    cases(report, "MemoryStore: the handlers' own cost", Arc::new(MemoryStore::new()), None, n).await;
    let (h, calls) = tests::harness::on_dynamodb().await;
    cases(report, "DynamoDB Local", Arc::clone(&h.store), Some(calls), n).await;
    failure_paths(report).await;
}
