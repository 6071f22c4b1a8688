//! The contract (issue 10; issue 20, item 9): schemathesis (PyPI, pinned in
//! `infra/requirements.txt`) runs every operation of `docs/openapi.yaml` against the app served on
//! a loopback port, with a valid token of each role, and the settings of the repository's
//! `schemathesis.toml`. Checks: no 5xx (`not_a_server_error`), no status code the document does
//! not list (`status_code_conformance`), no content type it does not list
//! (`content_type_conformance`), bodies and headers that match the document
//! (`response_schema_conformance`, `response_headers_conformance`), and no request that the
//! document's schemas accept refused with a 400 (`positive_data_acceptance`), except the refusals
//! an operation lists in `x-refusals-beyond-schema` (rules of configuration or stored state;
//! `infra/testkit/schemathesis/hooks.py` lets those through). The admin's run adds the stateful
//! phase, which follows the document's links: every operation a link leads to must answer 2xx at
//! least once to a request made through one, that is with ids the API itself made. Bounded: a
//! fixed number of examples per operation and a fixed seed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use testkit::lemonsqueezy::LemonSqueezyStub;
use testkit::{GET, POST, TestApp, env};

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance,response_headers_conformance,positive_data_acceptance";
const EXAMPLES_PER_OPERATION: &str = "6";
const SEED: &str = "20261201";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().parent().unwrap()
}

