//! `GET /session`: who is logged in; `DELETE /session`: log out.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, json};
use shared::clock::Clock;
use shared::http::routes::Function;
use shared::http::{ApiError, ok, serve, session_token, with_session_cookie};
use shared::service::{Error, SessionService};
use shared::store::Store;

pub async fn handle<S: Store, C: Clock>(service: &SessionService<S, C>, request: Request) -> Response<Body> {
    serve(Function::Session, &request, route(service, &request)).await
}

async fn route<S: Store, C: Clock>(
    service: &SessionService<S, C>,
    request: &Request,
) -> Result<Response<Body>, ApiError> {
    let token = session_token(request);
    match *request.method() {
        Method::GET => {
            let token = token.ok_or(Error::NotLoggedIn)?;
            let session = service.current(&token).await?;
            let mut extra = Map::new();
            extra.insert("username".to_owned(), json!(session.username));
            extra.insert("mobile".to_owned(), json!(session.mobile.to_string()));
            extra.insert("created_at".to_owned(), json!(session.created_at));
            extra.insert("expires_at".to_owned(), json!(session.expires_at));
            Ok(ok(extra))
        }
        Method::DELETE => {
            if let Some(token) = token {
                service.end(&token).await?;
            }
            Ok(with_session_cookie(ok(Map::new()), None, 0))
        }
        _ => Err(ApiError::MethodNotAllowed),
    }
}
