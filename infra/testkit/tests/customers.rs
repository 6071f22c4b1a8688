//! Customers and staff assignments (issue: customers), against DynamoDB Local and the emulator.

use serde_json::{Value, json};
use testkit::{DELETE, GET, Member, OrgFixture, PATCH, POST, PUT, TestApp, env};

async fn list(app: &TestApp, member: &Member) -> testkit::TestResponse {
    app.call(GET, "/customers", Some(&member.token), None).await
}

fn ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page: {body}"))
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn create_customer(app: &TestApp, admin: &Member, name: &str) -> String {
    let response = app.call(POST, "/customers", Some(&admin.token), Some(json!({"name": name}))).await;
    assert_eq!(response.status, 201, "{:?}", response.body);
    response.body["id"].as_str().unwrap().to_owned()
}

async fn assign(app: &TestApp, admin: &Member, customer: &str, staff: &Member) {
    let response =
        app.call(PUT, &format!("/customers/{customer}/staff/{}", staff.id()), Some(&admin.token), None).await;
    assert!([200, 201].contains(&response.status), "{:?}", response.body);
}

/// Makes `client` a client of `customer`.
async fn attach(app: &TestApp, admin: &Member, client: &Member, customer: &str) {
    let response = app
        .call(PATCH, &format!("/users/{}", client.id()), Some(&admin.token), Some(json!({"customerId": customer})))
        .await;
    assert_eq!(response.status, 200, "{:?}", response.body);
}

/// Every page of a list, walked with `limit`.
async fn walk(app: &TestApp, path: &str, token: &str, limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
            None => format!("{path}{sep}limit={limit}"),
        };
        let page = app.call(GET, &url, Some(token), None).await;
        assert_eq!(page.status, 200, "{url}: {:?}", page.body);
        assert!(ids(&page.body).len() <= limit);
        seen.extend(ids(&page.body));
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return seen,
        }
    }
}

struct World {
    org: OrgFixture,
    unassigned: Member,
    other_client: Member,
    other_org: OrgFixture,
    customer: String,
    other_customer: String,
}

async fn world(app: &TestApp) -> World {
    let org = app.org_fixture().await;
    let other_org = app.org_fixture().await;
    let unassigned = app.new_member(&org.org_id, "staff").await;
    let other_client = app.new_member(&org.org_id, "client").await;
    for member in [&unassigned, &other_client] {
        assert_eq!(app.call(GET, "/me", Some(&member.token), None).await.status, 200);
    }
    let customer = create_customer(app, &org.admin, "Acme Widgets").await;
    let other_customer = create_customer(app, &org.admin, "Bolt Supplies").await;
    assign(app, &org.admin, &customer, &org.staff).await;
    attach(app, &org.admin, &org.client, &customer).await;
    attach(app, &org.admin, &other_client, &other_customer).await;
    World { org, unassigned, other_client, other_org, customer, other_customer }
}

