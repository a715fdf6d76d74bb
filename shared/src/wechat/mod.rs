//! WeChat mini-program login (小程序登录): `code2Session` turns a
//! `wx.login` code into the user's openid (and unionid); the phone button's
//! code becomes the number through `getuserphonenumber`, which needs the
//! mini program's access token, shared by every function through the table
//! ([`token`]). `session_key` is never kept: it is dropped as the answer is read.

pub mod token;

use crate::config::WeChatConfig;
use crate::domain::Mobile;
use secrecy::ExposeSecret;
use serde::Deserialize;

/// A single-use code from the mini program (`wx.login`, or the phone
/// button's `getPhoneNumber`): printable ASCII, at most 128 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeChatCode(String);

/// The input is not a WeChat code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a WeChat code")]
pub struct InvalidWeChatCode;

impl WeChatCode {
    pub fn parse(input: &str) -> Result<Self, InvalidWeChatCode> {
        let input = input.trim();
        if input.is_empty() || input.len() > 128 || !input.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidWeChatCode);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who `code2Session` says the person is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeChatIdentity {
    pub openid: String,
    /// Present when the mini program is bound to an Open Platform account.
    pub unionid: Option<String>,
}

/// How a WeChat call failed, by what the caller does about it.
#[derive(Debug, thiserror::Error)]
pub enum WeChatError {
    /// The code is made up, used or expired (`40029`, `40163`), or the
    /// phone code is (`40013`-style refusals on it): the person starts over.
    #[error("WeChat refused the code: {errcode} {errmsg}")]
    InvalidCode { errcode: i64, errmsg: String },
    /// WeChat flags the user as high risk (`40226`).
    #[error("WeChat refused a high-risk user")]
    HighRisk,
    /// Too many calls (`45011`): retry later.
    #[error("WeChat rate-limited the call: {errcode}")]
    RateLimited { errcode: i64 },
    /// The access token is invalid or not the latest (`40001`, `42001`).
    #[error("the access token was refused: {errcode}")]
    TokenRefused { errcode: i64 },
    /// Busy (`-1`), unreachable, too slow, a 5xx, an unreadable answer, our
    /// AppID or secret refused: nothing the person can fix.
    #[error("WeChat failed: {detail}")]
    Failed {
        detail: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

fn failed(detail: impl Into<String>, source: Option<Box<dyn std::error::Error + Send + Sync>>) -> WeChatError {
    WeChatError::Failed { detail: detail.into(), source }
}

/// An access token and its lifetime in seconds.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: i64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

/// What the WeChat services give the login flow.
pub trait WeChat: Send + Sync {
    /// The mini program's AppID (the key its access token is kept under).
    fn app_id(&self) -> &str;
    /// `jscode2session`: the person behind a `wx.login` code.
    fn code_to_session(
        &self,
        code: &WeChatCode,
    ) -> impl std::future::Future<Output = Result<WeChatIdentity, WeChatError>> + Send;
    /// `stable_token`: the current access token (the same one until it
    /// expires, whoever asks; `force` only after WeChat refused it).
    fn fetch_access_token(
        &self,
        force: bool,
    ) -> impl std::future::Future<Output = Result<AccessToken, WeChatError>> + Send;
    /// `getuserphonenumber`: the number behind a phone-button code.
    fn phone_number(
        &self,
        access_token: &str,
        code: &WeChatCode,
    ) -> impl std::future::Future<Output = Result<Mobile, WeChatError>> + Send;
}

/// The WeChat API client, built once per cold start.
#[derive(Debug, Clone)]
pub struct WeChatClient {
    http: reqwest::Client,
    config: WeChatConfig,
}

/// An answer's error fields; `errcode` 0 or absent is success.
#[derive(Debug, Deserialize)]
struct Status {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

impl Status {
    fn check(self) -> Result<(), WeChatError> {
        match self.errcode {
            0 => Ok(()),
            40029 | 40163 => Err(WeChatError::InvalidCode { errcode: self.errcode, errmsg: self.errmsg }),
            40226 => Err(WeChatError::HighRisk),
            45011 => Err(WeChatError::RateLimited { errcode: self.errcode }),
            40001 | 42001 => Err(WeChatError::TokenRefused { errcode: self.errcode }),
            // -1 busy; 40013, 40125 our AppID or secret; anything else undocumented.
            _ => Err(failed(format!("{} {}", self.errcode, self.errmsg), None)),
        }
    }
}

impl WeChatClient {
    pub fn new(config: WeChatConfig) -> Result<Self, reqwest::Error> {
        Ok(Self { http: crate::sms::http_client(config.timeout)?, config })
    }

    /// `{base_url}{path}?{query}`, the query encoded.
    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<reqwest::Url, WeChatError> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.config.base_url))
            .map_err(|e| failed("the WeChat base URL is not a URL", Some(Box::new(e))))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Sends `request` and reads the answer as JSON `T` after its status fields.
    async fn call<T: for<'de> Deserialize<'de>>(&self, request: reqwest::RequestBuilder) -> Result<T, WeChatError> {
        let response =
            request.send().await.map_err(|e| failed("the request failed", Some(Box::new(e.without_url()))))?;
        let status = response.status();
        if !status.is_success() {
            return Err(failed(format!("HTTP status {status}"), None));
        }
        let body =
            response.bytes().await.map_err(|e| failed("reading the answer failed", Some(Box::new(e.without_url()))))?;
        let parsed: Status =
            serde_json::from_slice(&body).map_err(|e| failed("the answer is not WeChat's JSON", Some(Box::new(e))))?;
        parsed.check()?;
        serde_json::from_slice(&body).map_err(|e| failed("the answer lacks a field", Some(Box::new(e))))
    }
}

fn json_post(request: reqwest::RequestBuilder, body: &serde_json::Value) -> reqwest::RequestBuilder {
    request.header(reqwest::header::CONTENT_TYPE, "application/json").body(body.to_string())
}

#[derive(Deserialize)]
struct Session {
    openid: String,
    #[serde(default)]
    unionid: Option<String>,
    // `session_key` is deliberately not a field: it is never kept.
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
    expires_in: i64,
}

#[derive(Deserialize)]
struct PhoneAnswer {
    phone_info: PhoneInfo,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneInfo {
    pure_phone_number: String,
    country_code: String,
    watermark: Watermark,
}

#[derive(Deserialize)]
struct Watermark {
    appid: String,
}

impl WeChat for WeChatClient {
    fn app_id(&self) -> &str {
        &self.config.app_id
    }

