//! Everything a request can end in other than success, and the one table
//! from each of them to a status, a stable key and a message.

use super::messages::{Lang, message};
use super::response::json_response;
use crate::domain::{
    InvalidCaptchaAnswer, InvalidCaptchaId, InvalidCarrierToken, InvalidMobile, InvalidPassword, InvalidPurpose,
    InvalidSignupTicket, InvalidSmsCode, InvalidSmsCodeId, InvalidUsername,
};
use crate::service::{Error as ServiceError, LimitKind};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::json;

/// Everything a request can end in other than success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    BadRequest(#[from] BadRequest),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("no such route")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
}

/// Input that could not be parsed; each names what was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BadRequest {
    #[error("invalid captcha id")]
    InvalidCaptchaId,
    #[error("invalid mobile")]
    InvalidMobile,
    #[error("missing parameters")]
    MissingParameters,
    #[error("invalid image code")]
    InvalidImageCode,
    #[error("invalid body")]
    InvalidBody,
    #[error("invalid username")]
    InvalidUsername,
    #[error("invalid password")]
    InvalidPassword,
    #[error("passwords differ")]
    PasswordMismatch,
    #[error("invalid SMS code")]
    InvalidSmsCode,
    #[error("agreement not accepted")]
    AllowRequired,
    #[error("invalid SMS code id")]
    InvalidSmsCodeId,
    #[error("the body is not JSON")]
    UnsupportedMediaType,
    #[error("invalid purpose")]
    InvalidPurpose,
    #[error("no account given")]
    InvalidAccount,
    #[error("invalid captcha response")]
    InvalidCaptchaResponse,
    #[error("invalid carrier one-tap token")]
    InvalidOneTapToken,
    #[error("invalid signup ticket")]
    InvalidSignupTicket,
    #[error("invalid WeChat code")]
    InvalidWeChatCode,
    #[error("invalid WeChat ticket")]
    InvalidWeChatTicket,
    #[error("no proof of the owner given")]
    OwnerProofRequired,
}

macro_rules! bad_request_from {
    ($($error:ty => $variant:ident),* $(,)?) => {
        $(impl From<$error> for ApiError {
            fn from(_: $error) -> Self {
                ApiError::BadRequest(BadRequest::$variant)
            }
        })*
    };
}

bad_request_from! {
    InvalidCaptchaId => InvalidCaptchaId,
    InvalidMobile => InvalidMobile,
    InvalidCaptchaAnswer => InvalidImageCode,
    InvalidUsername => InvalidUsername,
    InvalidPassword => InvalidPassword,
    InvalidSmsCode => InvalidSmsCode,
    InvalidSmsCodeId => InvalidSmsCodeId,
    InvalidPurpose => InvalidPurpose,
    InvalidCarrierToken => InvalidOneTapToken,
    InvalidSignupTicket => InvalidSignupTicket,
    crate::wechat::InvalidWeChatCode => InvalidWeChatCode,
}

impl From<crate::human::BadProof> for ApiError {
    fn from(bad: crate::human::BadProof) -> Self {
        use crate::human::BadProof as P;
        ApiError::BadRequest(match bad {
            P::Missing => BadRequest::MissingParameters,
            P::InvalidCaptchaId => BadRequest::InvalidCaptchaId,
            P::InvalidImageCode => BadRequest::InvalidImageCode,
            P::Invalid => BadRequest::InvalidCaptchaResponse,
        })
    }
}

/// What the client is told: status, stable key, the id of the message for
/// people in [`MESSAGES`](crate::http::messages::MESSAGES), and what it can act
/// on: when to retry, how many guesses a code has left.
struct Outcome {
    status: StatusCode,
    key: &'static str,
    message: &'static str,
    retry_after: Option<i64>,
    attempts_left: Option<i64>,
}

/// An outcome whose message is the one under its key.
const fn outcome(status: StatusCode, key: &'static str) -> Outcome {
    Outcome { status, key, message: key, retry_after: None, attempts_left: None }
}

/// The same key with another of its messages (`key.variant`).
const fn worded(outcome: Outcome, message: &'static str) -> Outcome {
    Outcome { message, ..outcome }
}

const fn with_attempts_left(outcome: Outcome, attempts_left: i64) -> Outcome {
    Outcome { attempts_left: Some(attempts_left), ..outcome }
}

