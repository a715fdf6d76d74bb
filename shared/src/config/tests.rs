use super::*;
use crate::domain::{Mobile, SmsCode};
use secrecy::ExposeSecret;
use std::collections::{BTreeSet, HashMap};

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_lookup(|name| vars.get(name).cloned())
}

fn config_of(name: &str, value: &str) -> Result<Config, ConfigError> {
    config(&[(name, value)])
}

const RONGLIAN: [(&str, &str); 4] = [
    (RONGLIAN_ACCOUNT_SID, "sid"),
    (RONGLIAN_AUTH_TOKEN, "token"),
    (RONGLIAN_APP_ID, "app"),
    (RONGLIAN_TEMPLATE_ID, "1"),
];

const ALIYUN: [(&str, &str); 4] = [
    (ALIYUN_ACCESS_KEY_ID, "LTAI-id"),
    (ALIYUN_ACCESS_KEY_SECRET, "aliyun-secret"),
    (ALIYUN_SMS_SIGN_NAME, "阿里云短信测试"),
    (ALIYUN_SMS_TEMPLATE_CODE, "SMS_154950909"),
];

const TENCENT: [(&str, &str); 5] = [
    (TENCENT_SECRET_ID, "AKID-id"),
    (TENCENT_SECRET_KEY, "tencent-secret"),
    (TENCENT_SMS_SDK_APP_ID, "1400006666"),
    (TENCENT_SMS_SIGN_NAME, "腾讯云"),
    (TENCENT_SMS_TEMPLATE_ID, "1110"),
];

const TENCENT_CAPTCHA: [(&str, &str); 5] = [
    (CAPTCHA_PROVIDER, "tencent"),
    (TENCENT_SECRET_ID, "AKIDid"),
    (TENCENT_SECRET_KEY, "the-secret-key"),
    (TENCENT_CAPTCHA_APP_ID, "190000000"),
    (TENCENT_CAPTCHA_APP_SECRET_KEY, "the-app-secret"),
];

const GEETEST_CAPTCHA: [(&str, &str); 3] =
    [(CAPTCHA_PROVIDER, "geetest"), (GEETEST_CAPTCHA_ID, "the-captcha-id"), (GEETEST_CAPTCHA_KEY, "the-captcha-key")];

fn every_provider() -> Vec<(&'static str, &'static str)> {
    let mut vars = vec![(SMS_PROVIDERS, "aliyun,tencent,ronglian")];
    vars.extend(RONGLIAN);
    vars.extend(ALIYUN);
    vars.extend(TENCENT);
    vars
}

fn numbers() -> [Number; 21] {
    [
        CAPTCHA_TTL_SECONDS,
        SMS_COOLDOWN_SECONDS,
        SMS_CODE_TTL_SECONDS,
        SESSION_TTL_SECONDS,
        SMS_PER_MOBILE_PER_DAY,
        SMS_PER_IP_PER_HOUR,
        SMS_PER_MINUTE,
        CAPTCHAS_PER_IP_PER_MINUTE,
        CAPTCHA_FAILURES_PER_IP_PER_HOUR,
        SMS_CODE_FAILURES_PER_IP_PER_HOUR,
        LOGIN_FAILURES_PER_ACCOUNT,
        LOGIN_FAILURES_PER_IP_PER_HOUR,
        LOGIN_FAILURES_PER_IP_BEFORE_CAPTCHA,
        SMS_PREFIX_DIGITS,
        SMS_PREFIX_FREE_SENDS,
        SMS_PREFIX_CREDIT_PER_VERIFY,
        SMS_PROVIDER_TIMEOUT_MS,
        CAPTCHA_TIMEOUT_MS,
        ONE_TAP_PER_IP_PER_HOUR,
        WECHAT_PER_IP_PER_HOUR,
        SIGNUP_TICKET_TTL_SECONDS,
    ]
}

