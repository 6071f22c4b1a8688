//! Organization deletion (issue 14): `DELETE /org` and its refusals, the members shut out at
//! once, WorkOS's organization deleted, nothing of the organization left but its tombstone, a
//! deletion stopped at any step finishing on a retry or by the WorkOS sync, and late WorkOS and
//! Lemon Squeezy events answered without bringing anything back. Against DynamoDB Local, the
//! emulator (through the fault proxy where WorkOS fails) and the Lemon Squeezy stand-in.

use shared::store::OrgWrite;
use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use testkit::lemonsqueezy::{LemonSqueezyStub, ROOMY_PLANS, fixture_json, sign};
use testkit::proxy::{Fault, FaultProxy};
use testkit::{DELETE, GET, Member, OrgFixture, POST, PUT, TestApp, env, mentions, origin};

type Item = HashMap<String, AttributeValue>;

async fn app_with(workos_url: &str, stub: &LemonSqueezyStub) -> TestApp {
    let extra = [("PLANS", ROOMY_PLANS), ("LEMONSQUEEZY_ALLOW_TEST_MODE", "true")];
    TestApp::with_lemonsqueezy(workos_url, stub, &extra).await
}

fn text<'a>(item: &'a Item, name: &str) -> &'a str {
    item.get(name).and_then(|v| v.as_s().ok()).map_or("", String::as_str)
}

/// Every item that mentions the organization, as `entity PK SK`, but its tombstone.
async fn leftovers(app: &TestApp, org_id: &str) -> Vec<String> {
    let items = app.items().await;
    let mut left: Vec<String> = items
        .iter()
        .filter(|item| item.values().any(|v| mentions(v, org_id)))
        .filter(|item| text(item, "entity") != "org_tombstone")
        .map(|item| format!("{} {} {}", text(item, "entity"), text(item, "PK"), text(item, "SK")))
        .collect();
    left.sort();
    left
}

async fn tombstone(app: &TestApp, org_id: &str) -> Option<Item> {
    app.items().await.into_iter().find(|item| text(item, "entity") == "org_tombstone" && text(item, "id") == org_id)
}

async fn org_name(app: &TestApp, org: &OrgFixture) -> String {
    app.org(&org.admin).await["name"].as_str().unwrap().to_owned()
}

async fn delete_org(app: &TestApp, token: &str, name: &str) -> testkit::TestResponse {
    app.call(DELETE, "/org", Some(token), Some(json!({"confirmName": name}))).await
}

/// A Lemon Squeezy event of `org`'s own subscription (its id made from the org's), from the
/// fixture `name`, with `updated_at` and `ends_at` set when given; signed.
fn billing_event(name: &str, org: &OrgFixture, updated_at: Option<&str>, ends_at: Option<&str>) -> (Vec<u8>, String) {
    billing_event_of(&subscription_of(org), name, org, updated_at, ends_at)
}

/// The same for the subscription `subscription`.
fn billing_event_of(
    subscription: &str,
    name: &str,
    org: &OrgFixture,
    updated_at: Option<&str>,
    ends_at: Option<&str>,
) -> (Vec<u8>, String) {
    let mut event = fixture_json(name, &org.org_id);
    if event["data"]["type"] == "subscriptions" {
        event["data"]["id"] = json!(subscription);
    } else if event["data"]["attributes"].get("subscription_id").is_some() {
        event["data"]["attributes"]["subscription_id"] = json!(subscription.parse::<u64>().unwrap());
    }
    if let Some(at) = updated_at {
        event["data"]["attributes"]["updated_at"] = json!(at);
    }
    if let Some(at) = ends_at {
        event["data"]["attributes"]["ends_at"] = json!(at);
    }
    let body = serde_json::to_vec(&event).unwrap();
    let signature = sign(&body);
    (body, signature)
}

/// The subscription id `org` owns in these tests.
fn subscription_of(org: &OrgFixture) -> String {
    let digits: u64 = org.org_id.bytes().fold(7, |n, b| (n * 31 + u64::from(b)) % 1_000_000_000);
    format!("9{digits:09}")
}

async fn deliver(app: &TestApp, (body, signature): (Vec<u8>, String)) -> Value {
    let answer = app.webhook(&body, Some(&signature)).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["status"].clone()
}

