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
        assert_eq!(resource["Metadata"]["BuildMethod"], "rust-cargolambda", "{binary}");
        assert_eq!(resource["Properties"]["CodeUri"], ".", "{binary}");
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

#[test]
fn globals_are_as_lambda_needs_them() {
    let template = yaml("template.yaml");
    let function = &template["Globals"]["Function"];
    assert_eq!(function["Runtime"], "provided.al2023");
    assert_eq!(function["Architectures"][0], "arm64");
    assert_eq!(function["Handler"], "bootstrap");
    assert_eq!(function["LoggingConfig"]["LogFormat"], "JSON");
}

/// Every function gets each setting it uses and no optional setting it does not use, and every
/// secret from Secrets Manager (never as template text). What a function uses: what every
/// function's configuration requires (`WORKOS_API_KEY` among them) and the optional settings
/// its `main.rs` requires at cold start.
#[test]
fn each_function_gets_exactly_the_settings_it_uses() {
    use shared::config::Setting;
    let template = yaml("template.yaml");
    let globals = template["Globals"]["Function"]["Environment"]["Variables"].as_mapping().unwrap().clone();
    let secret_names: BTreeSet<&str> =
        Setting::ALL.iter().filter(|s| s.is_secret()).map(|s| s.name()).chain(["WORKOS_API_KEY"]).collect();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap();
        let mut variables = globals.clone();
        if let Some(own) = resource["Properties"]["Environment"]["Variables"].as_mapping() {
            variables.extend(own.clone());
        }
        let optional: BTreeSet<&str> = Setting::ALL.iter().map(|s| s.name()).collect();
        let mut given = BTreeSet::new();
        for (name, value) in &variables {
            let name = name.as_str().unwrap();
            let text = serde_yaml::to_string(value).unwrap();
            if secret_names.contains(name) {
                assert!(
                    text.contains(&format!("resolve:secretsmanager:${{SecretsArn}}:SecretString:{name}")),
                    "{binary}: {name} must come from Secrets Manager, not {text}"
                );
            }
            if optional.contains(name) || secret_names.contains(name) {
                given.insert(name);
            }
        }
        let main = std::fs::read_to_string(repo().join("functions").join(binary).join("src/main.rs")).unwrap();
        let used: BTreeSet<&str> = Setting::ALL
            .iter()
            .filter(|s| main.contains(&format!("Setting::{s:?}")))
            .map(|s| s.name())
            .chain(["WORKOS_API_KEY"])
            .collect();
        assert_eq!(given, used, "{binary}: the optional settings and secrets it gets against the ones it uses");
    }
}
