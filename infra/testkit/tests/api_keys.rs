//! API keys (issue 25, API.md "API keys"): made, listed and revoked by an admin; used on every
//! route of their scope and refused elsewhere; refused at once when revoked, expired, edited or
//! forged; counted against a budget a minute, exactly, under concurrency; `lastUsedAt` written
//! at most once a minute; changes made with one audited with the key as actor.
//! (The isolation suite uses keys among its callers; `logs.rs` checks that no secret is logged;
//! `deletion.rs` that deleting the organization deletes its keys.)

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use shared::domain::api_keys::Window;
use testkit::{DELETE, GET, OrgFixture, PATCH, POST, PUT, TestApp, TestResponse};

async fn create_key(app: &TestApp, org: &OrgFixture, body: Value) -> TestResponse {
    app.call(POST, "/api-keys", Some(&org.admin.token), Some(body)).await
}

/// A new key's secret and id.
async fn new_key(app: &TestApp, org: &OrgFixture, scope: &str) -> (String, String) {
    let made = create_key(app, org, json!({"name": format!("{scope} key"), "scope": scope})).await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    (made.body["secret"].as_str().unwrap().to_owned(), made.body["id"].as_str().unwrap().to_owned())
}

/// Waits until the current minute has at least `seconds` left, so that what a test counts stays
/// in one window.
async fn at_least_left_in_minute(seconds: u64) {
    let left = Window::of(shared::Timestamp::now()).seconds_left;
    if left < seconds {
        tokio::time::sleep(std::time::Duration::from_secs(left + 1)).await;
    }
}

/// Whether any string attribute of any stored item contains `needle`.
async fn stored_anywhere(app: &TestApp, needle: &str) -> bool {
    use testkit::mentions;
    app.items().await.iter().any(|item| item.values().any(|v| mentions(v, needle)))
}

#[tokio::test]
async fn a_key_is_made_shown_once_listed_without_its_secret_and_counts_against_no_seat() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let usage_before = app.org(&org.admin).await["usage"].clone();
    let expires = shared::Timestamp::now().plus(time::Duration::days(30)).to_string();
    let made = create_key(&app, &org, json!({"name": "  CRM sync ", "scope": "write", "expiresAt": expires})).await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    let body = &made.body;
    let fields: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(fields, ["createdAt", "expiresAt", "id", "lastUsedAt", "name", "prefix", "scope", "secret"]);
    assert_eq!((body["name"].as_str(), body["scope"].as_str()), (Some("CRM sync"), Some("write")));
    assert_eq!(body["expiresAt"].as_str(), Some(expires.as_str()));
    assert_eq!(body["lastUsedAt"], Value::Null);
    let (secret, id, prefix) =
        (body["secret"].as_str().unwrap(), body["id"].as_str().unwrap(), body["prefix"].as_str().unwrap());
    // A recognizable prefix, the org and key ids, 256 random bits in hex.
    let random = secret.strip_prefix(&format!("sak_{}.{id}.", org.org_id)).expect("the secret's format");
    assert!(random.len() == 64 && random.bytes().all(|b| b.is_ascii_hexdigit()), "{secret}");
    assert!(secret.starts_with(prefix) && secret.len() - prefix.len() == 60, "{prefix}");

    // The list: no secret, no digest; who made it.
    let list = app.call(GET, "/api-keys", Some(&org.admin.token), None).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let listed = &list.body["items"][0];
    let fields: Vec<&str> = listed.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(fields, ["createdAt", "createdBy", "expiresAt", "id", "lastUsedAt", "name", "prefix", "scope"]);
    assert_eq!((listed["id"].as_str(), listed["createdBy"].as_str()), (Some(id), Some(org.admin.id())));
    assert!(!list.body.to_string().contains(random), "the list shows no secret");
    // The table holds the digest only.
    assert!(!stored_anywhere(&app, random).await, "the secret is stored");
    let digest = shared::crypto::sha256_hex(secret.as_bytes());
    assert!(stored_anywhere(&app, &digest).await, "the digest is stored");
    assert!(!list.body.to_string().contains(&digest), "the list shows no digest");

    // Keys take no seat.
    assert_eq!(app.org(&org.admin).await["usage"], usage_before);

    // Created and revoked: two audit entries by the admin, with the key as target.
    let revoked = app.call(DELETE, &format!("/api-keys/{id}"), Some(&org.admin.token), None).await;
    assert_eq!(revoked.status, 204, "{:?}", revoked.body);
    let audit = app.call(GET, &format!("/audit-log?targetId={id}"), Some(&org.admin.token), None).await;
    let entries = audit.body["items"].as_array().unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["api_key.revoked", "api_key.created"]);
    for entry in entries {
        assert_eq!(entry["actor"], json!({"type": "user", "id": org.admin.id()}));
        assert_eq!(entry["target"], json!({"type": "api_key", "id": id}));
    }
    assert_eq!(entries[1]["changes"]["scope"], json!({"from": null, "to": "write"}));
    assert!(!audit.body.to_string().contains(random));
    let list = app.call(GET, "/api-keys", Some(&org.admin.token), None).await;
    assert_eq!(list.body["items"], json!([]));
}

