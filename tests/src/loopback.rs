//! The test kit's HTTP servers on loopback: one accept loop ([`serve`]), and
//! what every provider stand-in is made of ([`Server`]): the mode a test
//! sets, the state its handler keeps, the count of requests and the log of
//! refusals, and the task, stopped when the server is dropped.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What a loopback handler answers.
pub type Reply = http::Response<Full<Bytes>>;

/// Serves `handle` on a fresh loopback port until the task is aborted.
pub async fn serve<H, F>(handle: H) -> (SocketAddr, JoinHandle<()>)
where
    H: Fn(http::Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Reply> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let handle = handle.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let reply = handle(request);
                    async move { Ok::<_, Infallible>(reply.await) }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    (addr, task)
}

/// A running provider stand-in: `M` is how it behaves beyond its checks
/// (the test sets it), `S` what its handler keeps (issued tickets, accepted
/// messages). Each provider's module names its own `Server<Mode, State>` and
/// adds its account's `config()` and `env()`.
pub struct Server<M, S> {
    pub addr: SocketAddr,
    shared: Arc<Shared<M, S>>,
    task: JoinHandle<()>,
}

/// What a stand-in's handler shares with the test.
pub struct Shared<M, S> {
    mode: Mutex<M>,
    state: Mutex<S>,
    received: AtomicUsize,
    refusals: Mutex<Vec<String>>,
}

impl<M, S> Shared<M, S> {
    /// The handler's state, locked.
    pub fn state(&self) -> MutexGuard<'_, S> {
        self.state.lock().unwrap()
    }

    /// Logs why a request (or a part of one) was refused, as `code: reason`.
    pub fn refuse(&self, code: impl Display, reason: impl Display) {
        self.refusals.lock().unwrap().push(format!("{code}: {reason}"));
    }
}

impl<M: Clone + Send + 'static, S: Send + 'static> Server<M, S> {
    /// Serves `answer` on a fresh loopback port. Each request is read whole
    /// and counted, then handed to `answer` with the mode as it was when the
    /// request arrived.
    pub async fn spawn<H, F>(mode: M, state: S, answer: H) -> Self
    where
        H: Fn(http::request::Parts, Bytes, M, Arc<Shared<M, S>>) -> F + Clone + Send + Sync + 'static,
        F: Future<Output = Reply> + Send + 'static,
    {
        let shared = Arc::new(Shared {
            mode: Mutex::new(mode),
            state: Mutex::new(state),
            received: AtomicUsize::new(0),
            refusals: Mutex::default(),
        });
        let served = Arc::clone(&shared);
        let (addr, task) = serve(move |request: http::Request<Incoming>| {
            let (shared, answer) = (Arc::clone(&served), answer.clone());
            async move {
                let mode = shared.mode.lock().unwrap().clone();
                let (parts, body) = request.into_parts();
                let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                shared.received.fetch_add(1, Ordering::SeqCst);
                answer(parts, body, mode, shared).await
            }
        })
        .await;
        Self { addr, shared, task }
    }
}

impl<M, S> Server<M, S> {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_mode(&self, mode: M) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// How many requests arrived, whatever became of them.
    pub fn received(&self) -> usize {
        self.shared.received.load(Ordering::SeqCst)
    }

    /// Why requests were refused, as `code: reason` in the service's own
    /// codes, in order.
    pub fn refusals(&self) -> Vec<String> {
        self.shared.refusals.lock().unwrap().clone()
    }

    /// The handler's state, locked.
    pub fn state(&self) -> MutexGuard<'_, S> {
        self.shared.state()
    }
}

impl<M, S> Drop for Server<M, S> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An answer of `status` carrying `body`, labelled `content_type` (each
/// service spells its JSON type its own way, and labels a gateway's garbage
/// the same).
pub fn json_reply(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    http::Response::builder().status(status).header("content-type", content_type).body(Full::new(body.into())).unwrap()
}

/// The server's clock, in seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}