/// Customers (one with an assigned staff member), a pending invitation, a subscription that came
/// and expired, and an API key that was used: items in every partition of the organization, and
/// an owner outside it. Answers the key's secret.
async fn populate(app: &TestApp, org: &OrgFixture, customers: usize) -> String {
    let admin = Some(org.admin.token.as_str());
    let mut first = None;
    for i in 0..customers {
        let created = app.call(POST, "/customers", admin, Some(json!({"name": format!("Doomed {i}")}))).await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        first.get_or_insert_with(|| created.body["id"].as_str().unwrap().to_owned());
    }
    if let Some(customer) = first {
        let assign = format!("/customers/{customer}/staff/{}", org.staff.id());
        assert_eq!(app.call(PUT, &assign, admin, None).await.status, 201);
    }
    let email = format!("doomed-{}@test.example", ulid::Ulid::new().to_string().to_lowercase());
    let invited = app.call(POST, "/invitations", admin, Some(json!({"email": email, "role": "staff"}))).await;
    assert_eq!(invited.status, 201, "{:?}", invited.body);
    for event in ["subscription_created", "subscription_expired"] {
        assert_eq!(deliver(app, billing_event(event, org, None, None)).await, "applied", "{event}");
    }
    let key = app.call(POST, "/api-keys", admin, Some(json!({"name": "Doomed", "scope": "write"}))).await;
    assert_eq!(key.status, 201, "{:?}", key.body);
    let secret = key.body["secret"].as_str().unwrap().to_owned();
    assert_eq!(app.call(GET, "/customers", Some(&secret), None).await.status, 200);
    secret
}

/// Asserts the deletion of `org` is complete: its members are out, WorkOS has no organization,
/// and only the tombstone (naming who asked) is left.
async fn assert_deleted(app: &TestApp, org: &OrgFixture, context: &str) {
    assert_eq!(leftovers(app, &org.org_id).await, Vec::<String>::new(), "{context}: items left");
    let tombstone = tombstone(app, &org.org_id).await.unwrap_or_else(|| panic!("{context}: no tombstone"));
    let deletion = tombstone["deletion"].as_m().unwrap();
    assert_eq!(deletion["requestedBy"].as_s().unwrap(), org.admin.id(), "{context}");
    assert!(deletion["workosDeletedAt"].as_s().is_ok(), "{context}: {deletion:?}");
    assert!(!tombstone.contains_key("name") && !tombstone.contains_key("GSI1PK"), "{context}: {tombstone:?}");
    assert!(!app.emulator.has_org(&org.org_id).await, "{context}: WorkOS still has the organization");
}

