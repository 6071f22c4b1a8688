//! Members, roles and invitations (issue: members), against DynamoDB Local and the emulator.

use serde_json::{Value, json};
use testkit::{DELETE, Fault, FaultProxy, GET, Member, PATCH, POST, TestApp, env};

const PLANS_SIX_STAFF: &str = r#"{"free":{"name":"Free","maxCustomers":10,"maxStaff":6,"maxClients":3},"variants":{}}"#;

fn ids(body: &Value) -> Vec<String> {
    body["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
}

/// Every route × caller role × target, with the status each must answer.
#[tokio::test]
async fn access_matrix() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let other = app.org_fixture().await;
    let no_org_user = app.emulator.create_user("loner").await;
    let no_org = Member {
        user: no_org_user.clone(),
        org_id: String::new(),
        token: app.emulator.token(&no_org_user, None).await,
    };
    let invited = app
        .call(
            POST,
            "/invitations",
            Some(&org.admin.token),
            Some(json!({"email": "matrix@test.example", "role": "staff"})),
        )
        .await;
    assert_eq!(invited.status, 201, "{:?}", invited.body);
    let invitation = invited.body["id"].as_str().unwrap().to_owned();
    let other_invitation = app
        .call(
            POST,
            "/invitations",
            Some(&other.admin.token),
            Some(json!({"email": "matrix2@test.example", "role": "staff"})),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let callers: [(&str, &Member); 5] = [
        ("admin", &org.admin),
        ("staff", &org.staff),
        ("client", &org.client),
        ("other org admin", &other.admin),
        ("no org", &no_org),
    ];
    for (name, caller) in callers {
        let token = Some(caller.token.as_str());
        let (
            listing,
            one_self,
            one_same,
            one_other,
            patch_same,
            patch_other,
            delete_other,
            invitations,
            invite,
            revoke_other,
        ) = match name {
            "admin" => (200, 200, 200, 404, 200, 404, 404, 200, 201, 404),
            "staff" => (200, 200, 200, 404, 403, 403, 403, 403, 403, 403),
            "client" => (403, 200, 404, 404, 403, 403, 403, 403, 403, 403),
            "other org admin" => (200, 200, 200, 404, 200, 404, 404, 200, 201, 404),
            _ => (403, 403, 403, 403, 403, 403, 403, 403, 403, 403),
        };
        // A target in the caller's own org, and one in the other org.
        let (same, foreign) =
            if name == "other org admin" { (&other.staff, &org.client) } else { (&org.staff, &other.client) };
        let check = |what: &str, response: testkit::TestResponse, status: u16| {
            assert_eq!(response.status, status, "{name} {what}: {:?}", response.body);
            if name == "no org" {
                assert_eq!(response.code(), "no_organization", "{name} {what}");
            }
        };
        check("GET /users", app.call(GET, "/users", token, None).await, listing);
        check("GET /users/self", app.call(GET, &format!("/users/{}", caller.id()), token, None).await, one_self);
        check("GET /users/same-org", app.call(GET, &format!("/users/{}", same.id()), token, None).await, one_same);
        check("GET /users/other-org", app.call(GET, &format!("/users/{}", foreign.id()), token, None).await, one_other);
        let staff_role = Some(json!({"role": "staff"}));
        let patch = app.call(PATCH, &format!("/users/{}", same.id()), token, staff_role.clone()).await;
        check("PATCH /users/same-org", patch, patch_same);
        check(
            "PATCH /users/other-org",
            app.call(PATCH, &format!("/users/{}", foreign.id()), token, staff_role).await,
            patch_other,
        );
        check(
            "DELETE /users/other-org",
            app.call(DELETE, &format!("/users/{}", foreign.id()), token, None).await,
            delete_other,
        );
        check("GET /invitations", app.call(GET, "/invitations", token, None).await, invitations);
        let email = format!("m-{}@test.example", ulid::Ulid::new().to_string().to_lowercase());
        check(
            "POST /invitations",
            app.call(POST, "/invitations", token, Some(json!({"email": email, "role": "staff"}))).await,
            invite,
        );
        let foreign_invitation = if name == "other org admin" { &invitation } else { &other_invitation };
        check(
            "DELETE /invitations/other-org",
            app.call(DELETE, &format!("/invitations/{foreign_invitation}"), token, None).await,
            revoke_other,
        );
    }

    // What each list holds: its own org only; a client sees only themselves.
    let listing = app.call(GET, "/users", Some(&org.admin.token), None).await;
    let mut listed = ids(&listing.body);
    listed.sort();
    let mut expected = vec![org.admin.id().to_owned(), org.staff.id().to_owned(), org.client.id().to_owned()];
    expected.sort();
    assert_eq!(listed, expected);
    let me = app.call(GET, &format!("/users/{}", org.client.id()), Some(&org.client.token), None).await;
    assert_eq!(me.body["role"], "client");
    assert_eq!(me.body["email"], org.client.user.email.as_str());
    for field in ["id", "email", "firstName", "lastName", "role", "customerId", "createdAt"] {
        assert!(me.body.get(field).is_some(), "{field}");
    }
    // Invitations are revoked by their own org's admin.
    assert_eq!(app.call(DELETE, &format!("/invitations/{invitation}"), Some(&org.admin.token), None).await.status, 204);
    assert_eq!(app.call(DELETE, &format!("/invitations/{invitation}"), Some(&org.admin.token), None).await.status, 404);
}

#[tokio::test]
async fn removal_and_demotion_take_effect_on_the_next_request() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let second_admin = app.new_member(&org.org_id, "admin").await;
    assert_eq!(app.call(GET, "/invitations", Some(&second_admin.token), None).await.status, 200);

    // Demoted: the old token still says admin, but the stored role decides at once.
    let demoted = app
        .call(PATCH, &format!("/users/{}", second_admin.id()), Some(&org.admin.token), Some(json!({"role": "staff"})))
        .await;
    assert_eq!(demoted.status, 200, "{:?}", demoted.body);
    assert_eq!(demoted.body["role"], "staff");
    assert_eq!(app.workos_role(second_admin.id(), &org.org_id).await.as_deref(), Some("staff"));
    let refused = app.call(GET, "/invitations", Some(&second_admin.token), None).await;
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));
    assert_eq!(app.call(GET, "/users", Some(&second_admin.token), None).await.status, 200, "staff may list");

    // Removed: the still-valid token selects an org the user no longer belongs to.
    let removed = app.call(DELETE, &format!("/users/{}", org.staff.id()), Some(&org.admin.token), None).await;
    assert_eq!(removed.status, 204);
    assert_eq!(app.workos_role(org.staff.id(), &org.org_id).await, None, "gone from WorkOS");
    let after = app.call(GET, "/org", Some(&org.staff.token), None).await;
    assert_eq!((after.status, after.code()), (403, "no_organization"));
    let me = app.call(GET, "/me", Some(&org.staff.token), None).await;
    assert_eq!(me.body["organization"], Value::Null);
    assert_eq!(app.call(GET, &format!("/users/{}", org.staff.id()), Some(&org.admin.token), None).await.status, 404);
    assert_eq!(app.org(&org.admin).await["usage"]["staff"], 2, "admin and the demoted admin");
}

