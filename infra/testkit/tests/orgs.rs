//! `GET /me`, `POST /orgs`, `GET /org`, `PATCH /org` against DynamoDB Local and the emulator.

use bytes::Bytes;
use serde_json::{Value, json};
use testkit::{Fault, FaultProxy, GET, PATCH, POST, TestApp, TestResponse, env};

fn post_orgs(token: &str, key: Option<&str>, body: &str) -> http::Request<Bytes> {
    let mut request =
        http::Request::builder().method(POST).uri("/orgs").header("authorization", format!("Bearer {token}"));
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    request.body(Bytes::from(body.to_owned())).unwrap()
}

fn unique(name: &str) -> String {
    format!("{name} {}", ulid::Ulid::new())
}

async fn memberships(app: &TestApp, user_id: &str, org_id: &str) -> Vec<Value> {
    app.emulator.memberships(user_id, org_id).await
}

fn assert_org_shape(body: &Value) {
    for field in ["id", "name", "createdAt", "updatedAt"] {
        assert!(body[field].is_string(), "{field}: {body}");
    }
    assert!(body["plan"]["name"].is_string(), "{body}");
    for field in ["status", "variantId", "renewsAt", "endsAt"] {
        assert!(body["plan"].get(field).is_some(), "plan.{field}: {body}");
    }
    for field in ["maxCustomers", "maxStaff", "maxClients"] {
        assert!(body["limits"][field].is_u64(), "limits.{field}: {body}");
    }
    for field in ["customers", "staff", "clients"] {
        assert!(body["usage"][field].is_i64(), "usage.{field}: {body}");
    }
}

#[tokio::test]
async fn me_without_an_organization() {
    let app = TestApp::new().await;
    let user = app.emulator.create_user("solo").await;
    let token = app.emulator.token(&user, None).await;
    let response = app.call(GET, "/me", Some(&token), None).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(
        response.body,
        json!({
            "user": {"id": user.id, "email": user.email, "firstName": "Test", "lastName": "solo"},
            "organization": null, "role": null, "customerId": null,
        })
    );
    // The profile is fetched once, then served from the table.
    let items = app.items().await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["SK"].as_s().unwrap(), "PROFILE");
}

#[tokio::test]
async fn me_provisions_a_workos_member_just_in_time() {
    let app = TestApp::new().await;
    let (user, org_id, token) = app.member_of_new_org("staff").await;
    let response = app.call(GET, "/me", Some(&token), None).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.body["role"], "staff");
    assert_eq!(response.body["organization"]["id"], org_id.as_str());
    assert!(response.body["organization"]["name"].as_str().unwrap().starts_with("Org "));
    assert_eq!(response.body["user"]["email"], user.email.as_str());

    // The org made in WorkOS directly is stored too, with the seat counted, once.
    let org = app.call(GET, "/org", Some(&token), None).await;
    assert_eq!(org.status, 200);
    assert_eq!(org.body["usage"], json!({"customers": 0, "staff": 1, "clients": 0}));
    let again = app.call(GET, "/me", Some(&token), None).await;
    assert_eq!(again.body, response.body);
    assert_eq!(app.items().await.len(), 5, "org, member, profile, and the audit entries of the org and the member");
}

#[tokio::test]
async fn concurrent_first_requests_provision_once() {
    let app = TestApp::new().await;
    let (_, _, token) = app.member_of_new_org("admin").await;
    let calls = (0..8).map(|_| app.call(GET, "/org", Some(&token), None));
    for response in futures::future::join_all(calls).await {
        assert_eq!(response.status, 200, "{:?}", response.body);
    }
    let org = app.call(GET, "/org", Some(&token), None).await;
    assert_eq!(org.body["usage"]["staff"], 1, "one seat, however many first requests");
}

#[tokio::test]
async fn not_a_member_or_no_org_selected() {
    let app = TestApp::new().await;
    let user = app.emulator.create_user("outsider").await;
    let other_org = app.emulator.create_org(&unique("Other")).await;
    // The refresh grant names any org; membership is ours to check.
    let foreign = app.emulator.token(&user, Some(&other_org)).await;
    let no_org = app.emulator.token(&user, None).await;

    let me = app.call(GET, "/me", Some(&foreign), None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["organization"], Value::Null);
    assert_eq!(me.body["role"], Value::Null);

    for token in [&foreign, &no_org] {
        let response = app.call(GET, "/org", Some(token), None).await;
        assert_eq!((response.status, response.code()), (403, "no_organization"), "{:?}", response.body);
        let response = app.call(PATCH, "/org", Some(token), Some(json!({"name": "x"}))).await;
        assert_eq!((response.status, response.code()), (403, "no_organization"));
    }
    // Nothing but the outsider's profile is stored.
    assert!(app.items().await.iter().all(|item| item["SK"].as_s().unwrap() == "PROFILE"));
}