#[tokio::test]
async fn bad_bodies_other_roles_and_other_orgs_keys_are_refused() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let other = app.org_fixture().await;
    let past = "2020-01-01T00:00:00.000Z";
    for (body, field) in [
        (json!({"name": "", "scope": "read"}), "name"),
        (json!({"name": "x".repeat(101), "scope": "read"}), "name"),
        (json!({"name": "ok", "scope": "admin"}), "scope"),
        (json!({"name": "ok", "scope": "read", "expiresAt": past}), "expiresAt"),
        (json!({"name": "ok", "scope": "read", "expiresAt": "soon"}), "expiresAt"),
    ] {
        let r = create_key(&app, &org, body.clone()).await;
        assert_eq!((r.status, r.code()), (400, "validation_failed"), "{body}: {:?}", r.body);
        assert_eq!(r.body["errors"][0]["field"].as_str(), Some(field), "{body}");
    }
    for body in [json!({"name": "ok"}), json!({"name": "ok", "scope": "read", "secret": "mine"})] {
        let r = create_key(&app, &org, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {:?}", r.body);
    }
    for member in [&org.staff, &org.client] {
        let made = app.call(POST, "/api-keys", Some(&member.token), Some(json!({"name": "x", "scope": "read"}))).await;
        assert_eq!((made.status, made.code()), (403, "forbidden"));
        assert_eq!(app.call(GET, "/api-keys", Some(&member.token), None).await.status, 403);
    }
    let (_, id) = new_key(&app, &org, "read").await;
    // Another organization's admin cannot see or revoke it: 404, as for no key at all.
    for path in [format!("/api-keys/{id}"), "/api-keys/key_01jnone0000000000000000000".into(), "/api-keys/x.y".into()] {
        let r = app.call(DELETE, &path, Some(&other.admin.token), None).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{path}");
    }
    assert!(app.call(GET, "/api-keys", Some(&other.admin.token), None).await.body["items"] == json!([]));
    assert_eq!(app.call(GET, "/api-keys", Some(&org.admin.token), None).await.body["items"][0]["id"], json!(id));
    let again = app.call(DELETE, &format!("/api-keys/{id}"), Some(&org.admin.token), None).await;
    assert_eq!(again.status, 204);
    let twice = app.call(DELETE, &format!("/api-keys/{id}"), Some(&org.admin.token), None).await;
    assert_eq!(twice.status, 404, "a revoked key is gone");
}

