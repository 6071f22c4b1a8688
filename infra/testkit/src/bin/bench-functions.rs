//! `bench-functions`: every function's release binary on the Lambda Runtime API harness
//! (`infra/bench/lambda_harness.py`), each fed its success path as API Gateway sends it, with a
//! valid token from the emulator (the scenario of `tests/deployed.rs`), plus the 401 path of
//! `get-org`, `get-customer` called with an API key, both scheduled functions, the floor (`bench-floor`) and the Node.js peer of
//! `get-customer`. Run by `infra/bench/run.sh` under `services.sh`; writes `OUT_DIR/runs.json`.
//!
//! Knobs: `COLD_STARTS` (5) × `WARM_INVOCATIONS` (200) per function; the functions that call
//! WorkOS on every request, or whose targets are WorkOS users, run `HEAVY_COLD_STARTS` (4) ×
//! `HEAVY_WARM_INVOCATIONS` (50), still 200 warm invocations, to stay inside the emulator's
//! 1,000 requests a minute per key (each of them has a key of its own, `sk_test_bench_N`).
//! `BENCH_ONLY` (labels, comma-separated) measures only those, e.g. `floor,get-customer`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use testkit::lambda::scheduled_event;
use testkit::lemonsqueezy::{LemonSqueezyStub, fixture_for};
use testkit::scenario::{Scenario, Target};
use testkit::{TestApp, env};

const WORKOS_WEBHOOK_SECRET: &str = "bench-workos-webhook-secret";
/// Limits no run of the benchmark reaches (every created customer and invitation stays).
const PLANS: &str = r#"{"free":{"name":"Free","maxCustomers":1000000,"maxStaff":1000000,"maxClients":1000000},
  "variants":{"500001":{"name":"Pro","maxCustomers":1000000,"maxStaff":1000000,"maxClients":1000000}}}"#;
/// Functions that call WorkOS on their success path, or consume WorkOS users: fewer cold starts.
const HEAVY: [&str; 8] = [
    "create-org",
    "update-org",
    "update-user",
    "delete-user",
    "create-invitation",
    "delete-invitation",
    "delete-org",
    "workos-sync",
];

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// One measured binary: what it is, and the events it gets.
struct Case {
    label: String,
    kind: &'static str,
    function: Option<&'static str>,
    route: Option<String>,
    case: &'static str,
    binary: PathBuf,
    events: Vec<Value>,
    cold: usize,
    warm: usize,
    /// Variables over the app's own (a WorkOS key of its own, another table).
    vars: Vec<(String, String)>,
}

