//! Every message a person reads, in English and Simplified Chinese, in one
//! table; the reader's language comes from `Accept-Language`.

/// The languages `errmsg` is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// The original's messages, and the default.
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// The first language of an `Accept-Language` list, by weight, that we
    /// write: `zh`, `zh-CN`, `zh-Hans` (and `zh-SG`, `zh-Hans-*`) are
    /// Simplified Chinese, `en*` and `*` English; anything else, or no
    /// header, is English.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let mut ranges: Vec<(f32, usize, Option<Self>)> = header
            .unwrap_or_default()
            .split(',')
            .enumerate()
            .filter_map(|(index, range)| {
                let mut parts = range.split(';');
                let tag = parts.next()?.trim().to_ascii_lowercase();
                let weight = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (!tag.is_empty() && weight > 0.0).then_some((weight, index, Self::of_tag(&tag)))
            })
            .collect();
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        ranges.into_iter().find_map(|(_, _, lang)| lang).unwrap_or(Self::En)
    }

    fn of_tag(tag: &str) -> Option<Self> {
        match tag {
            "zh" | "zh-cn" | "zh-sg" | "zh-hans" => Some(Self::Zh),
            tag if tag.starts_with("zh-hans-") => Some(Self::Zh),
            "*" => Some(Self::En),
            tag if tag == "en" || tag.starts_with("en-") => Some(Self::En),
            _ => None,
        }
    }

    /// The `Content-Language` of a response in this language.
    pub fn tag(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Zh => "zh-CN",
        }
    }
}

/// One message in both languages, under the id responses name it by (the
/// `error` key, or `key.variant` where one key has several messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub id: &'static str,
    pub en: &'static str,
    pub zh: &'static str,
}

impl Text {
    pub fn get(&self, lang: Lang) -> &'static str {
        match lang {
            Lang::En => self.en,
            Lang::Zh => self.zh,
        }
    }

    /// The `error` key the message belongs to.
    pub fn key(&self) -> &'static str {
        self.id.split('.').next().unwrap_or(self.id)
    }
}

const fn text(id: &'static str, en: &'static str, zh: &'static str) -> Text {
    Text { id, en, zh }
}