#[test]
fn the_tables_list_exactly_the_variables_the_code_reads() {
    // One human check at a time: what either provider reads, with every SMS provider.
    let mut read: BTreeSet<&str> = BTreeSet::new();
    for captcha in [TENCENT_CAPTCHA.as_slice(), GEETEST_CAPTCHA.as_slice()] {
        let vars: Vec<(&str, &str)> = every_provider().into_iter().chain(captcha.iter().copied()).collect();
        let lookup = |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned());
        let env = Env::new(&lookup);
        Config::read(&env).unwrap();
        read.extend(env.read());
    }
    // SECRETS_ARN is read by `load`, before the rest.
    let listed: BTreeSet<&str> = variables().map(|var| var.name).filter(|name| *name != SECRETS_ARN).collect();
    assert_eq!(read, listed);
    assert_eq!(variables().count(), listed.len() + 1, "a variable is listed twice");
}

#[test]
fn every_number_is_read_within_its_range_and_named_outside_it() {
    for number in numbers() {
        assert!((number.min..=number.max).contains(&number.default), "{}", number.name);
        let at = |value: i64| -> Result<Config, ConfigError> { config_of(number.name, &value.to_string()) };
        assert!(at(number.min).is_ok() && at(number.max).is_ok(), "{}", number.name);
        for bad in [(number.min - 1).to_string(), (number.max + 1).to_string(), "ten".to_owned(), "1.5".to_owned()] {
            let error = config_of(number.name, &bad).unwrap_err();
            assert!(error.to_string().starts_with(number.name), "{}={bad}: {error}", number.name);
        }
    }
}

#[test]
fn a_number_that_is_set_is_used() {
    let config =
        config(&[(SMS_COOLDOWN_SECONDS.name, "60"), (SMS_PER_MINUTE.name, " 5 "), (SMS_PREFIX_DIGITS.name, "3")])
            .unwrap();
    assert_eq!(config.lifetimes.sms_cooldown, 60);
    assert_eq!(config.limits.sms_per_minute, 5);
    assert_eq!(config.limits.prefix_allowance.digits, 3);
    assert_eq!(config_of(SMS_PREFIX_CREDIT_PER_VERIFY.name, "0").unwrap().limits.prefix_allowance.credit_per_verify, 0);
    let timeout = config_of(SMS_PROVIDER_TIMEOUT_MS.name, "250").unwrap().providers.timeout;
    assert_eq!(timeout, std::time::Duration::from_millis(250));
}

#[test]
fn an_empty_environment_gives_the_original_app_s_values_and_no_provider() {
    let config = config(&[]).unwrap();
    assert_eq!(config.lifetimes, Lifetimes { captcha: 300, sms_cooldown: 180, sms_code: 180, session: 1_209_600 });
    let limits = config.limits;
    assert_eq!((limits.sms_per_mobile_per_day, limits.sms_per_ip_per_hour, limits.sms_per_minute), (10, 20, 300));
    assert_eq!(limits.prefix_allowance, PrefixAllowance { digits: 7, free_sends: 30, credit_per_verify: 3 });
    assert_eq!(config.providers.timeout, std::time::Duration::from_secs(5));
    assert!(config.providers.order.is_empty());
    assert_eq!(config.require_providers().err(), Some(ConfigError::Missing(SMS_PROVIDERS)));
    assert_eq!(config.require_table(), Err(ConfigError::Missing(TABLE_NAME)));
    assert_eq!(config.metrics_namespace, "PhoneVerify");
    assert_eq!(config.sms_number_prefixes.len(), 7);
}

#[test]
fn number_prefixes_are_trimmed_and_junk_is_refused() {
    assert_eq!(config_of(SMS_NUMBER_PREFIXES, " 139, 186 ").unwrap().sms_number_prefixes, vec!["139", "186"]);
    for bad in [",", "+86", "23", "13a", "138001380001"] {
        assert!(config_of(SMS_NUMBER_PREFIXES, bad).is_err(), "{bad}");
    }
    assert!(config_of(METRICS_NAMESPACE, "bad namespace!").is_err());
}

#[test]
fn ronglian_credentials_alone_make_ronglian_the_provider_with_the_default_url() {
    let config = config(&RONGLIAN).unwrap();
    let [ProviderConfig::Ronglian(ronglian)] = config.providers.order.as_slice() else { panic!("{config:?}") };
    assert_eq!(ronglian.account_sid, "sid");
    assert_eq!(ronglian.auth_token.expose_secret(), "token");
    assert_eq!(ronglian.base_url, RONGLIAN_DEFAULT_BASE_URL);
    assert!(!format!("{config:?}").contains("\"token\""), "{config:?}");
}