#[tokio::test]
async fn access_matrix() {
    let app = TestApp::new().await;
    let w = world(&app).await;
    let c = &w.customer;
    let callers: [(&str, &Member); 6] = [
        ("admin", &w.org.admin),
        ("assigned staff", &w.org.staff),
        ("unassigned staff", &w.unassigned),
        ("its client", &w.org.client),
        ("another customer's client", &w.other_client),
        ("another org's admin", &w.other_org.admin),
    ];
    // list, create, get, patch, delete, staff list, assign (again), unassign (not assigned), user's customers
    let expected: [[u16; 9]; 6] = [
        [200, 201, 200, 200, 409, 200, 200, 404, 200],
        [200, 403, 200, 200, 403, 200, 403, 403, 200],
        [200, 403, 404, 404, 403, 404, 403, 403, 403],
        [200, 403, 200, 403, 403, 403, 403, 403, 403],
        [200, 403, 404, 404, 403, 404, 403, 403, 403],
        [200, 201, 404, 404, 404, 404, 404, 404, 404],
    ];
    for ((name, caller), expected) in callers.into_iter().zip(expected) {
        let token = Some(caller.token.as_str());
        let staff = w.org.staff.id();
        let calls = [
            ("GET /customers", app.call(GET, "/customers", token, None).await),
            (
                "POST /customers",
                app.call(POST, "/customers", token, Some(json!({"name": format!("New by {name}")}))).await,
            ),
            ("GET /customers/c", app.call(GET, &format!("/customers/{c}"), token, None).await),
            (
                "PATCH /customers/c",
                app.call(PATCH, &format!("/customers/{c}"), token, Some(json!({"notes": name}))).await,
            ),
            ("DELETE /customers/c", app.call(DELETE, &format!("/customers/{c}"), token, None).await),
            ("GET /customers/c/staff", app.call(GET, &format!("/customers/{c}/staff"), token, None).await),
            ("PUT /customers/c/staff/s", app.call(PUT, &format!("/customers/{c}/staff/{staff}"), token, None).await),
            (
                "DELETE /customers/c/staff/u",
                app.call(DELETE, &format!("/customers/{c}/staff/{}", w.unassigned.id()), token, None).await,
            ),
            ("GET /users/s/customers", app.call(GET, &format!("/users/{staff}/customers"), token, None).await),
        ];
        for ((what, response), status) in calls.into_iter().zip(expected) {
            assert_eq!(response.status, status, "{name} {what}: {:?}", response.body);
        }
    }

    // What the lists hold for each.
    let admin_list = ids(&list(&app, &w.org.admin).await.body);
    assert!(admin_list.contains(c) && admin_list.contains(&w.other_customer));
    assert_eq!(ids(&list(&app, &w.org.staff).await.body), vec![c.clone()]);
    assert!(ids(&list(&app, &w.unassigned).await.body).is_empty());
    assert_eq!(ids(&list(&app, &w.org.client).await.body), vec![c.clone()]);
    assert_eq!(ids(&list(&app, &w.other_client).await.body), vec![w.other_customer.clone()]);
    assert!(!ids(&list(&app, &w.other_org.admin).await.body).contains(c));
    let staff_list = app.call(GET, &format!("/customers/{c}/staff"), Some(&w.org.admin.token), None).await;
    assert_eq!(ids(&staff_list.body), vec![w.org.staff.id().to_owned()]);
    let client_get = app.call(GET, &format!("/customers/{c}"), Some(&w.org.client.token), None).await;
    assert_eq!(client_get.body["name"], "Acme Widgets");
    for field in ["id", "name", "email", "phone", "notes", "createdAt", "updatedAt", "createdBy"] {
        assert!(client_get.body.get(field).is_some(), "{field}");
    }
}

#[tokio::test]
async fn staff_and_clients_see_exactly_their_customers_on_every_page() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let names =
        ["delta", "Alpha", "echo", "Bravo", "charlie", "Foxtrot", "golf", "Hotel", "india", "Juliet", "kilo", "Lima"];
    let mut by_name = Vec::new();
    for name in names {
        by_name.push((name.to_lowercase(), create_customer(&app, &org.admin, name).await));
    }
    by_name.sort();
    let all: Vec<String> = by_name.iter().map(|(_, id)| id.clone()).collect();
    let assigned: Vec<String> = [1usize, 6, 10].iter().map(|i| all[*i].clone()).collect();
    for id in &assigned {
        assign(&app, &org.admin, id, &org.staff).await;
    }
    attach(&app, &org.admin, &org.client, &all[4]).await;
    for limit in 1..=5 {
        assert_eq!(walk(&app, "/customers", &org.staff.token, limit).await, assigned, "staff, limit {limit}");
        assert_eq!(
            walk(&app, &format!("/users/{}/customers", org.staff.id()), &org.admin.token, limit).await,
            assigned
        );
        assert_eq!(
            walk(&app, "/customers", &org.client.token, limit).await,
            vec![all[4].clone()],
            "client, limit {limit}"
        );
        assert_eq!(walk(&app, "/customers", &org.admin.token, limit).await, all, "admin, limit {limit}: by name");
    }
    // A renamed customer moves in every list's order.
    let renamed = app
        .call(PATCH, &format!("/customers/{}", assigned[2]), Some(&org.admin.token), Some(json!({"name": "aardvark"})))
        .await;
    assert_eq!(renamed.status, 200);
    let staff_view = walk(&app, "/customers", &org.staff.token, 2).await;
    assert_eq!(staff_view, vec![assigned[2].clone(), assigned[0].clone(), assigned[1].clone()]);
    assert_eq!(walk(&app, "/customers", &org.admin.token, 5).await[0], assigned[2]);

    let cursor = app.call(GET, "/customers?limit=1", Some(&org.admin.token), None).await.body["nextCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let foreign = app.call(GET, &format!("/customers?cursor={cursor}"), Some(&org.staff.token), None).await;
    assert_eq!((foreign.status, foreign.code()), (400, "invalid_cursor"), "an admin's list cursor is not staff's");
}

