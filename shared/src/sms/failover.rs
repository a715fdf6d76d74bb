//! Sending through the configured providers in order: the next one is tried
//! only when the last one certainly sent nothing for reasons of its own.

use super::{Provider, SmsError, SmsSender};
use crate::domain::{Mobile, SmsCode};
use crate::telemetry::{Metric, audit, metrics};
use std::time::Duration;

/// Sends through `providers` in failover order. A provider-side refusal
/// moves the send to the next provider; a number-side refusal or an unknown
/// outcome (a timeout included) ends it, so a number never gets two codes
/// and no provider's per-number limit is worked around. Every attempt is an
/// audit line and a `ProviderAttempts` data point by `Provider` and `Outcome`;
/// each move to the next provider counts `Failovers`.
#[derive(Debug)]
pub struct FailoverSender<M> {
    providers: Vec<(Provider, M)>,
    timeout: Duration,
}

impl<M: SmsSender> FailoverSender<M> {
    /// `timeout` bounds each attempt: past it the outcome is unknown.
    pub fn new(providers: Vec<(Provider, M)>, timeout: Duration) -> Self {
        Self { providers, timeout }
    }

    /// The providers, in order.
    pub fn order(&self) -> Vec<Provider> {
        self.providers.iter().map(|(provider, _)| *provider).collect()
    }

    async fn attempt(
        &self,
        provider: Provider,
        sender: &M,
        to: &Mobile,
        code: &SmsCode,
        minutes: u32,
    ) -> Result<(), SmsError> {
        let sent = tokio::time::timeout(self.timeout, sender.send(to, code, minutes)).await;
        let result = sent.unwrap_or_else(|_| {
            Err(SmsError::Unknown {
                provider,
                detail: format!("no answer within {} ms", self.timeout.as_millis()),
                source: None,
            })
        });
        let outcome = result.as_ref().err().map_or("sent", SmsError::kind);
        let provider_code = match &result {
            Err(SmsError::ProviderRefused { code, .. } | SmsError::NumberRefused { code, .. }) => Some(code.as_str()),
            _ => None,
        };
        metrics::count(Metric::ProviderAttempts, &[("Provider", provider.name()), ("Outcome", outcome)]);
        audit::provider_attempt(to, provider.name(), outcome, provider_code);
        result
    }
}

