//! A Lambda whose handler panics on `/panic` and answers 200 otherwise: the
//! runtime-API test uses it to show that a panic answers that invocation
//! with an error and leaves the warm instance serving (`panic = "unwind"`).

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|request: Request| async move {
        if request.uri().path() == "/panic" {
            panic!("a handler bug");
        }
        Ok::<_, Error>(Response::new(Body::Text("still here".to_owned())))
    }))
    .await
}
