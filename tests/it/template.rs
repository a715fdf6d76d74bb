//! template.yaml against the code: its routes are the route table, its
//! functions are the crates in functions/, its variables are the ones the
//! configuration reads, its policies name only the table, and its alarms and
//! dashboard watch metrics the code publishes, under the dimensions it
//! publishes them with.

use serde_norway::Value;
use shared::config;
use shared::http::routes::{Function, ROUTES};
use shared::telemetry::Metric;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn template() -> Value {
    serde_norway::from_str(&std::fs::read_to_string(root().join("template.yaml")).unwrap()).unwrap()
}

/// Every `AWS::Serverless::Function`, by the binary it runs.
fn functions(template: &Value) -> BTreeMap<String, Value> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Function")
        .map(|r| (r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

#[test]
fn every_crate_in_functions_is_a_function_in_the_template_and_in_the_route_table() {
    let crates: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let in_template: BTreeSet<String> = functions(&template()).into_keys().collect();
    let in_code: BTreeSet<String> = Function::ALL.iter().map(|f| f.name().to_owned()).collect();
    assert_eq!(in_template, crates);
    assert_eq!(in_code, crates);
}

#[test]
fn the_template_routes_are_the_route_table() {
    let mut in_template = BTreeSet::new();
    for (name, function) in functions(&template()) {
        for event in function["Properties"]["Events"].as_mapping().unwrap().values() {
            assert_eq!(event["Type"], "HttpApi");
            let properties = &event["Properties"];
            in_template.insert((
                properties["Method"].as_str().unwrap().to_owned(),
                properties["Path"].as_str().unwrap().to_owned(),
                name.clone(),
            ));
        }
    }
    let in_code: BTreeSet<_> =
        ROUTES.iter().map(|r| (r.method.to_owned(), r.path.to_owned(), r.function.name().to_owned())).collect();
    assert_eq!(in_template, in_code);
}

#[test]
fn every_variable_the_template_sets_is_one_the_code_reads() {
    let template = template();
    let globals: BTreeSet<String> = template["Globals"]["Function"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    assert!(globals.contains(config::TABLE_NAME));
    for (name, function) in functions(&template) {
        let own: BTreeSet<String> = function["Properties"]["Environment"]["Variables"]
            .as_mapping()
            .map(|m| m.keys().map(|k| k.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        for variable in globals.union(&own) {
            assert!(config::variables().any(|v| v.name == variable), "{name} sets {variable}, which no code reads");
            assert!(
                config::secret_variables().all(|secret| secret != variable),
                "{name} sets the secret {variable} in its environment, which lambda:GetFunctionConfiguration shows"
            );
        }
        if name == "sms" {
            // Every provider's plain variables: SMS_PROVIDERS picks which are read.
            let providers = config::providers_variables().filter(|v| v.kind == config::Kind::Plain);
            for required in providers.map(|v| v.name) {
                assert!(own.contains(required), "the SMS function needs {required}");
            }
        }
        // Sending counts a prefix's allowance and verifying credits it; the
        // code key is in the secret.
        if ["sms", "register", "account"].contains(&name.as_str()) {
            for required in [
                config::SECRETS_ARN,
                config::SMS_PREFIX_DIGITS.name,
                config::SMS_PREFIX_FREE_SENDS.name,
                config::SMS_PREFIX_CREDIT_PER_VERIFY.name,
            ] {
                assert!(own.contains(required), "{name} needs {required}");
            }
        }
        // The human check is judged where a code is sent and by the login's
        // challenge (closing and the number change's password proof), and
        // only there; Tencent's captcha signs with the key pair's id.
        let judges = ["sms", "account"].contains(&name.as_str());
        for variable in config::captcha_variables().map(|v| v.name) {
            assert_eq!(
                own.contains(variable),
                judges && !config::secret_variables().any(|s| s == variable),
                "{name} and {variable}"
            );
        }
        if judges {
            assert!(own.contains(config::TENCENT_SECRET_ID), "{name} needs {}", config::TENCENT_SECRET_ID);
        }
        // The fixed codes let anyone in: only the function that hands them out has them.
        assert_eq!(own.contains(config::SMS_TEST_NUMBERS), name == "sms", "{name} and {}", config::SMS_TEST_NUMBERS);
    }
}

/// The secret's ARN as the template writes it wherever it is used: the
/// created secret, or the one given.
fn secret_arn() -> Value {
    serde_norway::from_str("!If [CreateSecrets, !Ref Secrets, !Ref SecretsArn]").unwrap()
}

#[test]
fn every_variable_the_code_reads_is_set_by_the_template_or_held_in_the_secret() {
    let template = template();
    let mut set: BTreeSet<String> = BTreeSet::new();
    let names = |variables: &Value| -> Vec<String> {
        variables.as_mapping().map(|m| m.keys().map(|k| k.as_str().unwrap().to_owned()).collect()).unwrap_or_default()
    };
    set.extend(names(&template["Globals"]["Function"]["Environment"]["Variables"]));
    for function in functions(&template).values() {
        set.extend(names(&function["Properties"]["Environment"]["Variables"]));
    }
    set.extend(secret_keys(&template));
    for variable in config::variables() {
        assert!(set.contains(variable.name), "no function is given {}", variable.name);
    }
}

/// The keys of the JSON the created secret holds.
fn secret_keys(template: &Value) -> BTreeSet<String> {
    let secret = &template["Resources"]["Secrets"];
    assert_eq!(secret["Type"], "AWS::SecretsManager::Secret");
    assert_eq!(secret["Condition"], "CreateSecrets", "an existing secret's ARN replaces it");
    let json: serde_json::Value = serde_json::from_str(&text(&secret["Properties"]["SecretString"])).unwrap();
    json.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn the_secret_holds_exactly_the_secret_variables_and_only_functions_that_read_it_may() {
    let template = template();
    let secrets: BTreeSet<String> = config::secret_variables().map(str::to_owned).collect();
    assert_eq!(secret_keys(&template), secrets);
    // Each value is its NoEcho parameter (`text` writes `${Name}` as `Name`).
    let json: serde_json::Value =
        serde_json::from_str(&text(&template["Resources"]["Secrets"]["Properties"]["SecretString"])).unwrap();
    for (variable, parameter) in json.as_object().unwrap() {
        let parameter = parameter.as_str().unwrap();
        assert_eq!(template["Parameters"][parameter]["NoEcho"], true, "{variable} comes from {parameter}");
    }
    for (name, function) in functions(&template) {
        let environment = &function["Properties"]["Environment"]["Variables"];
        let given = environment.get(config::SECRETS_ARN);
        let mut granted = Vec::new();
        for policy in function["Properties"]["Policies"].as_sequence().unwrap() {
            for statement in policy["Statement"].as_sequence().unwrap() {
                let actions: Vec<&str> =
                    statement["Action"].as_sequence().unwrap().iter().filter_map(Value::as_str).collect();
                if actions.iter().any(|action| action.starts_with("secretsmanager:")) {
                    assert_eq!(actions, ["secretsmanager:GetSecretValue"], "{name}: reading the secret, nothing else");
                    assert_eq!(statement["Resource"], secret_arn(), "{name}: only this stack's secret");
                    granted.push(statement.clone());
                }
            }
        }
        assert_eq!(
            granted.len(),
            usize::from(given.is_some()),
            "{name}: GetSecretValue exactly when given SECRETS_ARN"
        );
        if let Some(arn) = given {
            assert_eq!(arn, &secret_arn(), "{name}");
        }
        // Only the functions that read a secret variable may read the secret.
        let reads_secrets = ["sms", "register", "account"].contains(&name.as_str());
        assert_eq!(given.is_some(), reads_secrets, "{name}");
    }
}

/// A policy statement on DynamoDB (the others are on the secret).
fn on_the_table(statement: &Value) -> bool {
    statement["Action"].as_sequence().unwrap().iter().any(|a| a.as_str().unwrap().starts_with("dynamodb:"))
}

#[test]
fn policies_grant_only_item_actions_on_the_table() {
    let expected: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::from([
        ("captcha", BTreeSet::from(["dynamodb:PutItem", "dynamodb:UpdateItem"])),
        (
            "sms",
            BTreeSet::from([
                "dynamodb:PutItem",
                "dynamodb:DeleteItem",
                "dynamodb:UpdateItem",
                "dynamodb:ConditionCheckItem",
            ]),
        ),
        (
            "register",
            BTreeSet::from([
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:DeleteItem",
                "dynamodb:UpdateItem",
                "dynamodb:ConditionCheckItem",
            ]),
        ),
        ("session", BTreeSet::from(["dynamodb:GetItem", "dynamodb:DeleteItem"])),
        (
            "account",
            BTreeSet::from([
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:DeleteItem",
                "dynamodb:UpdateItem",
                "dynamodb:ConditionCheckItem",
            ]),
        ),
    ]);
    for (name, function) in functions(&template()) {
        let mut actions = BTreeSet::new();
        for policy in function["Properties"]["Policies"].as_sequence().unwrap() {
            for statement in policy["Statement"].as_sequence().unwrap().iter().filter(|s| on_the_table(s)) {
                let resource = serde_norway::to_string(&statement["Resource"]).unwrap();
                assert_eq!(resource.trim(), "!GetAtt Table.Arn", "{name}: resource must be the table");
                for action in statement["Action"].as_sequence().unwrap() {
                    actions.insert(action.as_str().unwrap().to_owned());
                }
            }
        }
        let actions: BTreeSet<&str> = actions.iter().map(String::as_str).collect();
        assert_eq!(actions, expected[name.as_str()], "{name}");
    }
}

/// The key prefixes each function's code writes or reads, from the code's
/// own key builders and cap labels.
fn key_prefixes() -> BTreeMap<&'static str, BTreeSet<String>> {
    use shared::domain::{AccountId, CaptchaId, Mobile, SessionToken, SignupTicket, Username};
    use shared::service::{Limit, Limits, keys};
    use shared::store::key_kind;
    let limits = Limits::from(shared::config::LimitsConfig::default());
    let kind = |key: String| format!("{}#*", key_kind(&key));
    let limit = |limit: Limit| format!("limit#{}#*", limit.label());
    let mobile = Mobile::parse("13800138000").unwrap();
    let captcha = kind(keys::captcha(&CaptchaId::parse("3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c").unwrap()));
    let session = kind(keys::session(&SessionToken::parse(&"A".repeat(43)).unwrap().hash()));
    let user = kind(keys::user(&Username::parse("alice_01").unwrap()));
    let generation = kind(keys::generation(&AccountId::parse(&"a".repeat(32)).unwrap()));
    let some_ticket = SignupTicket::parse(&"A".repeat(43)).unwrap();
    let ticket = kind(keys::signup_ticket(&some_ticket.hash()));
    let wechat = [
        kind(keys::wechat_link("o6_openid")),
        kind(keys::wechat_ticket(&some_ticket.hash())),
        kind(keys::wechat_token("wx0123456789abcdef")),
        kind(keys::wechat_of(&AccountId::parse(&"a".repeat(32)).unwrap())),
    ];
    BTreeMap::from([
        ("captcha", BTreeSet::from([captcha.clone(), limit(limits.captchas_per_ip)])),
        (
            "sms",
            BTreeSet::from([
                captcha.clone(),
                kind(keys::pass("tencent", "a ticket")),
                kind(keys::send_flag(&mobile)),
                kind(keys::sms_code(&mobile)),
                kind(keys::mobile_guard(&mobile)),
                limit(limits.sms_per_mobile),
                limit(limits.sms_per_ip),
                limit(limits.sms_global),
                limit(limits.sms_per_prefix),
                limit(limits.captcha_failures_per_ip),
            ]),
        ),
        (
            "register",
            BTreeSet::from([
                kind(keys::sms_code(&mobile)),
                user.clone(),
                kind(keys::mobile_guard(&mobile)),
                generation.clone(),
                session.clone(),
                ticket,
                wechat[0].clone(),
                wechat[1].clone(),
                wechat[2].clone(),
                wechat[3].clone(),
                limit(limits.code_failures_per_ip),
                limit(limits.sms_per_prefix),
                limit(limits.one_tap_per_ip),
                limit(limits.wechat_per_ip),
            ]),
        ),
        ("session", BTreeSet::from([session.clone(), generation.clone()])),
        (
            "account",
            BTreeSet::from([
                captcha,
                kind(keys::pass("tencent", "a ticket")),
                limit(limits.captcha_failures_per_ip),
                kind(keys::sms_code(&mobile)),
                user,
                kind(keys::mobile_guard(&mobile)),
                generation,
                session,
                limit(limits.code_failures_per_ip),
                limit(limits.login_failures_per_account),
                limit(limits.login_failures_per_ip),
                limit(limits.sms_per_prefix),
                limit(limits.wechat_per_ip),
                wechat[0].clone(),
                wechat[3].clone(),
            ]),
        ),
    ])
}

#[test]
fn each_function_may_touch_only_the_keys_its_code_uses() {
    let expected = key_prefixes();
    for (name, function) in functions(&template()) {
        let mut granted = BTreeSet::new();
        for policy in function["Properties"]["Policies"].as_sequence().unwrap() {
            for statement in policy["Statement"].as_sequence().unwrap().iter().filter(|s| on_the_table(s)) {
                let leading = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                    .as_sequence()
                    .unwrap_or_else(|| panic!("{name}: every statement is limited by dynamodb:LeadingKeys"));
                let leading: BTreeSet<String> = leading.iter().map(|k| k.as_str().unwrap().to_owned()).collect();
                assert!(leading.is_subset(&expected[name.as_str()]), "{name}: {leading:?}");
                granted.extend(leading);
            }
        }
        // A statement may narrow some actions to fewer keys; together they grant exactly the code's.
        assert_eq!(granted, expected[name.as_str()], "{name}");
    }
}

#[test]
fn the_register_function_reads_only_mirrors_tickets_and_wechat_links_and_token() {
    let register = &functions(&template())["register"];
    let mut readable = BTreeSet::new();
    for policy in register["Properties"]["Policies"].as_sequence().unwrap() {
        for statement in policy["Statement"].as_sequence().unwrap().iter().filter(|s| on_the_table(s)) {
            let actions = statement["Action"].as_sequence().unwrap();
            if actions.iter().any(|a| a == "dynamodb:GetItem") {
                assert_eq!(actions.len(), 1, "GetItem has its own statement");
                let leading = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].clone();
                readable.extend(leading.as_sequence().unwrap().iter().map(|k| k.as_str().unwrap().to_owned()));
            }
        }
    }
    let expected = ["mobile#*", "signupticket#*", "wechat#*", "wechatticket#*", "wechattoken#*"];
    assert_eq!(readable, expected.iter().map(|k| (*k).to_owned()).collect::<BTreeSet<_>>());
}

#[test]
fn the_stack_is_throttled_and_trusts_no_origin_by_default() {
    let template = template();
    let origins = &template["Parameters"]["AllowedOrigins"];
    assert!(origins.get("Default").is_none(), "no default origin: {origins:?}");
    assert_eq!(origins["AllowedPattern"], "https://[^,/]+");
    let routes = &template["Resources"]["Api"]["Properties"]["DefaultRouteSettings"];
    for (setting, parameter) in
        [("ThrottlingBurstLimit", "!Ref ThrottlingBurstLimit"), ("ThrottlingRateLimit", "!Ref ThrottlingRateLimit")]
    {
        assert_eq!(serde_norway::to_string(&routes[setting]).unwrap().trim(), parameter, "{setting}");
    }
    for (name, function) in functions(&template) {
        let reserved = serde_norway::to_string(&function["Properties"]["ReservedConcurrentExecutions"]).unwrap();
        assert_eq!(reserved.trim(), "!Ref ReservedConcurrency", "{name}");
    }
    for secret in [
        "RonglianAuthToken",
        "AliyunAccessKeySecret",
        "TencentSecretKey",
        "TencentCaptchaAppSecretKey",
        "GeetestCaptchaKey",
        "WechatAppSecret",
        "SmsCodeKey",
        "SmsTestNumbers",
    ] {
        assert_eq!(template["Parameters"][secret]["NoEcho"], true, "{secret}");
    }
}

#[test]
fn the_table_has_ttl_on_expires_at_and_keeps_user_data() {
    let template = template();
    let table = &template["Resources"]["Table"];
    assert_eq!(table["DeletionPolicy"], "Retain");
    let properties = &table["Properties"];
    assert_eq!(properties["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(properties["KeySchema"][0]["AttributeName"], shared::store::PK);
    assert_eq!(properties["TimeToLiveSpecification"]["AttributeName"], shared::store::EXPIRES_AT);
    assert_eq!(properties["TimeToLiveSpecification"]["Enabled"], true);
    assert_eq!(properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true);
    assert_eq!(properties["SSESpecification"]["SSEEnabled"], true);
}

#[test]
fn the_release_profile_unwinds_panics() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let release = manifest.split("[profile.release]").nth(1).unwrap();
    let section = release.split("\n[").next().unwrap();
    assert!(section.lines().any(|line| line.trim() == r#"panic = "unwind""#), "{section}");
}

#[test]
fn the_prefix_allowance_parameters_default_to_the_codes_defaults_and_no_test_numbers() {
    let template = template();
    let defaults = config::PrefixAllowance::default();
    let parameters = &template["Parameters"];
    assert_eq!(parameters["SmsPrefixDigits"]["Default"].as_u64(), Some(defaults.digits as u64));
    assert_eq!(parameters["SmsPrefixFreeSends"]["Default"].as_i64(), Some(defaults.free_sends));
    assert_eq!(parameters["SmsPrefixCreditPerVerify"]["Default"].as_i64(), Some(defaults.credit_per_verify));
    assert_eq!(parameters["SmsTestNumbers"]["Default"], "");
}

#[test]
fn the_provider_parameters_default_to_the_codes_defaults() {
    let template = template();
    let parameters = &template["Parameters"];
    let default = |name: &str| {
        parameters[name]["Default"].as_str().map(str::to_owned).unwrap_or_else(|| {
            parameters[name]["Default"]
                .as_i64()
                .map(|n| n.to_string())
                .unwrap_or_else(|| panic!("{name} has no default"))
        })
    };
    assert_eq!(default("SmsProviderTimeoutMs"), config::SMS_PROVIDER_TIMEOUT_MS.default.to_string());
    assert_eq!(default("RonglianBaseUrl"), config::RONGLIAN_DEFAULT_BASE_URL);
    assert_eq!(default("AliyunSmsBaseUrl"), config::ALIYUN_DEFAULT_BASE_URL);
    assert_eq!(default("TencentSmsBaseUrl"), config::TENCENT_DEFAULT_BASE_URL);
    assert_eq!(default("AliyunDypnsBaseUrl"), config::ALIYUN_DYPNS_DEFAULT_BASE_URL);
    assert_eq!(default("WechatBaseUrl"), config::WECHAT_DEFAULT_BASE_URL);
    assert_eq!(default("OneTapPerIpPerHour"), config::ONE_TAP_PER_IP_PER_HOUR.default.to_string());
    assert_eq!(default("WechatPerIpPerHour"), config::WECHAT_PER_IP_PER_HOUR.default.to_string());
    assert_eq!(default("SignupTicketTtlSeconds"), config::SIGNUP_TICKET_TTL_SECONDS.default.to_string());
    assert_eq!(default("TencentSmsRegion"), config::TENCENT_DEFAULT_REGION);
    assert_eq!(default("SmsProviders"), "ronglian", "today's deployments keep sending through Ronglian");
    assert_eq!(default("CaptchaTimeoutMs"), config::CAPTCHA_TIMEOUT_MS.default.to_string());
    assert_eq!(default("TencentCaptchaBaseUrl"), config::TENCENT_CAPTCHA_DEFAULT_BASE_URL);
    assert_eq!(default("GeetestBaseUrl"), config::GEETEST_DEFAULT_BASE_URL);
    assert_eq!(default("CaptchaProvider"), "builtin", "no deployment needs a captcha account");
    let allowed: Vec<&str> = parameters["CaptchaProvider"]["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|value| value.as_str().unwrap())
        .collect();
    let known: Vec<&str> = shared::human::CaptchaProvider::ALL.iter().map(|p| p.name()).collect();
    assert_eq!(allowed, known);
    // Each name the parameter allows is one the code takes.
    let pattern = parameters["SmsProviders"]["AllowedPattern"].as_str().unwrap();
    for name in config::PROVIDER_NAMES {
        assert!(pattern.contains(name), "{pattern} leaves out {name}");
    }
}

/// The stack name `${AWS::StackName}` stands for in these tests.
const STACK: &str = "phone-verify";

/// `text` with each `${Name}` of a `!Sub` replaced: the stack name and
/// region by samples, anything else (a resource, `Alarm.Arn`) by its name.
fn substitute(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let end = start + rest[start..].find('}').unwrap();
        out.push_str(&rest[..start]);
        out.push_str(match &rest[start + 2..end] {
            "AWS::StackName" => STACK,
            "AWS::Region" => "us-east-1",
            other => other,
        });
        rest = &rest[end + 1..];
    }
    out + rest
}

/// A plain string, or a `!Sub` one substituted.
fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Tagged(tagged) if tagged.tag == "Sub" => substitute(tagged.value.as_str().unwrap()),
        other => panic!("expected a string or a !Sub string: {other:?}"),
    }
}

/// The logical id `!Ref` names.
fn reference(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str(),
        _ => None,
    }
}

/// Every resource of `kind`, by logical id.
fn resources(template: &Value, kind: &str) -> BTreeMap<String, Value> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str().unwrap().to_owned(), r.clone()))
        .collect()
}

/// The namespace the functions publish under, as the template sets it.
fn code_namespace(template: &Value) -> String {
    text(&template["Globals"]["Function"]["Environment"]["Variables"][config::METRICS_NAMESPACE])
}

/// One metric an alarm or the dashboard names. A dimension's value is
/// `Null` where a SEARCH expression takes every value.
#[derive(Debug)]
struct Watched {
    by: String,
    namespace: String,
    name: String,
    dimensions: Vec<(String, Value)>,
}

/// Every metric an alarm watches, alone or in its metric math.
fn alarm_metrics(template: &Value) -> Vec<Watched> {
    let watched = |by: &str, metric: &Value| Watched {
        by: by.to_owned(),
        namespace: text(&metric["Namespace"]),
        name: metric["MetricName"].as_str().unwrap().to_owned(),
        dimensions: metric["Dimensions"]
            .as_sequence()
            .map(|dimensions| {
                dimensions.iter().map(|d| (d["Name"].as_str().unwrap().to_owned(), d["Value"].clone())).collect()
            })
            .unwrap_or_default(),
    };
    let mut all = Vec::new();
    for (id, alarm) in resources(template, "AWS::CloudWatch::Alarm") {
        let properties = &alarm["Properties"];
        if properties.get("MetricName").is_some() {
            all.push(watched(&id, properties));
        }
        for query in properties["Metrics"].as_sequence().into_iter().flatten() {
            if let Some(stat) = query.get("MetricStat") {
                all.push(watched(&id, &stat["Metric"]));
            }
        }
    }
    all
}

/// The dashboard's body, substituted and parsed.
fn dashboard(template: &Value) -> serde_json::Value {
    let dashboards = resources(template, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1);
    let body = text(&dashboards.values().next().unwrap()["Properties"]["DashboardBody"]);
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("the dashboard body is not JSON: {e}"))
}

