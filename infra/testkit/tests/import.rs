//! The Convex import (issue 24, API.md "Import from Convex"): a snapshot in Convex's format with
//! two organizations WorkOS has and one it does not, clients, staff, an assignment to a user who
//! is no longer staff, a dangling customerId, a line that is not JSON, a duplicate, an unknown
//! table and a field named otherwise (`--fields`).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use convex_import::report::{OrgStatus, Report, Tally};
use convex_import::rows::FieldMap;
use convex_import::run::{Options, import};
use convex_import::snapshot::{Snapshot, SnapshotError};
use serde_json::json;
use testkit::convex::{SnapshotBuilder, zip_with};
use testkit::lemonsqueezy::{LemonSqueezyStub, fixture_json};
use testkit::proxy::{Fault, FaultProxy};
use testkit::{GET, Member, TestApp, env};

const CREATED: f64 = 1_733_000_000_123.0;

/// The WorkOS side: two organizations and their members (none stored in any table yet).
struct World {
    a: String,
    b: String,
    admin: Member,
    s1: Member,
    /// Staff in Convex, a client in WorkOS now.
    s2: Member,
    c1: Member,
    c2: Member,
    c3: Member,
    admin_b: Member,
    cb: Member,
}

async fn world(app: &TestApp) -> World {
    let a = app.emulator.create_org(&format!("Import A {}", ulid::Ulid::new())).await;
    let b = app.emulator.create_org(&format!("Import B {}", ulid::Ulid::new())).await;
    World {
        admin: app.new_member(&a, "admin").await,
        s1: app.new_member(&a, "staff").await,
        s2: app.new_member(&a, "client").await,
        c1: app.new_member(&a, "client").await,
        c2: app.new_member(&a, "client").await,
        c3: app.new_member(&a, "client").await,
        admin_b: app.new_member(&b, "admin").await,
        cb: app.new_member(&b, "client").await,
        a,
        b,
    }
}

/// The snapshot of the module's comment; customers name their name `companyName`.
fn snapshot_of(w: &World, extra_b_customers: usize) -> SnapshotBuilder {
    let mut s = SnapshotBuilder::default();
    s.document("orgs", json!({"_id": "ka", "_creationTime": CREATED, "workosOrgId": w.a, "name": "Acme", "subscriptionId": "600001"}))
        .document("orgs", json!({"_id": "kb", "_creationTime": CREATED, "workosOrgId": w.b, "name": "Beta"}))
        .document("orgs", json!({"_id": "kc", "_creationTime": CREATED, "workosOrgId": "org_01NOTINWORKOS00000000000000", "name": "Gone Co"}));
    let user = |id: &str, m: &Member, org: &str, role: &str, customer: Option<&str>| {
        json!({"_id": id, "_creationTime": CREATED, "workosUserId": m.id(), "email": m.user.email, "orgId": org,
               "role": role, "customerId": customer})
    };
    s.document("users", user("ua", &w.admin, "ka", "admin", None)) // line 1
        .document("users", user("us1", &w.s1, "ka", "staff", None))
        .document("users", user("us2", &w.s2, "ka", "staff", None)) // 3: role differs; a client with no customer
        .document("users", user("uc1", &w.c1, "ka", "client", Some("k1")))
        .document("users", user("uc2", &w.c2, "ka", "client", None)) // 5: a client with no customer
        .document("users", user("uc3", &w.c3, "ka", "client", Some("k_missing"))) // 6: dangling
        .document("users", user("uab", &w.admin_b, "kb", "admin", None))
        .document("users", user("ucb", &w.cb, "kb", "client", Some("kb1")))
        .document("users", json!({"_id": "ux", "workosUserId": "user_x", "orgId": "kc", "role": "admin"}));
    let customer = |id: &str, org: &str, name: &str, at: f64| json!({"_id": id, "_creationTime": at, "orgId": org, "companyName": name, "email": null, "notes": "from Convex"});
    s.document("customers", customer("k1", "ka", "Northwind", CREATED))
        .document("customers", customer("k2", "ka", "Contoso", CREATED + 1.0))
        .document("customers", customer("k3", "ka", "Initech", CREATED + 2.0))
        .line("customers", "{not json at all") // 4
        .document("customers", customer("k2", "ka", "Contoso again", CREATED)) // 5: duplicate
        .document("customers", customer("kb1", "kb", "Beta Client", CREATED))
        .document("customers", customer("kc1", "kc", "Gone Customer", CREATED)) // its org is skipped
        .document("customers", customer("k9", "kzz", "Nobody's", CREATED)) // 8: no such org
        .document(
            "customers",
            json!({"_id": "k10", "_creationTime": CREATED, "orgId": "ka", "companyName": "Bad Mail", "email": "nope"}),
        );
    for n in 0..extra_b_customers {
        s.document("customers", customer(&format!("kx{n:04}"), "kb", &format!("Extra {n:04}"), CREATED + n as f64));
    }
    let assignment = |staff: &str, customer: &str| json!({"_id": format!("a-{staff}-{customer}"), "orgId": "ka", "staffId": staff, "customerId": customer});
    s.document("staffCustomerAssignments", assignment("us1", "k1"))
        .document("staffCustomerAssignments", assignment("us1", "k2"))
        .document("staffCustomerAssignments", assignment("us2", "k3")) // 3: not staff
        .document("staffCustomerAssignments", assignment("us1", "k_missing")) // 4: dangling
        .document("staffCustomerAssignments", assignment("us1", "k1")); // 5: duplicate
    s.document("messages", json!({"_id": "m1", "body": "not read"}));
    s
}