impl ApiError {
    fn outcome(&self) -> Outcome {
        use BadRequest as B;
        use ServiceError as S;
        const BAD: StatusCode = StatusCode::BAD_REQUEST;
        match self {
            ApiError::BadRequest(bad) => match bad {
                B::InvalidCaptchaId => outcome(BAD, "invalid_captcha_id"),
                B::InvalidMobile => outcome(BAD, "invalid_mobile"),
                B::MissingParameters => outcome(BAD, "missing_parameters"),
                B::InvalidImageCode => outcome(BAD, "invalid_image_code"),
                B::InvalidBody => outcome(BAD, "invalid_body"),
                B::InvalidUsername => outcome(BAD, "invalid_username"),
                B::InvalidPassword => outcome(BAD, "invalid_password"),
                B::PasswordMismatch => outcome(BAD, "password_mismatch"),
                B::InvalidSmsCode => outcome(BAD, "invalid_sms_code"),
                B::AllowRequired => outcome(BAD, "allow_required"),
                B::InvalidSmsCodeId => with_attempts_left(outcome(BAD, "invalid_sms_code_id"), 0),
                B::InvalidPurpose => outcome(BAD, "invalid_purpose"),
                B::InvalidAccount => outcome(BAD, "invalid_account"),
                B::InvalidCaptchaResponse => outcome(BAD, "invalid_captcha_response"),
                B::InvalidOneTapToken => outcome(BAD, "invalid_one_tap_token"),
                B::InvalidSignupTicket => outcome(BAD, "invalid_signup_ticket"),
                B::InvalidWeChatCode => outcome(BAD, "invalid_wechat_code"),
                B::InvalidWeChatTicket => outcome(BAD, "invalid_wechat_ticket"),
                B::OwnerProofRequired => outcome(BAD, "owner_proof_required"),
                B::UnsupportedMediaType => outcome(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            },
            ApiError::Service(error) => match error {
                S::NumberNotAllowed => outcome(BAD, "mobile_not_allowed"),
                S::CaptchaExpired => outcome(BAD, "captcha_expired"),
                S::CaptchaIncorrect => outcome(BAD, "captcha_incorrect"),
                S::CaptchaUnavailable(_) => outcome(StatusCode::SERVICE_UNAVAILABLE, "captcha_unavailable"),
                S::TooFrequent { retry_after } => Outcome {
                    retry_after: Some(*retry_after),
                    ..outcome(StatusCode::TOO_MANY_REQUESTS, "too_frequent")
                },
                S::RateLimited { kind, retry_after } => {
                    let key = match kind {
                        LimitKind::MobileDaily => "mobile_daily_limit",
                        LimitKind::IpHourly => "ip_sms_limit",
                        LimitKind::Global => "sms_busy",
                        LimitKind::CaptchaIp => "ip_captcha_limit",
                        LimitKind::CaptchaFailures => "captcha_failure_limit",
                        LimitKind::CodeFailures => "sms_code_failure_limit",
                        // Never a lock-out: a captcha lets the next login through.
                        LimitKind::LoginAccount | LimitKind::LoginIpCaptcha => "captcha_required",
                        LimitKind::LoginIp => "login_ip_limit",
                        LimitKind::PrefixAllowance => "prefix_suspended",
                        LimitKind::OneTapIp => "one_tap_ip_limit",
                        LimitKind::WeChatIp => "wechat_ip_limit",
                    };
                    Outcome { retry_after: Some(*retry_after), ..outcome(StatusCode::TOO_MANY_REQUESTS, key) }
                }
                S::SmsCodeExpired => with_attempts_left(outcome(BAD, "sms_code_expired"), 0),
                S::SmsCodeIncorrect { attempts_left } => {
                    with_attempts_left(outcome(BAD, "sms_code_incorrect"), *attempts_left)
                }
                S::SmsCodeWrongPurpose { attempts_left } => {
                    with_attempts_left(outcome(BAD, "sms_code_wrong_purpose"), *attempts_left)
                }
                S::MobileNotRegistered => outcome(StatusCode::NOT_FOUND, "mobile_not_registered"),
                S::LoginFailed => outcome(StatusCode::UNAUTHORIZED, "login_failed"),
                S::UsernameTaken => outcome(StatusCode::CONFLICT, "username_taken"),
                S::MobileTaken => outcome(StatusCode::CONFLICT, "mobile_taken"),
                S::NotLoggedIn => outcome(StatusCode::UNAUTHORIZED, "not_logged_in"),
                S::OneTapDisabled => outcome(StatusCode::NOT_FOUND, "one_tap_disabled"),
                S::OneTapRefused(_) => outcome(StatusCode::UNAUTHORIZED, "one_tap_refused"),
                S::OneTapFailed(_) => outcome(StatusCode::BAD_GATEWAY, "one_tap_failed"),
                S::SignupTicketExpired => outcome(BAD, "signup_ticket_expired"),
                S::SignupTicketMismatch => outcome(BAD, "signup_ticket_mismatch"),
                S::WeChatDisabled => outcome(StatusCode::NOT_FOUND, "wechat_disabled"),
                S::WeChatCodeInvalid(_) => outcome(BAD, "wechat_code_invalid"),
                S::WeChatHighRisk => outcome(StatusCode::FORBIDDEN, "wechat_high_risk"),
                S::WeChatBusy { retry_after } => {
                    Outcome { retry_after: Some(*retry_after), ..outcome(StatusCode::TOO_MANY_REQUESTS, "wechat_busy") }
                }
                S::WeChatFailed(_) => outcome(StatusCode::BAD_GATEWAY, "wechat_failed"),
                S::WeChatTicketExpired => outcome(BAD, "wechat_ticket_expired"),
                S::WeChatAlreadyLinked => outcome(StatusCode::CONFLICT, "wechat_already_linked"),
                S::ProviderLimit { retry_after } => Outcome {
                    retry_after: Some(*retry_after),
                    ..outcome(StatusCode::TOO_MANY_REQUESTS, "sms_provider_limit")
                },
                S::NumberRefused => worded(outcome(BAD, "invalid_mobile"), "invalid_mobile.provider"),
                S::SmsUncertain { retry_after, .. } => Outcome {
                    retry_after: Some(*retry_after),
                    ..worded(outcome(StatusCode::BAD_GATEWAY, "sms_failed"), "sms_failed.unknown")
                },
                S::SmsRefused(_) => outcome(StatusCode::BAD_GATEWAY, "sms_failed"),
                S::Unavailable(_) => outcome(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable"),
                S::Internal(_) => outcome(StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
            },
            ApiError::NotFound => outcome(StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => outcome(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        }
    }

    /// The stable `error` key, for tests and logs.
    pub fn key(&self) -> &'static str {
        self.outcome().key
    }

    /// The JSON error response in English.
    pub fn into_response(self) -> Response<Body> {
        self.into_response_in(Lang::En)
    }

    /// The JSON error response, `errmsg` in `lang`. Server-side failures are
    /// logged with their whole cause chain; the client only learns that
    /// something failed.
    pub fn into_response_in(self, lang: Lang) -> Response<Body> {
        let outcome = self.outcome();
        if outcome.status.is_server_error() {
            tracing::error!(error = %cause_chain(&self), key = outcome.key, "request failed");
        }
        let errmsg = message(outcome.message).map_or(outcome.key, |text| text.get(lang));
        let mut body = json!({ "code": outcome.status.as_u16(), "errmsg": errmsg, "error": outcome.key });
        if let Some(attempts_left) = outcome.attempts_left {
            body["attempts_left"] = json!(attempts_left);
        }
        let retry_after = outcome.retry_after.map(|seconds| seconds.max(1));
        if let Some(seconds) = retry_after {
            body["retry_after"] = json!(seconds);
        }
        let mut response = json_response(outcome.status, body);
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// `error: cause: cause ...`, for the log.
pub fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::super::response::body_of;
    use super::*;

    #[test]
    fn an_error_carries_its_status_message_and_key() {
        let response = ApiError::BadRequest(BadRequest::MissingParameters).into_response();
        assert_eq!(response.status(), 400);
        assert_eq!(
            body_of(&response),
            json!({"code": 400, "errmsg": "Incomplete parameters", "error": "missing_parameters"})
        );
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn too_frequent_is_a_429_with_retry_after() {
        let response = ApiError::Service(ServiceError::TooFrequent { retry_after: 42 }).into_response();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()[header::RETRY_AFTER], "42");
    }

    #[test]
    fn a_server_error_body_reveals_nothing_of_its_cause() {
        let error = ServiceError::internal("secret table name leaked here");
        let response = ApiError::Service(error).into_response();
        assert_eq!(response.status(), 500);
        assert!(!format!("{:?}", response.body()).contains("secret"));
    }

    #[test]
    fn an_unavailable_store_is_a_503() {
        let error = ServiceError::Unavailable("timeout".into());
        assert_eq!(ApiError::Service(error).into_response().status(), 503);
    }

    /// One of every refusal the mapping can give.
    fn every_error() -> Vec<ApiError> {
        use BadRequest as B;
        use ServiceError as S;
        let bad = [
            B::InvalidCaptchaId,
            B::InvalidMobile,
            B::MissingParameters,
            B::InvalidImageCode,
            B::InvalidBody,
            B::InvalidUsername,
            B::InvalidPassword,
            B::PasswordMismatch,
            B::InvalidSmsCode,
            B::AllowRequired,
            B::InvalidSmsCodeId,
            B::UnsupportedMediaType,
            B::InvalidPurpose,
            B::InvalidAccount,
            B::InvalidCaptchaResponse,
            B::InvalidOneTapToken,
            B::InvalidSignupTicket,
            B::InvalidWeChatCode,
            B::InvalidWeChatTicket,
            B::OwnerProofRequired,
        ];
        let limits = [
            LimitKind::MobileDaily,
            LimitKind::IpHourly,
            LimitKind::Global,
            LimitKind::CaptchaIp,
            LimitKind::CaptchaFailures,
            LimitKind::CodeFailures,
            LimitKind::LoginAccount,
            LimitKind::LoginIp,
            LimitKind::LoginIpCaptcha,
            LimitKind::PrefixAllowance,
            LimitKind::OneTapIp,
            LimitKind::WeChatIp,
        ];
        let service = [
            S::NumberNotAllowed,
            S::CaptchaExpired,
            S::CaptchaIncorrect,
            S::CaptchaUnavailable(crate::human::VerifierError {
                provider: crate::human::CaptchaProvider::Tencent,
                detail: "timeout".into(),
                source: None,
            }),
            S::TooFrequent { retry_after: 1 },
            S::SmsCodeExpired,
            S::SmsCodeIncorrect { attempts_left: 1 },
            S::SmsCodeWrongPurpose { attempts_left: 1 },
            S::MobileNotRegistered,
            S::LoginFailed,
            S::UsernameTaken,
            S::MobileTaken,
            S::NotLoggedIn,
            S::OneTapDisabled,
            S::OneTapRefused("isv.INVALID_TOKEN".into()),
            S::OneTapFailed("timeout".into()),
            S::SignupTicketExpired,
            S::SignupTicketMismatch,
            S::WeChatDisabled,
            S::WeChatCodeInvalid("40029".into()),
            S::WeChatHighRisk,
            S::WeChatBusy { retry_after: 60 },
            S::WeChatFailed("-1".into()),
            S::WeChatTicketExpired,
            S::WeChatAlreadyLinked,
            S::ProviderLimit { retry_after: 60 },
            S::NumberRefused,
            S::SmsRefused("every provider refused".into()),
            S::SmsUncertain { retry_after: 60, cause: "timeout".into() },
            S::Unavailable("down".into()),
            S::internal("bug"),
        ];
        bad.into_iter()
            .map(ApiError::from)
            .chain(limits.into_iter().map(|kind| ApiError::Service(S::RateLimited { kind, retry_after: 1 })))
            .chain(service.into_iter().map(ApiError::Service))
            .chain([ApiError::NotFound, ApiError::MethodNotAllowed])
            .collect()
    }

    #[test]
    fn every_refusal_has_its_message_in_both_languages() {
        for error in every_error() {
            let outcome = error.outcome();
            let text = message(outcome.message).unwrap_or_else(|| panic!("no message for {}", outcome.message));
            assert_eq!(text.key(), outcome.key, "{} under another key", outcome.message);
        }
        let used: Vec<&str> = every_error().iter().map(|error| error.outcome().message).collect();
        for text in super::super::messages::MESSAGES {
            assert!(used.contains(&text.id), "{} is in the table but no refusal uses it", text.id);
        }
    }

    #[test]
    fn a_429_and_an_unknown_send_say_when_to_retry_in_the_header_and_the_body() {
        let limited =
            ApiError::Service(ServiceError::RateLimited { kind: LimitKind::CaptchaFailures, retry_after: 90 });
        let response = limited.into_response();
        assert_eq!(
            (response.status().as_u16(), &response.headers()[header::RETRY_AFTER]),
            (429, &HeaderValue::from(90))
        );
        assert_eq!(body_of(&response)["retry_after"], 90);
        assert_eq!(body_of(&response)["error"], "captcha_failure_limit");
        let unknown = ServiceError::SmsUncertain { retry_after: 60, cause: "timeout".into() };
        let response = ApiError::Service(unknown).into_response();
        assert_eq!((response.status().as_u16(), body_of(&response)["retry_after"].as_i64()), (502, Some(60)));
        assert_eq!(response.headers()[header::RETRY_AFTER], "60");
    }

    #[test]
    fn every_refusal_of_an_sms_code_says_how_many_guesses_are_left() {
        for (error, left) in [
            (ServiceError::SmsCodeIncorrect { attempts_left: 3 }, 3),
            (ServiceError::SmsCodeWrongPurpose { attempts_left: 5 }, 5),
            (ServiceError::SmsCodeExpired, 0),
        ] {
            assert_eq!(body_of(&ApiError::Service(error).into_response())["attempts_left"], left);
        }
        assert_eq!(body_of(&ApiError::from(BadRequest::InvalidSmsCodeId).into_response())["attempts_left"], 0);
    }
}