#[tokio::test]
async fn the_last_admin_stays() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let path = format!("/users/{}", org.admin.id());
    let demote = app.call(PATCH, &path, Some(&org.admin.token), Some(json!({"role": "staff"}))).await;
    assert_eq!((demote.status, demote.code()), (409, "last_admin"));
    let remove = app.call(DELETE, &path, Some(&org.admin.token), None).await;
    assert_eq!((remove.status, remove.code()), (409, "last_admin"));
    assert_eq!(app.workos_role(org.admin.id(), &org.org_id).await.as_deref(), Some("admin"));

    // With a second admin, one may step down.
    let second = app.new_member(&org.org_id, "admin").await;
    assert_eq!(app.call(GET, "/me", Some(&second.token), None).await.status, 200);
    assert_eq!(app.call(DELETE, &path, Some(&org.admin.token), None).await.status, 204);
    let last =
        app.call(PATCH, &format!("/users/{}", second.id()), Some(&second.token), Some(json!({"role": "staff"}))).await;
    assert_eq!((last.status, last.code()), (409, "last_admin"));
}

#[tokio::test]
async fn two_admins_demoting_each_other_leave_one_admin() {
    for _ in 0..3 {
        let app = TestApp::new().await;
        let org = app.org_fixture().await;
        let second = app.new_member(&org.org_id, "admin").await;
        assert_eq!(app.call(GET, "/me", Some(&second.token), None).await.status, 200);
        let staff = Some(json!({"role": "staff"}));
        let (second_path, first_path) = (format!("/users/{}", second.id()), format!("/users/{}", org.admin.id()));
        let (a, b) = tokio::join!(
            app.call(PATCH, &second_path, Some(&org.admin.token), staff.clone()),
            app.call(PATCH, &first_path, Some(&second.token), staff.clone()),
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses[0], 200, "{:?} {:?}", a.body, b.body);
        assert_eq!(statuses[1], 409, "{:?} {:?}", a.body, b.body);
        let admins = app.call(GET, "/users?role=admin", Some(&org.staff.token), None).await;
        assert_eq!(ids(&admins.body).len(), 1, "one admin remains: {:?}", admins.body);
        let admin_id = &ids(&admins.body)[0];
        assert_eq!(app.workos_role(admin_id, &org.org_id).await.as_deref(), Some("admin"), "WorkOS agrees");
    }
}

