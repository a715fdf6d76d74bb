//! The local API's HTTP/1 server: reads each request (bodies capped at
//! [`MAX_BODY`]) and answers it through [`LocalApi::handle_http`].

use crate::apigw::HttpRequest;
use crate::{LocalApi, plain};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use shared::clock::Clock;
use shared::http::{ApiError, BadRequest};
use shared::random::Random;
use shared::sms::SmsSender;
use shared::store::Store;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;

/// The largest request body the local server reads.
const MAX_BODY: usize = 64 * 1024;

/// Serves `api` on `listener` until the task is dropped.
pub async fn serve<S, M, C, R>(listener: TcpListener, api: Arc<LocalApi<S, M, C, R>>) -> std::io::Result<()>
where
    S: Store + 'static,
    M: SmsSender + 'static,
    C: Clock + 'static,
    R: Random + 'static,
{
    loop {
        let (stream, peer) = listener.accept().await?;
        let api = Arc::clone(&api);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let api = Arc::clone(&api);
                async move {
                    let (parts, body) = request.into_parts();
                    let response = match Limited::new(body, MAX_BODY).collect().await {
                        Ok(body) => {
                            let request = HttpRequest {
                                method: parts.method.to_string(),
                                path: parts.uri.path().to_owned(),
                                query: parts.uri.query().unwrap_or_default().to_owned(),
                                headers: parts
                                    .headers
                                    .iter()
                                    .filter_map(|(n, v)| Some((n.to_string(), v.to_str().ok()?.to_owned())))
                                    .collect(),
                                body: body.to_bytes().to_vec(),
                                source_ip: peer.ip(),
                            };
                            api.handle_http(request).await
                        }
                        Err(_) => plain(ApiError::BadRequest(BadRequest::InvalidBody).into_response()),
                    };
                    Ok::<_, Infallible>(response.map(|body| Full::new(Bytes::from(body))))
                }
            });
            if let Err(error) =
                hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await
            {
                tracing::debug!(error = %error, "connection ended with an error");
            }
        });
    }
}
