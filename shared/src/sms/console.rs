//! A sender that prints the SMS instead of sending it, for local use.

use super::{SmsError, SmsSender};
use crate::domain::{Mobile, SmsCode};
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

/// How many sent messages [`ConsoleSender::sent`] remembers.
const REMEMBERED: usize = 100;

/// Prints `SMS to 138****8000: 123456 (valid 3 min)` on standard output so a
/// person can finish sign-up locally, and remembers the last messages for
/// tests. Never used where real people sign up: the code would be in the logs.
#[derive(Debug, Default)]
pub struct ConsoleSender {
    sent: Mutex<VecDeque<SentSms>>,
}

/// One message the console sender printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    pub to: Mobile,
    pub code: SmsCode,
    pub minutes: u32,
}

impl ConsoleSender {
    pub fn new() -> Self {
        Self::default()
    }

    /// The last messages sent, oldest first.
    pub fn sent(&self) -> Vec<SentSms> {
        self.sent.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }

    /// The code most recently sent to `to`.
    pub fn last_code_for(&self, to: &Mobile) -> Option<SmsCode> {
        self.sent().into_iter().rev().find(|sms| &sms.to == to).map(|sms| sms.code)
    }
}

impl SmsSender for ConsoleSender {
    async fn send(&self, to: &Mobile, code: &SmsCode, minutes: u32) -> Result<(), SmsError> {
        println!("SMS to {to}: {} (valid {minutes} min)", code.as_str());
        let mut sent = self.sent.lock().unwrap_or_else(PoisonError::into_inner);
        if sent.len() == REMEMBERED {
            sent.pop_front();
        }
        sent.push_back(SentSms { to: to.clone(), code: code.clone(), minutes });
        Ok(())
    }
}