#[tokio::test]
async fn parallel_invitations_stop_exactly_at_the_seat_limit() {
    let app = TestApp::with_workos_url(&env("WORKOS_API_URL"), &[("PLANS", PLANS_SIX_STAFF)]).await;
    let (_, org_id, token) = app.member_of_new_org("admin").await;
    assert_eq!(app.call(GET, "/me", Some(&token), None).await.status, 200);
    // 1 admin of 6 staff seats: 5 left.
    let calls = (0..30).map(|i| {
        let email = format!("wave-{i}-{}@test.example", ulid::Ulid::new().to_string().to_lowercase());
        app.call(POST, "/invitations", Some(&token), Some(json!({"email": email, "role": "staff"})))
    });
    let responses = futures::future::join_all(calls).await;
    let created = responses.iter().filter(|r| r.status == 201).count();
    let refused: Vec<_> = responses.iter().filter(|r| r.status == 402).collect();
    assert_eq!(created, 5, "{:?}", responses.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(refused.len(), 25);
    assert_eq!(refused[0].code(), "plan_limit_reached");
    assert_eq!(refused[0].body["resource"], "staff");
    assert_eq!(refused[0].body["limit"], 6);
    assert_eq!(refused[0].body["usage"], 6);

    let listed = app.call(GET, "/invitations?limit=100", Some(&token), None).await;
    assert_eq!(ids(&listed.body).len(), 5);
    let org = app.call(GET, "/org", Some(&token), None).await;
    assert_eq!(org.body["usage"]["staff"], 6, "1 admin + 5 pending invitations, counted exactly");
    let _ = org_id;
}

#[tokio::test]
async fn promotion_past_the_limit_is_refused() {
    let plans = r#"{"free":{"name":"Free","maxCustomers":10,"maxStaff":2,"maxClients":3},"variants":{}}"#;
    let app = TestApp::with_workos_url(&env("WORKOS_API_URL"), &[("PLANS", plans)]).await;
    let org = app.org_fixture().await; // admin + staff: 2 of 2 staff seats
    let promote = app
        .call(PATCH, &format!("/users/{}", org.client.id()), Some(&org.admin.token), Some(json!({"role": "staff"})))
        .await;
    assert_eq!((promote.status, promote.code()), (402, "plan_limit_reached"), "{:?}", promote.body);
    assert_eq!(
        (promote.body["resource"].as_str(), promote.body["limit"].as_u64(), promote.body["usage"].as_u64()),
        (Some("staff"), Some(2), Some(2))
    );
    assert_eq!(app.workos_role(org.client.id(), &org.org_id).await.as_deref(), Some("client"), "WorkOS untouched");
    let invite = app
        .call(
            POST,
            "/invitations",
            Some(&org.admin.token),
            Some(json!({"email": "one-more@test.example", "role": "admin"})),
        )
        .await;
    assert_eq!((invite.status, invite.code()), (402, "plan_limit_reached"));
    // Moving within a class needs no free seat.
    let demote = app
        .call(PATCH, &format!("/users/{}", org.staff.id()), Some(&org.admin.token), Some(json!({"role": "admin"})))
        .await;
    assert_eq!(demote.status, 200, "{:?}", demote.body);
}

#[tokio::test]
async fn bad_member_and_invitation_bodies() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let before = app.snapshot().await;
    let user = format!("/users/{}", org.staff.id());
    let cases: Vec<(&str, &str, Value, u16, &str, &str)> = vec![
        ("unknown role", &user, json!({"role": "owner"}), 400, "validation_failed", "role"),
        ("client without customer", &user, json!({"role": "client"}), 400, "validation_failed", "customerId"),
        (
            "client of an unknown customer",
            &user,
            json!({"role": "client", "customerId": "cus_nope"}),
            400,
            "validation_failed",
            "customerId",
        ),
        ("staff with a customer", &user, json!({"customerId": "cus_nope"}), 400, "validation_failed", "customerId"),
        ("unknown field", &user, json!({"role": "staff", "team": "x"}), 400, "validation_failed", "team"),
        (
            "bad email",
            "/invitations",
            json!({"email": "not-an-email", "role": "staff"}),
            400,
            "validation_failed",
            "email",
        ),
        ("missing role", "/invitations", json!({"email": "a@test.example"}), 400, "validation_failed", ""),
        (
            "invited client without customer",
            "/invitations",
            json!({"email": "a@test.example", "role": "client"}),
            400,
            "validation_failed",
            "customerId",
        ),
        (
            "invitation unknown field",
            "/invitations",
            json!({"email": "a@test.example", "role": "staff", "x": 1}),
            400,
            "validation_failed",
            "x",
        ),
    ];
    for (case, path, body, status, code, field) in cases {
        let method = if path == "/invitations" { POST } else { PATCH };
        let response = app.call(method, path, Some(&org.admin.token), Some(body)).await;
        assert_eq!((response.status, response.code()), (status, code), "{case}: {:?}", response.body);
        if !field.is_empty() {
            assert_eq!(response.body["errors"][0]["field"], field, "{case}");
        }
    }
    assert_eq!(app.snapshot().await, before, "nothing written");

    // The same address twice while the first is pending.
    let first = app
        .call(
            POST,
            "/invitations",
            Some(&org.admin.token),
            Some(json!({"email": "Twice@Test.example", "role": "staff"})),
        )
        .await;
    assert_eq!(first.status, 201);
    assert_eq!(first.body["email"], "twice@test.example");
    let second = app
        .call(
            POST,
            "/invitations",
            Some(&org.admin.token),
            Some(json!({"email": "twice@test.example", "role": "admin"})),
        )
        .await;
    assert_eq!((second.status, second.code()), (409, "conflict"));
}