#[tokio::test]
async fn deleting_an_org_leaves_only_its_tombstone_and_shuts_its_members_out_at_once() {
    let stub = LemonSqueezyStub::start().await;
    let app = app_with(&env("WORKOS_API_URL"), &stub).await;
    let org = app.org_fixture().await;
    let other = app.org_fixture().await;
    let key = populate(&app, &org, 3).await;
    let other_key = populate(&app, &other, 1).await;
    let name = org_name(&app, &org).await;

    // Refusals: a subscription that grants access, a name not confirmed, a role not admin.
    let renewed = billing_event("subscription_created", &org, Some("2025-03-01T00:00:00Z"), None);
    assert_eq!(deliver(&app, renewed).await, "applied");
    let refused = delete_org(&app, &org.admin.token, &name).await;
    assert_eq!((refused.status, refused.code()), (409, "conflict"), "{:?}", refused.body);
    assert!(refused.body["detail"].as_str().unwrap().contains("cancel it first"), "{:?}", refused.body);
    let cancelled =
        billing_event("subscription_cancelled", &org, Some("2025-03-02T00:00:00Z"), Some("2099-01-01T00:00:00Z"));
    assert_eq!(deliver(&app, cancelled).await, "applied");
    let refused = delete_org(&app, &org.admin.token, &name).await;
    assert_eq!(refused.status, 409, "a cancelled subscription grants access until it ends: {:?}", refused.body);
    let expired = billing_event("subscription_expired", &org, Some("2025-03-03T00:00:00Z"), None);
    assert_eq!(deliver(&app, expired).await, "applied");
    // A second subscription whose payment arrived before its state: refused until its state is known.
    let second = format!("8{}", &subscription_of(&org)[1..]);
    let paid = billing_event_of(&second, "subscription_payment_success", &org, Some("2025-03-04T00:00:00Z"), None);
    assert_eq!(deliver(&app, paid).await, "applied");
    let refused = delete_org(&app, &org.admin.token, &name).await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    assert!(refused.body["detail"].as_str().unwrap().contains("not its state yet"), "{:?}", refused.body);
    let ended = billing_event_of(&second, "subscription_expired", &org, Some("2025-03-05T00:00:00Z"), None);
    assert_eq!(deliver(&app, ended).await, "applied");
    for (token, body, expected) in [
        (&org.admin.token, json!({"confirmName": name.to_lowercase()}), (400, "validation_failed")),
        (&org.admin.token, json!({"confirmName": other.org_id}), (400, "validation_failed")),
        (&org.admin.token, json!({"confirmName": name, "force": true}), (400, "validation_failed")),
        (&org.admin.token, json!({}), (400, "validation_failed")),
        (&org.staff.token, json!({"confirmName": name}), (403, "forbidden")),
        (&org.client.token, json!({"confirmName": name}), (403, "forbidden")),
        (&other.admin.token, json!({"confirmName": name}), (400, "validation_failed")),
    ] {
        let answer = app.call(DELETE, "/org", Some(token), Some(body.clone())).await;
        assert_eq!((answer.status, answer.code()), expected, "{body}: {:?}", answer.body);
    }
    let audit = app.call(GET, "/audit-log?limit=100", Some(&org.admin.token), None).await;
    assert!(!audit.body.to_string().contains("org.deletion_requested"), "a refusal writes no entry");

    let other_before = app.org_items(&other.org_id).await.len();
    let accepted = delete_org(&app, &org.admin.token, &name).await;
    assert_eq!((accepted.status, &accepted.body), (202, &json!({"status": "deleting"})));

    // Every member is out at once, with a valid token; GET /me shows no organization.
    for member in [&org.admin, &org.staff, &org.client] {
        for path in ["/org", "/customers", "/users", "/audit-log"] {
            let answer = app.call(GET, path, Some(&member.token), None).await;
            assert_eq!((answer.status, answer.code()), (403, "no_organization"), "{path}: {:?}", answer.body);
        }
        let me = app.call(GET, "/me", Some(&member.token), None).await;
        assert_eq!((me.status, &me.body["organization"], &me.body["role"]), (200, &Value::Null, &Value::Null));
    }
    assert_deleted(&app, &org, "after DELETE /org").await;
    // Its API key went with it (`assert_deleted` found no key item and no counter either).
    let answer = app.call(GET, "/customers", Some(&key), None).await;
    assert_eq!((answer.status, answer.code()), (401, "unauthenticated"), "{:?}", answer.body);

    // The admin who asked is told it is done; nobody else learns anything.
    let again = delete_org(&app, &org.admin.token, "").await;
    assert_eq!((again.status, &again.body), (200, &json!({"status": "deleted"})));
    let staff = delete_org(&app, &org.staff.token, &name).await;
    assert_eq!((staff.status, staff.code()), (403, "no_organization"));

    // The other organization is untouched.
    assert_eq!(app.org_items(&other.org_id).await.len(), other_before);
    assert_eq!(app.call(GET, "/customers", Some(&other.staff.token), None).await.status, 200);
    assert_eq!(app.call(GET, "/customers", Some(&other_key), None).await.status, 200);
}

