//! `make bench`'s Convex import figures (issue 24): one organization with `IMPORT_BENCH_CUSTOMERS`
//! customers (100,000) and `IMPORT_BENCH_ASSIGNMENTS` assignments (20,000, over 20 staff members)
//! imported into a fresh table on DynamoDB Local, then imported again (everything unchanged).
//! Prints JSON: the snapshot's size, each run's time, the process's peak memory (VmHWM) before
//! and after, and the DynamoDB items written per customer. Run under `infra/scripts/services.sh`.

use std::time::Instant;

use convex_import::rows::FieldMap;
use convex_import::run::{Options, import};
use convex_import::snapshot::Snapshot;
use serde_json::json;
use testkit::TestApp;
use testkit::convex::SnapshotBuilder;

/// The process's peak resident memory so far, in MiB (Linux `VmHWM`).
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    kib / 1024.0
}

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let (customers, assignments) = (knob("IMPORT_BENCH_CUSTOMERS", 100_000), knob("IMPORT_BENCH_ASSIGNMENTS", 20_000));
    let staff_count = 20;
    let app = TestApp::new().await;
    let org = app.emulator.create_org(&format!("Import bench {}", ulid::Ulid::new())).await;
    let admin = app.new_member(&org, "admin").await;
    let mut staff = Vec::new();
    for _ in 0..staff_count {
        staff.push(app.new_member(&org, "staff").await);
    }

    let mut s = SnapshotBuilder::default();
    s.document("orgs", json!({"_id": "o1", "_creationTime": 1.7e12, "workosOrgId": org, "name": "Bench"}));
    s.document("users", json!({"_id": "u-admin", "workosUserId": admin.id(), "orgId": "o1", "role": "admin"}));
    for (n, member) in staff.iter().enumerate() {
        s.document(
            "users",
            json!({"_id": format!("u{n}"), "workosUserId": member.id(), "orgId": "o1", "role": "staff"}),
        );
    }
    for n in 0..customers {
        s.document(
            "customers",
            json!({"_id": format!("c{n:07}"), "_creationTime": 1.7e12 + n as f64, "orgId": "o1",
                   "name": format!("Customer {n:07}"), "email": format!("ops{n}@example.com"),
                   "notes": "Imported from Convex for the benchmark; a line of notes as a real one has."}),
        );
    }
    for n in 0..assignments {
        let (who, whom) = (n % staff_count, (n / staff_count) % customers.max(1));
        s.document("staffCustomerAssignments", json!({"_id": format!("a{n}"), "orgId": "o1", "staffId": format!("u{who}"), "customerId": format!("c{whom:07}")}));
    }
    let file = s.write();
    drop(s);
    let bytes = std::fs::metadata(file.path()).map(|m| m.len()).unwrap_or(0);
    let before = peak_mib();

    let options = Options { apply: true, fields: FieldMap::default(), concurrency: 16 };
    let mut progress = |line: &str| eprintln!("{line}");
    let mut snapshot = Snapshot::open(file.path()).expect("the snapshot");
    let started = Instant::now();
    let first = import(&app.deps, &mut snapshot, &options, &mut progress).await.expect("the import");
    let first_seconds = started.elapsed().as_secs_f64();
    let after_first = peak_mib();
    let mut snapshot = Snapshot::open(file.path()).expect("the snapshot");
    let started = Instant::now();
    let second = import(&app.deps, &mut snapshot, &options, &mut progress).await.expect("the second import");
    let second_seconds = started.elapsed().as_secs_f64();
    // Before the checks below, which read the whole organization into this process.
    let after_second = peak_mib();
    let org_report = &first.organizations[0];
    assert_eq!(org_report.customers.created as usize, customers, "{org_report:?}");
    assert_eq!(second.organizations[0].customers.unchanged as usize, customers);
    app.assert_counts_match(&org, "after the benchmark's import").await;

    // Written per customer: the customer, its marker, its audit entry; per transaction of 25, the
    // counter's update and the deletion guard's check.
    let chunk = shared::store::IMPORT_CHUNK as f64;
    let items_per_customer = 3.0 + 2.0 / chunk;
    println!(
        "{}",
        json!({
            "customers": customers,
            "assignments": org_report.assignments.created,
            "snapshotBytes": bytes,
            "firstRunSeconds": first_seconds,
            "customersPerSecond": customers as f64 / first_seconds,
            "secondRunSeconds": second_seconds,
            "peakMemoryMiB": {"beforeImport": before, "afterFirstRun": after_first, "afterSecondRun": after_second},
            "dynamodbItemsWrittenPerCustomer": items_per_customer,
            "transactionsPerCustomer": 1.0 / chunk,
            "writeUnitsPerCustomer": 2.0 * items_per_customer,
        })
    );
}
