//! Everything the sign-up functions share: domain types, configuration, the
//! store, SMS senders, the captcha renderer, the services and the one mapping
//! from errors to HTTP responses.

pub mod captcha;
pub mod clock;
pub mod code_key;
pub mod config;
pub mod domain;
pub mod forms;
pub mod http;
pub mod messages;
pub mod password;
pub mod random;
pub mod routes;
pub mod service;
pub mod signing;
pub mod sms;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tls;