#[tokio::test]
async fn create_org_makes_the_caller_its_admin() {
    let app = TestApp::new().await;
    let user = app.emulator.create_user("founder").await;
    let token = app.emulator.token(&user, None).await;
    let name = unique("Founded");
    let response = app.call(POST, "/orgs", Some(&token), Some(json!({"name": format!("  {name} ")}))).await;
    assert_eq!(response.status, 201, "{:?}", response.body);
    assert_org_shape(&response.body);
    assert_eq!(response.body["name"], name.as_str(), "trimmed");
    assert_eq!(response.body["usage"], json!({"customers": 0, "staff": 1, "clients": 0}));
    assert_eq!(response.body["plan"]["name"], "Free");
    assert_eq!(response.body["plan"]["status"], Value::Null);
    let org_id = response.body["id"].as_str().unwrap().to_owned();

    let workos = app.emulator.orgs_named(&name).await;
    assert_eq!(workos.len(), 1);
    assert_eq!(workos[0]["id"], org_id.as_str());
    let members = memberships(&app, &user.id, &org_id).await;
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["role"]["slug"], "admin");

    let token = app.emulator.token(&user, Some(&org_id)).await;
    let me = app.call(GET, "/me", Some(&token), None).await;
    assert_eq!(me.body["role"], "admin");
    let org = app.call(GET, "/org", Some(&token), None).await;
    assert_eq!(org.status, 200);
    assert_eq!(org.body, response.body);
}