impl<M: SmsSender> SmsSender for FailoverSender<M> {
    async fn send(&self, to: &Mobile, code: &SmsCode, minutes: u32) -> Result<(), SmsError> {
        let mut providers = self.providers.iter().peekable();
        while let Some((provider, sender)) = providers.next() {
            match self.attempt(*provider, sender, to, code, minutes).await {
                Err(error) if error.may_fail_over() => match providers.peek() {
                    Some((next, _)) => {
                        metrics::count(Metric::Failovers, &[("Provider", provider.name())]);
                        tracing::warn!(to = %to, error = %error, next = next.name(), "the provider refused the SMS; trying the next one");
                    }
                    None => return Err(error),
                },
                result => return result,
            }
        }
        Err(SmsError::Unknown {
            provider: Provider::Ronglian,
            detail: "no provider is configured".to_owned(),
            source: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::NumberRefusal;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A provider that answers with what it is given and counts its calls.
    #[derive(Debug)]
    struct Fake {
        provider: Provider,
        answer: fn(Provider) -> Result<(), SmsError>,
        stall: bool,
        calls: AtomicUsize,
    }

    impl Fake {
        fn new(provider: Provider, answer: fn(Provider) -> Result<(), SmsError>) -> Self {
            Self { provider, answer, stall: false, calls: AtomicUsize::new(0) }
        }
    }

    impl SmsSender for &Fake {
        async fn send(&self, _: &Mobile, _: &SmsCode, _: u32) -> Result<(), SmsError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.stall {
                std::future::pending::<()>().await;
            }
            (self.answer)(self.provider)
        }
    }

    fn sent(_: Provider) -> Result<(), SmsError> {
        Ok(())
    }
    fn arrears(provider: Provider) -> Result<(), SmsError> {
        Err(SmsError::ProviderRefused { provider, code: "isv.AMOUNT_NOT_ENOUGH".into(), message: String::new() })
    }
    fn limited(provider: Provider) -> Result<(), SmsError> {
        Err(SmsError::NumberRefused {
            provider,
            reason: NumberRefusal::RateLimited,
            code: "isv.BUSINESS_LIMIT_CONTROL".into(),
            message: String::new(),
        })
    }
    fn unknown(provider: Provider) -> Result<(), SmsError> {
        Err(SmsError::Unknown { provider, detail: "HTTP status 500".into(), source: None })
    }

    async fn send(fakes: &[&Fake]) -> Result<(), SmsError> {
        let sender =
            FailoverSender::new(fakes.iter().map(|fake| (fake.provider, *fake)).collect(), Duration::from_millis(50));
        let mobile = Mobile::parse("13800138000").unwrap();
        sender.send(&mobile, &SmsCode::parse("123456").unwrap(), 3).await
    }

    fn calls(fake: &Fake) -> usize {
        fake.calls.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn a_provider_side_refusal_moves_the_send_to_the_next_provider() {
        let (aliyun, tencent) = (Fake::new(Provider::Aliyun, arrears), Fake::new(Provider::Tencent, sent));
        assert!(send(&[&aliyun, &tencent]).await.is_ok());
        assert_eq!((calls(&aliyun), calls(&tencent)), (1, 1));
    }

    #[tokio::test]
    async fn a_number_side_refusal_or_an_unknown_outcome_ends_the_send_at_its_provider() {
        for answer in [limited, unknown] {
            let (aliyun, tencent) = (Fake::new(Provider::Aliyun, answer), Fake::new(Provider::Tencent, sent));
            let error = send(&[&aliyun, &tencent]).await.unwrap_err();
            assert_eq!((error.provider(), calls(&tencent)), (Provider::Aliyun, 0), "{error}");
        }
    }

    #[tokio::test]
    async fn a_stalled_provider_is_an_unknown_outcome_after_the_timeout_and_nothing_else_is_tried() {
        let aliyun = Fake { stall: true, ..Fake::new(Provider::Aliyun, sent) };
        let tencent = Fake::new(Provider::Tencent, sent);
        let error = send(&[&aliyun, &tencent]).await.unwrap_err();
        assert!(matches!(error, SmsError::Unknown { provider: Provider::Aliyun, .. }), "{error}");
        assert_eq!(calls(&tencent), 0);
    }

    #[tokio::test]
    async fn after_a_failover_the_next_providers_own_class_is_the_answer() {
        for (answer, certain) in [(unknown as fn(Provider) -> Result<(), SmsError>, false), (limited, true)] {
            let (aliyun, tencent) = (Fake::new(Provider::Aliyun, arrears), Fake::new(Provider::Tencent, answer));
            let ronglian = Fake::new(Provider::Ronglian, sent);
            let error = send(&[&aliyun, &tencent, &ronglian]).await.unwrap_err();
            assert_eq!((error.provider(), error.certainly_not_sent()), (Provider::Tencent, certain), "{error}");
            assert_eq!(calls(&ronglian), 0, "{error}: only a provider-side refusal moves the send on");
        }
    }

    #[tokio::test]
    async fn when_every_provider_refuses_the_last_refusal_is_the_answer() {
        let (aliyun, tencent) = (Fake::new(Provider::Aliyun, arrears), Fake::new(Provider::Tencent, arrears));
        let error = send(&[&aliyun, &tencent]).await.unwrap_err();
        assert!(matches!(error, SmsError::ProviderRefused { provider: Provider::Tencent, .. }), "{error}");
        assert!(error.certainly_not_sent());
    }

    #[tokio::test]
    async fn every_attempt_is_a_data_point_and_an_audit_line_and_a_failover_is_counted() {
        let (aliyun, tencent) = (Fake::new(Provider::Aliyun, arrears), Fake::new(Provider::Tencent, sent));
        let context = crate::telemetry::RequestContext { function: "sms", request_id: "r".into(), client_ip: None };
        let (result, lines) = crate::telemetry::scope_lines(context, send(&[&aliyun, &tencent])).await;
        assert!(result.is_ok());
        let attempts: Vec<(String, String)> = lines
            .iter()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|json| json["audit"] == "sms_attempt")
            .map(|json| {
                (
                    json["provider"].as_str().unwrap_or_default().to_owned(),
                    json["outcome"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        assert_eq!(attempts, [("aliyun".into(), "provider_refused".into()), ("tencent".into(), "ok".into())]);
        let joined = lines.join("\n");
        assert!(joined.contains("\"Failovers\""), "{joined}");
        assert!(joined.contains("\"Outcome\":\"sent\""), "{joined}");
        assert!(!joined.contains("13800138000"), "{joined}");
    }
}