#[tokio::test]
async fn lists_page_and_refuse_foreign_cursors() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    for role in ["staff", "staff", "client"] {
        let member = app.new_member(&org.org_id, role).await;
        assert_eq!(app.call(GET, "/me", Some(&member.token), None).await.status, 200);
    }
    let all = ids(&app.call(GET, "/users?limit=100", Some(&org.admin.token), None).await.body);
    assert_eq!(all.len(), 6);
    for limit in 1..=4 {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/users?limit={limit}&cursor={c}"),
                None => format!("/users?limit={limit}"),
            };
            let page = app.call(GET, &path, Some(&org.staff.token), None).await;
            assert_eq!(page.status, 200, "{:?}", page.body);
            assert!(ids(&page.body).len() <= limit);
            seen.extend(ids(&page.body));
            match page.body["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen, all, "limit {limit}");
    }
    let staff_only = app.call(GET, "/users?role=staff&limit=1", Some(&org.admin.token), None).await;
    assert_eq!(ids(&staff_only.body).len(), 1);
    let cursor = staff_only.body["nextCursor"].as_str().unwrap().to_owned();
    let mut page2 =
        app.call(GET, &format!("/users?role=staff&limit=100&cursor={cursor}"), Some(&org.admin.token), None).await;
    assert_eq!(ids(&page2.body).len(), 2, "three staff members in all");
    page2 = app.call(GET, &format!("/users?cursor={cursor}"), Some(&org.admin.token), None).await;
    assert_eq!((page2.status, page2.code()), (400, "invalid_cursor"), "a cursor of another list");

    let other = app.org_fixture().await;
    let foreign = app.call(GET, &format!("/users?role=staff&cursor={cursor}"), Some(&other.admin.token), None).await;
    assert_eq!((foreign.status, foreign.code()), (400, "invalid_cursor"), "a cursor of another org");
    for bad in ["limit=0", "limit=101", "limit=x", "cursor=garbage", "role=owner"] {
        let response = app.call(GET, &format!("/users?{bad}"), Some(&org.admin.token), None).await;
        assert_eq!(response.status, 400, "{bad}");
    }
}

