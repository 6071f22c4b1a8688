//! The WorkOS sync job and the WorkOS webhook (issue: sync). Each test has an emulator of its
//! own, since the sync reads the whole WorkOS environment.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit::{Emulator, Fault, FaultProxy, GET, PrivateEmulator, TestApp, TestUser};

async fn app_for(url: &str, issuer: &str, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![("WORKOS_ISSUERS", issuer)];
    vars.extend_from_slice(extra);
    TestApp::with_workos_url(url, &vars).await
}

async fn sync(app: &TestApp, event: Value) -> Value {
    app.run_job("workos-sync", event).await.unwrap_or_else(|e| panic!("sync failed: {e:?}"))
}

fn changes(report: &Value) -> (u64, u64, u64) {
    (report["created"].as_u64().unwrap(), report["updated"].as_u64().unwrap(), report["removed"].as_u64().unwrap())
}

/// The stored members of an org, as (email, role) sorted.
async fn mirror(app: &TestApp, org_id: &str) -> Vec<(String, String)> {
    let mut members: Vec<_> = app
        .deps
        .store
        .all_members(org_id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.email, m.role.slug().to_owned()))
        .collect();
    members.sort();
    members
}

async fn membership_id(emulator: &Emulator, user: &TestUser, org_id: &str) -> String {
    let page = emulator
        .api(
            reqwest::Method::GET,
            &format!("/user_management/organization_memberships?user_id={}&organization_id={org_id}", user.id),
            None,
        )
        .await;
    page["data"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn sync_mirrors_then_follows_changes_then_writes_nothing() {
    let workos = PrivateEmulator::start().await;
    let app = app_for(&workos.url, &workos.url, &[]).await;
    let emulator = workos.emulator();
    let org_id = emulator.create_org("Synced Co").await;
    let mut users = Vec::new();
    for role in ["admin", "staff", "staff", "client", "staff"] {
        let user = emulator.create_user(role).await;
        emulator.add_membership(&user.id, &org_id, role).await;
        users.push(user);
    }
    let first = sync(&app, json!({})).await;
    assert_eq!(first["fullPass"], true, "{first}");
    assert_eq!(changes(&first), (5, 0, 0), "{first}");
    assert_eq!(first["complete"], true);
    let listed = mirror(&app, &org_id).await;
    assert_eq!(listed.len(), 5);
    assert_eq!(listed.iter().filter(|(_, r)| r == "staff").count(), 3);

    // The mirror serves the API: the admin sees every member.
    let admin_token = emulator.token(&users[0], Some(&org_id)).await;
    let response = app.call(GET, "/users", Some(&admin_token), None).await;
    assert_eq!(response.body["items"].as_array().map(Vec::len), Some(5), "{:?}", response.body);

    // A staff member assigned to a customer, then changed in WorkOS in every way.
    let customer = app.call(testkit::POST, "/customers", Some(&admin_token), Some(json!({"name": "Kept"}))).await;
    let customer_id = customer.body["id"].as_str().unwrap().to_owned();
    let assign = app
        .call(testkit::PUT, &format!("/customers/{customer_id}/staff/{}", users[1].id), Some(&admin_token), None)
        .await;
    assert_eq!(assign.status, 201);
    let om = |i: usize| membership_id(&emulator, &users[i], &org_id);
    let (promote, deactivate, delete) = (om(1).await, om(2).await, om(4).await);
    emulator
        .api(
            reqwest::Method::PUT,
            &format!("/user_management/organization_memberships/{promote}"),
            Some(json!({"role_slug": "admin"})),
        )
        .await;
    emulator
        .api(reqwest::Method::PUT, &format!("/user_management/organization_memberships/{deactivate}/deactivate"), None)
        .await;
    emulator.api(reqwest::Method::DELETE, &format!("/user_management/organization_memberships/{delete}"), None).await;
    emulator
        .api(
            reqwest::Method::PUT,
            &format!("/user_management/users/{}", users[3].id),
            Some(json!({"first_name": "Renamed"})),
        )
        .await;
    let newcomer = emulator.create_user("late").await;
    emulator.add_membership(&newcomer.id, &org_id, "client").await;

    let second = sync(&app, json!({})).await;
    assert_eq!(second["fullPass"], false, "{second}");
    assert_eq!(changes(&second), (1, 2, 2), "{second}");
    let stored = app.deps.store.get_member(&org_id, &users[1].id).await.unwrap().unwrap();
    assert_eq!(stored.role.slug(), "admin");
    assert!(app.deps.store.get_member(&org_id, &users[2].id).await.unwrap().is_none(), "deactivated");
    assert!(app.deps.store.get_member(&org_id, &users[4].id).await.unwrap().is_none(), "deleted");
    let renamed = app.deps.store.get_member(&org_id, &users[3].id).await.unwrap().unwrap();
    assert_eq!(renamed.first_name.as_deref(), Some("Renamed"));
    assert!(app.deps.store.get_member(&org_id, &newcomer.id).await.unwrap().is_some());
    let staff = app.call(GET, &format!("/customers/{customer_id}/staff"), Some(&admin_token), None).await;
    assert!(staff.body["items"].as_array().unwrap().is_empty(), "the promoted member lost the assignment");
    let org =
        app.org(&testkit::Member { user: users[0].clone(), org_id: org_id.clone(), token: admin_token.clone() }).await;
    assert_eq!(org["usage"], json!({"customers": 1, "staff": 2, "clients": 2}), "counters follow the mirror");

    let before = app.snapshot().await;
    let third = sync(&app, json!({})).await;
    assert_eq!(changes(&third), (0, 0, 0), "{third}");
    assert_eq!(app.snapshot().await, before, "nothing written when nothing changed");
    // A forced full pass over unchanged data writes nothing either (but its own position).
    let full = sync(&app, json!({"mode": "full"})).await;
    assert_eq!((full["fullPass"].as_bool(), changes(&full)), (Some(true), (0, 0, 0)), "{full}");
    let after: Vec<_> = app.snapshot().await.into_iter().filter(|i| i["entity"] != "S(\"job_state\")").collect();
    let before: Vec<_> = before.into_iter().filter(|i| i["entity"] != "S(\"job_state\")").collect();
    assert_eq!(after, before);
}

#[tokio::test]
async fn the_webhook_keeps_the_mirror_in_step_without_the_job() {
    let workos = PrivateEmulator::start().await;
    let secret = "whsec_test_webhook";
    let app = Arc::new(app_for(&workos.url, &workos.url, &[("WORKOS_WEBHOOK_SECRET", secret)]).await);
    let emulator = workos.emulator();
    let org_id = emulator.create_org("Hooked Co").await;
    let admin = emulator.create_user("admin").await;
    emulator.add_membership(&admin.id, &org_id, "admin").await;
    let staff = emulator.create_user("staff").await;
    emulator.add_membership(&staff.id, &org_id, "staff").await;
    sync(&app, json!({})).await;

    let url = app.serve().await;
    emulator
        .api(
            reqwest::Method::POST,
            "/webhook_endpoints",
            Some(json!({"endpoint_url": format!("{url}/webhooks/workos"), "secret": secret,
                        "events": ["organization_membership.updated", "organization_membership.created", "user.updated"]})),
        )
        .await;
    let om = membership_id(&emulator, &staff, &org_id).await;
    emulator
        .api(
            reqwest::Method::PUT,
            &format!("/user_management/organization_memberships/{om}"),
            Some(json!({"role_slug": "client"})),
        )
        .await;
    emulator
        .api(
            reqwest::Method::PUT,
            &format!("/user_management/users/{}", admin.id),
            Some(json!({"last_name": "Hooked"})),
        )
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let staff_role = app.deps.store.get_member(&org_id, &staff.id).await.unwrap().map(|m| m.role.slug());
        let admin_name = app.deps.store.get_member(&org_id, &admin.id).await.unwrap().and_then(|m| m.last_name);
        if staff_role == Some("client") && admin_name.as_deref() == Some("Hooked") {
            break;
        }
        assert!(Instant::now() < deadline, "the mirror did not follow: {staff_role:?} {admin_name:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The same event delivered twice (as WorkOS retries): the second changes nothing.
    let events = emulator.api(reqwest::Method::GET, "/events?order=desc&limit=1", None).await;
    let event = &events["data"][0];
    let body =
        json!({"id": event["id"], "event": event["event"], "data": event["data"], "created_at": event["created_at"]})
            .to_string();
    let before = app.snapshot().await;
    for _ in 0..2 {
        let t = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()).to_string();
        let tag =
            shared::crypto::hex(&shared::crypto::hmac_sha256(secret.as_bytes(), format!("{t}.{body}").as_bytes()));
        let request = http::Request::builder()
            .method(testkit::POST)
            .uri("/webhooks/workos")
            .header("workos-signature", format!("t={t}, v1={tag}"))
            .body(bytes::Bytes::from(body.clone()))
            .unwrap();
        let response = app.send(request).await;
        assert_eq!(
            (response.status, response.body["status"].as_str()),
            (200, Some("unchanged")),
            "{:?}",
            response.body
        );
    }
    assert_eq!(app.snapshot().await, before);
    // A wrong signature is refused and writes nothing.
    let forged = http::Request::builder()
        .method(testkit::POST)
        .uri("/webhooks/workos")
        .header("workos-signature", "t=1, v1=00")
        .body(bytes::Bytes::from(body))
        .unwrap();
    let response = app.send(forged).await;
    assert_eq!((response.status, response.code()), (401, "invalid_signature"));
}

#[tokio::test]
async fn failures_and_rate_limits_are_retried_and_the_cursor_waits() {
    let workos = PrivateEmulator::start().await;
    let proxy = FaultProxy::start(&workos.url).await;
    let app = app_for(&proxy.url, &workos.url, &[]).await;
    let emulator = workos.emulator();
    let org_id = emulator.create_org("Flaky Co").await;
    let first = emulator.create_user("first").await;
    emulator.add_membership(&first.id, &org_id, "staff").await;

    // Transient 429s (Retry-After 1) and 500s on the reads of a full pass: retried.
    proxy.fail(http::Method::GET, "/organizations", Fault::Status(429), 2);
    proxy.fail(http::Method::GET, "/user_management/users", Fault::Status(500), 2);
    let report = sync(&app, json!({})).await;
    assert_eq!((report["complete"].as_bool(), report["created"].as_u64()), (Some(true), Some(1)), "{report}");

    // A new member whose profile cannot be read: the run fails on that event, the cursor stays
    // before it, and a later run applies it.
    let cursor_before = app.deps.store.sync_state().await.unwrap().event_cursor;
    let second = emulator.create_user("second").await;
    emulator.add_membership(&second.id, &org_id, "staff").await;
    proxy.fail(http::Method::GET, &format!("/user_management/users/{}", second.id), Fault::Status(500), 6);
    assert!(app.run_job("workos-sync", json!({})).await.is_err());
    let state = app.deps.store.sync_state().await.unwrap();
    let events = emulator.api(reqwest::Method::GET, "/events?order=asc&limit=100", None).await;
    let ids: Vec<&str> = events["data"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    let membership_event = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e["event"] == "organization_membership.created" && e["data"]["user_id"] == second.id.as_str())
        .unwrap();
    let cursor = state.event_cursor.as_deref();
    let cursor_index = cursor.and_then(|c| ids.iter().position(|id| *id == c));
    assert!(cursor_index.is_none_or(|i| i < membership_event), "the cursor did not pass the unapplied event");
    assert!(cursor_index >= cursor_before.as_deref().and_then(|c| ids.iter().position(|id| *id == c)));
    assert!(app.deps.store.get_member(&org_id, &second.id).await.unwrap().is_none());
    let report = sync(&app, json!({})).await;
    assert_eq!(report["created"], 1, "{report}");
    assert!(app.deps.store.get_member(&org_id, &second.id).await.unwrap().is_some());
}

/// A rate limit longer than a request would wait (`Patience::REQUEST` waits 5 s at most) is
/// waited out by the job, within its `maxRetryWaitSeconds`; one longer than that stops the run
/// instead of holding the function, and the next run finishes. The proxy answers the 429s, so no
/// test spends a minute of real requests on it.
#[tokio::test]
async fn a_rate_limit_is_waited_out_within_the_jobs_patience() {
    let workos = PrivateEmulator::start().await;
    let proxy = FaultProxy::start(&workos.url).await;
    let app = app_for(&proxy.url, &workos.url, &[]).await;
    let emulator = workos.emulator();
    let org_id = emulator.create_org("Busy Co").await;
    for role in ["admin", "staff"] {
        let user = emulator.create_user(role).await;
        emulator.add_membership(&user.id, &org_id, role).await;
    }
    proxy.fail(http::Method::GET, "/organizations", Fault::RateLimited(Duration::from_secs(30)), 1);
    assert!(app.run_job("workos-sync", json!({"maxRetryWaitSeconds": 2})).await.is_err(), "30 s is past 2 s");
    assert!(mirror(&app, &org_id).await.is_empty());

    proxy.fail(http::Method::GET, "/organizations", Fault::RateLimited(Duration::from_secs(6)), 1);
    let before = proxy.count(&GET, "/organizations");
    let report = sync(&app, json!({"maxRetryWaitSeconds": 10})).await;
    assert_eq!((report["complete"].as_bool(), report["created"].as_u64()), (Some(true), Some(2)), "{report}");
    assert_eq!(mirror(&app, &org_id).await.len(), 2);
    assert!(proxy.count(&GET, "/organizations") >= before + 2, "the rate-limited read was asked again after the wait");
}

/// The emulator's own rate limit (1,000 requests a minute per key) answers 429 with a
/// `Retry-After` the client reads, which is what the proxy above stands in for.
#[tokio::test]
async fn the_emulators_rate_limit_names_its_wait() {
    let workos = PrivateEmulator::start().await;
    let emulator = workos.emulator();
    for _ in 0..20 {
        let calls =
            (0..50).map(|_| emulator.api_as("sk_test_burn", reqwest::Method::GET, "/organizations?limit=1", None));
        futures::future::join_all(calls).await;
    }
    let answer = reqwest::Client::new()
        .get(format!("{}/organizations?limit=1", workos.url))
        .bearer_auth("sk_test_burn")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 429, "the allowance is spent");
    let wait: u64 = answer.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    let app = app_for(&workos.url, &workos.url, &[("WORKOS_API_KEY", "sk_test_burn")]).await;
    let impatient = app
        .deps
        .with_workos_patience(shared::clients::outbound::Patience { attempts: 3, max_wait: Duration::from_secs(0) });
    let error = impatient.workos.list_organizations(None).await.unwrap_err();
    assert!(error.to_string().contains("429 (rate_limited, retry after"), "{error}");
}

#[tokio::test]
async fn a_small_time_budget_stops_and_two_more_runs_finish_exactly() {
    let workos = PrivateEmulator::start().await;
    let app = app_for(&workos.url, &workos.url, &[]).await;
    let emulator = workos.emulator();
    let mut orgs = Vec::new();
    for i in 0..3 {
        let org_id = emulator.create_org(&format!("Budget {i}")).await;
        for role in ["admin", "staff", "client"] {
            let user = emulator.create_user(role).await;
            emulator.add_membership(&user.id, &org_id, role).await;
        }
        orgs.push(org_id);
    }
    let budget = json!({"budgetMillis": 1});
    let first = sync(&app, budget.clone()).await;
    assert_eq!((first["complete"].as_bool(), first["organizations"].as_u64()), (Some(false), Some(1)), "{first}");
    let second = sync(&app, budget.clone()).await;
    assert_eq!((second["complete"].as_bool(), second["organizations"].as_u64()), (Some(false), Some(1)), "{second}");
    let third = sync(&app, budget).await;
    assert_eq!(third["organizations"], 1, "{third}");
    let total: u64 = [&first, &second, &third].iter().map(|r| r["created"].as_u64().unwrap()).sum();
    assert_eq!(total, 9, "each member created exactly once");
    for org_id in &orgs {
        assert_eq!(mirror(&app, org_id).await.len(), 3);
    }
    // The full pass is done: the next run only reads events, and finishes.
    let fourth = sync(&app, json!({})).await;
    assert_eq!((fourth["fullPass"].as_bool(), fourth["complete"].as_bool()), (Some(false), Some(true)), "{fourth}");
    assert_eq!(changes(&fourth), (0, 0, 0));
}

/// A cursor older than WorkOS's 30-day event retention cannot be followed: a full pass instead.
#[tokio::test]
async fn a_cursor_past_the_event_retention_falls_back_to_a_full_pass() {
    let workos = PrivateEmulator::start().await;
    let app = app_for(&workos.url, &workos.url, &[]).await;
    let emulator = workos.emulator();
    let org_id = emulator.create_org("Old Cursor Co").await;
    let user = emulator.create_user("staff").await;
    emulator.add_membership(&user.id, &org_id, "staff").await;
    let first = sync(&app, json!({})).await;
    assert_eq!(first["fullPass"], true);
    assert_eq!(sync(&app, json!({})).await["fullPass"], false, "a fresh cursor is followed");

    let mut state = app.deps.store.sync_state().await.unwrap();
    let long_ago = shared::Timestamp::now().minus(time::Duration::days(31));
    state.cursor_at = Some(long_ago);
    app.deps.store.save_sync_state(&state).await.unwrap();
    let report = sync(&app, json!({})).await;
    assert_eq!((report["fullPass"].as_bool(), report["complete"].as_bool()), (Some(true), Some(true)), "{report}");
    let state = app.deps.store.sync_state().await.unwrap();
    assert!(state.cursor_at.unwrap() > shared::Timestamp::now().minus(time::Duration::days(1)));
}

/// The full pass never stops at an organization being deleted (WorkOS deletes it next, and what
/// WorkOS answers to a cursor that names a deleted organization is not documented), and a cursor
/// WorkOS refuses starts the pass again rather than failing every run from then on.
#[tokio::test]
async fn the_full_pass_neither_rests_on_nor_sticks_at_a_deleted_organization() {
    let workos = PrivateEmulator::start().await;
    let proxy = FaultProxy::start(&workos.url).await;
    let app = app_for(&proxy.url, &workos.url, &[]).await;
    let emulator = workos.emulator();
    let mut orgs = Vec::new();
    for name in ["Before Co", "Doomed Co", "After Co"] {
        let org_id = emulator.create_org(name).await;
        let admin = emulator.create_user("admin").await;
        emulator.add_membership(&admin.id, &org_id, "admin").await;
        orgs.push((org_id, admin));
    }
    assert_eq!(sync(&app, json!({})).await["complete"], true);
    let (doomed_id, doomed_admin) = &orgs[1];
    let doomed = app.deps.store.get_org(doomed_id).await.unwrap().unwrap();
    let deletion = shared::store::Deletion {
        requested_at: shared::Timestamp::now(),
        requested_by: doomed_admin.id.clone(),
        request_id: None,
        workos_deleted_at: None,
    };
    let marked = app.deps.store.request_deletion(&doomed, &deletion, &testkit::origin()).await.unwrap();
    assert_eq!(marked, shared::store::OrgWrite::Written(()));

    // WorkOS refuses to delete it for now, and a full pass resumes just before it: the pass
    // goes past it without resting there.
    proxy.fail(http::Method::DELETE, "/organizations/", Fault::Status(500), 1_000);
    let mut state = app.deps.store.sync_state().await.unwrap();
    state.full_pass_after = Some(orgs[0].0.clone());
    app.deps.store.save_sync_state(&state).await.unwrap();
    let report = sync(&app, json!({"budgetMillis": 1})).await;
    assert_eq!(
        (report["deletions"]["failed"].as_u64(), report["fullPass"].as_bool()),
        (Some(1), Some(true)),
        "{report}"
    );
    let state = app.deps.store.sync_state().await.unwrap();
    assert_eq!(state.full_pass_after.as_deref(), Some(orgs[0].0.as_str()), "{report}");

    // A cursor that names it once WorkOS deleted it, refused by WorkOS: the pass starts again,
    // finishes, and the deletion with it.
    proxy.clear();
    let mut state = app.deps.store.sync_state().await.unwrap();
    state.full_pass_after = Some(doomed_id.clone());
    app.deps.store.save_sync_state(&state).await.unwrap();
    proxy.fail(http::Method::GET, "/organizations", Fault::Status(404), 1);
    let report = sync(&app, json!({})).await;
    assert_eq!(
        (report["deletions"]["completed"].as_u64(), report["complete"].as_bool()),
        (Some(1), Some(true)),
        "{report}"
    );
    assert_eq!(app.deps.store.sync_state().await.unwrap().full_pass_after, None, "the pass finished");
    assert!(proxy.count(&http::Method::GET, "/organizations") >= 2, "refused once, then read from the start");
    assert!(matches!(
        app.deps.store.get_org_record(doomed_id).await.unwrap(),
        Some(shared::store::OrgRecord::Deleted(_))
    ));
}

/// A member who arrives through an invitation gets the invited client's customer from the sync.
#[tokio::test]
async fn the_sync_gives_an_invited_client_their_customer() {
    let workos = PrivateEmulator::start().await;
    let app = app_for(&workos.url, &workos.url, &[]).await;
    let emulator = workos.emulator();
    let org_id = emulator.create_org("Invite Co").await;
    let admin = emulator.create_user("admin").await;
    emulator.add_membership(&admin.id, &org_id, "admin").await;
    let token = emulator.token(&admin, Some(&org_id)).await;
    let customer = app.call(testkit::POST, "/customers", Some(&token), Some(json!({"name": "Their Co"}))).await;
    let customer_id = customer.body["id"].as_str().unwrap().to_owned();
    let invitee = emulator.create_user("invitee").await;
    let invited = app
        .call(
            testkit::POST,
            "/invitations",
            Some(&token),
            Some(json!({"email": invitee.email, "role": "client", "customerId": customer_id})),
        )
        .await;
    assert_eq!(invited.status, 201, "{:?}", invited.body);
    let pending = emulator
        .api(reqwest::Method::GET, &format!("/user_management/invitations?organization_id={org_id}"), None)
        .await;
    let workos_id = pending["data"][0]["id"].as_str().unwrap().to_owned();
    emulator.api(reqwest::Method::POST, &format!("/user_management/invitations/{workos_id}/accept"), None).await;

    let report = sync(&app, json!({})).await;
    assert!(report["created"].as_u64().unwrap() >= 1, "{report}");
    let member = app.deps.store.get_member(&org_id, &invitee.id).await.unwrap().unwrap();
    assert_eq!((member.role.slug(), member.customer_id.as_deref()), ("client", Some(customer_id.as_str())));
    let org = app.call(GET, "/org", Some(&token), None).await;
    assert_eq!(org.body["usage"]["clients"], 1, "the invitation's seat passed to the member");
}

/// A role change that stopped between the table and WorkOS leaves the table ahead; the full
/// pass puts it back to WorkOS's role.
#[tokio::test]
async fn a_full_pass_settles_a_role_workos_never_took() {
    let workos = PrivateEmulator::start().await;
    let app = app_for(&workos.url, &workos.url, &[]).await;
    let emulator = workos.emulator();
    let org_id = emulator.create_org("Half Done Co").await;
    let admin = emulator.create_user("admin").await;
    emulator.add_membership(&admin.id, &org_id, "admin").await;
    let staff = emulator.create_user("staff").await;
    emulator.add_membership(&staff.id, &org_id, "staff").await;
    sync(&app, json!({})).await;

    // The table's half of a promotion, as update-user writes it; WorkOS never hears of it.
    let old = app.deps.store.get_member(&org_id, &staff.id).await.unwrap().unwrap();
    let promoted =
        shared::store::MemberItem { role: shared::domain::Role::Admin, ..old.revised(shared::Timestamp::now()) };
    let change = shared::domain::UsageChange::role_change(old.role, promoted.role);
    app.deps.store.change_member(&old, &promoted, &change, &admin.id, &testkit::origin()).await.unwrap();

    assert_eq!(changes(&sync(&app, json!({})).await), (0, 0, 0), "no event tells of it");
    let full = sync(&app, json!({"mode": "full"})).await;
    assert_eq!(changes(&full), (0, 1, 0), "{full}");
    let settled = app.deps.store.get_member(&org_id, &staff.id).await.unwrap().unwrap();
    assert_eq!(settled.role.slug(), "staff");
    let token = emulator.token(&admin, Some(&org_id)).await;
    assert_eq!(app.call(GET, "/org", Some(&token), None).await.body["usage"]["staff"], 2);
}

/// Issue 9, item 7: WorkOS times whose fractions differ in length still order as times. Stored
/// as `…27.450Z`, a membership change at `…27.4Z` is older and changes nothing (as raw text,
/// `"…27.45Z" < "…27.4Z"` would have called it newer).
#[tokio::test]
async fn times_with_fractions_of_other_lengths_order_as_times() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let stored = app.deps.store.get_member(&org.org_id, org.staff.id()).await.unwrap().unwrap();
    let pinned = shared::store::MemberItem {
        workos_updated_at: shared::Timestamp::parse("2026-12-01T18:26:27.45Z").unwrap(),
        ..stored.clone()
    };
    let written = app.deps.store.mirror_member_change(&stored, &pinned, &testkit::origin()).await.unwrap();
    assert_eq!(written, shared::store::OrgWrite::Written(true));
    assert_eq!(
        app.deps.store.get_member(&org.org_id, org.staff.id()).await.unwrap().unwrap().workos_updated_at.to_string(),
        "2026-12-01T18:26:27.450Z",
        "stored with three fraction digits"
    );
    let membership = app.emulator.memberships(org.staff.id(), &org.org_id).await[0].clone();
    let mut older = membership.clone();
    older["role"] = json!({"slug": "client"});
    older["updated_at"] = json!("2026-12-01T18:26:27.4Z");
    let event: shared::clients::workos::Event = serde_json::from_value(
        json!({"id": "event_old", "event": "organization_membership.updated", "data": older, "created_at": "2026-12-01T18:26:27.4Z"}),
    )
    .unwrap();
    let changes = app.apply_workos_event(&event).await.unwrap();
    assert_eq!(changes.total(), 0);
    assert_eq!(app.deps.store.get_member(&org.org_id, org.staff.id()).await.unwrap().unwrap().role.slug(), "staff");
}

