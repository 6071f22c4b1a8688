//! Which DynamoDB actions each function makes, recorded across the whole suite, so that the
//! template's policies can be checked against what the code really calls (least privilege).
//!
//! The apps under test put an interceptor on their DynamoDB client. A request routed to a
//! function (`TestApp::send`) or a job run (`TestApp::run_job`) runs inside [`FUNCTION`]'s scope
//! with the function's name; each call made inside it is appended, once per process, to the
//! JSON Lines file that `DYNAMODB_CALLS_LOG` names (set by `infra/scripts/services.sh`). Calls a
//! test makes to inspect its own table run outside any scope and are not recorded. After the
//! suite, `least-privilege` (`src/bin/least-privilege.rs`) compares the file with the template.
//! The scope is task-local: a call made from a spawned task would not be recorded (the shared
//! code spawns none; `tokio::join!` stays in the task).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::sync::Mutex;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

tokio::task_local! {
    /// The function (binary name) on whose behalf the current task calls DynamoDB.
    pub static FUNCTION: &'static str;
}

/// One IAM permission a function used: a DynamoDB action on the table or one of its indexes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Call {
    pub function: String,
    /// The IAM action, e.g. `dynamodb:Query`.
    pub action: String,
    /// `table`, or `index/<name>`.
    pub resource: String,
}

/// The IAM permissions one request needs: a transaction needs the action of each item it holds
/// (there is no `TransactWriteItems` permission), a query on an index needs the index.
pub fn permissions(target: &str, body: &Value) -> Vec<(String, String)> {
    let on_table = |action: &str| (format!("dynamodb:{action}"), "table".to_owned());
    if body.is_null() && matches!(target, "TransactWriteItems" | "Query" | "Scan") {
        // A body that could not be read is recorded as such, and no policy allows it: a
        // missing index permission is never hidden behind a guess.
        return vec![(format!("dynamodb:{target}"), "unparsed".to_owned())];
    }
    match target {
        "TransactWriteItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let kind = item.as_object()?.keys().next()?.as_str();
                Some(on_table(match kind {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    other => other,
                }))
            })
            .collect(),
        "TransactGetItems" => vec![on_table("GetItem")],
        "Query" | "Scan" => match body["IndexName"].as_str() {
            Some(index) => vec![(format!("dynamodb:{target}"), format!("index/{index}"))],
            None => vec![on_table(target)],
        },
        other => vec![on_table(other)],
    }
}

/// Records the permissions of every call made inside a [`FUNCTION`] scope.
#[derive(Debug, Default)]
pub struct Recorder {
    seen: Mutex<HashSet<Call>>,
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "testkit::calls::Recorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Ok(function) = FUNCTION.try_with(|f| *f) else { return Ok(()) };
        let Ok(path) = std::env::var("DYNAMODB_CALLS_LOG") else { return Ok(()) };
        let request = context.request();
        let Some(target) = request.headers().get("x-amz-target").and_then(|t| t.split('.').nth(1)) else {
            return Ok(());
        };
        // Only a transaction's items and a query's index need the body read.
        let body: Value = match target {
            "TransactWriteItems" | "Query" | "Scan" => {
                request.body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null)
            }
            _ => Value::Null,
        };
        let mut seen = self.seen.lock().expect("the record's lock");
        let mut lines = String::new();
        for (action, resource) in permissions(target, &body) {
            let call = Call { function: function.to_owned(), action, resource };
            if seen.insert(call.clone()) {
                lines.push_str(&serde_json::to_string(&call)?);
                lines.push('\n');
            }
        }
        if !lines.is_empty() {
            // One write of a few short lines: appends of one write are not interleaved between
            // the suite's processes.
            std::fs::OpenOptions::new().create(true).append(true).open(&path)?.write_all(lines.as_bytes())?;
        }
        Ok(())
    }
}

/// `(action, resource)` pairs, as `permissions` gives them.
pub type Permissions = BTreeSet<(String, String)>;

/// The DynamoDB permissions each function's policy in `template.yaml` grants, as
/// `(action, resource)`; and every problem a policy has on its own (a wildcard, a Scan, a managed
/// policy in place of explicit statements).
pub fn granted(template: &serde_yaml::Value) -> (BTreeMap<String, Permissions>, Vec<String>) {
    let mut granted = BTreeMap::new();
    let mut problems = Vec::new();
    let Some(resources) = template["Resources"].as_mapping() else { return (granted, problems) };
    for resource in resources.values() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let function = resource["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap_or("?").to_owned();
        let mut allowed = BTreeSet::new();
        for policy in resource["Properties"]["Policies"].as_sequence().into_iter().flatten() {
            let Some(statements) = policy["Statement"].as_sequence() else {
                problems.push(format!("{function}: a policy that is not explicit statements: {policy:?}"));
                continue;
            };
            for statement in statements {
                let actions: Vec<&str> = match &statement["Action"] {
                    serde_yaml::Value::String(one) => vec![one.as_str()],
                    other => other.as_sequence().into_iter().flatten().filter_map(|a| a.as_str()).collect(),
                };
                let resource = resource_name(&statement["Resource"]);
                for action in actions {
                    if action.contains('*') || resource.as_deref() == Some("*") {
                        problems.push(format!("{function}: a wildcard in {action} on {resource:?}"));
                    }
                    if action == "dynamodb:Scan" {
                        problems.push(format!("{function}: Scan is never needed on a request path"));
                    }
                    // The stream's reads are the event source mapping's (Lambda's poller), not calls
                    // the function's code makes.
                    let stream = resource.as_deref() == Some("Table.StreamArn");
                    if let (true, false, Some(resource)) = (action.starts_with("dynamodb:"), stream, resource.clone()) {
                        allowed.insert((action.to_owned(), resource));
                    }
                }
            }
        }
        granted.insert(function, allowed);
    }
    (granted, problems)
}