/// One schemathesis run with a token; `args` select the operations and phases.
async fn schemathesis(config: &Path, url: &str, token: &str, args: &[&str]) -> String {
    let output = tokio::process::Command::new(repo().join("infra/.venv/bin/schemathesis"))
        .arg("--config-file")
        .arg(config)
        .args(["run", "docs/openapi.yaml", "--url", url, "--checks", CHECKS])
        .args(["--max-examples", EXAMPLES_PER_OPERATION, "--seed", SEED, "--workers", "1"])
        .args(["--generation-database", "none", "--no-color", "--request-timeout", "10"])
        .args(args)
        .arg("-H")
        .arg(format!("Authorization: Bearer {token}"))
        // The hooks path in schemathesis.toml is relative to the working directory.
        .current_dir(repo())
        .env("SCHEMATHESIS_TELEMETRY", "false")
        .output()
        .await
        .expect("schemathesis runs (make setup installs it)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let summary: Vec<&str> = text.lines().filter(|l| l.contains("generated") || l.contains("Links:")).collect();
    eprintln!("schemathesis {args:?}: {}", summary.join(" | "));
    assert!(
        output.status.success(),
        "schemathesis {args:?} found failures:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

/// `METHOD /path` of every operation with links in the document, and of every operation a link
/// leads to.
fn links() -> (BTreeSet<String>, BTreeSet<String>) {
    let doc: Value = serde_yaml::from_str(&std::fs::read_to_string(repo().join("docs/openapi.yaml")).unwrap()).unwrap();
    let mut operations = std::collections::BTreeMap::new();
    let (mut sources, mut targets) = (BTreeSet::new(), BTreeSet::new());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(id) = operation["operationId"].as_str() else { continue };
            let label = format!("{} {path}", method.to_uppercase());
            operations.insert(id.to_owned(), label.clone());
            for response in operation["responses"].as_object().unwrap().values() {
                for link in response["links"].as_object().into_iter().flat_map(|links| links.values()) {
                    sources.insert(label.clone());
                    targets.insert(link["operationId"].as_str().unwrap().to_owned());
                }
            }
        }
    }
    (sources, targets.iter().map(|id| operations[id].clone()).collect())
}

/// `METHOD /path` of every operation that answered 2xx to a request made through a declared link,
/// read from the stateful phase's scenarios in an NDJSON report.
fn reached_through_links(report: &str) -> BTreeSet<String> {
    let mut reached = BTreeSet::new();
    for event in report.lines().map(|line| serde_json::from_str::<Value>(line).unwrap()) {
        let recorder = &event["ScenarioFinished"]["recorder"];
        for (id, case) in recorder["cases"].as_object().into_iter().flatten() {
            let transition = &case["transition"];
            let status = recorder["interactions"][id]["response"]["status_code"].as_u64().unwrap_or(0);
            if transition["is_inferred"] == false && (200..300).contains(&status) {
                // "POST /customers -> [201] GetCustomer -> GET /customers/{customerId}"
                let target = transition["id"].as_str().unwrap().rsplit(" -> ").next().unwrap();
                reached.insert(target.to_owned());
            }
        }
    }
    reached
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_conforms_to_the_document_for_every_role() {
    let stub = LemonSqueezyStub::start().await;
    // A WorkOS key of its own (infra/testkit/workos-seed.yaml), as for the isolation suite.
    let extra = [
        ("WORKOS_WEBHOOK_SECRET", "schema-secret"),
        ("WORKOS_API_KEY", "sk_test_contract"),
        ("PLANS", testkit::lemonsqueezy::ROOMY_PLANS),
    ];
    let app = Arc::new(TestApp::with_lemonsqueezy(&env("WORKOS_API_URL"), &stub, &extra).await);
    let org = app.org_fixture().await;
    let customer = app.call(POST, "/customers", Some(&org.admin.token), Some(json!({"name": "Schema Co"}))).await;
    assert_eq!(customer.status, 201);
    let url = app.serve().await;

    // The repository's settings, plus a staff member for PUT …/staff/{userId}: no link brings
    // one (the customer comes from the link of POST /customers).
    let run_dir: PathBuf = std::env::temp_dir().join(format!("schema-run-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&run_dir).unwrap();
    let config = run_dir.join("schemathesis.toml");
    let settings = std::fs::read_to_string(repo().join("schemathesis.toml")).unwrap();
    let staff = org.staff.id();
    let assign =
        format!("\n[[operations]]\ninclude-operation-id = \"assign-staff\"\nparameters = {{ userId = \"{staff}\" }}\n");
    // Schemathesis reuses ids that answers carried (its resource pool) in other operations: the
    // member changes and removals get a member of their own, so that they never demote or remove
    // the staff member the assignments need (which one they picked moved with the document).
    let target = app.new_member(&org.org_id, "staff").await;
    assert_eq!(app.call(GET, "/me", Some(&target.token), None).await.status, 200);
    let targeted = ["update-user", "delete-user"].map(|operation| {
        format!(
            "\n[[operations]]\ninclude-operation-id = \"{operation}\"\nparameters = {{ userId = \"{}\" }}\n",
            target.id()
        )
    });
    std::fs::write(&config, settings + &assign + &targeted.concat()).unwrap();

    // Each role in turn, the admin last and DELETE /org after everyone: the admin's requests
    // change members and the organization, and a deletion would leave every later request a 403.
    // Only the admin's run has the stateful phase: the links start from what only an admin makes.
    let report = run_dir.join("admin.ndjson");
    let report_path = report.to_str().unwrap();
    let others = ["--exclude-operation-id", "delete-org", "--phases", "examples,coverage,fuzzing"];
    let admin = ["--exclude-operation-id", "delete-org", "--phases", "examples,coverage,fuzzing,stateful"];
    let admin = [&admin[..], &["--report", "ndjson", "--report-ndjson-path", report_path]].concat();
    let deletion = ["--include-operation-id", "delete-org", "--phases", "examples,coverage,fuzzing"];
    let runs = [(&org.client, &others[..]), (&org.staff, &others), (&org.admin, &admin), (&org.admin, &deletion)];
    for (member, args) in runs {
        schemathesis(&config, &url, &member.token, args).await;
    }

    let (sources, targets) = links();
    for source in ["POST /customers", "POST /invitations", "PUT /customers/{customerId}/staff/{userId}"] {
        assert!(sources.contains(source), "{source} has no links: the ids it makes reach nothing");
    }
    let reached = reached_through_links(&std::fs::read_to_string(&report).unwrap());
    let missed: Vec<_> = targets.difference(&reached).cloned().collect();
    assert!(missed.is_empty(), "the stateful phase reached these only without a 2xx through a link: {missed:?}");
    std::fs::remove_dir_all(&run_dir).ok();
}