#[test]
fn a_partial_set_of_ronglian_credentials_names_what_is_missing() {
    let error = config(&RONGLIAN[..3]).err().unwrap();
    assert_eq!(error, ConfigError::PartialRonglian { set: RONGLIAN_ACCOUNT_SID, missing: RONGLIAN_TEMPLATE_ID });
    let mut named = RONGLIAN[..3].to_vec();
    named.push((SMS_PROVIDERS, "ronglian"));
    assert_eq!(config(&named).err(), Some(ConfigError::Missing(RONGLIAN_TEMPLATE_ID)));
}

#[test]
fn sms_providers_gives_the_failover_order_and_each_default() {
    let config = config(&every_provider()).unwrap();
    let names: Vec<&str> = config.providers.order.iter().map(ProviderConfig::name).collect();
    assert_eq!(names, ["aliyun", "tencent", "ronglian"]);
    let ProviderConfig::Aliyun(aliyun) = &config.providers.order[0] else { panic!() };
    assert_eq!((aliyun.base_url.as_str(), aliyun.template_code.as_str()), (ALIYUN_DEFAULT_BASE_URL, "SMS_154950909"));
    let ProviderConfig::Tencent(tencent) = &config.providers.order[1] else { panic!() };
    assert_eq!((tencent.base_url.as_str(), tencent.region.as_str()), (TENCENT_DEFAULT_BASE_URL, "ap-guangzhou"));
    let debug = format!("{config:?}");
    assert!(!debug.contains("aliyun-secret") && !debug.contains("tencent-secret"), "{debug}");
}

#[test]
fn a_provider_s_variables_are_read_only_when_sms_providers_names_it() {
    let mut vars = vec![(SMS_PROVIDERS, " Tencent "), (ALIYUN_SMS_BASE_URL, "ftp://junk"), (RONGLIAN_ACCOUNT_SID, "x")];
    vars.extend(TENCENT);
    let config = config(&vars).unwrap();
    assert_eq!(config.providers.order.iter().map(ProviderConfig::name).collect::<Vec<_>>(), ["tencent"]);
    let mut missing = vec![(SMS_PROVIDERS, "tencent,aliyun")];
    missing.extend(TENCENT);
    missing.extend(&ALIYUN[..3]);
    assert_eq!(super::tests::config(&missing).err(), Some(ConfigError::Missing(ALIYUN_SMS_TEMPLATE_CODE)));
}

#[test]
fn sms_providers_takes_known_names_once_each() {
    for bad in ["aliyun,aliyun", "twilio", "aliyun,,tencent", ","] {
        let mut vars = every_provider();
        vars[0] = (SMS_PROVIDERS, bad);
        assert!(matches!(config(&vars), Err(ConfigError::Invalid { name: SMS_PROVIDERS, .. })), "{bad}");
    }
    let mut vars = every_provider();
    vars.push((TENCENT_SMS_REGION, "Guangzhou!"));
    assert!(matches!(config(&vars), Err(ConfigError::Invalid { name: TENCENT_SMS_REGION, .. })));
    let mut vars = every_provider();
    vars.push((TENCENT_SMS_SDK_APP_ID, "app"));
    vars.retain(|(name, value)| *name != TENCENT_SMS_SDK_APP_ID || *value == "app");
    assert!(matches!(config(&vars), Err(ConfigError::Invalid { name: TENCENT_SMS_SDK_APP_ID, .. })));
}

#[test]
fn a_non_numeric_ronglian_template_id_is_refused() {
    let mut vars = RONGLIAN.to_vec();
    vars[3] = (RONGLIAN_TEMPLATE_ID, "abc");
    assert!(matches!(config(&vars), Err(ConfigError::Invalid { name: RONGLIAN_TEMPLATE_ID, .. })));
}

