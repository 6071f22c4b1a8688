//! Any authenticated route can be the first request a new member makes, so each of them stores
//! the membership just in time (`shared::flows::access`). Besides the promise itself, this is
//! what records the provisioning writes for every function, which the least-privilege check
//! (`infra/testkit/src/calls.rs`) then requires each function's policy to allow.

use serde_json::json;
use testkit::lemonsqueezy::ROOMY_PLANS;
use testkit::{GET, POST, TestApp, env};

#[tokio::test]
async fn every_authenticated_route_provisions_a_new_member() {
    let app = TestApp::with_workos_url(&env("WORKOS_API_URL"), &[("PLANS", ROOMY_PLANS)]).await;
    let fixture = app.org_fixture().await;
    let created = app.call(POST, "/customers", Some(&fixture.admin.token), Some(json!({"name": "First Co"}))).await;
    let customer_id = created.body["id"].as_str().unwrap().to_owned();
    let invitation_id = "inv_01aaaaaaaaaaaaaaaaaaaaaaaa";
    let authenticated = dev_server::routes()
        .into_iter()
        .filter(|route| !route.path.starts_with("/webhooks/") && route.function != "create-org");
    let mut visited = 0;
    for route in authenticated {
        // One newcomer made in WorkOS directly (takes a free seat), one invited first (takes
        // the invitation's seat over: a transaction without a usage change).
        let newcomer = app.new_member(&fixture.org_id, "staff").await;
        let invited = invited_member(&app, &fixture).await;
        for member in [&newcomer, &invited] {
            let path = route
                .path
                .replace("{customerId}", &customer_id)
                .replace("{userId}", member.id())
                .replace("{invitationId}", invitation_id);
            let body = (route.method != GET).then(|| json!({}));
            let response = app.call(route.method.clone(), &path, Some(&member.token), body).await;
            assert_ne!(response.code(), "no_organization", "{} {path}: {:?}", route.method, response.body);
            assert_ne!(response.status, 401, "{} {path}", route.method);
            assert!(response.status < 500, "{} {path}: {:?}", route.method, response.body);
            let stored = app.deps.store.get_member(&fixture.org_id, member.id()).await.unwrap();
            assert!(stored.is_some(), "{} {path} did not store the new member", route.method);
        }
        visited += 1;
    }
    assert!(visited >= 20, "only {visited} routes");
    assert_eq!(app.call(GET, "/me", Some(&fixture.admin.token), None).await.status, 200);
}

/// A user invited as staff through the API, whose WorkOS membership then exists, with a token.
async fn invited_member(app: &TestApp, fixture: &testkit::OrgFixture) -> testkit::Member {
    let user = app.emulator.create_user("invited").await;
    let invite = json!({"email": user.email, "role": "staff"});
    let invited = app.call(POST, "/invitations", Some(&fixture.admin.token), Some(invite)).await;
    assert_eq!(invited.status, 201, "{:?}", invited.body);
    app.emulator.add_membership(&user.id, &fixture.org_id, "staff").await;
    let token = app.emulator.token(&user, Some(&fixture.org_id)).await;
    testkit::Member { user, org_id: fixture.org_id.clone(), token }
}