/// A removal through the API that stopped after the table's half (a crash, an undo that could
/// not run) is finished by the full pass, in WorkOS; the pass does not store the member again.
#[tokio::test]
async fn the_full_pass_finishes_an_api_removal_in_workos() {
    let workos = PrivateEmulator::start().await;
    let app = app_for(&workos.url, &workos.url, &[]).await;
    let emulator = workos.emulator();
    let org_id = emulator.create_org("Half Removed Co").await;
    let admin = emulator.create_user("admin").await;
    emulator.add_membership(&admin.id, &org_id, "admin").await;
    let staff = emulator.create_user("staff").await;
    emulator.add_membership(&staff.id, &org_id, "staff").await;
    sync(&app, json!({})).await;
    let member = app.deps.store.get_member(&org_id, &staff.id).await.unwrap().unwrap();
    let removal = shared::store::RemovedMemberItem::of(
        &member,
        shared::store::RemovalOrigin::Api,
        member.workos_updated_at,
        shared::Timestamp::now(),
    );
    app.deps.store.remove_member(&member, &removal, &admin.id, &testkit::origin()).await.unwrap();

    let report = sync(&app, json!({"mode": "full"})).await;
    assert_eq!(changes(&report), (0, 0, 1), "{report}");
    assert!(app.deps.store.get_member(&org_id, &staff.id).await.unwrap().is_none());
    let left = emulator
        .api(
            reqwest::Method::GET,
            &format!("/user_management/organization_memberships?user_id={}&organization_id={org_id}", staff.id),
            None,
        )
        .await;
    assert!(left["data"].as_array().unwrap().iter().all(|m| m["status"] != "active"), "{left}");
    assert_eq!(changes(&sync(&app, json!({"mode": "full"})).await), (0, 0, 0), "settled");
}