#[tokio::test]
async fn creates_at_the_limit_admit_exactly_the_free_slots() {
    let plans = r#"{"free":{"name":"Free","maxCustomers":12,"maxStaff":10,"maxClients":10},"variants":{}}"#;
    let app = TestApp::with_workos_url(&env("WORKOS_API_URL"), &[("PLANS", plans)]).await;
    let (_, _, token) = app.member_of_new_org("admin").await;
    let admin = Member { user: app.emulator.create_user("unused").await, org_id: String::new(), token };
    create_customer(&app, &admin, "Existing One").await;
    create_customer(&app, &admin, "Existing Two").await;
    let mut total = 2;
    for round in 0..3 {
        let calls = (0..50)
            .map(|i| app.call(POST, "/customers", Some(&admin.token), Some(json!({"name": format!("R{round} C{i}")}))));
        let responses = futures::future::join_all(calls).await;
        let created = responses.iter().filter(|r| r.status == 201).count();
        assert!(responses.iter().all(|r| [201, 402].contains(&r.status)));
        let expected = if round == 0 { 10 } else { 0 };
        assert_eq!(created, expected, "round {round}");
        total += created;
        let org = app.call(GET, "/org", Some(&admin.token), None).await;
        assert_eq!(org.body["usage"]["customers"], total as u64, "usage equals the real count");
        assert_eq!(walk(&app, "/customers", &admin.token, 100).await.len(), total);
        if round == 0 {
            let refused = responses.iter().find(|r| r.status == 402).unwrap();
            assert_eq!(
                (refused.body["resource"].as_str(), refused.body["limit"].as_u64()),
                (Some("customers"), Some(12))
            );
            // Free two slots for the next round to fill exactly.
            let list = walk(&app, "/customers", &admin.token, 100).await;
            for id in &list[..2] {
                assert_eq!(app.call(DELETE, &format!("/customers/{id}"), Some(&admin.token), None).await.status, 204);
            }
            total -= 2;
            let calls = (0..50).map(|i| {
                app.call(POST, "/customers", Some(&admin.token), Some(json!({"name": format!("Refill {i}")})))
            });
            let refill = futures::future::join_all(calls).await;
            assert_eq!(refill.iter().filter(|r| r.status == 201).count(), 2);
            total += 2;
        }
    }
}

