//! Everything the sign-up functions share: domain types, configuration, the
//! store, SMS senders, the captcha renderer, the services and the one mapping
//! from errors to HTTP responses.

pub mod captcha;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod endpoint;
pub mod http;
pub mod human;
pub mod one_tap;
pub mod random;
pub mod service;
pub mod signing;
pub mod sms;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod wechat;