fn options(apply: bool) -> Options {
    Options { apply, fields: FieldMap::parse(r#"{"customers.name": "companyName"}"#).unwrap(), concurrency: 8 }
}

async fn run(app: &TestApp, path: &std::path::Path, apply: bool) -> Result<Report, convex_import::run::ImportError> {
    let mut snapshot = Snapshot::open(path).unwrap();
    import(&app.deps, &mut snapshot, &options(apply), &mut |_| {}).await
}

async fn app_with(stub: &LemonSqueezyStub) -> TestApp {
    TestApp::with_lemonsqueezy(&env("WORKOS_API_URL"), stub, &[]).await
}

fn tally(created: u64, updated: u64, unchanged: u64, skipped: u64) -> Tally {
    Tally { created, updated, unchanged, skipped }
}

fn problems(report: &Report) -> Vec<(String, u64, String)> {
    let mut list: Vec<_> = report.problems.iter().map(|p| (p.table.clone(), p.line, p.reason.clone())).collect();
    list.sort();
    list
}

async fn names(app: &TestApp, member: &Member) -> Vec<String> {
    let r = app.call(GET, "/customers?limit=100", Some(&member.token), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut names: Vec<String> =
        r.body["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_dry_run_writes_nothing_and_names_each_problem_then_apply_does_what_it_said_once() {
    let stub = LemonSqueezyStub::start().await;
    let app = app_with(&stub).await;
    let w = world(&app).await;
    stub.serve_subscription(fixture_json("subscription_created", &w.a)["data"].clone());
    let file = snapshot_of(&w, 0).write();

    let before = app.snapshot().await;
    let dry = run(&app, file.path(), false).await.unwrap();
    assert_eq!(app.snapshot().await, before, "a dry run writes nothing");
    assert!(!dry.applied);
    assert_eq!(dry.other_tables, ["messages"]);
    let expected: Vec<(&str, u64, &str)> = vec![
        ("customers", 4, "not JSON"),
        ("customers", 5, "a second document with _id k2"),
        ("customers", 8, "orgId kzz references no organization"),
        ("customers", 9, "email:"),
        ("staffCustomerAssignments", 3, "is client in WorkOS, not staff"),
        ("staffCustomerAssignments", 4, "customerId k_missing references no customer"),
        ("staffCustomerAssignments", 5, "a second assignment"),
        ("users", 3, "a client with no customerId"),
        ("users", 3, "role staff in Convex, client in WorkOS"),
        ("users", 5, "a client with no customerId"),
        ("users", 6, "customerId k_missing references no customer"),
    ];
    let found = problems(&dry);
    assert_eq!(found.len(), expected.len(), "{found:#?}");
    for (table, line, reason) in &expected {
        let hit = found.iter().any(|(t, l, r)| t == table && l == line && r.contains(reason));
        assert!(hit, "{table} line {line}: {reason:?} not in {found:#?}");
    }
    let [a, b, c] = &dry.organizations[..] else { panic!("three organizations: {:?}", dry.organizations) };
    assert_eq!(
        (c.status, c.reason.as_deref()),
        (OrgStatus::Skipped, Some("WorkOS has no organization org_01NOTINWORKOS00000000000000"))
    );
    assert_eq!(
        (a.members, a.customers, a.clients, a.assignments),
        (tally(6, 0, 0, 0), tally(3, 0, 0, 1), tally(1, 0, 0, 3), tally(2, 0, 0, 3))
    );
    assert_eq!(
        (b.members, b.customers, b.clients, b.assignments),
        (tally(2, 0, 0, 0), tally(1, 0, 0, 0), tally(1, 0, 0, 0), tally(0, 0, 0, 0))
    );

    // Applied: exactly what the dry run said.
    let applied = run(&app, file.path(), true).await.unwrap();
    assert_eq!(problems(&applied), problems(&dry));
    for (dry, applied) in dry.organizations.iter().zip(&applied.organizations) {
        assert_eq!(
            (dry.status, dry.members, dry.customers, dry.clients, dry.assignments),
            (applied.status, applied.members, applied.customers, applied.clients, applied.assignments),
            "{}",
            dry.workos_org_id
        );
    }
    let subscription = applied.organizations[0].subscription.as_ref().unwrap();
    assert!(subscription.claimed && subscription.outcome.starts_with("claimed; its state read"), "{subscription:?}");
    assert_eq!(app.deps.store.subscription_owner("600001").await.unwrap().as_deref(), Some(w.a.as_str()));

    // Each role sees the imported data as the role rules say.
    assert_eq!(names(&app, &w.admin).await, ["Contoso", "Initech", "Northwind"]);
    assert_eq!(names(&app, &w.s1).await, ["Contoso", "Northwind"]);
    assert_eq!(names(&app, &w.c1).await, ["Northwind"]);
    assert_eq!(names(&app, &w.cb).await, ["Beta Client"]);
    let northwind = app.call(GET, "/customers?limit=100", Some(&w.c1.token), None).await.body["items"][0].clone();
    assert_eq!(northwind["createdAt"], "2024-11-30T20:53:20.123Z", "createdAt is Convex's _creationTime");
    let billing = app.call(GET, "/billing", Some(&w.admin.token), None).await;
    assert_eq!(billing.body["subscriptionId"], "600001", "{:?}", billing.body);
    for org in [&w.a, &w.b] {
        app.assert_counts_match(org, "after the import").await;
    }
    let audit = app.call(GET, "/audit-log?action=org.imported", Some(&w.admin.token), None).await;
    let entries = audit.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["actor"], json!({"type": "system", "id": null}));
    assert_eq!(entries[0]["changes"]["customers"], json!({"from": null, "to": 3}));
    assert_eq!(entries[0]["changes"]["assignments"], json!({"from": null, "to": 2}));

    // Again: everything unchanged, nothing written.
    let table = app.snapshot().await;
    let again = run(&app, file.path(), true).await.unwrap();
    assert_eq!(app.snapshot().await, table, "a second run writes nothing");
    let a = &again.organizations[0];
    assert_eq!(
        (a.members, a.customers, a.clients, a.assignments),
        (tally(0, 0, 6, 0), tally(0, 0, 3, 1), tally(0, 0, 1, 3), tally(0, 0, 2, 3))
    );
    assert!(a.subscription.as_ref().is_some_and(|s| !s.claimed), "{:?}", a.subscription);
}

/// The items of an organization's partition with this backend's customer ids replaced by the
/// Convex ids they were imported from, and without what differs between two runs by nature:
/// audit entries, times of writing, revisions.
async fn comparable(app: &TestApp, org_id: &str) -> Vec<BTreeMap<String, String>> {
    let items = app.org_items(org_id).await;
    let text = |item: &HashMap<String, AttributeValue>, name: &str| {
        item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
    };
    let ids: HashMap<String, String> = items
        .iter()
        .filter(|i| text(i, "entity") == "imported_customer")
        .map(|i| (text(i, "customerId"), text(i, "convexId")))
        .collect();
    // Times of writing (a customer's createdAt is Convex's, and stays), revisions, and the
    // portal link Lemon Squeezy signs anew on every read.
    let volatile = ["updatedAt", "revision", "importedAt", "workosUpdatedAt", "billing", "GSI1SK", "portal"];
    let mut out: Vec<BTreeMap<String, String>> = items
        .iter()
        .filter(|i| text(i, "entity") != "audit")
        .map(|item| {
            let customer = text(item, "entity") == "customer";
            item.iter()
                .filter(|(name, _)| !volatile.contains(&name.as_str()) && (customer || name.as_str() != "createdAt"))
                .map(|(name, value)| {
                    let mut shown = testkit::canonical(value);
                    for (ours, convex) in &ids {
                        shown = shown.replace(ours, convex);
                    }
                    (name.clone(), shown)
                })
                .collect()
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_run_stopped_by_a_fault_and_run_again_ends_as_an_uninterrupted_one() {
    let stub = LemonSqueezyStub::start().await;
    let reference = app_with(&stub).await;
    let w = world(&reference).await;
    stub.serve_subscription(fixture_json("subscription_created", &w.a)["data"].clone());
    // Over 300 customers in B: more than one batch, and over the free plan's limit.
    let file = snapshot_of(&w, 320).write();
    let uninterrupted = run(&reference, file.path(), true).await.unwrap();
    assert!(
        uninterrupted.organizations[1].over_limit.iter().any(|o| o.starts_with("customers: 321 of ")),
        "{:?}",
        uninterrupted.organizations[1]
    );

    // The same WorkOS organizations into a second table, through a DynamoDB that fails every
    // transaction after the first 12: the 8 members, A's customers (one transaction), and three
    // transactions of 25 of B's customers, in the first batch of 200 lines.
    let dynamodb = FaultProxy::start(&env("AWS_ENDPOINT_URL_DYNAMODB")).await;
    let vars = stub.env();
    let faulty = TestApp::with_dynamodb(testkit::dynamodb_client_at(&dynamodb.url), &vars).await;
    dynamodb.fail_action("TransactWriteItems", 12, Fault::Status(500), usize::MAX);
    let stopped = run(&faulty, file.path(), true).await;
    assert!(stopped.is_err(), "the fault stops the run");
    let half = faulty
        .org_items(&w.b)
        .await
        .iter()
        .filter(|i| i.get("entity").and_then(|v| v.as_s().ok()).is_some_and(|e| e == "customer"))
        .count();
    assert_eq!(half, 75, "stopped part way");
    dynamodb.clear();
    let finished = run(&faulty, file.path(), true).await.unwrap();
    assert!(finished.organizations[1].customers.unchanged > 0, "the second run found the first one's work");

    for org in [&w.a, &w.b] {
        let (theirs, ours) = (comparable(&faulty, org).await, comparable(&reference, org).await);
        assert_eq!(theirs.len(), ours.len(), "{org}: as many items");
        for (theirs, ours) in theirs.iter().zip(&ours) {
            assert_eq!(theirs, ours, "{org}");
        }
        faulty.assert_counts_match(org, "interrupted, then finished").await;
        assert!(faulty.deps.store.import_recorded(org).await.unwrap(), "{org}: org.imported written");
        reference.assert_counts_match(org, "uninterrupted").await;
    }
}

#[tokio::test]
async fn what_is_no_convex_snapshot_is_refused_with_one_line_and_exit_2() {
    let not_convex = zip_with(&[("orgs/documents.jsonl", "{}\n")]);
    assert!(matches!(Snapshot::open(not_convex.path()), Err(SnapshotError::NotConvex { .. })));
    let text = std::env::temp_dir().join(format!("plain-{}.zip", ulid::Ulid::new()));
    std::fs::write(&text, "not a zip").unwrap();
    assert!(matches!(Snapshot::open(&text), Err(SnapshotError::NotZip { .. })));

    let binary = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/convex-import");
    for path in [not_convex.path(), text.as_path()] {
        let out =
            std::process::Command::new(&binary).arg(path).output().expect("run convex-import (cargo build --bins)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(out.stdout.is_empty());
    }
    let _ = std::fs::remove_file(text);
    let usage = std::process::Command::new(&binary).arg("--bogus").output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

#[tokio::test]
async fn members_the_plan_cannot_seat_are_reported_and_the_run_finishes() {
    let stub = LemonSqueezyStub::start().await;
    let plans = r#"{"free": {"name": "Free", "maxCustomers": 10, "maxStaff": 2, "maxClients": 5}}"#;
    let app = TestApp::with_lemonsqueezy(&env("WORKOS_API_URL"), &stub, &[("PLANS", plans)]).await;
    let org = app.emulator.create_org(&format!("Seats {}", ulid::Ulid::new())).await;
    // Three staff seats in WorkOS (the admin's and two staff members') for a plan of two.
    let admin = app.new_member(&org, "admin").await;
    let (s1, s2) = (app.new_member(&org, "staff").await, app.new_member(&org, "staff").await);
    let mut s = SnapshotBuilder::default();
    s.document("orgs", json!({"_id": "o", "workosOrgId": org, "name": "Seats"}));
    for (id, m, role) in [("ua", &admin, "admin"), ("u1", &s1, "staff"), ("u2", &s2, "staff")] {
        s.document("users", json!({"_id": id, "workosUserId": m.id(), "orgId": "o", "role": role}));
    }
    s.document("customers", json!({"_id": "k1", "_creationTime": CREATED, "orgId": "o", "companyName": "Only"}));
    s.document("staffCustomerAssignments", json!({"orgId": "o", "staffId": "u1", "customerId": "k1"}));
    s.document("staffCustomerAssignments", json!({"orgId": "o", "staffId": "u2", "customerId": "k1"}));
    let file = s.write();

    let report = run(&app, file.path(), true).await.expect("the run finishes");
    let org_report = &report.organizations[0];
    assert_eq!(org_report.assignments, tally(1, 0, 0, 1), "{report:?}");
    let unseated: Vec<_> = report.problems.iter().filter(|p| p.reason.contains("no free seat")).collect();
    assert_eq!(unseated.len(), 1, "{:?}", report.problems);
    assert_eq!(unseated[0].table, "staffCustomerAssignments");
    assert!(app.deps.store.import_recorded(&org).await.unwrap(), "the org.imported entry is written");
    app.assert_counts_match(&org, "a member left unseated").await;
}

#[tokio::test]
async fn a_subscription_lemon_squeezy_cannot_read_is_claimed_and_the_reconcile_completes_it() {
    let stub = LemonSqueezyStub::start().await;
    let app = app_with(&stub).await;
    let (first, second) = (
        app.emulator.create_org(&format!("Sub A {}", ulid::Ulid::new())).await,
        app.emulator.create_org(&format!("Sub B {}", ulid::Ulid::new())).await,
    );
    let admin = app.new_member(&first, "admin").await;
    let other_admin = app.new_member(&second, "admin").await;
    let mut s = SnapshotBuilder::default();
    // Both name the same subscription: the first line's org claims it, the second cannot.
    s.document("orgs", json!({"_id": "o1", "workosOrgId": first, "name": "A", "subscriptionId": "600001"}));
    s.document("orgs", json!({"_id": "o2", "workosOrgId": second, "name": "B", "subscriptionId": "600001"}));
    s.document("users", json!({"_id": "u1", "workosUserId": admin.id(), "orgId": "o1", "role": "admin"}));
    s.document("users", json!({"_id": "u2", "workosUserId": other_admin.id(), "orgId": "o2", "role": "admin"}));
    let file = s.write();

    stub.fail_next(1_000);
    let report = run(&app, file.path(), true).await.unwrap();
    let [a, b] = &report.organizations[..] else { panic!("{report:?}") };
    let a = a.subscription.as_ref().unwrap();
    assert!(a.claimed && a.outcome.contains("Lemon Squeezy could not be read"), "{a:?}");
    assert_eq!(b.subscription.as_ref().unwrap().outcome, "owned by another organization: not claimed");
    assert_eq!(app.deps.store.subscription_owner("600001").await.unwrap().as_deref(), Some(first.as_str()));
    let billing = app.call(GET, "/billing", Some(&admin.token), None).await;
    assert_eq!(billing.body["status"], json!(null), "not read yet: {:?}", billing.body);

    // Lemon Squeezy back: the next reconcile reads it for its owner.
    stub.fail_next(0);
    stub.serve_subscription(fixture_json("subscription_created", &first)["data"].clone());
    let reconciled = app.run_job("billing-reconcile", json!({})).await.unwrap();
    assert_eq!(reconciled["updated"], 1, "{reconciled}");
    let billing = app.call(GET, "/billing", Some(&admin.token), None).await;
    assert_eq!(
        (billing.body["status"].as_str(), billing.body["subscriptionId"].as_str()),
        (Some("active"), Some("600001"))
    );
    let theirs = app.call(GET, "/billing", Some(&other_admin.token), None).await;
    assert_eq!(theirs.body["subscriptionId"], json!(null), "B never had it");
}
