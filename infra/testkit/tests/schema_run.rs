//! The contract (issue 10): schemathesis (PyPI, pinned in `infra/requirements.txt`) runs every
//! operation of `docs/openapi.yaml` against the app served on a loopback port, with a valid token
//! of each role. Checks: no 5xx (`not_a_server_error`), no status code the document does not
//! list (`status_code_conformance`), no content type it does not list
//! (`content_type_conformance`), bodies and headers that match the document
//! (`response_schema_conformance`, `response_headers_conformance`). Bounded: a fixed number of
//! examples per operation and a fixed seed.

use std::sync::Arc;

use serde_json::json;
use testkit::lemonsqueezy::LemonSqueezyStub;
use testkit::{POST, TestApp, env};

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance,response_headers_conformance";
const EXAMPLES_PER_OPERATION: &str = "6";

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
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.yaml");
    let tool = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/schemathesis");
    for (role, token) in [("admin", &org.admin.token), ("staff", &org.staff.token), ("client", &org.client.token)] {
        let output = tokio::process::Command::new(&tool)
            .arg("run")
            .arg(&schema)
            .args(["--url", &url, "--checks", CHECKS, "--max-examples", EXAMPLES_PER_OPERATION])
            .args(["--phases", "examples,coverage,fuzzing", "--seed", "20261201", "--workers", "1"])
            .args(["--generation-database", "none", "--no-color", "--request-timeout", "10"])
            .arg("-H")
            .arg(format!("Authorization: Bearer {token}"))
            .env("SCHEMATHESIS_TELEMETRY", "false")
            .output()
            .await
            .expect("schemathesis runs (make setup installs it)");
        let text = String::from_utf8_lossy(&output.stdout);
        let summary: Vec<&str> = text.lines().filter(|l| l.contains("generated") || l.contains("operations")).collect();
        eprintln!("schemathesis as {role}: {}", summary.join(" | "));
        assert!(
            output.status.success(),
            "schemathesis as {role} found failures:\n{text}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