#[tokio::test]
async fn late_workos_and_lemon_squeezy_events_are_answered_and_change_nothing() {
    let stub = LemonSqueezyStub::start().await;
    let app = app_with(&env("WORKOS_API_URL"), &stub).await;
    let org = app.org_fixture().await;
    populate(&app, &org, 2).await;
    let staff_membership = app.emulator.memberships(org.staff.id(), &org.org_id).await[0].clone();
    let name = org_name(&app, &org).await;
    assert_eq!(delete_org(&app, &org.admin.token, &name).await.status, 202);
    assert_deleted(&app, &org, "deleted").await;
    // The reconcile job keeps where it got to: a first run stores that, before the count.
    app.run_job("billing-reconcile", json!({})).await.unwrap();
    let before = app.items().await.len();

    // Lemon Squeezy: the subscription's later events, its payment, a new order for the org.
    for event in ["subscription_updated", "subscription_payment_success", "order_created"] {
        let late = billing_event(event, &org, Some("2026-11-30T00:00:00Z"), None);
        assert_eq!(deliver(&app, late).await, "ignored", "{event}");
    }
    // WorkOS: the membership again (created and updated), the org renamed, the member removed.
    let mut events = Vec::new();
    for (i, kind) in ["organization_membership.created", "organization_membership.updated"].iter().enumerate() {
        let mut data = staff_membership.clone();
        data["updated_at"] = json!("2099-01-01T00:00:00.000Z");
        events.push(json!({"id": format!("event_late_{i}"), "event": kind, "data": data, "created_at": "2099-01-01T00:00:00.000Z"}));
    }
    let org_data = json!({"id": org.org_id, "name": "Back Again", "object": "organization", "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2099-01-01T00:00:00.000Z"});
    events.push(json!({"id": "event_late_org", "event": "organization.updated", "data": org_data, "created_at": "2099-01-01T00:00:00.000Z"}));
    let mut deleted = staff_membership.clone();
    deleted["updated_at"] = json!("2099-01-02T00:00:00.000Z");
    events.push(json!({"id": "event_late_del", "event": "organization_membership.deleted", "data": deleted, "created_at": "2099-01-02T00:00:00.000Z"}));
    for event in events {
        let event: shared::clients::workos::Event = serde_json::from_value(event).unwrap();
        let changes = app.apply_workos_event(&event).await.unwrap_or_else(|e| panic!("{}: {e}", event.event));
        assert_eq!(changes.total(), 0, "{}", event.event);
    }
    // The reconcile job reads no owner of it any more.
    let reconciled = app.run_job("billing-reconcile", json!({})).await.unwrap();
    assert_eq!(reconciled["subscriptionsChecked"], 0, "{reconciled}");

    assert_eq!(leftovers(&app, &org.org_id).await, Vec::<String>::new());
    assert_eq!(app.items().await.len(), before, "nothing was stored");
    let me = app.call(GET, "/org", Some(&org.admin.token), None).await;
    assert_eq!((me.status, me.code()), (403, "no_organization"));
}

#[tokio::test]
async fn writes_that_read_the_org_before_its_deletion_cannot_land_after_it() {
    let stub = LemonSqueezyStub::start().await;
    let app = app_with(&env("WORKOS_API_URL"), &stub).await;
    let org = app.org_fixture().await;
    populate(&app, &org, 1).await;
    let read = app.deps.store.get_org(&org.org_id).await.unwrap().unwrap();
    let newcomer = app.new_member(&org.org_id, "staff").await;
    let deletion = deletion_by(&org.admin);
    // The deletion requested, and stopped there (as by a crash).
    assert_eq!(app.deps.store.request_deletion(&read, &deletion, &origin()).await.unwrap(), OrgWrite::Written(()));
    let before = app.snapshot().await;

    // A request that read the organization before: its transaction meets the deletion.
    let fields = shared::domain::validation::CustomerFields { name: "Late".into(), ..Default::default() };
    let customer = shared::store::CustomerItem::new(&org.org_id, fields, org.admin.id(), shared::Timestamp::now());
    let limits = read.entitlement(&app.deps.config.plans, shared::Timestamp::now()).limits;
    let late = app.deps.store.create_customer(&customer, &limits, &origin()).await;
    assert!(matches!(late, Err(shared::store::StoreError::OrgDeleted)), "{late:?}");
    let renamed = app.deps.store.rename_org(&read, "Renamed Late", shared::Timestamp::now(), &origin()).await;
    assert!(matches!(renamed, Ok(OrgWrite::OrgGone)), "{renamed:?}");
    // A second request to delete it marks nothing again.
    let twice = app.deps.store.request_deletion(&read, &deletion, &origin()).await;
    assert!(matches!(twice, Ok(OrgWrite::OrgGone)), "{twice:?}");
    // A member WorkOS has but the table does not: not provisioned.
    let jit = app.call(GET, "/customers", Some(&newcomer.token), None).await;
    assert_eq!((jit.status, jit.code()), (403, "no_organization"));
    // A billing event of its subscription, and the removal of a member mirrored from WorkOS.
    let updated = billing_event("subscription_updated", &org, Some("2026-11-30T00:00:00Z"), None);
    assert_eq!(deliver(&app, updated).await, "ignored");
    let mut removed = app.emulator.memberships(org.staff.id(), &org.org_id).await[0].clone();
    removed["updated_at"] = json!("2099-01-01T00:00:00.000Z");
    let event = json!({"id": "event_rm", "event": "organization_membership.deleted", "data": removed, "created_at": "2099-01-01T00:00:00.000Z"});
    let changes = app.apply_workos_event(&serde_json::from_value(event).unwrap()).await.unwrap();
    assert_eq!(changes.total(), 0);

    assert_eq!(app.snapshot().await, before, "nothing was written into the deleting organization");
}