#[test]
fn every_base_url_must_be_https_except_to_a_loopback_address() {
    let good = [
        ("https://app.cloopen.com:8883/", "https://app.cloopen.com:8883"),
        ("http://127.0.0.1:9000", "http://127.0.0.1:9000"),
        ("http://127.8.0.1:9000", "http://127.8.0.1:9000"),
        ("http://localhost:1", "http://localhost:1"),
        ("http://[::1]:80", "http://[::1]"),
    ];
    let bad = [
        "http://app.cloopen.com:8883",
        "http://127.0.0.1.evil.com",
        "ftp://x",
        "http://localhost.evil:1",
        "http://10.0.0.1",
        "https://user:pass@example.com",
        "not a url",
    ];
    for name in [RONGLIAN_BASE_URL, ALIYUN_SMS_BASE_URL, TENCENT_SMS_BASE_URL] {
        let with_url = |url: &'static str| {
            let mut vars = every_provider();
            vars.push((name, url));
            config(&vars)
        };
        for (url, kept) in good {
            let config = with_url(url).unwrap_or_else(|e| panic!("{name}={url}: {e}"));
            let urls: Vec<&str> = config
                .providers
                .order
                .iter()
                .map(|p| match p {
                    ProviderConfig::Ronglian(c) => c.base_url.as_str(),
                    ProviderConfig::Aliyun(c) => c.base_url.as_str(),
                    ProviderConfig::Tencent(c) => c.base_url.as_str(),
                })
                .collect();
            assert!(urls.contains(&kept), "{name}={url}: {urls:?}");
        }
        for url in bad {
            assert!(matches!(with_url(url), Err(ConfigError::Invalid { name: n, .. }) if n == name), "{name}={url}");
        }
    }
}

#[test]
fn the_sms_code_key_is_required_where_codes_are_kept_and_must_be_long() {
    assert_eq!(config(&[]).unwrap().require_sms_code_key().err(), Some(ConfigError::Missing(SMS_CODE_KEY)));
    assert!(matches!(config_of(SMS_CODE_KEY, "short"), Err(ConfigError::Invalid { name: SMS_CODE_KEY, .. })));
    let key = "k".repeat(32);
    assert!(config_of(SMS_CODE_KEY, &key).unwrap().require_sms_code_key().is_ok());
    assert!(!format!("{:?}", config_of(SMS_CODE_KEY, &key).unwrap()).contains(&key));
}

#[test]
fn test_numbers_are_number_code_pairs_at_most_ten_and_their_codes_never_show() {
    let config = config_of(SMS_TEST_NUMBERS, " 13800000000:246810 , 13900000001:135790").unwrap();
    let number = Mobile::parse("13800000000").unwrap();
    assert_eq!(config.test_numbers.code_for(&number).map(SmsCode::as_str), Some("246810"));
    assert_eq!(config.test_numbers.code_for(&Mobile::parse("13800000001").unwrap()), None);
    let debug = format!("{config:?}");
    assert!(!debug.contains("246810") && !debug.contains("13800000000"), "{debug}");
    let eleven: Vec<String> = (0..11).map(|i| format!("138000000{i:02}:123456")).collect();
    let twice = "13800000000:123456,13800000000:654321";
    for bad in ["13800000000", "13800000000:12345", "12345:123456", twice, eleven.join(",").as_str()] {
        assert!(
            matches!(config_of(SMS_TEST_NUMBERS, bad), Err(ConfigError::Invalid { name: SMS_TEST_NUMBERS, .. })),
            "{bad}"
        );
    }
    assert!(config_of(SMS_TEST_NUMBERS, "").unwrap().test_numbers.is_empty());
}

#[test]
fn with_a_secret_every_secret_variable_comes_from_it_and_none_from_the_environment() {
    let key = "s".repeat(40);
    let secrets = Secrets::parse(&format!(
        r#"{{"SMS_CODE_KEY": "{key}", "ALIYUN_ACCESS_KEY_SECRET": "from-the-secret", "UNUSED": "x"}}"#
    ))
    .unwrap();
    let mut vars: HashMap<&str, String> = ALIYUN.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    vars.insert(SMS_PROVIDERS, "aliyun".to_owned());
    vars.insert(SMS_CODE_KEY, "e".repeat(40));
    let config = Config::from_sources(|name| vars.get(name).cloned(), &secrets).unwrap();
    assert_eq!(config.require_sms_code_key().unwrap().expose_secret(), key);
    let ProviderConfig::Aliyun(aliyun) = &config.providers.order[0] else { panic!() };
    assert_eq!(aliyun.access_key_secret.expose_secret(), "from-the-secret");
    assert_eq!(aliyun.access_key_id, "LTAI-id");
    let without = Config::from_sources(|name| vars.get(name).cloned(), &Secrets::default()).unwrap_err();
    assert_eq!(without, ConfigError::Missing(ALIYUN_ACCESS_KEY_SECRET));
    assert!(!format!("{secrets:?}").contains("from-the-secret"));
}

