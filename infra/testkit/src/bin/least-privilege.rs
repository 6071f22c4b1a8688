//! `least-privilege CALLS TEMPLATE`: fails unless every function's DynamoDB policy in TEMPLATE
//! grants exactly the actions the suite recorded it calling (CALLS, JSON Lines of
//! `testkit::calls::Call`), with no wildcard and no Scan. `infra/scripts/run-tests.sh` runs it
//! after the suite.

use std::process::ExitCode;

use testkit::calls::{Call, compare};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [calls_path, template_path] = args.as_slice() else {
        eprintln!("usage: least-privilege CALLS TEMPLATE");
        return ExitCode::from(2);
    };
    let calls: Vec<Call> = match std::fs::read_to_string(calls_path) {
        Ok(text) => text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect(),
        Err(error) => {
            eprintln!("least-privilege: cannot read {calls_path}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let template = match std::fs::read_to_string(template_path).map(|t| serde_yaml::from_str(&t)) {
        Ok(Ok(template)) => template,
        other => {
            eprintln!("least-privilege: cannot read {template_path}: {other:?}");
            return ExitCode::FAILURE;
        }
    };
    let problems = compare(&template, &calls);
    if problems.is_empty() {
        let functions: std::collections::BTreeSet<&str> = calls.iter().map(|c| c.function.as_str()).collect();
        println!(
            "least-privilege: {} functions' policies match the {} recorded permissions",
            functions.len(),
            calls.len()
        );
        return ExitCode::SUCCESS;
    }
    eprintln!("least-privilege: the template's policies and the calls the suite recorded disagree:");
    for problem in &problems {
        eprintln!("  {problem}");
    }
    ExitCode::FAILURE
}