/// `table` for `!GetAtt Table.Arn`, `index/<name>` for `!Sub "${Table.Arn}/index/<name>"`, the
/// text of anything else.
fn resource_name(value: &serde_yaml::Value) -> Option<String> {
    match value {
        serde_yaml::Value::Tagged(tagged) => {
            let text = tagged.value.as_str()?;
            match tagged.tag.to_string().as_str() {
                "!GetAtt" if text == "Table.Arn" => Some("table".to_owned()),
                "!Sub" => text.strip_prefix("${Table.Arn}/").map(str::to_owned).or_else(|| Some(text.to_owned())),
                _ => Some(text.to_owned()),
            }
        }
        other => other.as_str().map(str::to_owned),
    }
}

/// Where the policies and the recorded calls disagree: a call a policy does not allow (it would
/// fail in AWS), or a permission no call used (least privilege), per function.
pub fn compare(template: &serde_yaml::Value, calls: &[Call]) -> Vec<String> {
    let (granted, mut problems) = granted(template);
    let mut used: BTreeMap<String, Permissions> = BTreeMap::new();
    for call in calls {
        used.entry(call.function.clone()).or_default().insert((call.action.clone(), call.resource.clone()));
    }
    for (function, allowed) in &granted {
        let empty = BTreeSet::new();
        let used = used.get(function).unwrap_or(&empty);
        if used.is_empty() {
            problems.push(format!("{function}: no test made a DynamoDB call on its behalf"));
        }
        for missing in used.difference(allowed) {
            problems.push(format!("{function}: calls {} on {} but its policy does not allow it", missing.0, missing.1));
        }
        for unused in allowed.difference(used) {
            problems.push(format!("{function}: its policy allows {} on {}, which it never calls", unused.0, unused.1));
        }
    }
    for function in used.keys().filter(|f| !granted.contains_key(*f)) {
        problems.push(format!("{function}: recorded calls, but the template has no such function"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_transaction_needs_the_action_of_each_item() {
        let body = json!({"TransactItems": [{"Put": {}}, {"Update": {}}, {"ConditionCheck": {}}, {"Delete": {}}]});
        let actions: Vec<String> = permissions("TransactWriteItems", &body).into_iter().map(|(a, _)| a).collect();
        assert_eq!(
            actions,
            ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem"]
        );
        assert_eq!(
            permissions("Query", &json!({"IndexName": "GSI1"})),
            [("dynamodb:Query".to_owned(), "index/GSI1".to_owned())]
        );
        assert_eq!(permissions("GetItem", &json!({})), [("dynamodb:GetItem".to_owned(), "table".to_owned())]);
        assert_eq!(
            permissions("Query", &Value::Null),
            [("dynamodb:Query".to_owned(), "unparsed".to_owned())],
            "an unread body is never taken for the table"
        );
    }

    #[test]
    fn a_policy_must_grant_exactly_what_was_called() {
        let template: serde_yaml::Value = serde_yaml::from_str(
            r#"
Resources:
  F:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: f}}
    Properties:
      Policies:
        - Statement:
            - {Effect: Allow, Action: [dynamodb:GetItem, dynamodb:PutItem], Resource: !GetAtt Table.Arn}
            - {Effect: Allow, Action: dynamodb:Query, Resource: !Sub "${Table.Arn}/index/GSI1"}
  G:
    Type: AWS::Serverless::Function
    Metadata: {BuildProperties: {Binary: g}}
    Properties:
      Policies:
        - DynamoDBCrudPolicy: {TableName: !Ref Table}
        - Statement:
            - {Effect: Allow, Action: "dynamodb:*", Resource: "*"}
"#,
        )
        .unwrap();
        let call = |action: &str, resource: &str| Call {
            function: "f".into(),
            action: action.into(),
            resource: resource.into(),
        };
        let problems = compare(
            &template,
            &[
                call("dynamodb:GetItem", "table"),
                call("dynamodb:Query", "index/GSI1"),
                call("dynamodb:DeleteItem", "table"),
            ],
        );
        assert!(problems.iter().any(|p| p == "f: calls dynamodb:DeleteItem on table but its policy does not allow it"));
        assert!(problems.iter().any(|p| p == "f: its policy allows dynamodb:PutItem on table, which it never calls"));
        assert!(problems.iter().any(|p| p.starts_with("g: a policy that is not explicit statements")));
        assert!(problems.iter().any(|p| p.starts_with("g: a wildcard")));
        assert!(problems.iter().any(|p| p == "g: no test made a DynamoDB call on its behalf"));
        assert_eq!(problems.len(), 6, "{problems:#?}");
    }
}
