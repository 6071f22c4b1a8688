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
    let promoted =
        shared::store::MemberItem { role: shared::domain::Role::Admin, ..old.revised(shared::Timestamp::now()) };
    let change = shared::domain::UsageChange::role_change(old.role, promoted.role);
    app.deps.store.change_member(&old, &promoted, &change, org.admin.id(), &testkit::origin()).await.unwrap();
    assert_eq!(app.workos_role(org.staff.id(), &org.org_id).await.as_deref(), Some("staff"), "WorkOS missed it");

    let retry = app
        .call(PATCH, &format!("/users/{}", org.staff.id()), Some(&org.admin.token), Some(json!({"role": "admin"})))
        .await;
    assert_eq!((retry.status, retry.body["role"].as_str()), (200, Some("admin")));
    assert_eq!(app.workos_role(org.staff.id(), &org.org_id).await.as_deref(), Some("admin"), "the retry finished it");
}

/// An invitation of `email` stored as `sending` (its seat taken) that WorkOS sent, but whose
/// request stopped before it stored WorkOS's id; and that WorkOS invitation's id.
async fn half_sent_invitation(
    app: &TestApp,
    org: &testkit::OrgFixture,
    email: &str,
    role: shared::domain::Role,
    customer_id: Option<&str>,
) -> (shared::store::InvitationItem, String) {
    let org_id = org.org_id.as_str();
    let invitation = shared::store::InvitationItem::new(
        org_id,
        email,
        role,
        customer_id.map(str::to_owned),
        org.admin.id(),
        shared::Timestamp::now(),
    );
    let limits = shared::domain::plans::Plans::default().free;
    app.deps.store.create_invitation(&invitation, &limits, &testkit::origin()).await.unwrap();
    let sent = app
        .emulator
        .api(
            reqwest::Method::POST,
            "/user_management/invitations",
            Some(json!({"email": email, "organization_id": org_id, "role_slug": role.slug()})),
        )
        .await;
    (invitation, sent["id"].as_str().unwrap().to_owned())
}

/// An invitation whose sending stopped before WorkOS's id was stored is still revoked in WorkOS.
#[tokio::test]
async fn revoking_a_half_sent_invitation_finds_it_in_workos() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let email = format!("half-{}@test.example", ulid::Ulid::new().to_string().to_lowercase());
    let (invitation, _) = half_sent_invitation(&app, &org, &email, shared::domain::Role::Staff, None).await;
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

/// Issue 20, item 7: a half-sent invitation that WorkOS says was accepted is kept (409), with
/// its seat and customer, which the member it made takes over on arrival.
#[tokio::test]
async fn revoking_a_half_sent_invitation_accepted_in_workos_conflicts_and_keeps_its_customer() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let customer = app.call(POST, "/customers", Some(&org.admin.token), Some(json!({"name": "Kept"}))).await;
    let customer_id = customer.body["id"].as_str().unwrap().to_owned();
    let invitee = app.emulator.create_user("half-accepted").await;
    let (invitation, workos_id) =
        half_sent_invitation(&app, &org, &invitee.email, shared::domain::Role::Client, Some(&customer_id)).await;
    app.emulator.api(reqwest::Method::POST, &format!("/user_management/invitations/{workos_id}/accept"), None).await;
    let client_seats = app.org(&org.admin).await["usage"]["clients"].as_i64().unwrap();

    let revoke = app.call(DELETE, &format!("/invitations/{}", invitation.id), Some(&org.admin.token), None).await;
    assert_eq!((revoke.status, revoke.code()), (409, "conflict"), "{:?}", revoke.body);
    let kept = app.deps.store.get_invitation(&org.org_id, &invitation.id).await.unwrap();
    assert_eq!(kept.and_then(|i| i.customer_id).as_deref(), Some(customer_id.as_str()), "the invitation is kept");
    assert_eq!(app.org(&org.admin).await["usage"]["clients"].as_i64().unwrap(), client_seats, "the seat stays");
    let token = app.emulator.token(&invitee, Some(&org.org_id)).await;
    let me = app.call(GET, "/me", Some(&token), None).await;
    assert_eq!((&me.body["role"], &me.body["customerId"]), (&json!("client"), &json!(customer_id)), "{:?}", me.body);
    app.assert_counts_match(&org.org_id, "after the arrival").await;
}