/// A deletion requested by `admin` now, as `DELETE /org` records it.
fn deletion_by(admin: &Member) -> shared::store::Deletion {
    shared::store::Deletion {
        requested_at: shared::Timestamp::now(),
        requested_by: admin.id().to_owned(),
        request_id: None,
        workos_deleted_at: None,
    }
}

/// Where a simulated crash stops a deletion.
#[derive(Debug, Clone, Copy)]
enum StopAfter {
    /// The org item marked; WorkOS not called.
    Request,
    /// WorkOS's organization deleted and one batch of items.
    FirstBatch,
    /// Every item but the org item deleted; no tombstone yet.
    LastBatch,
}

#[tokio::test]
async fn a_deletion_stopped_at_any_step_finishes_on_a_retry() {
    let stub = LemonSqueezyStub::start().await;
    let app = app_with(&env("WORKOS_API_URL"), &stub).await;
    for stop in [StopAfter::Request, StopAfter::FirstBatch, StopAfter::LastBatch] {
        let org = app.org_fixture().await;
        populate(&app, &org, 30).await;
        let read = app.deps.store.get_org(&org.org_id).await.unwrap().unwrap();
        let marked = app.deps.store.request_deletion(&read, &deletion_by(&org.admin), &origin()).await.unwrap();
        assert_eq!(marked, OrgWrite::Written(()));
        match stop {
            StopAfter::Request => {}
            StopAfter::FirstBatch => {
                let status = app.deps.continue_deletion(&org.org_id, Duration::ZERO).await.unwrap();
                assert_eq!(status, shared::flows::deletion::DeletionStatus::Deleting);
            }
            StopAfter::LastBatch => {
                app.deps.workos.delete_organization(&org.org_id).await.unwrap();
                app.deps.store.note_workos_deleted(&org.org_id, shared::Timestamp::now()).await.unwrap();
                let org_item = match app.deps.store.get_org_record(&org.org_id).await.unwrap() {
                    Some(shared::store::OrgRecord::Deleting(org_item)) => org_item,
                    other => panic!("{other:?}"),
                };
                let partitions = app.deps.store.deletion_partitions(&org_item, shared::Timestamp::now());
                while let shared::store::Step::Deleted(_) =
                    app.deps.store.delete_next_items(&org_item, &partitions, 0).await.unwrap()
                {}
                assert_eq!(leftovers(&app, &org.org_id).await, [format!("org ORG#{} ORG", org.org_id)]);
            }
        }
        let context = format!("stopped after {stop:?}");
        for member in [&org.admin, &org.staff] {
            let answer = app.call(GET, "/org", Some(&member.token), None).await;
            assert_eq!((answer.status, answer.code()), (403, "no_organization"), "{context}");
        }
        // The admin's retry (any confirmation: it was confirmed) finishes it.
        let retried = delete_org(&app, &org.admin.token, "").await;
        assert_eq!((retried.status, &retried.body), (200, &json!({"status": "deleted"})), "{context}");
        assert_deleted(&app, &org, &context).await;
    }
}

