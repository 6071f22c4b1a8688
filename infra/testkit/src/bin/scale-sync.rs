//! `scale-sync`: the WorkOS sync at scale, a benchmark and not a check of behaviour (the sync's
//! correctness is in `tests/sync.rs`). `make bench` runs it under `infra/scripts/services.sh`:
//! `cargo run --release -p testkit --bin scale-sync`, sized by `SCALE_USERS` (default 2,000) and
//! `SCALE_ORGS` (default 20). It prints one `SCALE {json}` line of figures, and fails if the full
//! pass did not create every member or the no-op pass wrote anything.

use std::time::Instant;

use serde_json::json;
use testkit::{FaultProxy, GET, PrivateEmulator, TestApp};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let (users, orgs) = (setting("SCALE_USERS", 2000), setting("SCALE_ORGS", 20));
    let workos = PrivateEmulator::start().await;
    let proxy = FaultProxy::start(&workos.url).await;
    let app = TestApp::with_workos_url(&proxy.url, &[("WORKOS_ISSUERS", workos.url.as_str())]).await;
    let emulator = workos.emulator();
    let setup = Instant::now();
    let mut org_ids = Vec::new();
    for i in 0..orgs {
        org_ids.push(emulator.create_org(&format!("Scale {i:03}")).await);
    }
    let work: Vec<(usize, &String)> = (0..users).map(|i| (i, &org_ids[i % orgs])).collect();
    for chunk in work.chunks(40) {
        let calls = chunk.iter().map(|(i, org_id)| {
            let emulator = &emulator;
            async move {
                let user = emulator.create_user(&format!("u{i}")).await;
                let role = ["admin", "staff", "client", "staff"][i % 4];
                emulator.add_membership(&user.id, org_id, role).await;
            }
        });
        futures::future::join_all(calls).await;
    }
    let setup = setup.elapsed();

    let requests_before = proxy.count(&GET, "/");
    let started = Instant::now();
    let report = app.run_job("workos-sync", json!({"mode": "full"})).await.expect("the full pass runs");
    let full_pass = started.elapsed();
    let full_pass_requests = proxy.count(&GET, "/") - requests_before;
    assert_eq!(
        (report["complete"].as_bool(), report["created"].as_u64()),
        (Some(true), Some(users as u64)),
        "{report}"
    );

    let requests_before = proxy.count(&GET, "/");
    let started = Instant::now();
    let again = app.run_job("workos-sync", json!({"mode": "full"})).await.expect("the no-op pass runs");
    let no_op = started.elapsed();
    let no_op_requests = proxy.count(&GET, "/") - requests_before;
    let writes = ["created", "updated", "removed"].map(|k| again[k].as_u64().unwrap_or(0));
    assert_eq!(writes, [0, 0, 0], "an unchanged full pass writes nothing: {again}");

    println!(
        "SCALE {}",
        json!({
            "users": users, "orgs": orgs, "setupMillis": setup.as_millis() as u64,
            "fullPassMillis": full_pass.as_millis() as u64, "fullPassWorkosRequests": full_pass_requests,
            "noOpPassMillis": no_op.as_millis() as u64, "noOpPassWorkosRequests": no_op_requests,
            "report": report, "noOpReport": again,
        })
    );
}