/// Issue 20, item 7: an acceptance of an earlier invitation of the address (its member arrived
/// and was removed since) is not this invitation's: a half-sent invitation to invite them again
/// is still revoked.
#[tokio::test]
async fn revoking_a_half_sent_invitation_is_not_stopped_by_an_earlier_acceptance() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let invitee = app.emulator.create_user("invited-twice").await;
    let staff = shared::domain::Role::Staff;
    let (_, first) = half_sent_invitation(&app, &org, &invitee.email, staff, None).await;
    app.emulator.api(reqwest::Method::POST, &format!("/user_management/invitations/{first}/accept"), None).await;
    let token = app.emulator.token(&invitee, Some(&org.org_id)).await;
    assert_eq!(app.call(GET, "/me", Some(&token), None).await.body["role"], "staff");
    let removed = app.call(DELETE, &format!("/users/{}", invitee.id), Some(&org.admin.token), None).await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);

    let (again, _) = half_sent_invitation(&app, &org, &invitee.email, staff, None).await;
    let revoked = app.call(DELETE, &format!("/invitations/{}", again.id), Some(&org.admin.token), None).await;
    assert_eq!(revoked.status, 204, "{:?}", revoked.body);
    let states = app
        .emulator
        .api(
            reqwest::Method::GET,
            &format!("/user_management/invitations?email={}&organization_id={}", invitee.email, org.org_id),
            None,
        )
        .await;
    let mut states: Vec<&str> =
        states["data"].as_array().unwrap().iter().map(|i| i["state"].as_str().unwrap()).collect();
    states.sort();
    assert_eq!(states, ["accepted", "revoked"]);
    app.assert_counts_match(&org.org_id, "after the revocation").await;
}

// --- removals that stick, undo that is conditional, seats that hold (issue 9, items 3, 4, 6) ---

use shared::Timestamp;
use shared::domain::{Role, UsageChange};
use shared::store::{RemovalOrigin, RemovedMemberItem};

/// A WorkOS event of `kind` about `membership` (as the emulator lists it), edited by `edit`.
fn membership_event(kind: &str, membership: &Value) -> shared::clients::workos::Event {
    serde_json::from_value(json!({
        "id": format!("event_{}", ulid::Ulid::new()),
        "event": kind,
        "data": membership,
        "created_at": Timestamp::now().to_string(),
    }))
    .unwrap()
}

async fn workos_membership(app: &TestApp, user_id: &str, org_id: &str) -> Value {
    app.emulator.memberships(user_id, org_id).await[0].clone()
}

async fn apply(app: &TestApp, event: &shared::clients::workos::Event) {
    app.apply_workos_event(event).await.unwrap();
}

/// Item 3 (a): between the table's half of `DELETE /users/{id}` and WorkOS's (whose retries
/// take seconds), the removed user's own requests do not provision them again.
#[tokio::test]
async fn a_removed_member_stays_removed_while_workos_still_has_them() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let member = app.deps.store.get_member(&org.org_id, org.staff.id()).await.unwrap().unwrap();
    let removal = RemovedMemberItem::of(&member, RemovalOrigin::Api, member.workos_updated_at, Timestamp::now());
    app.deps.store.remove_member(&member, &removal, org.admin.id(), &testkit::origin()).await.unwrap();
    assert_eq!(app.workos_role(org.staff.id(), &org.org_id).await.as_deref(), Some("staff"), "WorkOS not yet");

    let response = app.call(GET, "/org", Some(&org.staff.token), None).await;
    assert_eq!((response.status, response.code()), (403, "no_organization"), "{:?}", response.body);
    let me = app.call(GET, "/me", Some(&org.staff.token), None).await;
    assert_eq!((me.status, &me.body["organization"]), (200, &Value::Null));
    assert!(app.deps.store.get_member(&org.org_id, org.staff.id()).await.unwrap().is_none(), "not stored again");
    app.assert_counts_match(&org.org_id, "after the table's half").await;

    // The admin's retry finishes the removal in WorkOS.
    let retry = app.call(DELETE, &format!("/users/{}", org.staff.id()), Some(&org.admin.token), None).await;
    assert_eq!(retry.status, 204, "{:?}", retry.body);
    assert_eq!(app.workos_role(org.staff.id(), &org.org_id).await, None);
}