/// Found by the WorkOS webhook storm: a newer event that keeps the stored role must still move
/// the stored WorkOS time forward, or an older event with another role, arriving after it, is
/// taken for newer. (v1 staff, v3 staff, then a late v2 admin: staff stays.)
#[tokio::test]
async fn a_newer_event_with_the_same_role_still_guards_against_older_news() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let membership = app.emulator.memberships(org.staff.id(), &org.org_id).await[0].clone();
    let event = |version: u32, role: &str| {
        let mut data = membership.clone();
        data["role"] = json!({"slug": role});
        data["updated_at"] = json!(format!("2027-01-01T00:00:0{version}.000Z"));
        serde_json::from_value::<shared::clients::workos::Event>(json!({
            "id": format!("event_v{version}"), "event": "organization_membership.updated", "data": data,
            "created_at": format!("2027-01-01T00:00:0{version}.000Z"),
        }))
        .unwrap()
    };
    for (version, role) in [(1, "staff"), (3, "staff"), (2, "admin")] {
        app.apply_workos_event(&event(version, role)).await.unwrap();
    }
    let stored = app.deps.store.get_member(&org.org_id, org.staff.id()).await.unwrap().unwrap();
    assert_eq!(stored.role.slug(), "staff", "the late, older admin event changed nothing");
    assert_eq!(stored.workos_updated_at.to_string(), "2027-01-01T00:00:03.000Z");
    app.assert_counts_match(&org.org_id, "after the events").await;
}