/// Every message, in both languages.
pub const MESSAGES: &[Text] = &[
    text("invalid_captcha_id", "The captcha id must be a uuid", "图形验证码编号必须是 UUID"),
    text(
        "invalid_mobile",
        "The mobile number must be 11 digits starting with 13 to 19",
        "请输入以 13 至 19 开头的 11 位手机号",
    ),
    text("missing_parameters", "Incomplete parameters", "参数不完整"),
    text(
        "invalid_image_code",
        "The image code must be 1 to 16 letters or digits",
        "图形验证码应为 1 至 16 位字母或数字",
    ),
    text("invalid_body", "The body must be a JSON object of at most 4 KB", "请求内容须为不超过 4 KB 的 JSON 对象"),
    text(
        "invalid_username",
        "The username must be 5 to 20 letters, digits, '_' or '-', and not only digits",
        "用户名须为 5 至 20 位字母、数字、“_”或“-”，且不能全是数字",
    ),
    text("invalid_password", "The password must be 8 to 64 characters", "密码须为 8 至 64 个字符"),
    text("password_mismatch", "The two passwords differ", "两次输入的密码不一致"),
    text("invalid_sms_code", "The SMS code must be six digits", "短信验证码须为 6 位数字"),
    text("allow_required", "Please accept the user agreement", "请阅读并同意用户协议"),
    text(
        "invalid_sms_code_id",
        "Please send the sms_code_id the SMS request answered with",
        "请一并提交获取短信验证码时返回的 sms_code_id",
    ),
    text(
        "invalid_purpose",
        "The purpose must be register, login, reset, close, change_mobile or change_mobile_old",
        "purpose 须为 register、login、reset、close、change_mobile 或 change_mobile_old",
    ),
    text("invalid_account", "Please enter a username or mobile number", "请输入用户名或手机号"),
    text(
        "owner_proof_required",
        "Please confirm with your password or a code sent to your current number",
        "请输入密码或当前手机号收到的验证码以确认是您本人",
    ),
    text(
        "unsupported_media_type",
        "The body must be JSON (Content-Type: application/json)",
        "请求内容须为 JSON（Content-Type: application/json）",
    ),
    text("mobile_not_allowed", "SMS codes cannot be sent to this number", "无法向该号码发送短信验证码"),
    // Also a spent Tencent ticket or GeeTest pass: no word of an image.
    text("captcha_expired", "The verification has expired, please verify again", "验证已过期，请重新验证"),
    text("captcha_incorrect", "Incorrect verification code", "图形验证码错误"),
    text(
        "captcha_unavailable",
        "The human check is briefly unavailable, please try again",
        "人机验证服务暂时不可用，请稍后重试",
    ),
    text("invalid_captcha_response", "The human check's response is malformed", "人机验证参数格式错误"),
    text("too_frequent", "Operation is too frequent", "操作过于频繁，请稍后再试"),
    text("mobile_daily_limit", "Too many codes were sent to this number today", "该号码今日接收验证码的次数已达上限"),
    text(
        "ip_sms_limit",
        "Too many codes were requested from your network, please try later",
        "您所在的网络请求验证码过于频繁，请稍后再试",
    ),
    text("sms_busy", "Sending codes is paused for a moment, please try again shortly", "短信发送繁忙，请稍后再试"),
    text(
        "ip_captcha_limit",
        "Too many pictures were requested, please slow down",
        "图形验证码请求过于频繁，请稍后再试",
    ),
    text(
        "captcha_failure_limit",
        "Too many wrong image codes from your network, please try later",
        "您所在的网络输错图形验证码的次数过多，请稍后再试",
    ),
    text(
        "sms_code_failure_limit",
        "Too many wrong SMS codes from your network, please try later",
        "您所在的网络输错短信验证码的次数过多，请稍后再试",
    ),
    text(
        "captcha_required",
        "Too many failed logins: please enter the image code to log in",
        "登录失败次数过多，请输入图形验证码后登录",
    ),
    text(
        "login_ip_limit",
        "Too many failed logins from your network, please try again later",
        "您所在的网络登录失败次数过多，请稍后再试",
    ),
    text(
        "prefix_suspended",
        "SMS to numbers like this one are paused for a while, please try again later",
        "该号段短信发送暂时受限，请稍后再试",
    ),
    text("sms_code_expired", "SMS verification code has expired", "短信验证码已过期"),
    text("sms_code_incorrect", "Incorrect SMS verification code", "短信验证码错误"),
    text("sms_code_wrong_purpose", "This SMS code was sent for something else", "该短信验证码不能用于此操作"),
    text("mobile_not_registered", "This mobile number is not registered", "该手机号尚未注册"),
    text("login_failed", "Wrong username, mobile number or password", "用户名、手机号或密码错误"),
    text("username_taken", "This username is already taken", "该用户名已被注册"),
    text("mobile_taken", "This mobile number is already registered", "该手机号已被注册"),
    text("not_logged_in", "Not logged in", "未登录"),
    text(
        "invalid_one_tap_token",
        "Please send the token the carrier's one-tap login returned",
        "请提交运营商一键登录返回的 token",
    ),
    text(
        "invalid_signup_ticket",
        "Please send the signup_ticket the one-tap login answered with",
        "请提交一键登录返回的 signup_ticket",
    ),
    text(
        "one_tap_disabled",
        "One-tap login is not available here; please use an SMS code",
        "暂不支持本机号码一键登录，请使用短信验证码",
    ),
    text(
        "one_tap_refused",
        "The carrier could not confirm this phone's number; please try again or use an SMS code",
        "运营商未能确认本机号码，请重试或使用短信验证码",
    ),
    text(
        "one_tap_failed",
        "The carrier's number check is unavailable right now; please try again or use an SMS code",
        "本机号码校验暂时不可用，请稍后重试或使用短信验证码",
    ),
    text(
        "one_tap_ip_limit",
        "Too many one-tap logins from your network, please try later",
        "您所在的网络一键登录过于频繁，请稍后再试",
    ),
    text(
        "signup_ticket_expired",
        "The one-tap sign-up has expired or was used; please log in with one-tap again",
        "一键登录的注册凭证已过期或已使用，请重新一键登录",
    ),
    text("signup_ticket_mismatch", "This sign-up ticket is for another mobile number", "该注册凭证不属于此手机号"),
    text(
        "invalid_wechat_code",
        "Please send the code the mini program got from WeChat",
        "请提交小程序从微信获取的 code",
    ),
    text(
        "invalid_wechat_ticket",
        "Please send the wechat_ticket the WeChat login answered with",
        "请提交微信登录返回的 wechat_ticket",
    ),
    text("wechat_disabled", "WeChat login is not available here", "暂不支持微信登录"),
    text(
        "wechat_code_invalid",
        "WeChat did not accept this code; please try again",
        "微信登录凭证无效或已使用，请重试",
    ),
    text(
        "wechat_high_risk",
        "WeChat flagged this account as at risk; please use an SMS code",
        "微信判定该用户存在风险，请使用短信验证码登录",
    ),
    text("wechat_busy", "WeChat is busy, please try again shortly", "微信服务繁忙，请稍后再试"),
    text(
        "wechat_ip_limit",
        "Too many WeChat logins from your network, please try later or use an SMS code",
        "您所在的网络微信登录过于频繁，请稍后再试或使用短信验证码",
    ),
    text("wechat_failed", "WeChat could not be reached, please try again", "暂时无法连接微信，请稍后再试"),
    text(
        "wechat_ticket_expired",
        "The WeChat login has expired or was used; please log in with WeChat again",
        "微信登录凭证已过期或已使用，请重新登录",
    ),
    text("wechat_already_linked", "This WeChat user is already linked to an account", "该微信用户已绑定账号"),
    text(
        "sms_provider_limit",
        "The SMS provider is sending this number no more codes for now; try again later",
        "短信服务商暂时不再向该号码发送验证码，请稍后再试",
    ),
    text(
        "invalid_mobile.provider",
        "The SMS provider cannot send to this number; check it and try again",
        "短信服务商无法向该号码发送短信，请检查号码后重试",
    ),
    text(
        "sms_failed.unknown",
        "The SMS may not have been sent; if no code arrives, try again later",
        "短信可能未发出；如未收到验证码，请稍后再试",
    ),
    text("sms_failed", "Sending the SMS failed, please try again", "短信发送失败，请重试"),
    text("store_unavailable", "The service is briefly unavailable, please try again", "服务暂时不可用，请稍后重试"),
    text("internal_error", "Internal error", "服务器内部错误"),
    text("not_found", "No such resource", "资源不存在"),
    text("method_not_allowed", "Method not allowed", "不支持该请求方法"),
];