/// Item 3 (b), removal first: late or replayed membership news, older or newer, does not bring
/// back a member removed through the API; a new membership (a new invitation) does.
#[tokio::test]
async fn late_membership_news_does_not_undo_an_api_removal() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let old = workos_membership(&app, org.staff.id(), &org.org_id).await;
    let removed = app.call(DELETE, &format!("/users/{}", org.staff.id()), Some(&org.admin.token), None).await;
    assert_eq!(removed.status, 204);
    for (case, kind, updated_at) in [
        ("late created", "organization_membership.created", old["updated_at"].clone()),
        ("replayed updated", "organization_membership.updated", old["updated_at"].clone()),
        ("updated, claiming to be newer", "organization_membership.updated", json!(Timestamp::now().to_string())),
    ] {
        let mut data = old.clone();
        data["updated_at"] = updated_at;
        apply(&app, &membership_event(kind, &data)).await;
        assert!(app.deps.store.get_member(&org.org_id, org.staff.id()).await.unwrap().is_none(), "{case}");
    }
    app.assert_counts_match(&org.org_id, "after late news").await;

    // Invited again: a new membership brings them back.
    app.emulator.add_membership(org.staff.id(), &org.org_id, "staff").await;
    let back = app.call(GET, "/org", Some(&org.staff.token), None).await;
    assert_eq!(back.status, 200, "{:?}", back.body);
    assert!(app.deps.store.removed_member(&org.org_id, org.staff.id()).await.unwrap().is_none(), "record cleared");
    app.assert_counts_match(&org.org_id, "after the new membership").await;
}

/// Item 3 (b), news first: a membership WorkOS deleted (the webhook applied it) is not brought
/// back by an older `updated` that arrives late, even while the emulator still lists it.
#[tokio::test]
async fn an_older_event_after_a_workos_removal_changes_nothing() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let old = workos_membership(&app, org.client.id(), &org.org_id).await;
    let mut deleted = old.clone();
    let later = Timestamp::parse(old["updated_at"].as_str().unwrap()).unwrap().plus(time::Duration::seconds(5));
    deleted["updated_at"] = json!(later.to_string());
    apply(&app, &membership_event("organization_membership.deleted", &deleted)).await;
    assert!(app.deps.store.get_member(&org.org_id, org.client.id()).await.unwrap().is_none());
    apply(&app, &membership_event("organization_membership.updated", &old)).await;
    assert!(app.deps.store.get_member(&org.org_id, org.client.id()).await.unwrap().is_none(), "older news is old");
    app.assert_counts_match(&org.org_id, "after late news").await;
}

/// Item 4: the undo of a change that WorkOS refused applies only while the member is still what
/// that change wrote. Here another admin removed the member in between.
#[tokio::test]
async fn an_undo_leaves_a_later_change_alone() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let second = app.new_member(&org.org_id, "admin").await;
    assert_eq!(app.call(GET, "/me", Some(&second.token), None).await.status, 200);
    let customer = app.call(POST, "/customers", Some(&org.admin.token), Some(json!({"name": "Undo Co"}))).await;
    let customer_id = customer.body["id"].as_str().unwrap().to_owned();

    // Admin A's PATCH (staff → client) wrote the table; its WorkOS call is under way.
    let old = app.deps.store.get_member(&org.org_id, org.staff.id()).await.unwrap().unwrap();
    let new = shared::store::MemberItem {
        role: Role::Client,
        customer_id: Some(customer_id.clone()),
        ..old.revised(Timestamp::now())
    };
    let limits = shared::domain::plans::Plans::default().free;
    let change = UsageChange::role_change(Role::Staff, Role::Client).within(&limits);
    let entry = app.deps.store.change_member(&old, &new, &change, org.admin.id(), &testkit::origin()).await.unwrap();
    // Admin B removes the member meanwhile.
    let removed = app.call(DELETE, &format!("/users/{}", org.staff.id()), Some(&second.token), None).await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);
    // A's WorkOS call fails: its undo finds the member is no longer what it wrote.
    assert!(!app.deps.store.undo_member_change(&old, &new, &change, entry.as_ref()).await.unwrap());
    assert!(app.deps.store.get_member(&org.org_id, org.staff.id()).await.unwrap().is_none(), "B's removal stays");
    app.assert_counts_match(&org.org_id, "after the refused undo").await;

    // And a removal's undo leaves a member stored again meanwhile alone.
    let client = app.deps.store.get_member(&org.org_id, org.client.id()).await.unwrap().unwrap();
    let removal = RemovedMemberItem::of(&client, RemovalOrigin::Api, client.workos_updated_at, Timestamp::now());
    let entry = app.deps.store.remove_member(&client, &removal, org.admin.id(), &testkit::origin()).await.unwrap();
    let newer = RemovedMemberItem::of(&client, RemovalOrigin::Api, client.workos_updated_at, Timestamp::now());
    assert!(!app.deps.store.undo_member_removal(&client, &newer, &entry).await.unwrap(), "another removal's record");
    assert!(app.deps.store.undo_member_removal(&client, &removal, &entry).await.unwrap(), "its own");
    app.assert_counts_match(&org.org_id, "after the removal's undo").await;
}

