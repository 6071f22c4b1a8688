//! The pieces that describe the API must agree: `template.yaml` (what is deployed), the local
//! gateway's route table, `docs/openapi.yaml`, the function crates, and `infra/table.json`.

use std::collections::BTreeSet;
use std::path::Path;

use serde_yaml::Value;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().parent().unwrap()
}

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(repo().join(path)).unwrap()).unwrap()
}

/// (METHOD, path, binary) of every HttpApi event in the template.
fn template_routes() -> BTreeSet<(String, String, String)> {
    let template = yaml("template.yaml");
    let mut routes = BTreeSet::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned();
        let Some(events) = resource["Properties"]["Events"].as_mapping() else { continue };
        for (_, event) in events {
            if event["Type"] == "HttpApi" {
                let props = &event["Properties"];
                routes.insert((
                    props["Method"].as_str().unwrap().to_uppercase(),
                    props["Path"].as_str().unwrap().to_owned(),
                    binary.clone(),
                ));
            }
        }
    }
    routes
}

#[test]
fn local_gateway_serves_exactly_the_template_routes() {
    let gateway: BTreeSet<_> =
        dev_server::routes().iter().map(|r| (r.method.to_string(), r.path.to_owned(), r.function.to_owned())).collect();
    assert_eq!(gateway, template_routes());
}