#[tokio::test]
async fn delete_cascades_and_refuses_while_clients_belong() {
    let app = TestApp::new().await;
    let w = world(&app).await;
    let admin = &w.org.admin.token;
    let c = &w.customer;
    assign(&app, &w.org.admin, c, &w.unassigned).await;
    let refused = app.call(DELETE, &format!("/customers/{c}"), Some(admin), None).await;
    assert_eq!((refused.status, refused.code()), (409, "conflict"), "its client still belongs");

    // A pending client invitation also belongs to it.
    attach(&app, &w.org.admin, &w.org.client, &w.other_customer).await;
    let invite = app
        .call(
            POST,
            "/invitations",
            Some(admin),
            Some(json!({"email": "c@test.example", "role": "client", "customerId": c})),
        )
        .await;
    assert_eq!(invite.status, 201, "{:?}", invite.body);
    assert_eq!(app.call(DELETE, &format!("/customers/{c}"), Some(admin), None).await.status, 409);
    let revoke =
        app.call(DELETE, &format!("/invitations/{}", invite.body["id"].as_str().unwrap()), Some(admin), None).await;
    assert_eq!(revoke.status, 204);

    let before = app.org(&w.org.admin).await["usage"]["customers"].as_i64().unwrap();
    assert_eq!(app.call(DELETE, &format!("/customers/{c}"), Some(admin), None).await.status, 204);
    assert_eq!(app.call(DELETE, &format!("/customers/{c}"), Some(admin), None).await.status, 404);
    assert_eq!(app.call(GET, &format!("/customers/{c}"), Some(admin), None).await.status, 404);
    assert!(ids(&app.call(GET, "/customers", Some(&w.org.staff.token), None).await.body).is_empty());
    let leftovers: Vec<_> =
        app.items().await.into_iter().filter(|i| i["SK"].as_s().unwrap().contains(c.as_str())).collect();
    assert!(leftovers.is_empty(), "no assignment or customer item left: {leftovers:?}");
    assert_eq!(app.org(&w.org.admin).await["usage"]["customers"].as_i64().unwrap(), before - 1);
    let client_to_gone =
        app.call(PATCH, &format!("/users/{}", w.org.client.id()), Some(admin), Some(json!({"customerId": c}))).await;
    assert_eq!(client_to_gone.status, 400, "a deleted customer takes no clients");
}

#[tokio::test]
async fn an_interrupted_delete_is_hidden_and_a_retry_converges() {
    let app = TestApp::new().await;
    let w = world(&app).await;
    let c = &w.other_customer;
    attach(&app, &w.org.admin, &w.other_client, &w.customer).await;
    assign(&app, &w.org.admin, c, &w.org.staff).await;
    assign(&app, &w.org.admin, c, &w.unassigned).await;
    let before = app.org(&w.org.admin).await["usage"]["customers"].as_i64().unwrap();

    // The function dies right after the first step.
    assert!(app.deps.store.begin_customer_delete(&w.org.org_id, c).await.unwrap().is_some());
    assert_eq!(app.call(GET, &format!("/customers/{c}"), Some(&w.org.staff.token), None).await.status, 404);
    assert_eq!(ids(&app.call(GET, "/customers", Some(&w.org.staff.token), None).await.body), vec![w.customer.clone()]);
    assert!(
        ids(&app.call(GET, "/customers", Some(&w.unassigned.token), None).await.body).is_empty(),
        "no orphan visible"
    );
    assert!(!ids(&app.call(GET, "/customers", Some(&w.org.admin.token), None).await.body).contains(c));
    assert_eq!(
        app.call(PUT, &format!("/customers/{c}/staff/{}", w.org.staff.id()), Some(&w.org.admin.token), None)
            .await
            .status,
        404
    );

    assert_eq!(app.call(DELETE, &format!("/customers/{c}"), Some(&w.org.admin.token), None).await.status, 204);
    assert!(app.items().await.iter().all(|i| !i["SK"].as_s().unwrap().contains(c.as_str())));
    assert_eq!(app.org(&w.org.admin).await["usage"]["customers"].as_i64().unwrap(), before - 1, "counted once");
}

