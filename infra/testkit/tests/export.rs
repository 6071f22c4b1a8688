//! `GET /org/export` (issue 14): everything the organization owns, as typed records, in pages
//! under 1 MiB, and nothing of any other organization.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use testkit::lemonsqueezy::{LemonSqueezyStub, fixture_for};
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
    let billing = records.iter().find(|r| r["type"] == "billing").unwrap();
    assert_eq!(billing["data"]["subscriptions"].as_object().unwrap().len(), 1);
    let text = serde_json::to_string(&records).unwrap();
    for foreign in [&other.org_id, &other_customer, &other.admin.user.id] {
        assert!(!text.contains(foreign.as_str()), "the export holds {foreign} of another organization");
    }
    // No key, no secret: the stored keys and bookkeeping stay out.
    for record in &records {
        for internal in ["PK", "SK", "GSI1PK", "GSI1SK", "revision"] {
            assert!(record["data"].get(internal).is_none(), "{internal} in {record}");
        }
    }

    let refused = app.call(GET, "/org/export", Some(&org.staff.token), None).await;
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));
    let edited = app.call(GET, "/org/export?cursor=abc.def", Some(&admin.token), None).await;
    assert_eq!((edited.status, edited.code()), (400, "invalid_cursor"));
}
