//! The audit log (issue 14): one entry per change, written in the change's own transaction, read
//! by admins newest first through `GET /audit-log`.

use aws_sdk_dynamodb::types::AttributeValue::{N, S};
use serde_json::{Value, json};
use testkit::lemonsqueezy::{LemonSqueezyStub, fixture_for};
use testkit::{DELETE, GET, Member, PATCH, POST, PUT, TestApp, env};

/// Every entry `admin` can read with `query`, following the cursors, newest first.
async fn entries(app: &TestApp, admin: &Member, query: &str, limit: usize) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/audit-log?limit={limit}{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.call(GET, &path, Some(&admin.token), None).await;
        assert_eq!(page.status, 200, "{path}: {:?}", page.body);
        all.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return all,
        }
    }
}

fn actions(entries: &[Value]) -> Vec<&str> {
    entries.iter().map(|e| e["action"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn customer_changes_and_the_cascade_of_a_delete_are_logged_newest_first() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let other_staff = app.new_member(&org.org_id, "staff").await;
    assert_eq!(app.call(GET, "/me", Some(&other_staff.token), None).await.status, 200);
    let admin = &org.admin;
    let before = entries(&app, admin, "", 100).await.len();

    let created = app.call(POST, "/customers", Some(&admin.token), Some(json!({"name": "Acme"}))).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    for staff in [&org.staff, &other_staff] {
        let path = format!("/customers/{id}/staff/{}", staff.id());
        assert_eq!(app.call(PUT, &path, Some(&admin.token), None).await.status, 201);
        // Assigned already: a retry changes nothing and writes nothing.
        assert_eq!(app.call(PUT, &path, Some(&admin.token), None).await.status, 200);
    }
    let rename = json!({"name": "Acme Ltd"});
    for _ in 0..2 {
        let renamed = app.call(PATCH, &format!("/customers/{id}"), Some(&admin.token), Some(rename.clone())).await;
        assert_eq!(renamed.status, 200, "{:?}", renamed.body);
    }
    assert_eq!(app.call(DELETE, &format!("/customers/{id}"), Some(&admin.token), None).await.status, 204);

    let log = entries(&app, admin, "", 100).await;
    let new = &log[..log.len() - before];
    assert_eq!(
        actions(new),
        [
            "customer.deleted",
            "assignment.removed",
            "assignment.removed",
            "customer.updated",
            "assignment.added",
            "assignment.added",
            "customer.created"
        ]
    );
    let updated = &new[3];
    assert_eq!(updated["changes"], json!({"name": {"from": "Acme", "to": "Acme Ltd"}}));
    assert_eq!(updated["actor"], json!({"type": "user", "id": admin.id()}));
    assert_eq!(updated["target"], json!({"type": "customer", "id": id}));
    assert_eq!(new[0]["changes"]["name"], json!({"from": "Acme Ltd", "to": null}));
    assert_eq!(new[6]["changes"]["name"], json!({"from": null, "to": "Acme"}));
    let removed: Vec<&str> = new[1..3].iter().map(|e| e["target"]["id"].as_str().unwrap()).collect();
    for staff in [&org.staff, &other_staff] {
        assert!(removed.contains(&format!("{id}:{}", staff.id()).as_str()), "{removed:?}");
    }
    // Every entry has the documented shape, and times that never go up down the page.
    for entry in &log {
        for field in ["id", "at", "actor", "action", "target", "changes", "requestId"] {
            assert!(entry.get(field).is_some(), "{field} missing: {entry}");
        }
    }
    let times: Vec<&str> = log.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
}

#[tokio::test]
async fn members_invitations_and_the_org_name_are_logged_and_filtered() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let admin = &org.admin;
    // The three members arrived just in time: WorkOS is their actor.
    let joined = entries(&app, admin, "&action=member.joined", 100).await;
    assert_eq!(joined.len(), 3, "{joined:?}");
    assert!(joined.iter().all(|e| e["actor"] == json!({"type": "workos", "id": null})), "{joined:?}");

    let name = json!({"name": "Renamed Co"});
    for _ in 0..2 {
        assert_eq!(app.call(PATCH, "/org", Some(&admin.token), Some(name.clone())).await.status, 200);
    }
    let promote = json!({"role": "admin"});
    let path = format!("/users/{}", org.staff.id());
    assert_eq!(app.call(PATCH, &path, Some(&admin.token), Some(promote)).await.status, 200);
    assert_eq!(app.call(DELETE, &path, Some(&admin.token), None).await.status, 204);
    let invite = json!({"email": format!("audit-{}@test.example", ulid::Ulid::new()), "role": "staff"});
    let invited = app.call(POST, "/invitations", Some(&admin.token), Some(invite)).await;
    let invitation = invited.body["id"].as_str().unwrap().to_owned();
    assert_eq!(app.call(DELETE, &format!("/invitations/{invitation}"), Some(&admin.token), None).await.status, 204);

    let by_admin = entries(&app, admin, &format!("&actorId={}", admin.id()), 100).await;
    assert_eq!(
        actions(&by_admin),
        ["invitation.revoked", "invitation.created", "member.removed", "member.role_changed", "org.renamed"]
    );
    assert_eq!(by_admin[3]["changes"], json!({"role": {"from": "staff", "to": "admin"}}));
    assert_eq!(by_admin[2]["changes"], json!({"role": {"from": "admin", "to": null}}));
    assert_eq!(by_admin[4]["changes"]["name"]["to"], "Renamed Co");
    let about_staff = entries(&app, admin, &format!("&targetId={}", org.staff.id()), 100).await;
    assert_eq!(actions(&about_staff), ["member.removed", "member.role_changed", "member.joined"]);
    // One entry a page, followed to the end: the same entries.
    let all = entries(&app, admin, "", 100).await;
    assert_eq!(entries(&app, admin, "", 1).await, all);

    // Admins only; a filter that names no action is a 400.
    let staff_read = app.call(GET, "/audit-log", Some(&org.client.token), None).await;
    assert_eq!((staff_read.status, staff_read.code()), (403, "forbidden"));
    let bad = app.call(GET, "/audit-log?action=customer.exploded", Some(&admin.token), None).await;
    assert_eq!((bad.status, bad.code()), (400, "validation_failed"));
    let long = app.call(GET, &format!("/audit-log?actorId={}", "u".repeat(201)), Some(&admin.token), None).await;
    assert_eq!((long.status, long.code()), (400, "validation_failed"));
}

#[tokio::test]
async fn a_filter_that_matches_little_answers_short_pages_whose_cursors_reach_everything() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    for i in 0..12 {
        let created =
            app.call(POST, "/customers", Some(&org.admin.token), Some(json!({"name": format!("C{i}")}))).await;
        assert_eq!(created.status, 201);
    }
    // The one org.created entry is the oldest of 16: one entry a query, ten queries a page.
    let first = app.call(GET, "/audit-log?limit=1&action=org.created", Some(&org.admin.token), None).await;
    assert_eq!(first.status, 200);
    assert!(first.body["items"].as_array().unwrap().is_empty(), "{:?}", first.body);
    assert!(first.body["nextCursor"].is_string(), "a short page says where to go on");
    let found = entries(&app, &org.admin, "&action=org.created", 1).await;
    assert_eq!(actions(&found), ["org.created"]);
}

