//! template.yaml against the code: its routes are the route table, its
//! functions are the crates in functions/, its variables are the ones the
//! configuration reads, and its policies name only the table.

use serde_norway::Value;
use shared::config;
use shared::routes::{Function, ROUTES};
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
            assert!(config::VARIABLES.contains(&variable.as_str()), "{name} sets {variable}, which no code reads");
        }
        if name == "sms" {
            for required in [
                config::RONGLIAN_ACCOUNT_SID,
                config::RONGLIAN_AUTH_TOKEN,
                config::RONGLIAN_APP_ID,
                config::RONGLIAN_TEMPLATE_ID,
            ] {
                assert!(own.contains(required), "the SMS function needs {required}");
            }
        }
    }
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
            for statement in policy["Statement"].as_sequence().unwrap() {
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
    use shared::domain::{CaptchaId, Mobile, SessionToken, Username};
    use shared::service::{Limit, Limits, keys};
    use shared::store::key_kind;
    let limits = Limits::from(shared::config::LimitsConfig::default());
    let kind = |key: String| format!("{}#*", key_kind(&key));
    let limit = |limit: Limit| format!("limit#{}#*", limit.label());
    let mobile = Mobile::parse("13800138000").unwrap();
    let captcha = kind(keys::captcha(&CaptchaId::parse("3f0c9a5e-2b1d-4c8e-9f6a-1d2e3f4a5b6c").unwrap()));
    let session = kind(keys::session(&SessionToken::parse(&"A".repeat(43)).unwrap().hash()));
    let user = kind(keys::user(&Username::parse("alice_01").unwrap()));
    let generation = kind(keys::generation(&Username::parse("alice_01").unwrap()));
    BTreeMap::from([
        ("captcha", BTreeSet::from([captcha.clone(), limit(limits.captchas_per_ip)])),
        (
            "sms",
            BTreeSet::from([
                captcha,
                kind(keys::send_flag(&mobile)),
                kind(keys::sms_code(&mobile)),
                kind(keys::mobile_guard(&mobile)),
                limit(limits.sms_per_mobile),
                limit(limits.sms_per_ip),
                limit(limits.sms_global),
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
                limit(limits.code_failures_per_ip),
            ]),
        ),
        ("session", BTreeSet::from([session.clone(), generation.clone()])),
        (
            "account",
            BTreeSet::from([
                kind(keys::sms_code(&mobile)),
                user,
                kind(keys::mobile_guard(&mobile)),
                generation,
                session,
                limit(limits.code_failures_per_ip),
                limit(limits.login_failures_per_account),
                limit(limits.login_failures_per_ip),
            ]),
        ),
    ])
}

#[test]
fn each_function_may_touch_only_the_keys_its_code_uses() {
    let expected = key_prefixes();
    for (name, function) in functions(&template()) {
        for policy in function["Properties"]["Policies"].as_sequence().unwrap() {
            for statement in policy["Statement"].as_sequence().unwrap() {
                let leading = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                    .as_sequence()
                    .unwrap_or_else(|| panic!("{name}: every statement is limited by dynamodb:LeadingKeys"));
                let leading: BTreeSet<String> = leading.iter().map(|k| k.as_str().unwrap().to_owned()).collect();
                assert_eq!(leading, expected[name.as_str()], "{name}");
            }
        }
    }
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
    for secret in ["RonglianAuthToken", "SmsCodeKey"] {
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