#[tokio::test]
async fn only_staff_are_assigned_and_leaving_staff_drops_assignments() {
    let app = TestApp::new().await;
    let w = world(&app).await;
    let c = &w.customer;
    let admin = &w.org.admin.token;
    for (target, code) in [(&w.org.admin, "conflict"), (&w.org.client, "conflict")] {
        let response = app.call(PUT, &format!("/customers/{c}/staff/{}", target.id()), Some(admin), None).await;
        assert_eq!((response.status, response.code()), (409, code));
    }
    let stranger = app.call(PUT, &format!("/customers/{c}/staff/{}", w.other_org.staff.id()), Some(admin), None).await;
    assert_eq!(stranger.status, 404, "another org's staff member");
    let first = app.call(PUT, &format!("/customers/{c}/staff/{}", w.unassigned.id()), Some(admin), None).await;
    assert_eq!(first.status, 201);
    assert_eq!(first.body["id"], w.unassigned.id());
    let again = app.call(PUT, &format!("/customers/{c}/staff/{}", w.unassigned.id()), Some(admin), None).await;
    assert_eq!(again.status, 200);

    // Demoted to client of another customer: assignments go.
    let demoted = app
        .call(
            PATCH,
            &format!("/users/{}", w.unassigned.id()),
            Some(admin),
            Some(json!({"role": "client", "customerId": w.other_customer})),
        )
        .await;
    assert_eq!(demoted.status, 200, "{:?}", demoted.body);
    let staff = ids(&app.call(GET, &format!("/customers/{c}/staff"), Some(admin), None).await.body);
    assert_eq!(staff, vec![w.org.staff.id().to_owned()]);
    assert!(
        app.items()
            .await
            .iter()
            .all(|i| !i["SK"].as_s().unwrap().ends_with(w.unassigned.id()) || i["entity"].as_s().unwrap() == "member")
    );

    // Removed: assignments go.
    assert_eq!(app.call(DELETE, &format!("/users/{}", w.org.staff.id()), Some(admin), None).await.status, 204);
    assert!(ids(&app.call(GET, &format!("/customers/{c}/staff"), Some(admin), None).await.body).is_empty());
    assert!(app.items().await.iter().all(|i| i["entity"].as_s().unwrap() != "assignment"));
    assert_eq!(
        app.call(DELETE, &format!("/customers/{c}/staff/{}", w.org.staff.id()), Some(admin), None).await.status,
        404
    );
}

#[tokio::test]
async fn customer_fields_are_validated_and_patched() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let admin = &org.admin.token;
    let before = app.snapshot().await;
    let long = |n: usize| "x".repeat(n);
    let cases = [
        (json!({"name": "  "}), vec!["name"]),
        (json!({"name": long(201)}), vec!["name"]),
        (json!({"name": "A", "email": "nope"}), vec!["email"]),
        (json!({"name": "A", "phone": long(33)}), vec!["phone"]),
        (json!({"name": "A", "notes": long(4001)}), vec!["notes"]),
        (json!({"name": "", "email": "x", "phone": long(40)}), vec!["name", "email", "phone"]),
        (json!({"name": "A", "vip": true}), vec!["vip"]),
        (json!({"email": "a@b.example"}), vec!["name"]),
    ];
    for (body, fields) in cases {
        let response = app.call(POST, "/customers", Some(admin), Some(body.clone())).await;
        assert_eq!((response.status, response.code()), (400, "validation_failed"), "{body}");
        let got: Vec<&str> =
            response.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(got, fields, "{body}");
    }
    assert_eq!(app.snapshot().await, before, "nothing written");

    let created = app
        .call(
            POST,
            "/customers",
            Some(admin),
            Some(json!({"name": " Zed Co ", "email": "ops@zed.example", "phone": "+1 555", "notes": ""})),
        )
        .await;
    assert_eq!(created.status, 201);
    assert_eq!(
        created.headers.get("location").unwrap(),
        &format!("/customers/{}", created.body["id"].as_str().unwrap())
    );
    assert_eq!((created.body["name"].as_str(), created.body["notes"].as_str()), (Some("Zed Co"), None));
    assert_eq!(created.body["createdBy"], org.admin.id());
    let path = format!("/customers/{}", created.body["id"].as_str().unwrap());
    let patched = app.call(PATCH, &path, Some(admin), Some(json!({"email": null, "notes": "VIP"}))).await;
    assert_eq!(patched.status, 200);
    assert_eq!(
        (patched.body["email"].clone(), patched.body["notes"].clone(), patched.body["phone"].clone()),
        (Value::Null, json!("VIP"), json!("+1 555"))
    );
    assert!(patched.body["updatedAt"].as_str() >= created.body["updatedAt"].as_str());
    let null_name = app.call(PATCH, &path, Some(admin), Some(json!({"name": null}))).await;
    assert_eq!((null_name.status, null_name.body["errors"][0]["field"].as_str()), (400, Some("name")));
    assert_eq!(app.call(GET, &path, Some(admin), None).await.body, patched.body);
}