/// Every kind of WorkOS news reaches the mirror through the signed webhook route itself (what
/// the deployed workos-webhook runs, and so what its least-privilege policy is recorded from):
/// new memberships, a removal that takes the staff member's assignments with it, a profile
/// change, an organization renamed, and a user deleted.
#[tokio::test]
async fn each_kind_of_workos_news_is_applied_through_the_webhook_route() {
    let secret = "webhook-kinds-secret";
    let workos = PrivateEmulator::start().await;
    let app = app_for(&workos.url, &workos.url, &[("WORKOS_WEBHOOK_SECRET", secret)]).await;
    let emulator = workos.emulator();
    let deliver_since = |after: Option<String>| {
        let (app, emulator) = (&app, &emulator);
        async move {
            let path = match &after {
                Some(id) => format!("/events?order=asc&limit=100&after={id}"),
                None => "/events?order=asc&limit=100".to_owned(),
            };
            let events = emulator.api(reqwest::Method::GET, &path, None).await;
            let mut last = after;
            for event in events["data"].as_array().unwrap() {
                let body = json!({"id": event["id"], "event": event["event"], "data": event["data"],
                    "created_at": event["created_at"]})
                .to_string();
                let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
                let tag = shared::crypto::hex(&shared::crypto::hmac_sha256(
                    secret.as_bytes(),
                    format!("{t}.{body}").as_bytes(),
                ));
                let request = http::Request::builder()
                    .method(testkit::POST)
                    .uri("/webhooks/workos")
                    .header("workos-signature", format!("t={t}, v1={tag}"))
                    .body(bytes::Bytes::from(body))
                    .unwrap();
                let response = app.send(request).await;
                assert_eq!(response.status, 200, "{}: {:?}", event["event"], response.body);
                last = event["id"].as_str().map(str::to_owned);
            }
            last
        }
    };
    let org_id = emulator.create_org("Webhook Kinds").await;
    let admin = emulator.create_user("admin").await;
    let staff = emulator.create_user("staff").await;
    let leaver = emulator.create_user("leaver").await;
    emulator.add_membership(&admin.id, &org_id, "admin").await;
    let staff_membership = emulator.add_membership(&staff.id, &org_id, "staff").await;
    emulator.add_membership(&leaver.id, &org_id, "staff").await;
    let seen = deliver_since(None).await;
    for user in [&admin, &staff, &leaver] {
        assert!(app.deps.store.get_member(&org_id, &user.id).await.unwrap().is_some(), "{} arrived", user.email);
    }

    let token = emulator.token(&admin, Some(&org_id)).await;
    let customer = app.call(testkit::POST, "/customers", Some(&token), Some(json!({"name": "Kinds Co"}))).await;
    let customer_id = customer.body["id"].as_str().unwrap().to_owned();
    let assign = format!("/customers/{customer_id}/staff/{}", staff.id);
    assert_eq!(app.call(testkit::PUT, &assign, Some(&token), None).await.status, 201);

    let membership_id = staff_membership["id"].as_str().unwrap();
    emulator
        .api(reqwest::Method::DELETE, &format!("/user_management/organization_memberships/{membership_id}"), None)
        .await;
    emulator
        .api(
            reqwest::Method::PUT,
            &format!("/user_management/users/{}", admin.id),
            Some(json!({"first_name": "Renamed"})),
        )
        .await;
    emulator
        .api(reqwest::Method::PUT, &format!("/organizations/{org_id}"), Some(json!({"name": "Webhook Kinds 2"})))
        .await;
    emulator.api(reqwest::Method::DELETE, &format!("/user_management/users/{}", leaver.id), None).await;
    deliver_since(seen).await;

    assert!(app.deps.store.get_member(&org_id, &staff.id).await.unwrap().is_none(), "the removal was mirrored");
    let staff_list = app.call(GET, &format!("/customers/{customer_id}/staff"), Some(&token), None).await;
    assert_eq!(staff_list.body["items"], json!([]), "the removed staff member's assignment went with them");
    let admin_member = app.deps.store.get_member(&org_id, &admin.id).await.unwrap().unwrap();
    assert_eq!(admin_member.first_name.as_deref(), Some("Renamed"));
    assert_eq!(app.deps.store.get_org(&org_id).await.unwrap().unwrap().name, "Webhook Kinds 2");
    assert!(app.deps.store.get_member(&org_id, &leaver.id).await.unwrap().is_none(), "the deleted user left");
    assert!(app.deps.store.get_profile(&leaver.id).await.unwrap().is_none());
    app.assert_counts_match(&org_id, "after the webhook's news").await;
}
