//! A Lambda Runtime API on loopback: starts a real function binary the way
//! Lambda does and hands it events, as the Lambda service would.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

/// What the function answered to one invocation.
#[derive(Debug)]
pub enum Outcome {
    Response(Value),
    /// `/invocation/{id}/error`: the handler returned `Err` or panicked.
    Error(Value),
}

struct Pending {
    id: String,
    event: Value,
    answer: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct Shared {
    waiting: HashMap<String, oneshot::Sender<Outcome>>,
    first_next: Option<Instant>,
    init_error: Option<Value>,
}

/// A Runtime API server for one function instance.
pub struct RuntimeApi {
    pub addr: SocketAddr,
    queue: mpsc::Sender<Pending>,
    shared: Arc<Mutex<Shared>>,
    counter: Mutex<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start() -> Self {
        let (queue, receiver) = mpsc::channel::<Pending>(64);
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let served = Arc::clone(&shared);
        let (addr, task) =
            crate::loopback::serve(move |request| route(request, Arc::clone(&receiver), Arc::clone(&served))).await;
        Self { addr, queue, shared, counter: Mutex::new(0), task }
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(&self, event: Value) -> Outcome {
        let id = {
            let mut counter = self.counter.lock().unwrap();
            *counter += 1;
            format!("00000000-0000-4000-8000-{:012}", *counter)
        };
        let (answer, receive) = oneshot::channel();
        self.queue.send(Pending { id, event, answer }).await.unwrap();
        tokio::time::timeout(Duration::from_secs(30), receive)
            .await
            .expect("the function did not answer within 30 s")
            .expect("the runtime API dropped the invocation")
    }

    /// When the function first asked for an invocation: its init was done.
    pub fn first_next(&self) -> Option<Instant> {
        self.shared.lock().unwrap().first_next
    }

    pub fn init_error(&self) -> Option<Value> {
        self.shared.lock().unwrap().init_error.clone()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn reply(status: u16, body: Vec<u8>, headers: &[(&str, String)]) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(*name, value);
    }
    response.body(Full::new(Bytes::from(body))).unwrap()
}

async fn route(
    request: http::Request<Incoming>,
    receiver: Arc<tokio::sync::Mutex<mpsc::Receiver<Pending>>>,
    shared: Arc<Mutex<Shared>>,
) -> http::Response<Full<Bytes>> {
    let path = request.uri().path().to_owned();
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let json = || serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    if path == "/2018-06-01/runtime/invocation/next" {
        shared.lock().unwrap().first_next.get_or_insert_with(Instant::now);
        let Some(pending) = receiver.lock().await.recv().await else {
            return reply(500, Vec::new(), &[]);
        };
        shared.lock().unwrap().waiting.insert(pending.id.clone(), pending.answer);
        let deadline =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap() + Duration::from_secs(10);
        return reply(
            200,
            pending.event.to_string().into_bytes(),
            &[
                ("content-type", "application/json".to_owned()),
                ("lambda-runtime-aws-request-id", pending.id),
                ("lambda-runtime-deadline-ms", deadline.as_millis().to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:000000000000:function:test".to_owned(),
                ),
                ("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned()),
            ],
        );
    }
    if path == "/2018-06-01/runtime/init/error" {
        shared.lock().unwrap().init_error = Some(json());
        return reply(202, br#"{"status":"OK"}"#.to_vec(), &[]);
    }
    let parts: Vec<&str> = path.trim_start_matches("/2018-06-01/runtime/invocation/").split('/').collect();
    if let [id, kind @ ("response" | "error")] = parts.as_slice() {
        let waiting = shared.lock().unwrap().waiting.remove(*id);
        if let Some(answer) = waiting {
            let outcome = if *kind == "response" { Outcome::Response(json()) } else { Outcome::Error(json()) };
            let _ = answer.send(outcome);
            return reply(202, br#"{"status":"OK"}"#.to_vec(), &[]);
        }
    }
    reply(404, Vec::new(), &[])
}

/// Where the function binaries are: `$LAMBDA_BINARIES/<name>/bootstrap`
/// (cargo lambda's layout) when set, else the workspace's `target/debug/<name>`.
pub fn binary(name: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("LAMBDA_BINARIES") {
        // Relative to the workspace: cargo runs tests from the package's folder.
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        return workspace.join(dir).join(name).join("bootstrap");
    }
    // Test executables live in target/debug/deps, binaries (the bench) in target/<profile>.
    let exe = std::env::current_exe().unwrap();
    let mut dir = exe.parent().unwrap();
    if dir.ends_with("deps") {
        dir = dir.parent().unwrap();
    }
    dir.join(name)
}

/// A function process started as Lambda starts it. Its stdout and stderr
/// are drained as it runs (a full pipe would block its logging).
pub struct Function {
    pub api: RuntimeApi,
    pub child: Child,
    pub started: Instant,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

fn drain(
    stream: Option<impl tokio::io::AsyncRead + Unpin + Send + 'static>,
    into: Arc<Mutex<Vec<u8>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let Some(mut stream) = stream else { return };
        let mut buffer = [0u8; 8192];
        while let Ok(read) = stream.read(&mut buffer).await {
            if read == 0 {
                break;
            }
            into.lock().unwrap().extend_from_slice(&buffer[..read]);
        }
    })
}

impl Function {
    /// Starts `name` against a new Runtime API with Lambda's variables plus `env`.
    pub async fn start(name: &str, env: &[(&str, String)]) -> Self {
        let api = RuntimeApi::start().await;
        let path = binary(name);
        assert!(
            path.exists(),
            "{} is missing: `make test` builds the function binaries first (cargo build --workspace --bins)",
            path.display()
        );
        let mut command = Command::new(&path);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (key, value) in env {
            command.env(key, value);
        }
        let started = Instant::now();
        let mut child = command.spawn().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let readers =
            vec![drain(child.stdout.take(), Arc::clone(&output)), drain(child.stderr.take(), Arc::clone(&output))];
        Self { api, child, started, output, readers }
    }

    /// Waits until the function asks for its first invocation.
    pub async fn ready(&self) -> Duration {
        for _ in 0..500 {
            if let Some(at) = self.api.first_next() {
                return at - self.started;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("the function did not ask for an invocation within a second");
    }

    /// The process's peak resident set so far (`VmHWM`), in KiB: what Lambda
    /// reports as "Max Memory Used".
    pub fn peak_rss_kib(&self) -> u64 {
        let pid = self.child.id().expect("the function is running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM in /proc/<pid>/status");
        line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).expect("VmHWM in KiB")
    }

    /// Stops the process and returns what it wrote to stdout and stderr.
    pub async fn stop(mut self) -> String {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        for reader in self.readers.drain(..) {
            let _ = reader.await;
        }
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }
}
