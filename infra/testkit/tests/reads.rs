//! Issue 21, item 5: how many DynamoDB reads each route makes, counted at a proxy in front of
//! DynamoDB Local. A warm caller's request reads its membership and organization in one
//! BatchGetItem (with the route's own items along); the counts here are the figures in the issue's
//! note, so a change that adds a read to a route fails here and has to say why.

use serde_json::json;
use testkit::lemonsqueezy::{LemonSqueezyStub, fixture_for};
use testkit::proxy::FaultProxy;
use testkit::{DELETE, GET, PATCH, POST, TestApp, env};

const READS: [&str; 5] = ["GetItem", "BatchGetItem", "TransactGetItems", "Query", "Scan"];

/// The read calls (by action, only those made) that `call` made through `dynamodb`.
async fn reads<F: std::future::Future<Output = testkit::TestResponse>>(
    dynamodb: &FaultProxy,
    call: F,
) -> (u16, Vec<(&'static str, usize)>) {
    let before: Vec<usize> = READS.iter().map(|a| dynamodb.count_action(a)).collect();
    let response = call.await;
    let made = READS
        .iter()
        .zip(before)
        .map(|(action, before)| (*action, dynamodb.count_action(action) - before))
        .filter(|(_, count)| *count > 0)
        .collect();
    (response.status, made)
}

#[tokio::test]
async fn each_route_makes_the_reads_the_note_lists() {
    let dynamodb = FaultProxy::start(&env("AWS_ENDPOINT_URL_DYNAMODB")).await;
    let stub = LemonSqueezyStub::start().await;
    let mut extra = stub.env();
    extra.push(("LEMONSQUEEZY_ALLOW_TEST_MODE", "true"));
    let app = TestApp::with_dynamodb(testkit::dynamodb_client_at(&dynamodb.url), &extra).await;
    let org = app.org_fixture().await;
    let admin = org.admin.token.as_str();
    let created = app.call(POST, "/customers", Some(admin), Some(json!({"name": "Acme"}))).await;
    let customer = created.body["id"].as_str().unwrap().to_owned();
    // Every member has made a request: what follows is a warm caller's.
    for member in [&org.admin, &org.staff, &org.client] {
        assert_eq!(app.call(GET, "/me", Some(&member.token), None).await.status, 200);
    }

    let customer_path = format!("/customers/{customer}");
    let event = fixture_for("subscription_created", &org.org_id);
    let mut measured = Vec::new();
    let (client, patch) = (org.client.token.as_str(), json!({"name": "Acme 2"}));
    // GET /me also reads the caller's profile.
    measured.push(("GET /me", reads(&dynamodb, app.call(GET, "/me", Some(admin), None)).await));
    measured.push(("GET /org", reads(&dynamodb, app.call(GET, "/org", Some(admin), None)).await));
    measured.push(("GET /customers", reads(&dynamodb, app.call(GET, "/customers", Some(admin), None)).await));
    // The customer is read with the membership.
    measured.push(("GET /customers/{id}", reads(&dynamodb, app.call(GET, &customer_path, Some(admin), None)).await));
    // Another customer than the client's: refused from the same one read.
    measured.push((
        "GET /customers/{id}, client",
        reads(&dynamodb, app.call(GET, &customer_path, Some(client), None)).await,
    ));
    let renamed = app.call(PATCH, &customer_path, Some(admin), Some(patch));
    measured.push(("PATCH /customers/{id}", reads(&dynamodb, renamed).await));
    // A tagged Lemon Squeezy event of a live organization: the subscription's owner and the
    // event's record, then the organization with its subscription in one snapshot.
    measured.push(("POST /webhooks/lemonsqueezy", reads(&dynamodb, app.signed_webhook(&event)).await));
    // An organization without a subscription is deleted; the retry's only read is the caller's.
    let other = app.org_fixture().await;
    let other_admin = other.admin.token.as_str();
    assert_eq!(app.call(GET, "/me", Some(other_admin), None).await.status, 200);
    let name = app.org(&other.admin).await["name"].as_str().unwrap().to_owned();
    let body = json!({"confirmName": name});
    let delete = app.call(DELETE, "/org", Some(other_admin), Some(body.clone()));
    measured.push(("DELETE /org", reads(&dynamodb, delete).await));
    let retry = app.call(DELETE, "/org", Some(other_admin), Some(body));
    measured.push(("DELETE /org, retried", reads(&dynamodb, retry).await));
    let table: Vec<String> =
        measured.iter().map(|(route, (status, made))| format!("{route}: {status} {made:?}")).collect();
    println!("{}", table.join("\n"));
    let expected = [
        r#"GET /me: 200 [("GetItem", 1), ("BatchGetItem", 1)]"#,
        r#"GET /org: 200 [("BatchGetItem", 1)]"#,
        r#"GET /customers: 200 [("BatchGetItem", 1), ("Query", 1)]"#,
        r#"GET /customers/{id}: 200 [("BatchGetItem", 1)]"#,
        r#"GET /customers/{id}, client: 404 [("BatchGetItem", 1)]"#,
        // The Query: the customer's assignments, which carry its name order.
        r#"PATCH /customers/{id}: 200 [("BatchGetItem", 1), ("Query", 1)]"#,
        r#"POST /webhooks/lemonsqueezy: 200 [("GetItem", 2), ("TransactGetItems", 1)]"#,
        // The Queries: the partitions the deletion empties (the org's, its events', its numbered
        // changes', its API keys' counters' and its audit months'); the GetItem: the tombstone.
        r#"DELETE /org: 202 [("GetItem", 1), ("BatchGetItem", 1), ("Query", 7)]"#,
        r#"DELETE /org, retried: 200 [("GetItem", 1), ("BatchGetItem", 1)]"#,
    ];
    assert_eq!(table, expected);
}