#[tokio::test]
async fn an_invited_user_arrives_with_the_invited_role() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let invitee = app.emulator.create_user("invitee").await;
    let before = app.org(&org.admin).await["usage"]["staff"].as_i64().unwrap();
    let invited = app
        .call(POST, "/invitations", Some(&org.admin.token), Some(json!({"email": invitee.email, "role": "staff"})))
        .await;
    assert_eq!(invited.status, 201, "{:?}", invited.body);
    assert_eq!(invited.body["state"], "pending");
    assert!(invited.body["expiresAt"].is_string());
    assert_eq!(app.org(&org.admin).await["usage"]["staff"].as_i64().unwrap(), before + 1, "the pending seat counts");

    // The invitee accepts in WorkOS, then signs in.
    let pending = app
        .emulator
        .api(reqwest::Method::GET, &format!("/user_management/invitations?organization_id={}", org.org_id), None)
        .await;
    let workos_id = pending["data"].as_array().unwrap().iter().find(|i| i["email"] == invitee.email.as_str()).unwrap()
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.emulator.api(reqwest::Method::POST, &format!("/user_management/invitations/{workos_id}/accept"), None).await;
    let token = app.emulator.token(&invitee, Some(&org.org_id)).await;
    let me = app.call(GET, "/me", Some(&token), None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["role"], "staff");
    assert_eq!(app.org(&org.admin).await["usage"]["staff"].as_i64().unwrap(), before + 1, "the seat is handed over");
    assert!(ids(&app.call(GET, "/invitations", Some(&org.admin.token), None).await.body).is_empty(), "consumed");
    let listed = ids(&app.call(GET, "/users?role=staff", Some(&org.admin.token), None).await.body);
    assert!(listed.contains(&invitee.id));
}