#[tokio::main]
async fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin_dir = PathBuf::from(env("BIN_DIR"));
    let out_dir = PathBuf::from(env("OUT_DIR"));
    let (cold, warm) = (setting("COLD_STARTS", 5), setting("WARM_INVOCATIONS", 200));
    let (heavy_cold, heavy_warm) = (setting("HEAVY_COLD_STARTS", 4), setting("HEAVY_WARM_INVOCATIONS", 50));
    let only: Option<Vec<String>> = std::env::var("BENCH_ONLY").ok().map(|v| v.split(',').map(str::to_owned).collect());
    let sizing = |function: &str| if HEAVY.contains(&function) { (heavy_cold, heavy_warm) } else { (cold, warm) };
    let rounds = |function: &str| {
        let (c, w) = sizing(function);
        c * (w + 1)
    };

    let stub = LemonSqueezyStub::start().await;
    // The fixtures are test-mode events: let them through, as a store in test mode would.
    let extra =
        [("PLANS", PLANS), ("WORKOS_WEBHOOK_SECRET", WORKOS_WEBHOOK_SECRET), ("LEMONSQUEEZY_ALLOW_TEST_MODE", "true")];
    let app = TestApp::with_lemonsqueezy(&env("WORKOS_API_URL"), &stub, &extra).await;
    let routes = dev_server::routes();
    let measured = |label: &str| only.as_ref().is_none_or(|only| only.iter().any(|o| o == label));
    let target_rounds = |target: Target| {
        let users = routes.iter().filter(|r| Target::of(r.function) == Some(target) && measured(r.function));
        users.map(|r| rounds(r.function)).max().unwrap_or(0)
    };
    eprintln!("bench-functions: preparing the organization and its targets");
    let scenario = Scenario::prepare(&app, WORKOS_WEBHOOK_SECRET, target_rounds).await;

    let memory = memory_sizes(&root.join("template.yaml"));
    let mut keys = (0..).map(|n| format!("sk_test_bench_{n}"));
    let mut cases = vec![Case {
        label: "floor".into(),
        kind: "floor",
        function: None,
        route: None,
        case: "hello world, no I/O",
        binary: bin_dir.join("bench-floor"),
        events: vec![scheduled_event()],
        cold,
        warm,
        vars: vec![],
    }];
    // Only the measured routes' events: the scenario prepares targets for those alone.
    for route in routes.iter().filter(|r| measured(r.function)) {
        let (c, w) = sizing(route.function);
        let events = (0..rounds(route.function)).map(|r| scenario.event(route.function, r).to_json()).collect();
        cases.push(Case {
            label: route.function.into(),
            kind: "rust",
            function: Some(route.function),
            route: Some(format!("{} {}", route.method, route.path)),
            case: "success",
            binary: bin_dir.join(route.function),
            events,
            cold: c,
            warm: w,
            vars: workos_key(route.function, &mut keys),
        });
    }
    cases.push(Case {
        label: "get-org-401".into(),
        kind: "rust",
        function: Some("get-org"),
        route: Some("GET /org".into()),
        case: "401 no token",
        binary: bin_dir.join("get-org"),
        events: vec![scenario.unauthenticated().to_json()],
        cold,
        warm,
        vars: vec![],
    });
    // API keys (issue 25): `get-customer` with a read key in place of a member's token. The same
    // read, plus the conditional UpdateItem that counts the request against the key's budget (a
    // budget no run reaches) and, once a minute, the one that moves `lastUsedAt`: what counting
    // costs, measured.
    if measured("get-customer-key") {
        let body = json!({"name": "bench", "scope": "read"});
        let made = app.call(testkit::POST, "/api-keys", Some(&scenario.org.admin.token), Some(body)).await;
        let secret = made.body["secret"].as_str().expect("an API key").to_owned();
        let events = (0..rounds("get-customer"))
            .map(|r| {
                let mut event = scenario.event("get-customer", r);
                for (name, value) in &mut event.headers {
                    if name.eq_ignore_ascii_case("authorization") {
                        *value = format!("Bearer {secret}");
                    }
                }
                event.to_json()
            })
            .collect();
        cases.push(Case {
            label: "get-customer-key".into(),
            kind: "rust",
            function: Some("get-customer"),
            route: Some("GET /customers/{customerId}".into()),
            case: "success, read API key",
            binary: bin_dir.join("get-customer"),
            events,
            cold,
            warm,
            vars: vec![("API_KEY_REQUESTS_PER_MINUTE".into(), "1000000000".into())],
        });
    }
    // billing-reconcile asks Lemon Squeezy about every subscription it knows, 200 ms apart (its
    // pace for Lemon Squeezy's rate limit): on a table of its own with one, not the thousand
    // that the webhook's run leaves behind, so that a run measures the work and not the pace.
    let reconcile_app = TestApp::with_lemonsqueezy(&env("WORKOS_API_URL"), &stub, &extra).await;
    let billed = reconcile_app.org_fixture().await;
    let text = String::from_utf8(fixture_for("subscription_created", &billed.org_id)).unwrap_or_default();
    let applied = reconcile_app.signed_webhook(text.as_bytes()).await;
    assert_eq!(applied.status, 200, "{:?}", applied.body);
    let delivered: Value = serde_json::from_str(&text).unwrap_or_default();
    stub.serve_subscription(delivered["data"].clone());
    for function in ["workos-sync", "billing-reconcile"] {
        let (c, w) = sizing(function);
        let vars = match function {
            "billing-reconcile" => reconcile_app.lambda_env(),
            _ => workos_key(function, &mut keys),
        };
        cases.push(Case {
            label: function.into(),
            kind: "rust",
            function: Some(function),
            route: Some("scheduled".into()),
            case: "scheduled run",
            binary: bin_dir.join(function),
            events: vec![scheduled_event()],
            cold: c,
            warm: w,
            vars,
        });
    }
    let peer = root.join("infra/bench/node-peer/dist/peer.mjs");
    if peer.exists() {
        let events = (0..rounds("get-customer")).map(|r| scenario.event("get-customer", r).to_json()).collect();
        cases.push(Case {
            label: "node-peer".into(),
            kind: "node",
            function: None,
            route: Some("GET /customers/{customerId}".into()),
            case: "success",
            binary: peer,
            events,
            cold,
            warm,
            vars: vec![],
        });
    }

    let base_env: HashMap<String, String> = app.lambda_env().into_iter().collect();
    let mut runs = Vec::new();
    for case in cases.iter().filter(|c| measured(&c.label)) {
        eprintln!("bench-functions: {} ({} × {})", case.label, case.cold, 1 + case.warm);
        let mut result = harness(&root, &out_dir, case, &base_env).await;
        let memory_mb = case.function.and_then(|f| memory.get(f).copied()).unwrap_or(memory["*"]);
        result["kind"] = json!(case.kind);
        result["function"] = json!(case.function);
        result["route"] = json!(case.route);
        result["case"] = json!(case.case);
        result["memory_mb"] = json!(memory_mb);
        runs.push(result);
    }
    let path = out_dir.join("runs.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&runs).expect("runs as JSON")).expect("write runs.json");
    eprintln!("bench-functions: wrote {}", path.display());
    drop(stub);
}

