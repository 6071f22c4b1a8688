//! `GET /org/export` (issue 14): everything the organization owns, as typed records, in pages
//! under 1 MiB, and nothing of any other organization.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use testkit::lemonsqueezy::{LemonSqueezyStub, fixture_for};
use testkit::proxy::FaultProxy;
use testkit::{GET, Member, POST, PUT, TestApp, env};

/// Every record `admin` gets by following the cursors, and the size of each page's body.
async fn export(app: &TestApp, admin: &Member) -> (Vec<Value>, Vec<usize>) {
    let (mut records, mut sizes) = (Vec::new(), Vec::new());
    let mut path = "/org/export".to_owned();
    loop {
        let page = app.call(GET, &path, Some(&admin.token), None).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        sizes.push(page.body.to_string().len());
        records.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["nextCursor"].as_str() {
            Some(cursor) => path = format!("/org/export?cursor={cursor}"),
            None => return (records, sizes),
        }
    }
}

fn count_by_type(records: &[Value]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for record in records {
        *counts.entry(record["type"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn the_export_holds_everything_of_the_org_in_pages_under_a_mebibyte_and_nothing_else() {
    let stub = LemonSqueezyStub::start().await;
    let app =
        TestApp::with_lemonsqueezy(&env("WORKOS_API_URL"), &stub, &[("LEMONSQUEEZY_ALLOW_TEST_MODE", "true")]).await;
    let org = app.org_fixture().await;
    let other = app.org_fixture().await;
    let admin = &org.admin;
    let notes = "n".repeat(4000);
    let mut customers = Vec::new();
    for i in 0..90 {
        let body = json!({"name": format!("Customer {i:03}"), "notes": notes});
        let created = app.call(POST, "/customers", Some(&admin.token), Some(body)).await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        customers.push(created.body["id"].as_str().unwrap().to_owned());
    }
    let assigned = format!("/customers/{}/staff/{}", customers[0], org.staff.id());
    assert_eq!(app.call(PUT, &assigned, Some(&admin.token), None).await.status, 201);
    let invite = json!({"email": format!("export-{}@test.example", ulid::Ulid::new()), "role": "staff"});
    assert_eq!(app.call(POST, "/invitations", Some(&admin.token), Some(invite)).await.status, 201);
    assert_eq!(app.signed_webhook(&fixture_for("subscription_created", &org.org_id)).await.status, 200);
    let in_other = app.call(POST, "/customers", Some(&other.admin.token), Some(json!({"name": "Other"}))).await;
    let other_customer = in_other.body["id"].as_str().unwrap().to_owned();

    let (records, sizes) = export(&app, admin).await;
    assert!(sizes.len() >= 2, "90 customers of 4 KB notes take more than one page: {sizes:?}");
    assert!(sizes.iter().all(|&size| size < 1024 * 1024), "{sizes:?}");
    let counts = count_by_type(&records);
    assert_eq!(counts["org"], 1);
    assert_eq!(counts["billing"], 1);
    assert_eq!(counts["member"], 3);
    assert_eq!(counts["customer"], 90);
    assert_eq!(counts["assignment"], 1);
    assert_eq!(counts["invitation"], 1);
    // The audit log too: the org and its three members arriving, 90 customers, the assignment,
    // the invitation and the subscription.
    assert_eq!(counts["audit"], 2 + 2 + 90 + 1 + 1 + 1, "{counts:?}");
    assert_eq!(counts.len(), 7, "no other kind of record: {counts:?}");
    // Each record in the shape its route shows an admin (issue 20, item 5): valid against the
    // document's schema of its type, and equal to what the route answers.
    testkit::assert_valid("ExportRecord", &records);
    let of = |kind: &str, id: &str| {
        let found = records.iter().find(|r| r["type"] == kind && (id.is_empty() || r["data"]["id"] == id));
        found.unwrap_or_else(|| panic!("a {kind} record {id}"))["data"].clone()
    };
    let route = |path: String| {
        let app = &app;
        async move { app.call(GET, &path, Some(&admin.token), None).await.body }
    };
    assert_eq!(of("member", org.staff.id()), route(format!("/users/{}", org.staff.id())).await);
    assert_eq!(of("customer", &customers[1]), route(format!("/customers/{}", customers[1])).await);
    let mut shown_org = route("/org".into()).await;
    let mut exported_org = of("org", &org.org_id);
    for org in [&mut shown_org, &mut exported_org] {
        org.as_object_mut().unwrap().remove("updatedAt");
    }
    assert_eq!(exported_org, shown_org);
    let mut billing = route("/billing".into()).await;
    assert_eq!(billing["subscriptionId"], "600001");
    billing["customerPortalUrl"] = Value::Null;
    assert_eq!(of("billing", ""), billing, "the billing view, without its portal link");
    let assignment = of("assignment", "");
    assert_eq!((&assignment["customerId"], &assignment["userId"]), (&json!(customers[0]), &json!(org.staff.id())));
    let text = serde_json::to_string(&records).unwrap();
    for foreign in [&other.org_id, &other_customer, &other.admin.user.id] {
        assert!(!text.contains(foreign.as_str()), "the export holds {foreign} of another organization");
    }
    // No key, no secret: the stored keys and bookkeeping stay out.
    for record in &records {
        for internal in ["PK", "SK", "GSI1PK", "GSI1SK", "revision", "deleting", "userId", "entity", "orgId"] {
            if record["type"] == "assignment" && internal == "userId" {
                continue;
            }
            assert!(record["data"].get(internal).is_none(), "{internal} in {record}");
        }
    }

    let refused = app.call(GET, "/org/export", Some(&org.staff.token), None).await;
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));
    let edited = app.call(GET, "/org/export?cursor=abc.def", Some(&admin.token), None).await;
    assert_eq!((edited.status, edited.code()), (400, "invalid_cursor"));
}

/// Issue 20, item 6: a request reads a bounded part of the table however many internal items
/// (which make no record) stand between the records: a page may be short, even empty, and still
/// carry a cursor, and following the cursors ends with everything.
#[tokio::test]
async fn each_export_request_makes_a_bounded_number_of_queries_and_the_export_completes() {
    let dynamodb = FaultProxy::start(&env("AWS_ENDPOINT_URL_DYNAMODB")).await;
    let app = TestApp::with_dynamodb(testkit::dynamodb_client_at(&dynamodb.url), &[]).await;
    let org = app.org_fixture().await;
    for name in ["Aaron", "Zoe"] {
        let created = app.call(POST, "/customers", Some(&org.admin.token), Some(json!({"name": name}))).await;
        assert_eq!(created.status, 201);
    }
    // 20,000 subscription items of the organization: internal, summed up by its billing record.
    let internal = (0..20_000)
        .map(|i| {
            serde_dynamo::to_item(json!({"PK": format!("ORG#{}", org.org_id), "SK": format!("SUB#{i:06}"),
                "entity": "subscription", "subscriptionId": format!("{i:06}")}))
            .unwrap()
        })
        .collect();
    app.put_items(internal).await;

    let (mut records, mut requests) = (Vec::new(), 0);
    let mut path = "/org/export".to_owned();
    loop {
        let before = dynamodb.count_action("Query");
        let page = app.call(GET, &path, Some(&org.admin.token), None).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        let queries = dynamodb.count_action("Query") - before;
        assert!(queries <= 20, "request {requests} made {queries} Query calls");
        requests += 1;
        records.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["nextCursor"].as_str() {
            Some(cursor) => path = format!("/org/export?cursor={cursor}"),
            None => break,
        }
        assert!(requests < 100, "the export ends");
    }
    assert!(requests > 1, "20,000 items take more than one request's reads");
    let counts = count_by_type(&records);
    assert_eq!((counts["org"], counts["customer"], counts["member"]), (1, 2, 3), "{counts:?}");
    testkit::assert_valid("ExportRecord", &records);
}