/// The message with `id`.
pub fn message(id: &str) -> Option<&'static Text> {
    MESSAGES.iter().find(|text| text.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(header: &str) -> Lang {
        Lang::from_accept_language(Some(header))
    }

    #[test]
    fn simplified_chinese_tags_are_chinese() {
        for header in ["zh", "zh-CN", "zh-Hans", "zh-hans-cn", "ZH-cn", "zh-CN,zh;q=0.9,en;q=0.8"] {
            assert_eq!(lang(header), Lang::Zh, "{header}");
        }
    }

    #[test]
    fn anything_else_is_english() {
        assert_eq!(Lang::from_accept_language(None), Lang::En);
        for header in ["", "en-US", "fr", "zh-TW", "zh-Hant", "de, ja", "*", "zh;q=0"] {
            assert_eq!(lang(header), Lang::En, "{header}");
        }
    }

    #[test]
    fn weights_decide_whatever_the_order() {
        assert_eq!(lang("en;q=0.5, zh-CN;q=0.9"), Lang::Zh);
        assert_eq!(lang("zh-CN;q=0.4, en-GB;q=0.8"), Lang::En);
        assert_eq!(lang("fr, zh;q=0.7, en;q=0.5"), Lang::Zh, "the first we write, by weight");
        assert_eq!(lang("en, zh"), Lang::En, "equal weights keep the listed order");
    }

    #[test]
    fn every_message_has_both_languages_and_a_unique_id() {
        for (index, text) in MESSAGES.iter().enumerate() {
            assert!(!text.en.trim().is_empty() && !text.zh.trim().is_empty(), "{}", text.id);
            assert!(text.zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{} is not Chinese", text.id);
            assert!(MESSAGES[index + 1..].iter().all(|other| other.id != text.id), "{} twice", text.id);
        }
    }

    proptest::proptest! {
        #[test]
        fn any_header_gives_a_language_without_panicking(header in "\\PC{0,80}") {
            let _ = Lang::from_accept_language(Some(&header));
        }
    }
}
