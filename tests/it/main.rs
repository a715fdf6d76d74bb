//! Every end-to-end suite in one test binary: each links the AWS SDK, so
//! one binary links it once. Run one suite with a filter, e.g.
//! `cargo test -p tests --test it sms::`.

mod abuse;
mod account;
mod aliyun;
mod captcha;
mod failover;
mod faults;
mod human;
mod limits;
mod lockout;
mod memory;
mod messages;
mod mobile;
mod one_tap;
mod panic;
mod prefix;
mod register;
mod resend;
mod ronglian;
mod runtime_api;
mod secrets;
mod sms;
mod store_contract;
mod template;
mod tencent;
mod test_numbers;
mod wechat;