#[test]
fn a_secret_that_is_not_a_json_object_of_strings_is_refused_without_its_text() {
    for bad in ["not json", r#"["a"]"#, r#"{"SMS_CODE_KEY": 5}"#] {
        let error = Secrets::parse(bad).unwrap_err();
        assert!(matches!(error, ConfigError::Secrets(_)), "{bad}");
        assert!(!error.to_string().contains("\": 5"), "{error}");
    }
}

#[test]
fn the_secret_variables_are_the_keys_and_tokens() {
    let secrets: BTreeSet<&str> = secret_variables().collect();
    let expected = BTreeSet::from([
        SMS_CODE_KEY,
        RONGLIAN_AUTH_TOKEN,
        ALIYUN_ACCESS_KEY_SECRET,
        TENCENT_SECRET_KEY,
        TENCENT_CAPTCHA_APP_SECRET_KEY,
        GEETEST_CAPTCHA_KEY,
        WECHAT_APP_SECRET,
    ]);
    assert_eq!(secrets, expected);
}

#[test]
fn the_captcha_is_the_builtin_image_unless_a_provider_is_named_and_only_its_variables_are_read() {
    let captcha = |vars: &[(&str, &str)]| config(vars).map(|config| config.captcha);
    let default = captcha(&[]).unwrap();
    assert!(matches!(default.verifier, VerifierConfig::Builtin));
    assert_eq!(default.timeout, std::time::Duration::from_secs(5));
    // Another provider's variables, even half set or wrong, are not read.
    let stray = [(TENCENT_CAPTCHA_APP_ID, "not a number"), (GEETEST_BASE_URL, "http://evil.example")];
    assert!(matches!(captcha(&stray).unwrap().verifier, VerifierConfig::Builtin));
    let mut geetest = GEETEST_CAPTCHA.to_vec();
    geetest.push((TENCENT_CAPTCHA_APP_ID, "not a number"));
    let VerifierConfig::Geetest(geetest) = captcha(&geetest).unwrap().verifier else { panic!() };
    assert_eq!((geetest.captcha_id.as_str(), geetest.base_url.as_str()), ("the-captcha-id", GEETEST_DEFAULT_BASE_URL));
    let VerifierConfig::Tencent(tencent) = captcha(&TENCENT_CAPTCHA).unwrap().verifier else { panic!() };
    assert_eq!((tencent.app_id, tencent.base_url.as_str()), (190_000_000, TENCENT_CAPTCHA_DEFAULT_BASE_URL));
    assert_eq!(tencent.secret_key.expose_secret(), "the-secret-key");
    // The name is case-blind; anything else is refused.
    let mut upper = GEETEST_CAPTCHA.to_vec();
    upper[0] = (CAPTCHA_PROVIDER, " GeeTest ");
    assert!(matches!(captcha(&upper).unwrap().verifier, VerifierConfig::Geetest(_)));
    for bad in ["recaptcha", "builtin,tencent"] {
        assert!(matches!(
            captcha(&[(CAPTCHA_PROVIDER, bad)]),
            Err(ConfigError::Invalid { name: CAPTCHA_PROVIDER, .. })
        ));
    }
    assert_eq!(captcha(&[(CAPTCHA_TIMEOUT_MS.name, "250")]).unwrap().timeout, std::time::Duration::from_millis(250));
}

