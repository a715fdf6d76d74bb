//! A loopback HTTP server that answers every request the same way: to stand
//! in for an unreachable, throttling or broken dependency.

use bytes::Bytes;
use http_body_util::Full;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A canned answer: status, body and how long to wait before sending it.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub delay: Duration,
    /// A `Location` header, for redirects.
    pub location: Option<String>,
}

impl Canned {
    /// The answer itself, without the delay.
    pub fn reply(&self) -> crate::loopback::Reply {
        let mut response = http::Response::builder().status(self.status).header("content-type", self.content_type);
        if let Some(location) = &self.location {
            response = response.header("location", location);
        }
        response.body(Full::new(Bytes::from(self.body.clone()))).unwrap()
    }
}

/// A running fault server; counts the requests it got.
pub struct FaultServer {
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultServer {
    pub async fn start(canned: Canned) -> Self {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        let (addr, task) = crate::loopback::serve(move |_request| {
            let canned = canned.clone();
            counter.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(canned.delay).await;
                canned.reply()
            }
        })
        .await;
        Self { addr, hits, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// DynamoDB's answer when it throttles a request.
pub fn dynamodb_throttling() -> Canned {
    Canned {
        status: 400,
        content_type: "application/x-amz-json-1.0",
        body: r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#.to_owned(),
        delay: Duration::ZERO,
        location: None,
    }
}

/// A port on loopback where nothing listens.
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}