#[tokio::test]
async fn a_read_key_calls_every_read_route_and_a_write_key_also_changes_customers() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let (read, _) = new_key(&app, &org, "read").await;
    let (write, write_id) = new_key(&app, &org, "write").await;
    let customer = app.call(POST, "/customers", Some(&org.admin.token), Some(json!({"name": "Keyed"}))).await;
    let customer = customer.body["id"].as_str().unwrap().to_owned();
    let (staff, client) = (org.staff.id(), org.client.id());
    let reads = [
        "/org".to_owned(),
        "/users".into(),
        format!("/users/{client}"),
        "/invitations".into(),
        "/customers".into(),
        format!("/customers/{customer}"),
        format!("/customers/{customer}/staff"),
        format!("/users/{staff}/customers"),
        "/billing".into(),
    ];
    for key in [&read, &write] {
        for path in &reads {
            let r = app.call(GET, path, Some(key), None).await;
            assert_eq!(r.status, 200, "{path}: {:?}", r.body);
        }
    }
    // `/me` of a key: the key and its organization.
    let me = app.call(GET, "/me", Some(&read), None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["apiKey"]["scope"], "read");
    assert_eq!(me.body["apiKey"]["name"], "read key");
    assert_eq!(me.body["organization"]["id"].as_str(), Some(org.org_id.as_str()));
    assert_eq!(me.body.as_object().unwrap().len(), 2, "{:?}", me.body);

    // The changes a write key may make, and a read key may not.
    let writes = [
        (POST, "/customers".to_owned(), Some(json!({"name": "By key"}))),
        (PATCH, format!("/customers/{customer}"), Some(json!({"notes": "by key"}))),
        (PUT, format!("/customers/{customer}/staff/{staff}"), None),
        (DELETE, format!("/customers/{customer}/staff/{staff}"), None),
    ];
    for (method, path, body) in &writes {
        let refused = app.call(method.clone(), path, Some(&read), body.clone()).await;
        assert_eq!((refused.status, refused.code()), (403, "forbidden"), "{method} {path}");
        let done = app.call(method.clone(), path, Some(&write), body.clone()).await;
        assert!(done.status < 300, "{method} {path}: {:?}", done.body);
    }
    let made = app.call(POST, "/customers", Some(&write), Some(json!({"name": "Gone soon"}))).await;
    let gone = format!("/customers/{}", made.body["id"].as_str().unwrap());
    assert_eq!(app.call(DELETE, &gone, Some(&read), None).await.status, 403);
    assert_eq!(app.call(DELETE, &gone, Some(&write), None).await.status, 204);

    // What only a person may do: 403 for either key.
    let person_only = [
        (GET, "/audit-log".to_owned(), None),
        (GET, "/org/export".into(), None),
        (GET, "/api-keys".into(), None),
        (POST, "/api-keys".into(), Some(json!({"name": "child", "scope": "write"}))),
        (DELETE, format!("/api-keys/{write_id}"), None),
        (PATCH, "/org".into(), Some(json!({"name": "Renamed by a key"}))),
        (DELETE, "/org".into(), Some(json!({"confirmName": "x"}))),
        (POST, "/orgs".into(), Some(json!({"name": "Made by a key"}))),
        (POST, "/invitations".into(), Some(json!({"email": "k@test.example", "role": "staff"}))),
        (PATCH, format!("/users/{staff}"), Some(json!({"role": "admin"}))),
        (DELETE, format!("/users/{staff}"), None),
        (POST, "/live/tickets".into(), None),
        (POST, "/billing/checkout".into(), Some(json!({"variantId": "500001"}))),
        (POST, "/org/portal-link".into(), Some(json!({"intent": "sso"}))),
    ];
    for key in [&read, &write] {
        for (method, path, body) in &person_only {
            let r = app.call(method.clone(), path, Some(key), body.clone()).await;
            assert_eq!((r.status, r.code()), (403, "forbidden"), "{method} {path}: {:?}", r.body);
        }
    }
    assert_eq!(
        app.call(GET, "/api-keys", Some(&org.admin.token), None).await.body["items"].as_array().unwrap().len(),
        2
    );
}

#[tokio::test]
async fn changes_made_with_a_key_name_the_key_as_actor() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let (write, id) = new_key(&app, &org, "write").await;
    let made = app.call(POST, "/customers", Some(&write), Some(json!({"name": "Keyed Co"}))).await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    let customer = made.body["id"].as_str().unwrap();
    let audit = app.call(GET, &format!("/audit-log?actorId={id}"), Some(&org.admin.token), None).await;
    let entries = audit.body["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{:?}", audit.body);
    assert_eq!(entries[0]["actor"], json!({"type": "api_key", "id": id}));
    assert_eq!(entries[0]["action"], "customer.created");
    assert_eq!(entries[0]["target"]["id"].as_str(), Some(customer));
}