/// Item 4: concurrent PATCH and DELETE on one member by two admins, with WorkOS failing some
/// of their calls: whatever interleaving happens, every counter equals the real count and an
/// admin remains.
#[tokio::test]
async fn concurrent_changes_with_workos_failures_keep_the_counts_true() {
    let proxy = FaultProxy::start(&env("WORKOS_API_URL")).await;
    let app = TestApp::with_workos_url(&proxy.url, &[]).await;
    let org = app.org_fixture().await;
    let second = app.new_member(&org.org_id, "admin").await;
    assert_eq!(app.call(GET, "/me", Some(&second.token), None).await.status, 200);
    let customer = app.call(POST, "/customers", Some(&org.admin.token), Some(json!({"name": "Storm Co"}))).await;
    let customer_id = customer.body["id"].as_str().unwrap().to_owned();
    let memberships = "/user_management/organization_memberships/";
    for round in 0..8u64 {
        let target = app.new_member(&org.org_id, "staff").await;
        assert_eq!(app.call(GET, "/me", Some(&target.token), None).await.status, 200);
        // A seeded mix of failing WorkOS calls (each call is tried up to three times).
        proxy.fail(http::Method::PUT, memberships, Fault::Status(500), (round % 4 * 2) as usize);
        proxy.fail(http::Method::DELETE, memberships, Fault::Status(503), (round % 3 * 3) as usize);
        let path = format!("/users/{}", target.id());
        let (a, b) = (Some(org.admin.token.as_str()), Some(second.token.as_str()));
        let _ = futures::future::join_all([
            Box::pin(app.call(PATCH, &path, a, Some(json!({"role": "client", "customerId": customer_id}))))
                as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
            Box::pin(app.call(PATCH, &path, b, Some(json!({"role": "admin"})))),
            Box::pin(app.call(DELETE, &path, if round % 2 == 0 { a } else { b }, None)),
            Box::pin(app.call(PATCH, &path, b, Some(json!({"role": "staff"})))),
        ])
        .await;
        app.assert_counts_match(&org.org_id, &format!("round {round}")).await;
    }
}

/// Item 6: an accepted invitation cannot be revoked (409, the seat stays); the member it made
/// takes the seat over when they arrive.
#[tokio::test]
async fn revoking_an_accepted_invitation_conflicts_and_keeps_the_seat() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let invitee = app.emulator.create_user("accepting").await;
    let invited = app
        .call(POST, "/invitations", Some(&org.admin.token), Some(json!({"email": invitee.email, "role": "staff"})))
        .await;
    assert_eq!(invited.status, 201, "{:?}", invited.body);
    let staff_seats = app.org(&org.admin).await["usage"]["staff"].as_i64().unwrap();
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

    let path = format!("/invitations/{}", invited.body["id"].as_str().unwrap());
    let revoke = app.call(DELETE, &path, Some(&org.admin.token), None).await;
    assert_eq!((revoke.status, revoke.code()), (409, "conflict"), "{:?}", revoke.body);
    assert_eq!(app.org(&org.admin).await["usage"]["staff"].as_i64().unwrap(), staff_seats, "the seat stays");
    let token = app.emulator.token(&invitee, Some(&org.org_id)).await;
    assert_eq!(app.call(GET, "/me", Some(&token), None).await.body["role"], "staff");
    assert_eq!(app.org(&org.admin).await["usage"]["staff"].as_i64().unwrap(), staff_seats, "handed over");
    app.assert_counts_match(&org.org_id, "after the arrival").await;
}

/// Item 6: a membership made in WorkOS directly (no pending invitation) takes a seat by the same
/// atomic check; with none free it is not stored, and its requests say the plan is full.
#[tokio::test]
async fn a_membership_made_in_workos_needs_a_free_seat() {
    let plans = r#"{"free":{"name":"Free","maxCustomers":5,"maxStaff":3,"maxClients":5}}"#;
    let app = TestApp::with_workos_url(&env("WORKOS_API_URL"), &[("PLANS", plans)]).await;
    let org = app.org_fixture().await; // admin and staff: two of three staff seats
    let third = app.new_member(&org.org_id, "staff").await;
    assert_eq!(app.call(GET, "/org", Some(&third.token), None).await.status, 200, "the last free seat");
    let fourth = app.new_member(&org.org_id, "staff").await;
    let refused = app.call(GET, "/org", Some(&fourth.token), None).await;
    assert_eq!((refused.status, refused.code()), (403, "no_organization"), "{:?}", refused.body);
    assert!(refused.body["detail"].as_str().unwrap().contains("plan"), "{:?}", refused.body);
    let me = app.call(GET, "/me", Some(&fourth.token), None).await;
    assert_eq!((me.status, &me.body["organization"]), (200, &Value::Null));
    assert!(app.deps.store.get_member(&org.org_id, fourth.id()).await.unwrap().is_none());
    assert_eq!(app.org(&org.admin).await["usage"]["staff"], 3);
    app.assert_counts_match(&org.org_id, "at the limit").await;
}