/// Each outbound WorkOS call of these routes, failing: 503 and the table as it was.
#[tokio::test]
async fn workos_failures_answer_503_and_change_nothing() {
    let proxy = FaultProxy::start(&env("WORKOS_API_URL")).await;
    let app = TestApp::with_workos_url(&proxy.url, &[]).await;
    let org = app.org_fixture().await;
    let second_admin = app.new_member(&org.org_id, "admin").await;
    assert_eq!(app.call(GET, "/me", Some(&second_admin.token), None).await.status, 200);
    let invited = app
        .call(
            POST,
            "/invitations",
            Some(&org.admin.token),
            Some(json!({"email": "keep@test.example", "role": "staff"})),
        )
        .await;
    let invitation = invited.body["id"].as_str().unwrap().to_owned();
    let memberships = "/user_management/organization_memberships/";

    let cases: Vec<(&str, http::Method, String, Option<Value>, http::Method, &str, Fault, usize)> = vec![
        (
            "demote",
            PATCH,
            format!("/users/{}", second_admin.id()),
            Some(json!({"role": "staff"})),
            http::Method::PUT,
            memberships,
            Fault::Status(500),
            3,
        ),
        (
            "promote, answer lost",
            PATCH,
            format!("/users/{}", org.staff.id()),
            Some(json!({"role": "admin"})),
            http::Method::PUT,
            memberships,
            Fault::Drop,
            3,
        ),
        (
            "remove",
            DELETE,
            format!("/users/{}", org.staff.id()),
            None,
            http::Method::DELETE,
            memberships,
            Fault::Status(503),
            3,
        ),
        (
            "invite",
            POST,
            "/invitations".into(),
            Some(json!({"email": "new@test.example", "role": "staff"})),
            http::Method::POST,
            "/user_management/invitations",
            Fault::Status(500),
            1,
        ),
        (
            "revoke",
            DELETE,
            format!("/invitations/{invitation}"),
            None,
            http::Method::POST,
            "/user_management/invitations/",
            Fault::Status(500),
            1,
        ),
    ];
    for (case, method, path, body, upstream_method, upstream_path, fault, times) in cases {
        let before = app.snapshot().await;
        proxy.fail(upstream_method, upstream_path, fault, times);
        let response = app.call(method, &path, Some(&org.admin.token), body).await;
        assert_eq!((response.status, response.code()), (503, "upstream_unavailable"), "{case}: {:?}", response.body);
        assert_eq!(app.snapshot().await, before, "{case}: the table is as it was");
    }
    assert_eq!(app.workos_role(org.staff.id(), &org.org_id).await.as_deref(), Some("staff"));
    assert_eq!(app.workos_role(second_admin.id(), &org.org_id).await.as_deref(), Some("admin"));

    // Provisioning a newcomer while WorkOS is down: 503, nothing stored; later it works.
    let newcomer = app.new_member(&org.org_id, "staff").await;
    proxy.fail(http::Method::GET, "/user_management/organization_memberships", Fault::Status(500), 3);
    let before = app.snapshot().await;
    let response = app.call(GET, "/org", Some(&newcomer.token), None).await;
    assert_eq!((response.status, response.code()), (503, "upstream_unavailable"));
    assert_eq!(app.snapshot().await, before);
    assert_eq!(app.call(GET, "/org", Some(&newcomer.token), None).await.status, 200);
}

/// A role change that stopped after the table's half is finished by the client's retry.
#[tokio::test]
async fn retrying_a_half_done_role_change_reaches_workos() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let old = app.deps.store.get_member(&org.org_id, org.staff.id()).await.unwrap().unwrap();
    let promoted = shared::store::MemberItem {
        role: shared::store::Role::Admin,
        updated_at: shared::now_rfc3339(),
        ..old.clone()
    };
    let change = shared::store::UsageChange::role_change(old.role, promoted.role);
    app.deps.store.change_member(&old, &promoted, &change, org.admin.id()).await.unwrap();
    assert_eq!(app.workos_role(org.staff.id(), &org.org_id).await.as_deref(), Some("staff"), "WorkOS missed it");

    let retry = app
        .call(PATCH, &format!("/users/{}", org.staff.id()), Some(&org.admin.token), Some(json!({"role": "admin"})))
        .await;
    assert_eq!((retry.status, retry.body["role"].as_str()), (200, Some("admin")));
    assert_eq!(app.workos_role(org.staff.id(), &org.org_id).await.as_deref(), Some("admin"), "the retry finished it");
}

/// An invitation whose sending stopped before WorkOS's id was stored is still revoked in WorkOS.
#[tokio::test]
async fn revoking_a_half_sent_invitation_finds_it_in_workos() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let email = format!("half-{}@test.example", ulid::Ulid::new().to_string().to_lowercase());
    let invitation = shared::store::InvitationItem::new(
        &org.org_id,
        &email,
        shared::store::Role::Staff,
        None,
        org.admin.id(),
        &shared::now_rfc3339(),
    );
    let limits = shared::config::Plans::default().free;
    app.deps.store.create_invitation(&invitation, &limits).await.unwrap();
    // WorkOS sent it; the function stopped before storing its id.
    app.emulator
        .api(
            reqwest::Method::POST,
            "/user_management/invitations",
            Some(json!({"email": email, "organization_id": org.org_id, "role_slug": "staff"})),
        )
        .await;
    let revoked = app.call(DELETE, &format!("/invitations/{}", invitation.id), Some(&org.admin.token), None).await;
    assert_eq!(revoked.status, 204);
    let left = app
        .emulator
        .api(
            reqwest::Method::GET,
            &format!("/user_management/invitations?email={email}&organization_id={}", org.org_id),
            None,
        )
        .await;
    assert!(left["data"].as_array().unwrap().iter().all(|i| i["state"] != "pending"), "{left}");
}
