//! A loopback proxy in front of DynamoDB Local that injects faults into the
//! requests a predicate picks: throttling answers or delays. The others pass
//! through untouched (DynamoDB Local does not check signatures).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// What to do to a picked request.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Answer DynamoDB's `ThrottlingException` without forwarding.
    Throttle,
    /// Wait this long, then forward.
    Delay(Duration),
}

/// Which requests to hurt: `X-Amz-Target` operation and body are given.
pub type Picker = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

pub struct FaultProxy {
    pub addr: SocketAddr,
    injected: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: String, fault: Fault, pick: Picker) -> Self {
        let injected = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&injected);
        let http = shared::startup::tls::reqwest_builder().build().unwrap();
        let (addr, task) = crate::loopback::serve(move |request: http::Request<hyper::body::Incoming>| {
            let (upstream, pick, counter, http) =
                (upstream.clone(), Arc::clone(&pick), Arc::clone(&counter), http.clone());
            async move {
                let (parts, body) = request.into_parts();
                let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or_default();
                let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
                if pick(&operation, &String::from_utf8_lossy(&body)) {
                    counter.fetch_add(1, Ordering::SeqCst);
                    match fault {
                        Fault::Throttle => return crate::faults::dynamodb_throttling().reply(),
                        Fault::Delay(delay) => tokio::time::sleep(delay).await,
                    }
                }
                let mut forward = http.post(&upstream).body(body);
                for (name, value) in &parts.headers {
                    if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
                        forward = forward.header(name, value);
                    }
                }
                match forward.send().await {
                    Ok(answer) => {
                        let status = answer.status().as_u16();
                        let content_type = answer.headers().get("content-type").cloned();
                        let bytes = answer.bytes().await.unwrap_or_default();
                        let mut response = http::Response::builder().status(status);
                        if let Some(content_type) = content_type {
                            response = response.header("content-type", content_type);
                        }
                        response.body(Full::new(bytes)).unwrap()
                    }
                    Err(_) => http::Response::builder().status(502).body(Full::new(Bytes::new())).unwrap(),
                }
            }
        })
        .await;
        Self { addr, injected, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests the proxy hurt.
    pub fn injected(&self) -> usize {
        self.injected.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