#[tokio::test]
async fn a_refused_change_writes_no_entry_and_entries_expire_after_the_retention() {
    let plans = r#"{"free":{"name":"Free","maxCustomers":1,"maxStaff":100,"maxClients":100}}"#;
    let app =
        TestApp::with_workos_url(&env("WORKOS_API_URL"), &[("PLANS", plans), ("AUDIT_RETENTION_DAYS", "30")]).await;
    let org = app.org_fixture().await;
    let admin = &org.admin;
    let first = app.call(POST, "/customers", Some(&admin.token), Some(json!({"name": "One"}))).await;
    assert_eq!(first.status, 201);
    let before = entries(&app, admin, "", 100).await;
    let refused = app.call(POST, "/customers", Some(&admin.token), Some(json!({"name": "Two"}))).await;
    assert_eq!(refused.status, 402, "{:?}", refused.body);
    assert_eq!(entries(&app, admin, "", 100).await, before, "no entry without its change");

    let items = app.org_items(&org.org_id).await;
    let entity = |i: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
        i.get("entity").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
    };
    let audit: Vec<_> = app.items().await.into_iter().filter(|i| entity(i) == "audit").collect();
    assert_eq!(audit.len(), before.len());
    for item in &audit {
        let at = shared::Timestamp::parse(item["at"].as_s().unwrap()).unwrap().unix_seconds();
        let expires: i64 = item["expiresAt"].as_n().unwrap().parse().unwrap();
        assert_eq!(expires - at, 30 * 86_400);
        // Kept apart from the organization's other items.
        assert!(item["PK"].as_s().unwrap().starts_with(&format!("ORG#{}#AUDIT#", org.org_id)));
    }
    assert!(items.iter().all(|i| entity(i) != "audit"));

    // TTL removes an expired entry some time later (DynamoDB Local not promptly at all), so the
    // readers skip it themselves. Two entries written 31 days ago, in the partition of that
    // month: one under the 30-day retention, expired a day ago; one under a longer retention
    // (as before AUDIT_RETENTION_DAYS was lowered), still kept, which shows that the readers do
    // look there.
    let written = shared::Timestamp::now().minus(time::Duration::days(31));
    let old_entry = |retention_days: i64| {
        let since_epoch = std::time::Duration::from_millis(written.unix_millis() as u64);
        let ulid = ulid::Ulid::from_datetime(std::time::UNIX_EPOCH + since_epoch);
        let mut item = audit[0].clone();
        item.insert("PK".into(), S(shared::store::keys::audit_pk(&org.org_id, written)));
        item.insert("SK".into(), S(shared::store::keys::audit_sk(&ulid.to_string())));
        item.insert("id".into(), S(format!("aud_{}", ulid.to_string().to_lowercase())));
        item.insert("at".into(), S(written.to_string()));
        item.insert("expiresAt".into(), N((written.unix_seconds() + retention_days * 86_400).to_string()));
        item
    };
    let (expired, kept) = (old_entry(30), old_entry(365));
    for item in [&expired, &kept] {
        app.dynamodb.put_item().table_name(&app.table).set_item(Some(item.clone())).send().await.unwrap();
    }
    let (expired, kept) = (expired["id"].as_s().unwrap(), kept["id"].as_s().unwrap());
    let listed: Vec<Value> = entries(&app, admin, "", 100).await.into_iter().map(|e| e["id"].clone()).collect();
    assert!(listed.contains(&json!(kept)), "{listed:?}");
    assert!(!listed.contains(&json!(expired)), "GET /audit-log shows an expired entry: {listed:?}");
    let export = app.call(GET, "/org/export", Some(&admin.token), None).await;
    assert_eq!((export.status, &export.body["nextCursor"]), (200, &Value::Null), "one page: {:?}", export.body);
    let exported: Vec<Value> = export.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "audit")
        .map(|r| r["data"]["id"].clone())
        .collect();
    assert!(exported.contains(&json!(kept)), "{exported:?}");
    assert!(!exported.contains(&json!(expired)), "the export shows an expired entry: {exported:?}");
}

