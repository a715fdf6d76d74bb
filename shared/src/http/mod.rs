//! The HTTP edge shared by every handler, in the order a request meets it:
//! [`request`] parsing, [`session`] lookup, [`serve`] and its telemetry,
//! [`response`] building, and the one mapping from [`error`]s to answers.
//! [`routes`] lists every route; [`messages`] holds what people read.

pub mod error;
pub mod messages;
pub mod request;
pub mod response;
pub mod routes;
pub mod serve;
pub mod session;

pub use error::{ApiError, BadRequest, cause_chain};
pub use request::{
    MAX_BODY_BYTES, body_bytes, captcha, client_key, guess, json_body, json_form, new_password, path_parameter,
    query_parameter, source_ip, text,
};
pub use response::{ok, png};
pub use serve::{respond, serve};
pub use session::{SESSION_COOKIE, SessionDelivery, new_session, session_token, with_session_cookie};