#[test]
fn a_named_captcha_providers_variables_are_required_checked_and_hidden() {
    for (missing, (name, _)) in TENCENT_CAPTCHA.iter().enumerate().skip(1) {
        let vars: Vec<_> = TENCENT_CAPTCHA.iter().enumerate().filter(|(i, _)| *i != missing).map(|(_, v)| *v).collect();
        assert_eq!(config(&vars).err(), Some(ConfigError::Missing(name)));
    }
    for (missing, (name, _)) in GEETEST_CAPTCHA.iter().enumerate().skip(1) {
        let vars: Vec<_> = GEETEST_CAPTCHA.iter().enumerate().filter(|(i, _)| *i != missing).map(|(_, v)| *v).collect();
        assert_eq!(config(&vars).err(), Some(ConfigError::Missing(name)));
    }
    let mut vars = TENCENT_CAPTCHA.to_vec();
    vars[3] = (TENCENT_CAPTCHA_APP_ID, "abc");
    assert!(matches!(config(&vars), Err(ConfigError::Invalid { name: TENCENT_CAPTCHA_APP_ID, .. })));
    for (url, ok) in
        [("http://127.0.0.1:9/", true), ("https://captcha.example", true), ("http://captcha.example", false)]
    {
        let mut tencent = TENCENT_CAPTCHA.to_vec();
        tencent.push((TENCENT_CAPTCHA_BASE_URL, url));
        assert_eq!(config(&tencent).is_ok(), ok, "{url}");
        let mut geetest = GEETEST_CAPTCHA.to_vec();
        geetest.push((GEETEST_BASE_URL, url));
        assert_eq!(config(&geetest).is_ok(), ok, "{url}");
    }
    let shown = format!("{:?} {:?}", config(&TENCENT_CAPTCHA).unwrap(), config(&GEETEST_CAPTCHA).unwrap());
    for secret in ["the-secret-key", "the-app-secret", "the-captcha-key"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn with_a_secret_the_captcha_keys_come_from_it() {
    let secrets =
        Secrets::parse(r#"{"GEETEST_CAPTCHA_KEY": "from-the-secret", "TENCENT_CAPTCHA_APP_SECRET_KEY": "x"}"#).unwrap();
    let vars: HashMap<&str, &str> = GEETEST_CAPTCHA.into_iter().collect();
    let config = Config::from_sources(|name| vars.get(name).map(|v| (*v).to_owned()), &secrets).unwrap();
    let VerifierConfig::Geetest(geetest) = config.captcha.verifier else { panic!() };
    assert_eq!(geetest.captcha_key.expose_secret(), "from-the-secret");
}

#[test]
fn one_tap_is_on_when_the_aliyun_key_pair_is_set_whether_or_not_aliyun_sends_sms() {
    let pair = [(ALIYUN_ACCESS_KEY_ID, "LTAI-id"), (ALIYUN_ACCESS_KEY_SECRET, "aliyun-secret")];
    let on = config(&pair).unwrap();
    assert!(on.providers.order.is_empty(), "no SMS through Aliyun");
    let carrier = on.one_tap.carrier.expect("one-tap is on");
    assert_eq!(
        (carrier.access_key_id.as_str(), carrier.access_key_secret.expose_secret()),
        ("LTAI-id", "aliyun-secret")
    );
    assert_eq!(carrier.base_url, ALIYUN_DYPNS_DEFAULT_BASE_URL);
    assert_eq!(carrier.timeout, std::time::Duration::from_secs(5));
    assert_eq!(on.one_tap.ticket_ttl, 600);
    for half in [&pair[..1], &pair[1..], &[]] {
        assert!(config(half).unwrap().one_tap.carrier.is_none(), "{half:?}");
    }
    let with_sms = config(&every_provider()).unwrap();
    assert!(with_sms.one_tap.carrier.is_some());
}

#[test]
fn the_one_tap_base_url_is_https_except_to_a_loopback_address() {
    let with_url = |url: &str| {
        config(&[(ALIYUN_ACCESS_KEY_ID, "id"), (ALIYUN_ACCESS_KEY_SECRET, "secret"), (ALIYUN_DYPNS_BASE_URL, url)])
    };
    assert_eq!(with_url("http://127.0.0.1:9000/").unwrap().one_tap.carrier.unwrap().base_url, "http://127.0.0.1:9000");
    assert!(with_url("https://dypnsapi.aliyuncs.com").is_ok());
    for bad in ["http://dypnsapi.aliyuncs.com", "http://localhost.evil:1", "https://u:p@example.com", "nope"] {
        assert!(matches!(with_url(bad), Err(ConfigError::Invalid { name: ALIYUN_DYPNS_BASE_URL, .. })), "{bad}");
    }
}
