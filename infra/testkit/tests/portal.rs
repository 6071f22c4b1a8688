//! `POST /org/portal-link` (issue 25, API.md "WorkOS Admin Portal"): a WorkOS Admin Portal link
//! for each intent, made by the emulator's `/portal/generate_link`, with its audit entry; the
//! refusals; WorkOS failing.

use serde_json::json;
use testkit::proxy::{Fault, FaultProxy};
use testkit::{GET, POST, TestApp, env};

const INTENTS: [&str; 5] = ["sso", "dsync", "domain_verification", "audit_logs", "log_streams"];

#[tokio::test]
async fn each_intent_gives_a_link_for_five_minutes_and_an_audit_entry() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    for intent in INTENTS {
        let before = shared::Timestamp::now();
        let r = app.call(POST, "/org/portal-link", Some(&org.admin.token), Some(json!({"intent": intent}))).await;
        assert_eq!(r.status, 201, "{intent}: {:?}", r.body);
        let link = r.body["link"].as_str().unwrap();
        assert!(link.ends_with(&format!("/portal/{intent}/{}", org.org_id)), "{link}");
        let expires = shared::Timestamp::parse(r.body["expiresAt"].as_str().unwrap()).unwrap();
        let minutes = (expires.unix_millis() - before.unix_millis()) as f64 / 60_000.0;
        assert!((4.9..=5.1).contains(&minutes), "{intent}: {minutes} minutes");
    }
    // An admin whose first request this is: provisioned just in time, as on every member route.
    let late = app.new_member(&org.org_id, "admin").await;
    let r = app.call(POST, "/org/portal-link", Some(&late.token), Some(json!({"intent": "sso"}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    app.assert_counts_match(&org.org_id, "a member provisioned by the portal route").await;

    let audit = app.call(GET, "/audit-log?action=org.portal_link_created", Some(&org.admin.token), None).await;
    let mut intents: Vec<String> = audit.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == json!({"type": "user", "id": org.admin.id()}))
        .map(|e| {
            assert_eq!(e["target"], json!({"type": "org", "id": org.org_id}));
            e["changes"]["intent"]["to"].as_str().unwrap().to_owned()
        })
        .collect();
    intents.sort();
    let mut expected = INTENTS.map(str::to_owned).to_vec();
    expected.sort();
    assert_eq!(intents, expected);
}

#[tokio::test]
async fn other_intents_other_fields_and_other_roles_are_refused() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    for body in [json!({"intent": "certificate_renewal"}), json!({"intent": "SSO"}), json!({}), json!({"intent": 1})] {
        let r = app.call(POST, "/org/portal-link", Some(&org.admin.token), Some(body.clone())).await;
        assert_eq!((r.status, r.code()), (400, "validation_failed"), "{body}: {:?}", r.body);
    }
    let extra = app
        .call(
            POST,
            "/org/portal-link",
            Some(&org.admin.token),
            Some(json!({"intent": "sso", "returnUrl": "https://evil.example"})),
        )
        .await;
    assert_eq!((extra.status, extra.code()), (400, "validation_failed"), "a caller never chooses the return URL");
    for member in [&org.staff, &org.client] {
        let r = app.call(POST, "/org/portal-link", Some(&member.token), Some(json!({"intent": "sso"}))).await;
        assert_eq!((r.status, r.code()), (403, "forbidden"));
    }
    let none = app.call(POST, "/org/portal-link", None, Some(json!({"intent": "sso"}))).await;
    assert_eq!(none.status, 401);
    let audit = app.call(GET, "/audit-log?action=org.portal_link_created", Some(&org.admin.token), None).await;
    assert_eq!(audit.body["items"], json!([]), "no link, no entry");
}

#[tokio::test]
async fn workos_failing_answers_503_and_writes_no_entry() {
    let proxy = FaultProxy::start(&env("WORKOS_API_URL")).await;
    let app = TestApp::with_workos_url(&proxy.url, &[("PORTAL_RETURN_URL", "https://app.example.com/settings")]).await;
    let (_, org_id, admin) = app.member_of_new_org("admin").await;
    for fault in [Fault::Status(500), Fault::Drop, Fault::Garbage] {
        proxy.fail(http::Method::POST, "/portal/generate_link", fault, 10);
        let r = app.call(POST, "/org/portal-link", Some(&admin), Some(json!({"intent": "sso"}))).await;
        assert_eq!((r.status, r.code()), (503, "upstream_unavailable"), "{fault:?}: {:?}", r.body);
        proxy.clear();
    }
    let audit = app.call(GET, "/audit-log?action=org.portal_link_created", Some(&admin), None).await;
    assert_eq!(audit.body["items"], json!([]));
    let r = app.call(POST, "/org/portal-link", Some(&admin), Some(json!({"intent": "dsync"}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert!(r.body["link"].as_str().unwrap().contains(&format!("/portal/dsync/{org_id}")));
}