#[tokio::test]
async fn bad_bodies_are_refused_with_field_errors_and_write_nothing() {
    let app = TestApp::new().await;
    let user = app.emulator.create_user("picky").await;
    let token = app.emulator.token(&user, None).await;
    let long = "x".repeat(101);
    let cases: Vec<(&str, String, u16, &str, Option<&str>)> = vec![
        ("empty name", r#"{"name": "   "}"#.into(), 400, "validation_failed", Some("name")),
        ("long name", format!(r#"{{"name": "{long}"}}"#), 400, "validation_failed", Some("name")),
        ("control characters", r#"{"name": "a\u0007b"}"#.into(), 400, "validation_failed", Some("name")),
        ("missing name", "{}".into(), 400, "validation_failed", None),
        ("wrong type", r#"{"name": 5}"#.into(), 400, "validation_failed", Some("name")),
        ("unknown field", r#"{"name": "A", "plan": "pro"}"#.into(), 400, "validation_failed", Some("plan")),
        ("not an object", "[1]".into(), 400, "validation_failed", None),
        ("malformed", r#"{"name": "#.into(), 400, "malformed_json", None),
        ("trailing garbage", r#"{"name": "A"} x"#.into(), 400, "malformed_json", None),
        ("empty body", String::new(), 400, "malformed_json", None),
        (
            "too large",
            format!(r#"{{"name": "A", "pad": "{}"}}"#, "x".repeat(64 * 1024)),
            413,
            "payload_too_large",
            None,
        ),
    ];
    for (case, body, status, code, field) in cases {
        let response = app.send(post_orgs(&token, None, &body)).await;
        assert_eq!((response.status, response.code()), (status, code), "{case}: {:?}", response.body);
        if let Some(field) = field {
            assert_eq!(response.body["errors"][0]["field"], field, "{case}: {:?}", response.body);
            assert!(response.body["errors"][0]["message"].is_string());
        }
    }
    let response = app.send(post_orgs(&token, Some(""), r#"{"name": "A"}"#)).await;
    assert_eq!((response.status, response.code()), (400, "validation_failed"), "empty Idempotency-Key");
    let response = app.send(post_orgs(&token, Some(&"k".repeat(256)), r#"{"name": "A"}"#)).await;
    assert_eq!((response.status, response.code()), (400, "validation_failed"), "long Idempotency-Key");
    assert!(app.items().await.is_empty(), "nothing written");
}

#[tokio::test]
async fn idempotency_key_replays_and_conflicts() {
    let app = TestApp::new().await;
    let user = app.emulator.create_user("retrier").await;
    let token = app.emulator.token(&user, None).await;
    let name = unique("Replayed");
    let body = json!({"name": name}).to_string();

    let first = app.send(post_orgs(&token, Some("key-1"), &body)).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let again = app.send(post_orgs(&token, Some("key-1"), &body)).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.body["id"], first.body["id"]);

    let other_body = app.send(post_orgs(&token, Some("key-1"), r#"{"name": "Something else"}"#)).await;
    assert_eq!((other_body.status, other_body.code()), (409, "conflict"));
    assert_eq!(app.emulator.orgs_named(&name).await.len(), 1);

    // Another user's identical key is theirs alone.
    let stranger = app.emulator.create_user("stranger").await;
    let stranger_token = app.emulator.token(&stranger, None).await;
    let theirs = app.send(post_orgs(&stranger_token, Some("key-1"), &body)).await;
    assert_eq!(theirs.status, 201);
    assert_ne!(theirs.body["id"], first.body["id"]);
}

#[tokio::test]
async fn parallel_retries_with_one_key_make_one_org() {
    let app = TestApp::new().await;
    let user = app.emulator.create_user("hasty").await;
    let token = app.emulator.token(&user, None).await;
    let name = unique("Parallel");
    let body = json!({"name": name}).to_string();
    let calls = (0..6).map(|_| app.send(post_orgs(&token, Some("same-key"), &body)));
    let responses: Vec<TestResponse> = futures::future::join_all(calls).await;
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| [201, 200, 409].contains(s)), "{statuses:?}");
    assert_eq!(app.emulator.orgs_named(&name).await.len(), 1);
}

/// How many org and member items the table holds.
async fn org_and_member_items(app: &TestApp) -> usize {
    let items = app.items().await;
    items.iter().filter(|item| ["org", "member"].contains(&item["entity"].as_s().unwrap().as_str())).count()
}

/// A WorkOS failure half way answers 503 and stores nothing; the client's retry with the same
/// key then ends in exactly one WorkOS organization and one consistent org.
#[tokio::test]
async fn workos_failures_half_way_heal_on_retry() {
    let proxy = FaultProxy::start(&env("WORKOS_API_URL")).await;
    let app = TestApp::with_workos_url(&proxy.url, &[]).await;
    let user = app.emulator.create_user("unlucky").await;
    let token = app.emulator.token(&user, None).await;

    let cases = [
        (
            "membership create fails",
            http::Method::POST,
            "/user_management/organization_memberships",
            Fault::Status(500),
            1,
        ),
        ("org create answer lost", http::Method::POST, "/organizations", Fault::LoseResponse, 1),
        ("connection dropped", http::Method::POST, "/organizations", Fault::Drop, 1),
        ("lookup keeps failing", http::Method::GET, "/organizations/external_id/", Fault::Status(502), 3),
        (
            "rate limited beyond retries",
            http::Method::GET,
            "/user_management/organization_memberships",
            Fault::Status(429),
            3,
        ),
    ];
    for (case, method, path, fault, times) in cases {
        let name = unique(case);
        let body = json!({"name": name}).to_string();
        let key = format!("key-{}", case.replace(' ', "-"));
        let stored_before = org_and_member_items(&app).await;
        proxy.fail(method, path, fault, times);
        let failed = app.send(post_orgs(&token, Some(&key), &body)).await;
        assert_eq!((failed.status, failed.code()), (503, "upstream_unavailable"), "{case}: {:?}", failed.body);
        assert_eq!(org_and_member_items(&app).await, stored_before, "{case}: no org or member item written");

        let retried = app.send(post_orgs(&token, Some(&key), &body)).await;
        assert_eq!(retried.status, 201, "{case}: {:?}", retried.body);
        let workos = app.emulator.orgs_named(&name).await;
        assert_eq!(workos.len(), 1, "{case}: exactly one WorkOS organization");
        assert_eq!(workos[0]["id"], retried.body["id"]);
        let members = memberships(&app, &user.id, retried.body["id"].as_str().unwrap()).await;
        assert_eq!(members.len(), 1, "{case}: exactly one WorkOS membership");
        assert_eq!(org_and_member_items(&app).await, stored_before + 2, "{case}: the org and its admin");
    }
}

#[tokio::test]
async fn rename_org_is_admin_only_and_kept_in_step_with_workos() {
    let proxy = FaultProxy::start(&env("WORKOS_API_URL")).await;
    let app = TestApp::with_workos_url(&proxy.url, &[]).await;
    let (_, org_id, admin) = app.member_of_new_org("admin").await;
    let staff_user = app.emulator.create_user("staff").await;
    app.emulator.add_membership(&staff_user.id, &org_id, "staff").await;
    let staff = app.emulator.token(&staff_user, Some(&org_id)).await;

    let name = unique("Renamed");
    let response = app.call(PATCH, "/org", Some(&admin), Some(json!({"name": name}))).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    assert_eq!(response.body["name"], name.as_str());
    let workos = app.emulator.api(reqwest::Method::GET, &format!("/organizations/{org_id}"), None).await;
    assert_eq!(workos["name"], name.as_str());
    assert_eq!(app.call(GET, "/org", Some(&admin), None).await.body["name"], name.as_str());

    let forbidden = app.call(PATCH, "/org", Some(&staff), Some(json!({"name": "Staff Was Here"}))).await;
    assert_eq!((forbidden.status, forbidden.code()), (403, "forbidden"));
    let bad = app.call(PATCH, "/org", Some(&admin), Some(json!({"name": ""}))).await;
    assert_eq!((bad.status, bad.code()), (400, "validation_failed"));
    assert_eq!(bad.body["errors"][0]["field"], "name");
    let unknown = app.call(PATCH, "/org", Some(&admin), Some(json!({"name": "A", "id": "org_x"}))).await;
    assert_eq!((unknown.status, unknown.code()), (400, "validation_failed"));
    assert_eq!(unknown.body["errors"][0]["field"], "id");

    proxy.fail(http::Method::PUT, "/organizations/", Fault::Status(500), 3);
    let failed = app.call(PATCH, "/org", Some(&admin), Some(json!({"name": "Not Applied"}))).await;
    assert_eq!((failed.status, failed.code()), (503, "upstream_unavailable"));
    assert_eq!(app.call(GET, "/org", Some(&admin), None).await.body["name"], name.as_str(), "unchanged");
}

/// Issue 9, item 2: once a key's 24-hour record is gone, the same user and key start a new
/// organization; they never find the old one by its WorkOS `external_id`, nor get a role there
/// (here: after they were removed from it).
#[tokio::test]
async fn a_key_used_after_its_record_lapsed_never_rejoins_the_old_org() {
    let app = TestApp::new().await;
    let creator = app.emulator.create_user("creator").await;
    let token = app.emulator.token(&creator, None).await;
    let body = json!({"name": unique("Lapsed Key Co")}).to_string();
    let first = app.send(post_orgs(&token, Some("a-key-reused-later"), &body)).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let old_org = first.body["id"].as_str().unwrap().to_owned();

    // A second admin removes the creator.
    let second = app.new_member(&old_org, "admin").await;
    assert_eq!(app.call(GET, "/me", Some(&second.token), None).await.status, 200);
    let removed = app.call(testkit::DELETE, &format!("/users/{}", creator.id), Some(&second.token), None).await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);
    assert_eq!(app.workos_role(&creator.id, &old_org).await, None);

    // The record lapses (DynamoDB Local keeps expired items a while, so say so in the item).
    let record_key = std::collections::HashMap::from([
        ("PK".to_owned(), aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{}", creator.id))),
        (
            "SK".to_owned(),
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "IDEMP#{}",
                shared::crypto::sha256_hex(b"a-key-reused-later")
            )),
        ),
    ]);
    app.dynamodb
        .update_item()
        .table_name(&app.table)
        .set_key(Some(record_key))
        .update_expression("SET expiresAt = :past")
        .expression_attribute_values(":past", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();

    let again = app.send(post_orgs(&token, Some("a-key-reused-later"), &body)).await;
    assert_eq!(again.status, 201, "{:?}", again.body);
    assert_ne!(again.body["id"].as_str(), Some(old_org.as_str()), "a new organization");
    assert_eq!(app.workos_role(&creator.id, &old_org).await, None, "no role in the old organization");
    assert!(app.deps.store.get_member(&old_org, &creator.id).await.unwrap().is_none());
    assert!(memberships(&app, &creator.id, &old_org).await.iter().all(|m| m["status"] != "active"));
}

/// Review of item 2: a replay within the key's 24 hours shows the organization only to a member
/// of it; a creator removed since gets 404.
#[tokio::test]
async fn a_replay_is_only_for_a_member() {
    let app = TestApp::new().await;
    let creator = app.emulator.create_user("creator").await;
    let token = app.emulator.token(&creator, None).await;
    let body = json!({"name": unique("Replayed Co")}).to_string();
    let first = app.send(post_orgs(&token, Some("replayed-key"), &body)).await;
    assert_eq!(first.status, 201);
    let org_id = first.body["id"].as_str().unwrap().to_owned();
    let replay = app.send(post_orgs(&token, Some("replayed-key"), &body)).await;
    assert_eq!(replay.status, 200, "a member's replay");
    let second = app.new_member(&org_id, "admin").await;
    assert_eq!(app.call(GET, "/me", Some(&second.token), None).await.status, 200);
    let removed = app.call(testkit::DELETE, &format!("/users/{}", creator.id), Some(&second.token), None).await;
    assert_eq!(removed.status, 204);
    let after = app.send(post_orgs(&token, Some("replayed-key"), &body)).await;
    assert_eq!((after.status, after.code()), (404, "not_found"), "{:?}", after.body);
}