#[tokio::test]
async fn a_deletion_that_workos_or_dynamodb_interrupt_is_finished_by_a_retry_and_by_the_sync() {
    // WorkOS failing: the deletion is accepted and under way; the retry gets WorkOS's half done.
    let stub = LemonSqueezyStub::start().await;
    let workos = FaultProxy::start(&env("WORKOS_API_URL")).await;
    let app = app_with(&workos.url, &stub).await;
    let org = app.org_fixture().await;
    populate(&app, &org, 3).await;
    let name = org_name(&app, &org).await;
    workos.fail(DELETE, "/organizations/", Fault::Status(500), 1_000);
    let accepted = delete_org(&app, &org.admin.token, &name).await;
    assert_eq!((accepted.status, &accepted.body), (202, &json!({"status": "deleting"})));
    assert!(workos.count(&DELETE, "/organizations/") >= 1);
    let answer = app.call(GET, "/customers", Some(&org.staff.token), None).await;
    assert_eq!((answer.status, answer.code()), (403, "no_organization"));
    assert!(app.emulator.has_org(&org.org_id).await, "WorkOS refused: its organization is still there");
    // Its items went all the same; the org item waits (marked) until WorkOS has done its part.
    let org_item = format!("org ORG#{} ORG", org.org_id);
    assert_eq!(leftovers(&app, &org.org_id).await, std::slice::from_ref(&org_item));
    let still = delete_org(&app, &org.admin.token, &name).await;
    assert_eq!((still.status, &still.body), (202, &json!({"status": "deleting"})), "WorkOS still refuses");
    // The sync meets the same refusal, and puts the deletion behind the others.
    let report = app.run_job("workos-sync", json!({"budgetMillis": 1})).await.unwrap();
    assert_eq!(report["deletions"], json!({"continued": 1, "completed": 0, "failed": 1}), "{report}");
    assert_eq!(leftovers(&app, &org.org_id).await, [org_item]);
    workos.clear();

    // DynamoDB failing half way through the items: the next WorkOS sync run finishes it.
    let dynamodb = FaultProxy::start(&env("AWS_ENDPOINT_URL_DYNAMODB")).await;
    let client = testkit::dynamodb_client_at(&dynamodb.url);
    let extra = [
        ("PLANS", ROOMY_PLANS),
        ("LEMONSQUEEZY_ALLOW_TEST_MODE", "true"),
        ("LEMONSQUEEZY_WEBHOOK_SECRET", testkit::lemonsqueezy::WEBHOOK_SECRET),
        ("CHECKOUT_TAG_SECRET", testkit::lemonsqueezy::CHECKOUT_TAG_SECRET),
    ];
    let faulty = TestApp::with_dynamodb(client, &extra).await;
    let second = faulty.org_fixture().await;
    populate(&faulty, &second, 40).await;
    let name = org_name(&faulty, &second).await;
    dynamodb.fail_action("BatchWriteItem", 1, Fault::Status(500), 1_000);
    let accepted = delete_org(&faulty, &second.admin.token, &name).await;
    assert_eq!((accepted.status, &accepted.body), (202, &json!({"status": "deleting"})));
    let left = leftovers(&faulty, &second.org_id).await;
    assert!(left.len() > 10, "one batch went, the rest waits: {}", left.len());
    dynamodb.clear();
    let report = faulty.run_job("workos-sync", json!({"budgetMillis": 1})).await.unwrap();
    assert_eq!(report["deletions"], json!({"continued": 1, "completed": 1, "failed": 0}), "{report}");
    assert_deleted(&faulty, &second, "finished by the sync").await;

    // The WorkOS-refused one: its retry, with WorkOS answering again.
    let finished = delete_org(&app, &org.admin.token, "").await;
    assert_eq!((finished.status, &finished.body), (200, &json!({"status": "deleted"})));
    assert_deleted(&app, &org, "finished by the retry").await;
}

#[tokio::test]
async fn an_org_created_with_an_idempotency_key_and_deleted_is_not_replayed() {
    let app = TestApp::new().await;
    let user = app.emulator.create_user("founder").await;
    let token = app.emulator.token(&user, None).await;
    let name = format!("Short Lived {}", ulid::Ulid::new());
    let create = |token: &str| {
        http::Request::builder()
            .method(POST)
            .uri("/orgs")
            .header("authorization", format!("Bearer {token}"))
            .header("idempotency-key", "short-lived")
            .body(bytes::Bytes::from(json!({"name": name}).to_string()))
            .unwrap()
    };
    let created = app.send(create(&token)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let org_id = created.body["id"].as_str().unwrap().to_owned();
    let admin = app.emulator.token(&user, Some(&org_id)).await;
    assert_eq!(delete_org(&app, &admin, &name).await.status, 202);
    // The replay finds the organization gone: 404, as for anyone not in it; nothing comes back.
    let replay = app.send(create(&token)).await;
    assert_eq!((replay.status, replay.code()), (404, "not_found"), "{:?}", replay.body);
    // Only the key's own record (the user's, 24 h) still names the organization.
    assert_eq!(leftovers(&app, &org_id).await.len(), 1);
    assert!(leftovers(&app, &org_id).await[0].starts_with("idempotency USER#"), "{:?}", leftovers(&app, &org_id).await);
}