#[tokio::test]
async fn revoked_expired_edited_forged_and_unknown_keys_are_401_at_once() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let other = app.org_fixture().await;
    let (secret, id) = new_key(&app, &org, "read").await;
    let unauthenticated = |r: &TestResponse, what: &str| {
        assert_eq!((r.status, r.code()), (401, "unauthenticated"), "{what}: {:?}", r.body);
        assert!(r.headers.contains_key("www-authenticate"), "{what}");
    };
    assert_eq!(app.call(GET, "/customers", Some(&secret), None).await.status, 200);

    // An edited secret: one hex digit changed, or cut short, or longer.
    let last = secret.chars().last().unwrap();
    let edited = format!("{}{}", &secret[..secret.len() - 1], if last == '0' { '1' } else { '0' });
    unauthenticated(&app.call(GET, "/customers", Some(&edited), None).await, "an edited secret");
    unauthenticated(&app.call(GET, "/customers", Some(&secret[..secret.len() - 1]), None).await, "cut short");
    unauthenticated(&app.call(GET, "/customers", Some(&format!("{secret}0")), None).await, "longer");
    // This key's id under another organization, with its random part or a forged one.
    let random = secret.rsplit('.').next().unwrap();
    for forged in [
        format!("sak_{}.{id}.{random}", other.org_id),
        format!("sak_{}.{id}.{}", org.org_id, "ab".repeat(32)),
        format!("sak_{}.key_01jnone0000000000000000000.{random}", org.org_id),
        "sak_".to_owned(),
        format!("sak_{}", "x".repeat(5000)),
    ] {
        unauthenticated(&app.call(GET, "/customers", Some(&forged), None).await, &forged);
    }

    // Revoked: refused on the very next request.
    let revoked = app.call(DELETE, &format!("/api-keys/{id}"), Some(&org.admin.token), None).await;
    assert_eq!(revoked.status, 204);
    unauthenticated(&app.call(GET, "/customers", Some(&secret), None).await, "revoked");
    unauthenticated(&app.call(GET, "/me", Some(&secret), None).await, "revoked, on /me");
    // Also where no key may go: who it is comes before what it may do.
    let orgs = app.call(POST, "/orgs", Some(&secret), Some(json!({"name": "Revoked Co"}))).await;
    unauthenticated(&orgs, "revoked, on POST /orgs");

    // Expired: good until its time, refused from then on (and still listed, with its expiry).
    let soon = shared::Timestamp::now().plus(time::Duration::seconds(3));
    let made = create_key(&app, &org, json!({"name": "brief", "scope": "read", "expiresAt": soon.to_string()})).await;
    let brief = made.body["secret"].as_str().unwrap().to_owned();
    assert_eq!(app.call(GET, "/customers", Some(&brief), None).await.status, 200);
    let wait = soon.unix_millis() - shared::Timestamp::now().unix_millis() + 100;
    tokio::time::sleep(std::time::Duration::from_millis(wait.max(0) as u64)).await;
    unauthenticated(&app.call(GET, "/customers", Some(&brief), None).await, "expired");
    let listed = app.call(GET, "/api-keys", Some(&org.admin.token), None).await;
    assert_eq!(listed.body["items"][0]["expiresAt"].as_str(), Some(soon.to_string().as_str()));
}

#[tokio::test]
async fn the_budget_holds_exactly_under_50_concurrent_requests() {
    let dynamodb = testkit::FaultProxy::start(&testkit::env("AWS_ENDPOINT_URL_DYNAMODB")).await;
    let budget = [("API_KEY_REQUESTS_PER_MINUTE", "20")];
    let app = TestApp::with_dynamodb(testkit::dynamodb_client_at(&dynamodb.url), &budget).await;
    let org = app.org_fixture().await;
    let (secret, _) = new_key(&app, &org, "read").await;
    let (other, _) = new_key(&app, &org, "read").await;
    at_least_left_in_minute(15).await;
    let answers = futures::future::join_all((0..50).map(|_| app.call(GET, "/customers", Some(&secret), None))).await;
    let ok = answers.iter().filter(|r| r.status == 200).count();
    let limited: Vec<&TestResponse> = answers.iter().filter(|r| r.status == 429).collect();
    assert_eq!((ok, limited.len()), (20, 30), "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    for r in &limited {
        assert_eq!(r.code(), "rate_limited");
        let after: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&after), "{after}");
    }
    // Spent, the key is answered from the function's memory for the rest of the minute: no
    // more writes (a refused conditional write is billed too).
    let writes = dynamodb.count_action("UpdateItem");
    for _ in 0..5 {
        assert_eq!(app.call(GET, "/customers", Some(&secret), None).await.status, 429);
    }
    assert_eq!(dynamodb.count_action("UpdateItem"), writes, "a spent key's requests write nothing");
    // Each key has a budget of its own, and members none.
    assert_eq!(app.call(GET, "/customers", Some(&other), None).await.status, 200);
    assert_eq!(app.call(GET, "/customers", Some(&org.admin.token), None).await.status, 200);
    // The next minute brings a new budget.
    let left = Window::of(shared::Timestamp::now()).seconds_left;
    tokio::time::sleep(std::time::Duration::from_secs(left + 1)).await;
    assert_eq!(app.call(GET, "/customers", Some(&secret), None).await.status, 200);
}