    async fn code_to_session(&self, code: &WeChatCode) -> Result<WeChatIdentity, WeChatError> {
        let query = [
            ("appid", self.config.app_id.as_str()),
            ("secret", self.config.app_secret.expose_secret()),
            ("js_code", code.as_str()),
            ("grant_type", "authorization_code"),
        ];
        let url = self.url("/sns/jscode2session", &query)?;
        let session: Session = self.call(self.http.get(url)).await?;
        Ok(WeChatIdentity { openid: session.openid, unionid: session.unionid.filter(|u| !u.is_empty()) })
    }

    async fn fetch_access_token(&self, force: bool) -> Result<AccessToken, WeChatError> {
        let url = self.url("/cgi-bin/stable_token", &[])?;
        let body = serde_json::json!({
            "grant_type": "client_credential",
            "appid": self.config.app_id,
            "secret": self.config.app_secret.expose_secret(),
            "force_refresh": force,
        });
        let token: Token = self.call(json_post(self.http.post(url), &body)).await?;
        Ok(AccessToken { token: token.access_token, expires_in: token.expires_in })
    }

    async fn phone_number(&self, access_token: &str, code: &WeChatCode) -> Result<Mobile, WeChatError> {
        let url = self.url("/wxa/business/getuserphonenumber", &[("access_token", access_token)])?;
        let request = json_post(self.http.post(url), &serde_json::json!({"code": code.as_str()}));
        let answer: PhoneAnswer = self.call(request).await?;
        let info = answer.phone_info;
        if info.watermark.appid != self.config.app_id {
            return Err(failed("the number's watermark names another mini program", None));
        }
        if info.country_code != "86" {
            return Err(WeChatError::InvalidCode { errcode: 0, errmsg: "not a mainland China number".to_owned() });
        }
        Mobile::parse(&info.pure_phone_number)
            .map_err(|_| WeChatError::InvalidCode { errcode: 0, errmsg: "not a mainland mobile number".to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(errcode: i64) -> Result<(), WeChatError> {
        Status { errcode, errmsg: String::new() }.check()
    }

    #[test]
    fn each_documented_errcode_has_its_class() {
        assert!(status(0).is_ok());
        assert!(matches!(status(40029), Err(WeChatError::InvalidCode { .. })));
        assert!(matches!(status(40163), Err(WeChatError::InvalidCode { .. })));
        assert!(matches!(status(40226), Err(WeChatError::HighRisk)));
        assert!(matches!(status(45011), Err(WeChatError::RateLimited { .. })));
        assert!(matches!(status(40001), Err(WeChatError::TokenRefused { .. })));
        for ours in [-1, 40013, 40125, 99999] {
            assert!(matches!(status(ours), Err(WeChatError::Failed { .. })), "{ours}");
        }
    }

    #[test]
    fn a_code_is_printable_ascii_of_bounded_length() {
        assert!(WeChatCode::parse("061AbcDef").is_ok());
        for bad in ["", "a b", &"a".repeat(129), "码"] {
            assert!(WeChatCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_access_token_is_not_in_the_debug_output() {
        let token = AccessToken { token: "ACCESS_TOKEN_VALUE".to_owned(), expires_in: 7200 };
        assert!(!format!("{token:?}").contains("ACCESS_TOKEN_VALUE"));
    }
}