#[test]
fn openapi_documents_exactly_the_template_routes() {
    let openapi = yaml("docs/openapi.yaml");
    assert_eq!(openapi["openapi"].as_str().unwrap(), "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, item) in openapi["paths"].as_mapping().unwrap() {
        for (method, operation) in item.as_mapping().unwrap() {
            let method = method.as_str().unwrap();
            if ["get", "post", "put", "patch", "delete"].contains(&method) {
                documented.insert((
                    method.to_uppercase(),
                    path.as_str().unwrap().to_owned(),
                    operation["operationId"].as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    assert_eq!(documented, template_routes());
}

#[test]
fn every_function_crate_is_deployed_and_every_binary_has_a_crate() {
    let template = yaml("template.yaml");
    let deployed: BTreeSet<String> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Function")
        .map(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned())
        .collect();
    let crates: BTreeSet<String> = std::fs::read_dir(repo().join("functions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(deployed, crates);
}

#[test]
fn the_template_table_matches_the_table_definition() {
    let definition: serde_json::Value = serde_json::from_str(dev_server::table::DEFINITION).unwrap();
    let template = yaml("template.yaml");
    let table = &template["Resources"]["Table"];
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    let props: serde_json::Value = serde_json::to_value(&table["Properties"]).unwrap();
    for field in ["AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode"] {
        assert_eq!(props[field], definition[field], "{field}");
    }
    assert_eq!(props["TimeToLiveSpecification"]["AttributeName"], definition["TimeToLiveAttribute"]);
    assert_eq!(props["TimeToLiveSpecification"]["Enabled"], true);
    // The definition parses into what the local stack and the tests create.
    dev_server::table::definition().unwrap();
}

/// `!Ref Name` as serde_yaml reads it.
fn is_ref(value: &Value, name: &str) -> bool {
    match value {
        Value::Tagged(tagged) => tagged.tag == "!Ref" && tagged.value.as_str() == Some(name),
        _ => false,
    }
}

/// The template's functions: (logical id, binary, resource).
fn functions(template: &Value) -> Vec<(String, String, Value)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, r)| {
            let binary = r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_owned();
            (id.as_str().unwrap().to_owned(), binary, r.clone())
        })
        .collect()
}

#[test]
fn globals_are_as_lambda_needs_them() {
    let template = yaml("template.yaml");
    let function = &template["Globals"]["Function"];
    assert_eq!(function["Runtime"], "provided.al2023");
    assert!(is_ref(&function["Architectures"][0], "Architecture"));
    let architecture = &template["Parameters"]["Architecture"];
    assert_eq!(architecture["Default"], "arm64");
    assert_eq!(architecture["AllowedValues"], serde_yaml::from_str::<Value>("[arm64, x86_64]").unwrap());
    assert_eq!(function["Handler"], "bootstrap");
    assert_eq!(function["LoggingConfig"]["LogFormat"], "JSON");
    // Each function's code is the zip of `make build`, which `sam build` packages as it is.
    for (_, binary, resource) in functions(&template) {
        assert_eq!(resource["Properties"]["CodeUri"], format!("target/lambda/{binary}/bootstrap.zip").as_str());
        assert!(resource["Metadata"]["BuildMethod"].is_null(), "{binary}: built by make build, not by sam");
    }
}

/// Operations: every function logs to a log group of its own that expires, and has alarms on
/// errors and throttles; the two jobs never overlap, retry their schedule's delivery and leave
/// failed runs in a dead-letter queue with an alarm; the HTTP API logs its access, throttles, and
/// throttles the unauthenticated webhooks harder.
#[test]
fn every_function_is_logged_alarmed_and_the_jobs_never_overlap() {
    let template = yaml("template.yaml");
    let resources = &template["Resources"];
    for (id, binary, function) in functions(&template) {
        let properties = &function["Properties"];
        let group = properties["LoggingConfig"]["LogGroup"].clone();
        let Value::Tagged(group) = group else { panic!("{binary}: no log group of its own") };
        let group = &resources[group.value.as_str().unwrap()];
        assert_eq!(group["Type"], "AWS::Logs::LogGroup", "{binary}");
        assert!(is_ref(&group["Properties"]["RetentionInDays"], "LogRetentionDays"), "{binary}");
        for metric in ["Errors", "Throttles"] {
            let alarm = resources
                .as_mapping()
                .unwrap()
                .values()
                .find(|r| {
                    r["Type"] == "AWS::CloudWatch::Alarm"
                        && r["Properties"]["MetricName"] == metric
                        && is_ref(&r["Properties"]["Dimensions"][0]["Value"], &id)
                })
                .unwrap_or_else(|| panic!("{binary}: no {metric} alarm"));
            assert!(is_ref(&alarm["Properties"]["AlarmActions"][0], "AlarmTopicArn"), "{binary} {metric}");
        }
        // The WebSocket routes' functions have no SAM event: API Gateway's integrations name them.
        let events: Vec<&Value> = properties["Events"].as_mapping().map(|e| e.values().collect()).unwrap_or_default();
        if events.iter().any(|e| e["Type"] == "Schedule") {
            assert_eq!(properties["ReservedConcurrentExecutions"], 1, "{binary}: runs must not overlap");
            assert_eq!(properties["DeadLetterQueue"]["Type"], "SQS", "{binary}");
            let schedule = events.iter().find(|e| e["Type"] == "Schedule").unwrap();
            assert!(schedule["Properties"]["RetryPolicy"]["MaximumRetryAttempts"].as_u64().is_some(), "{binary}");
            assert!(!schedule["Properties"]["DeadLetterConfig"]["Arn"].is_null(), "{binary}");
        }
    }
    let queue_alarm = &resources["JobsDeadLetterAlarm"]["Properties"];
    assert_eq!(queue_alarm["MetricName"], "ApproximateNumberOfMessagesVisible");
    assert!(!resources["HttpApi5xxAlarm"]["Properties"]["Metrics"].is_null());
    let api = &resources["HttpApi"]["Properties"];
    assert!(!api["AccessLogSettings"]["DestinationArn"].is_null());
    assert!(is_ref(&resources["HttpApiAccessLogGroup"]["Properties"]["RetentionInDays"], "LogRetentionDays"));
    assert!(is_ref(&api["DefaultRouteSettings"]["ThrottlingRateLimit"], "ApiRateLimit"));
    for route in ["POST /webhooks/lemon-squeezy", "POST /webhooks/workos"] {
        assert!(is_ref(&api["RouteSettings"][route]["ThrottlingRateLimit"], "WebhookRateLimit"), "{route}");
    }
    let defaults = |name: &str| template["Parameters"][name]["Default"].as_u64().unwrap();
    assert!(defaults("WebhookRateLimit") < defaults("ApiRateLimit"));
}

/// Every function gets each setting it uses and no optional setting it does not use, and no
/// secret at all: for each secret it uses, the ARN of its Secrets Manager secret
/// (`<NAME>_SECRET_ARN`) and a policy that may read exactly those secrets. What a function uses:
/// what every function's configuration requires and the optional settings its `main.rs`
/// requires at cold start.
#[test]
fn each_function_gets_exactly_the_settings_it_uses() {
    use shared::config::Setting;
    let text = std::fs::read_to_string(repo().join("template.yaml")).unwrap();
    assert!(!text.contains("resolve:secretsmanager"), "no secret is resolved into a function's configuration");
    let template = yaml("template.yaml");
    let globals = template["Globals"]["Function"]["Environment"]["Variables"].as_mapping().unwrap().clone();
    for (_, binary, resource) in functions(&template) {
        let mut variables = globals.clone();
        if let Some(own) = resource["Properties"]["Environment"]["Variables"].as_mapping() {
            variables.extend(own.clone());
        }
        let names: BTreeSet<String> = variables.keys().map(|k| k.as_str().unwrap().to_owned()).collect();
        let main = std::fs::read_to_string(repo().join("functions").join(&binary).join("src/main.rs")).unwrap();
        let used: Vec<Setting> =
            Setting::ALL.into_iter().filter(|s| main.contains(&format!("Setting::{s:?}"))).collect();
        let expected: BTreeSet<String> =
            used.iter().map(|s| if s.is_secret() { s.secret_arn_variable() } else { s.name().to_owned() }).collect();
        let optional: BTreeSet<String> = Setting::ALL
            .iter()
            .flat_map(|s| [s.name().to_owned(), s.secret_arn_variable()])
            .filter(|name| names.contains(name))
            .collect();
        assert_eq!(optional, expected, "{binary}: the optional settings it gets against the ones it uses");
        for secret in Setting::ALL.iter().filter(|s| s.is_secret()) {
            assert!(!names.contains(secret.name()), "{binary}: {} must come as its ARN", secret.name());
        }
        // Its role reads exactly the secrets whose ARNs it is given.
        let readable: BTreeSet<String> = resource["Properties"]["Policies"]
            .as_sequence()
            .unwrap()
            .iter()
            .flat_map(|p| p["Statement"].as_sequence().cloned().unwrap_or_default())
            .filter(|st| serde_yaml::to_string(&st["Action"]).unwrap().contains("secretsmanager:GetSecretValue"))
            .flat_map(|st| st["Resource"].as_sequence().cloned().unwrap_or_default())
            .map(|r| serde_yaml::to_string(&r).unwrap())
            .collect();
        let given: BTreeSet<String> = used
            .iter()
            .filter(|s| s.is_secret())
            .map(|s| serde_yaml::to_string(&variables[s.secret_arn_variable().as_str()]).unwrap())
            .collect();
        assert_eq!(readable, given, "{binary}: the secrets its role may read against those it is given");
    }
}

/// Issue 20, item 4: the Lemon Squeezy webhook secret, with which anyone could forge a billing
/// event, reaches the webhook function alone; the checkout tags have a secret of their own,
/// given only to the functions that make or check tags. The user-facing checkout route holds no
/// key that signs billing events.
#[test]
fn the_webhook_secret_reaches_only_the_webhook_and_the_tag_secret_only_who_tags() {
    let template = yaml("template.yaml");
    let holders = |variable: &str| -> BTreeSet<String> {
        functions(&template)
            .into_iter()
            .filter(|(_, _, resource)| !resource["Properties"]["Environment"]["Variables"][variable].is_null())
            .map(|(_, binary, _)| binary)
            .collect()
    };
    assert_eq!(holders("LEMONSQUEEZY_WEBHOOK_SECRET_SECRET_ARN"), BTreeSet::from(["lemonsqueezy-webhook".to_owned()]));
    assert_eq!(
        holders("CHECKOUT_TAG_SECRET_SECRET_ARN"),
        ["billing-reconcile", "create-checkout", "lemonsqueezy-webhook"].map(str::to_owned).into()
    );
}

/// Issue 25: every route of the template is classified for API keys as API.md says (`read`: the
/// `GET` routes but `/audit-log`, `/org/export` and `/api-keys`; `write`: also the customer and
/// assignment changes; no other), and the OpenAPI document's `security` says the same of each
/// operation: `apiKeyAuth` with the scope it needs, exactly where a key may call it.
#[test]
fn every_route_is_classified_for_api_keys_as_api_md_and_the_document_say() {
    use shared::domain::api_keys::{Scope, scope_needed};
    let person_only_reads = ["/audit-log", "/org/export", "/api-keys"];
    let writes = [
        ("POST", "/customers"),
        ("PATCH", "/customers/{customerId}"),
        ("DELETE", "/customers/{customerId}"),
        ("PUT", "/customers/{customerId}/staff/{userId}"),
        ("DELETE", "/customers/{customerId}/staff/{userId}"),
    ];
    let openapi = yaml("docs/openapi.yaml");
    for (method, path, function) in template_routes() {
        let expected = if method == "GET" && !person_only_reads.contains(&path.as_str()) {
            Some(Scope::Read)
        } else if writes.contains(&(method.as_str(), path.as_str())) {
            Some(Scope::Write)
        } else {
            None
        };
        let route = format!("{method} {path}");
        assert_eq!(scope_needed(&route), expected, "{route} ({function}): classify it in domain/api_keys.rs");
        let operation = &openapi["paths"][path.as_str()][method.to_lowercase().as_str()];
        let documented: Vec<String> = operation["security"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter_map(|requirement| requirement["apiKeyAuth"].as_sequence())
            .flatten()
            .filter_map(|scope| scope.as_str().map(str::to_owned))
            .collect();
        let expected_doc: Vec<String> = expected.map(|s| s.slug().to_owned()).into_iter().collect();
        assert_eq!(documented, expected_doc, "{route}: the document's apiKeyAuth");
    }
}