#[tokio::test]
async fn last_used_at_is_kept_to_the_minute_and_written_at_most_once_a_minute() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let (secret, id) = new_key(&app, &org, "read").await;
    let stored_last_use = || last_use_stored(&app, &org.org_id, &id);
    at_least_left_in_minute(15).await;
    let answers = futures::future::join_all((0..10).map(|_| app.call(GET, "/org", Some(&secret), None))).await;
    assert!(answers.iter().all(|r| r.status == 200));
    let minute = Window::of(shared::Timestamp::now()).start();
    assert_eq!(stored_last_use().await, Some(minute));
    let listed = app.call(GET, "/api-keys", Some(&org.admin.token), None).await;
    assert_eq!(listed.body["items"][0]["lastUsedAt"].as_str(), Some(minute.to_string().as_str()));

    // A mark within this minute but not its start: a write would put the start back.
    let mark = minute.plus(time::Duration::milliseconds(1));
    set_last_use(&app, &org.org_id, &id, mark).await;
    for _ in 0..5 {
        assert_eq!(app.call(GET, "/customers", Some(&secret), None).await.status, 200);
    }
    assert_eq!(stored_last_use().await, Some(mark), "no write within the minute");
    // Last used in an earlier minute: the next request writes this one.
    set_last_use(&app, &org.org_id, &id, minute.minus(time::Duration::seconds(59))).await;
    assert_eq!(app.call(GET, "/customers", Some(&secret), None).await.status, 200);
    assert_eq!(stored_last_use().await, Some(minute));
}

/// The key item's `lastUsedAt`, as stored.
async fn last_use_stored(app: &TestApp, org_id: &str, key_id: &str) -> Option<shared::Timestamp> {
    let item = app
        .dynamodb
        .get_item()
        .table_name(&app.table)
        .key("PK", AttributeValue::S(format!("ORG#{org_id}")))
        .key("SK", AttributeValue::S(format!("APIKEY#{key_id}")))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .expect("the key item");
    item.get("lastUsedAt").and_then(|v| v.as_s().ok()).and_then(|text| shared::Timestamp::parse(text))
}

async fn set_last_use(app: &TestApp, org_id: &str, key_id: &str, at: shared::Timestamp) {
    app.dynamodb
        .update_item()
        .table_name(&app.table)
        .key("PK", AttributeValue::S(format!("ORG#{org_id}")))
        .key("SK", AttributeValue::S(format!("APIKEY#{key_id}")))
        .update_expression("SET lastUsedAt = :at")
        .expression_attribute_values(":at", AttributeValue::S(at.to_string()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn the_export_lists_keys_without_their_secret() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let (secret, id) = new_key(&app, &org, "write").await;
    let export = app.call(GET, "/org/export", Some(&org.admin.token), None).await;
    assert_eq!(export.status, 200);
    let keys: Vec<&Value> =
        export.body["items"].as_array().unwrap().iter().filter(|r| r["type"] == "api_key").collect();
    assert_eq!(keys.len(), 1);
    let listed = app.call(GET, "/api-keys", Some(&org.admin.token), None).await;
    assert_eq!(keys[0]["data"], listed.body["items"][0], "the export shows a key as the list does");
    assert_eq!(keys[0]["data"]["id"].as_str(), Some(id.as_str()));
    let text = export.body.to_string();
    assert!(!text.contains(&secret[secret.len() - 60..]));
    assert!(!text.contains(&shared::crypto::sha256_hex(secret.as_bytes())));
}

#[tokio::test]
async fn an_admin_whose_first_request_is_a_key_route_is_provisioned_on_it() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let (_, id) = new_key(&app, &org, "read").await;
    for (method, path, body, status) in [
        (GET, "/api-keys".to_owned(), None, 200),
        (POST, "/api-keys".to_owned(), Some(json!({"name": "first", "scope": "read"})), 201),
        (DELETE, format!("/api-keys/{id}"), None, 204),
    ] {
        let late = app.new_member(&org.org_id, "admin").await;
        let r = app.call(method.clone(), &path, Some(&late.token), body).await;
        assert_eq!(r.status, status, "{method} {path}: {:?}", r.body);
    }
    app.assert_counts_match(&org.org_id, "admins provisioned by the key routes").await;
}

#[tokio::test]
async fn a_failed_last_use_write_does_not_fail_the_request() {
    let dynamodb = testkit::FaultProxy::start(&testkit::env("AWS_ENDPOINT_URL_DYNAMODB")).await;
    let app = TestApp::with_dynamodb(testkit::dynamodb_client_at(&dynamodb.url), &[]).await;
    let org = app.org_fixture().await;
    let (secret, id) = new_key(&app, &org, "read").await;
    at_least_left_in_minute(10).await;
    // The request's UpdateItems: the count, then `lastUsedAt`, which fails every attempt.
    dynamodb.fail_action("UpdateItem", 1, testkit::Fault::Status(500), 10);
    let answer = app.call(GET, "/customers", Some(&secret), None).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(last_use_stored(&app, &org.org_id, &id).await, None, "the write failed");
    dynamodb.clear();
    assert_eq!(app.call(GET, "/customers", Some(&secret), None).await.status, 200);
    let minute = Window::of(shared::Timestamp::now()).start();
    assert_eq!(last_use_stored(&app, &org.org_id, &id).await, Some(minute), "the next request writes it");
}
