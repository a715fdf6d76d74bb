//! `make bench`: measures cold starts, warm latency in process and through
//! the Runtime API, peak memory over warm invocations, where captcha's time
//! goes, DynamoDB calls per request, hashing cost and load, and prints a
//! Markdown report. It reports; it never fails on a timing.
//!
//! Needs DynamoDB Local (`AWS_ENDPOINT_URL_DYNAMODB`) and the release
//! bootstraps from `make build` (`LAMBDA_BINARIES`, default target/lambda).
//! `--quick` takes fewer samples; `--out FILE` writes there, not to stdout;
//! `--only memory,breakdown` runs just the sections named (module names).

mod breakdown;
mod cold;
mod fixtures;
mod hashing;
mod in_process;
mod load;
mod machine;
mod memory;
mod providers;
mod runtime;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let out = args.iter().position(|a| a == "--out").and_then(|i| args.get(i + 1)).cloned();
    let (starts, n, seconds) = if quick { (3, 50, 3) } else { (20, 1000, 30) };
    // `--only memory,breakdown`: just those sections, for a quick look.
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).cloned();
    let runs = |section: &str| only.as_deref().is_none_or(|list| list.split(',').any(|s| s == section));
    let machine = machine::Machine::detect();
    let mut report = tests::report::Report::new(machine.to_string());
    if runs("cold") {
        cold::run(&mut report, starts).await;
    }
    if runs("in_process") {
        in_process::run(&mut report, n).await;
    }
    if runs("runtime") {
        runtime::run(&mut report, n).await;
    }
    if runs("providers") {
        providers::run(&mut report, n, starts).await;
    }
    if runs("memory") {
        memory::run(&mut report).await;
    }
    if runs("breakdown") {
        breakdown::run(&mut report, n).await;
    }
    if runs("hashing") {
        hashing::run(&mut report);
    }
    if runs("load") {
        load::run(&mut report, &machine, 50, seconds).await;
    }
    match out {
        Some(path) => std::fs::write(path, report.markdown()).unwrap(),
        None => print!("{}", report.markdown()),
    }
}