/// Issue 9, item 5: a patch writes only the fields it changes. A client attached between the
/// patch's read and its write stays counted, so the customer cannot then be deleted under it.
#[tokio::test]
async fn a_patch_keeps_a_client_count_it_did_not_change() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let customer_id = create_customer(&app, &org.admin, "Counted Co").await;
    let read = app.deps.store.get_customer(&org.org_id, &customer_id).await.unwrap().unwrap();
    attach(&app, &org.admin, &org.client, &customer_id).await;
    let renamed = read.with_fields(
        shared::domain::validation::CustomerFields { name: "Counted Co (renamed)".into(), ..read.fields() },
        shared::Timestamp::now(),
    );
    app.deps.store.update_customer(&read, &renamed, &testkit::origin()).await.unwrap();
    let stored = app.deps.store.get_customer(&org.org_id, &customer_id).await.unwrap().unwrap();
    assert_eq!((stored.name.as_str(), stored.client_count), ("Counted Co (renamed)", 1));
    let delete = app.call(DELETE, &format!("/customers/{customer_id}"), Some(&org.admin.token), None).await;
    assert_eq!((delete.status, delete.code()), (409, "conflict"), "a client still belongs to it");
    // The same through the API: a patch of one field leaves the others.
    let patched = app
        .call(PATCH, &format!("/customers/{customer_id}"), Some(&org.admin.token), Some(json!({"notes": "VIP"})))
        .await;
    assert_eq!((patched.status, patched.body["name"].as_str()), (200, Some("Counted Co (renamed)")));
    app.assert_counts_match(&org.org_id, "after the patches").await;
}

/// Issue 9, item 8: leaving the staff role removes every assignment, found by a strongly
/// consistent base-table read. DynamoDB Local updates GSI1 at once, so the index's lag on AWS
/// is played here by taking an assignment out of the index: the cleanup still finds it.
#[tokio::test]
async fn leaving_staff_removes_assignments_that_the_index_has_not_seen() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let customer_id = create_customer(&app, &org.admin, "Lagging Index Co").await;
    assign(&app, &org.admin, &customer_id, &org.staff).await;
    let assignment_key = std::collections::HashMap::from([
        ("PK".to_owned(), aws_sdk_dynamodb::types::AttributeValue::S(format!("ORG#{}", org.org_id))),
        (
            "SK".to_owned(),
            aws_sdk_dynamodb::types::AttributeValue::S(format!("ASSIGN#{customer_id}#{}", org.staff.id())),
        ),
    ]);
    app.dynamodb
        .update_item()
        .table_name(&app.table)
        .set_key(Some(assignment_key))
        .update_expression("REMOVE GSI1PK, GSI1SK")
        .send()
        .await
        .unwrap();
    let demoted = app
        .call(PATCH, &format!("/users/{}", org.staff.id()), Some(&org.admin.token), Some(json!({"role": "admin"})))
        .await;
    assert_eq!(demoted.status, 200, "{:?}", demoted.body);
    let left: Vec<String> = app
        .items()
        .await
        .iter()
        .filter(|i| ["assignment", "staff_assignment"].contains(&i["entity"].as_s().unwrap().as_str()))
        .map(|i| i["SK"].as_s().unwrap().clone())
        .collect();
    assert!(left.is_empty(), "assignments left behind: {left:?}");
    // Made staff again, they do not get the old customer back.
    let again = app
        .call(PATCH, &format!("/users/{}", org.staff.id()), Some(&org.admin.token), Some(json!({"role": "staff"})))
        .await;
    assert_eq!(again.status, 200);
    let staff_token = app.emulator.token(&org.staff.user, Some(&org.org_id)).await;
    assert_eq!(app.call(GET, &format!("/customers/{customer_id}"), Some(&staff_token), None).await.status, 404);
}