#[tokio::test]
async fn billing_events_are_logged_once_with_lemon_squeezy_as_the_actor() {
    let stub = LemonSqueezyStub::start().await;
    let app =
        TestApp::with_lemonsqueezy(&env("WORKOS_API_URL"), &stub, &[("LEMONSQUEEZY_ALLOW_TEST_MODE", "true")]).await;
    let org = app.org_fixture().await;
    let body = fixture_for("subscription_created", &org.org_id);
    for _ in 0..2 {
        assert_eq!(app.signed_webhook(&body).await.status, 200);
    }
    let billing = entries(&app, &org.admin, "&action=billing.changed", 100).await;
    assert_eq!(billing.len(), 1, "a redelivery changes nothing: {billing:?}");
    assert_eq!(billing[0]["actor"], json!({"type": "lemonsqueezy", "id": null}));
    assert_eq!(billing[0]["target"]["type"], "subscription");
    assert_eq!(billing[0]["changes"]["status"]["from"], Value::Null);
    assert!(billing[0]["changes"]["status"]["to"].is_string(), "{}", billing[0]);
}

#[tokio::test]
async fn entries_of_webhooks_and_jobs_name_their_request_or_invocation() {
    let stub = LemonSqueezyStub::start().await;
    let app =
        TestApp::with_lemonsqueezy(&env("WORKOS_API_URL"), &stub, &[("LEMONSQUEEZY_ALLOW_TEST_MODE", "true")]).await;
    let org = app.org_fixture().await;
    // The Lemon Squeezy webhook: API Gateway's request id.
    assert_eq!(app.signed_webhook(&fixture_for("subscription_created", &org.org_id)).await.status, 200);
    // The reconcile job corrects the subscription: the invocation's id.
    let mut current = testkit::lemonsqueezy::fixture_json("subscription_updated", &org.org_id)["data"].clone();
    current["attributes"]["status"] = json!("past_due");
    current["attributes"]["updated_at"] = json!("2025-01-16T08:00:00.000Z");
    stub.serve_subscription(current);
    assert_eq!(app.run_job("billing-reconcile", json!({})).await.unwrap()["updated"], 1);
    // A WorkOS event through the webhook's code: its request's id.
    let renamed = json!({"id": "event_rename", "event": "organization.updated", "created_at": "2026-12-01T00:00:00.000Z",
        "data": {"id": org.org_id, "name": "Renamed In WorkOS", "object": "organization",
                 "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "2026-12-01T00:00:00.000Z"}});
    app.apply_workos_event(&serde_json::from_value(renamed).unwrap()).await.unwrap();

    let log = entries(&app, &org.admin, "", 100).await;
    let by = |actor: &str, action: &str| {
        log.iter()
            .find(|e| e["actor"]["type"] == actor && e["action"] == action)
            .unwrap_or_else(|| panic!("no {action} by {actor}: {log:?}"))
    };
    let webhook = by("lemonsqueezy", "billing.changed");
    let job = by("system", "billing.changed");
    let mirrored = by("workos", "org.renamed");
    assert_eq!(mirrored["requestId"], "test-webhook");
    for entry in [webhook, job, by("workos", "member.joined")] {
        assert!(entry["requestId"].as_str().is_some_and(|id| !id.is_empty()), "{entry}");
    }
    assert_ne!(webhook["requestId"], job["requestId"]);
}