/// The namespace, metric name and dimension names of
/// `SEARCH('{"Namespace",Dimension} MetricName="Name"', ...)`.
fn search(expression: &str) -> (String, String, Vec<String>) {
    let schema = expression.split_once('{').unwrap().1.split_once('}').unwrap().0;
    let mut parts = schema.split(',').map(|part| part.trim().trim_matches('"').to_owned());
    let namespace = parts.next().unwrap();
    let name = expression.split_once(r#"MetricName=""#).unwrap().1.split_once('"').unwrap().0;
    (namespace, name.to_owned(), parts.collect())
}

/// Every metric a dashboard graph shows: `[namespace, name, dimension,
/// value, ..., {options}]`, or the metrics a SEARCH expression finds.
fn dashboard_metrics(template: &Value) -> Vec<Watched> {
    let mut all = Vec::new();
    for widget in dashboard(template)["widgets"].as_array().unwrap() {
        let by = format!("dashboard \"{}\"", widget["properties"]["title"].as_str().unwrap());
        for metric in widget["properties"]["metrics"].as_array().into_iter().flatten() {
            let metric = metric.as_array().unwrap();
            if let Some(expression) = metric[0]["expression"].as_str() {
                if expression.contains("SEARCH(") {
                    let (namespace, name, dimensions) = search(expression);
                    let dimensions = dimensions.into_iter().map(|d| (d, Value::Null)).collect();
                    all.push(Watched { by: by.clone(), namespace, name, dimensions });
                }
                continue;
            }
            let fields: Vec<&str> = metric.iter().map_while(serde_json::Value::as_str).collect();
            assert!(fields[0] != "." && fields[1] != ".", "{by}: write each metric in full, not with \".\"");
            all.push(Watched {
                by: by.clone(),
                namespace: fields[0].to_owned(),
                name: fields[1].to_owned(),
                dimensions: fields[2..]
                    .chunks(2)
                    .map(|pair| (pair[0].to_owned(), Value::String(pair[1].to_owned())))
                    .collect(),
            });
        }
    }
    all
}

/// `watched` is a metric of the catalogue, with exactly one of its dimension
/// sets (CloudWatch matches the whole set: another one would never have a
/// data point), and the dimension values we know are ones the code writes.
fn assert_published(watched: &Watched) {
    let Watched { by, name, .. } = watched;
    let metric = Metric::ALL
        .iter()
        .copied()
        .find(|metric| metric.name() == name)
        .unwrap_or_else(|| panic!("{by}: {name} is no metric the code publishes"));
    let names: BTreeSet<&str> = watched.dimensions.iter().map(|(name, _)| name.as_str()).collect();
    assert!(
        metric.dimension_sets().iter().any(|set| set.iter().copied().collect::<BTreeSet<_>>() == names),
        "{by}: {name} is published under the dimension sets {:?}, not {names:?}",
        metric.dimension_sets()
    );
    for (dimension, value) in &watched.dimensions {
        let Some(value) = value.as_str() else { continue };
        let known = match dimension.as_str() {
            "Error" => shared::http::messages::MESSAGES.iter().any(|text| text.key() == value),
            "Purpose" => shared::domain::Purpose::parse(Some(value)).is_ok_and(|p| p.as_str() == value),
            "Function" => Function::ALL.iter().any(|f| f.name() == value),
            "Verdict" => shared::service::human::VERDICTS.contains(&value),
            _ => true,
        };
        assert!(known, "{by}: {name} never has {dimension}={value}");
    }
}

#[test]
fn every_metric_an_alarm_watches_in_our_namespace_is_published_with_exactly_its_dimensions() {
    let template = template();
    let namespace = code_namespace(&template);
    let ours: Vec<Watched> = alarm_metrics(&template).into_iter().filter(|w| w.namespace == namespace).collect();
    assert!(!ours.is_empty());
    ours.iter().for_each(assert_published);
}

#[test]
fn every_metric_on_the_dashboard_in_our_namespace_is_published_and_every_published_one_is_shown() {
    let template = template();
    let namespace = code_namespace(&template);
    let ours: Vec<Watched> = dashboard_metrics(&template).into_iter().filter(|w| w.namespace == namespace).collect();
    ours.iter().for_each(assert_published);
    let shown: BTreeSet<&str> = ours.iter().map(|w| w.name.as_str()).collect();
    let published: BTreeSet<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
    assert_eq!(shown, published);
}

#[test]
fn the_metrics_namespace_is_the_stacks_own_and_the_one_alarms_and_the_dashboard_use() {
    let template = template();
    let namespace = code_namespace(&template);
    assert_eq!(namespace, format!("{}/{STACK}", shared::telemetry::metrics::DEFAULT_NAMESPACE));
    let config = config::Config::from_lookup(|name| (name == config::METRICS_NAMESPACE).then(|| namespace.clone()));
    assert_eq!(config.unwrap().metrics_namespace, namespace, "the code accepts the namespace");
    for watched in alarm_metrics(&template).iter().chain(&dashboard_metrics(&template)) {
        assert!(
            watched.namespace == namespace || watched.namespace.starts_with("AWS/"),
            "{}: {} is in {}, neither our namespace nor AWS's",
            watched.by,
            watched.name,
            watched.namespace
        );
    }
}

#[test]
fn the_aws_metrics_alarms_watch_are_this_stacks_api_and_every_one_of_its_functions() {
    let template = template();
    let apis = resources(&template, "AWS::Serverless::HttpApi");
    let functions: BTreeSet<String> = resources(&template, "AWS::Serverless::Function").into_keys().collect();
    let mut throttled = BTreeSet::new();
    for watched in alarm_metrics(&template).iter().filter(|w| w.namespace.starts_with("AWS/")) {
        let dimensions: Vec<(&str, Option<&str>)> =
            watched.dimensions.iter().map(|(name, value)| (name.as_str(), reference(value))).collect();
        match (watched.namespace.as_str(), dimensions.as_slice()) {
            ("AWS/ApiGateway", [("ApiId", Some(api))]) => assert!(apis.contains_key(*api), "{}", watched.by),
            ("AWS/Lambda", [("FunctionName", Some(function))]) => {
                assert!(functions.contains(*function), "{}", watched.by);
                if watched.name == "Throttles" {
                    throttled.insert(function.to_string());
                }
            }
            _ => panic!("{}: {} in {} by {:?}", watched.by, watched.name, watched.namespace, watched.dimensions),
        }
    }
    assert_eq!(throttled, functions, "throttles are watched on every function");
}

#[test]
fn every_alarm_expression_uses_only_its_own_metrics_and_one_is_returned() {
    for (id, alarm) in resources(&template(), "AWS::CloudWatch::Alarm") {
        let Some(queries) = alarm["Properties"]["Metrics"].as_sequence() else { continue };
        let ids: BTreeSet<&str> = queries.iter().map(|q| q["Id"].as_str().unwrap()).collect();
        let returned = queries.iter().filter(|q| q["ReturnData"] == true).count();
        assert_eq!(returned, 1, "{id}");
        for expression in queries.iter().filter_map(|q| q.get("Expression")).map(text) {
            // Functions are upper case, query ids lower case.
            let names = expression.split(|c: char| !c.is_ascii_alphanumeric() && c != '_');
            for name in names.filter(|n| n.starts_with(|c: char| c.is_ascii_lowercase())) {
                assert!(ids.contains(name), "{id}: {expression} names {name}, which is no query of the alarm");
            }
        }
    }
}

#[test]
fn every_alarm_notifies_the_alarm_topic_when_one_is_given() {
    let template = template();
    let parameter = &template["Parameters"]["AlarmTopicArn"];
    assert_eq!(parameter["Default"], "");
    let condition: Value = serde_norway::from_str(r#"!Not [!Equals [!Ref AlarmTopicArn, ""]]"#).unwrap();
    assert_eq!(template["Conditions"]["HasAlarmTopic"], condition);
    let actions: Value =
        serde_norway::from_str("!If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]").unwrap();
    let alarms = resources(&template, "AWS::CloudWatch::Alarm");
    assert!(!alarms.is_empty());
    for (id, alarm) in alarms {
        for property in ["AlarmActions", "OKActions"] {
            assert_eq!(alarm["Properties"][property], actions, "{id}: {property}");
        }
    }
}

/// Lambda gives a line without a `level` field the level INFO and drops it
/// under a stricter application log level: the metric and audit lines are
/// such lines, so no function may filter above INFO.
#[test]
fn no_function_filters_its_metric_and_audit_lines_away() {
    for (name, function) in functions(&template()) {
        let logging = &function["Properties"]["LoggingConfig"];
        assert_eq!(logging["LogFormat"], "JSON", "{name}");
        let level = logging["ApplicationLogLevel"].as_str().unwrap_or("INFO");
        assert!(
            ["TRACE", "DEBUG", "INFO"].contains(&level),
            "{name} filters at {level}: metrics and audit lines are INFO"
        );
    }
}

/// Every variable the code reads is in the README's configuration table.
#[test]
fn every_variable_is_in_the_readmes_configuration_table() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let table = readme.split("\n## Configuration\n").nth(1).expect("the README has a Configuration section");
    let table = table.split("\n## ").next().unwrap();
    for variable in config::variables() {
        assert!(
            table.contains(&format!("`{}`", variable.name)),
            "{} is not in the README's configuration table",
            variable.name
        );
    }
}