/// Runs the harness on one case; answers its JSON report (with `failures` when it failed).
async fn harness(root: &Path, out_dir: &Path, case: &Case, base_env: &HashMap<String, String>) -> Value {
    let events_path = out_dir.join(format!("{}.jsonl", case.label));
    let lines: Vec<String> = case.events.iter().map(Value::to_string).collect();
    std::fs::write(&events_path, lines.join("\n") + "\n").expect("write events");
    let mut vars = base_env.clone();
    vars.extend(case.vars.iter().cloned());
    let env_path = out_dir.join(format!("{}.env.json", case.label));
    std::fs::write(&env_path, serde_json::to_vec(&vars).expect("env as JSON")).expect("write env");
    let output = tokio::process::Command::new("python3")
        .arg(root.join("infra/bench/lambda_harness.py"))
        .arg(&case.binary)
        .arg(&events_path)
        .args(["--cold-starts", &case.cold.to_string(), "--warm-invocations", &case.warm.to_string()])
        .arg("--env")
        .arg(&env_path)
        .args(["--label", &case.label])
        .arg("--log")
        .arg(out_dir.join(format!("{}.log", case.label)))
        .output()
        .await
        .expect("run the harness");
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| json!({"label": case.label, "failures": [String::from_utf8_lossy(&output.stderr)]}))
}

/// A WorkOS API key of its own for a function that calls WorkOS on every request (none for the others).
fn workos_key(function: &str, keys: &mut impl Iterator<Item = String>) -> Vec<(String, String)> {
    match HEAVY.contains(&function) {
        true => keys.next().map(|key| ("WORKOS_API_KEY".to_owned(), key)).into_iter().collect(),
        false => vec![],
    }
}

/// The `MemorySize` that `template.yaml` gives each function's binary (`"*"`: the global one).
fn memory_sizes(template: &Path) -> HashMap<String, u64> {
    let text = std::fs::read_to_string(template).expect("template.yaml");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("template.yaml parses");
    let global = doc["Globals"]["Function"]["MemorySize"].as_u64().unwrap_or(128);
    let mut sizes = HashMap::from([("*".to_owned(), global)]);
    if let Some(resources) = doc["Resources"].as_mapping() {
        for resource in resources.values() {
            let binary = resource["Metadata"]["BuildProperties"]["Binary"].as_str();
            if let (Some(binary), Some(memory)) = (binary, resource["Properties"]["MemorySize"].as_u64()) {
                sizes.insert(binary.to_owned(), memory);
            } else if let Some(binary) = binary {
                sizes.insert(binary.to_owned(), global);
            }
        }
    }
    sizes
}