/// Item 10: a path id that cannot be valid is 404 at once, not a DynamoDB key-size error.
#[tokio::test]
async fn impossible_path_ids_are_not_found() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let long = "a".repeat(2048);
    for (method, path) in [
        (GET, format!("/users/user_{long}")),
        (PATCH, format!("/users/{long}")),
        (DELETE, "/users/user_bad%20id".to_owned()),
        (GET, format!("/customers/cus_{long}")),
        (GET, "/customers/user_01jexample/staff".to_owned()),
        (DELETE, format!("/invitations/inv_{long}")),
        (GET, format!("/users/{long}/customers")),
    ] {
        let response = app.call(method.clone(), &path, Some(&org.admin.token), Some(json!({}))).await;
        assert_eq!((response.status, response.code()), (404, "not_found"), "{method} {}", &path[..path.len().min(40)]);
    }
}

/// Item 14: a removed user's still-valid token does not cost a WorkOS call on every request.
#[tokio::test]
async fn a_non_members_requests_ask_workos_once_for_a_while() {
    let proxy = FaultProxy::start(&env("WORKOS_API_URL")).await;
    let app = TestApp::with_workos_url(&proxy.url, &[]).await;
    let org = app.org_fixture().await;
    let removed = app.call(DELETE, &format!("/users/{}", org.staff.id()), Some(&org.admin.token), None).await;
    assert_eq!(removed.status, 204);
    let lookups = || proxy.count(&http::Method::GET, "/user_management/organization_memberships");
    let before = lookups();
    for _ in 0..5 {
        let response = app.call(GET, "/customers", Some(&org.staff.token), None).await;
        assert_eq!((response.status, response.code()), (403, "no_organization"));
    }
    assert_eq!(lookups(), before + 1, "one WorkOS lookup for five requests");
}

/// Review of item 4: the undo of a client's change does not put them back on a customer whose
/// delete began meanwhile (its client count had fallen to 0 with the change).
#[tokio::test]
async fn an_undo_does_not_attach_a_client_to_a_customer_being_deleted() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let created = app.call(POST, "/customers", Some(&org.admin.token), Some(json!({"name": "Leaving Co"}))).await;
    let customer_id = created.body["id"].as_str().unwrap().to_owned();
    let attach = json!({"customerId": customer_id});
    let attached = app.call(PATCH, &format!("/users/{}", org.client.id()), Some(&org.admin.token), Some(attach)).await;
    assert_eq!(attached.status, 200);
    // The table's half of making the client staff; WorkOS is still to refuse it.
    let old = app.deps.store.get_member(&org.org_id, org.client.id()).await.unwrap().unwrap();
    let new = shared::store::MemberItem { role: Role::Staff, customer_id: None, ..old.revised(Timestamp::now()) };
    let limits = shared::domain::plans::Plans::default().free;
    let change = UsageChange::role_change(Role::Client, Role::Staff).within(&limits);
    let entry = app.deps.store.change_member(&old, &new, &change, org.admin.id(), &testkit::origin()).await.unwrap();
    // The customer has no client now: its delete begins.
    assert!(app.deps.store.begin_customer_delete(&org.org_id, &customer_id).await.unwrap().is_some());
    assert!(
        !app.deps.store.undo_member_change(&old, &new, &change, entry.as_ref()).await.unwrap(),
        "not onto a deleting customer"
    );
    let deleted = app.call(DELETE, &format!("/customers/{customer_id}"), Some(&org.admin.token), None).await;
    assert_eq!(deleted.status, 204);
    let member = app.deps.store.get_member(&org.org_id, org.client.id()).await.unwrap().unwrap();
    assert_eq!((member.role, member.customer_id), (Role::Staff, None), "no client of a deleted customer");
    app.assert_counts_match(&org.org_id, "after the delete").await;
}
