//! What the functions log, captured (issue 9, items 13 and 16). These tests have a test binary
//! of their own: see `testkit::logs`.

use serde_json::json;
use shared::Timestamp;
use shared::domain::Role;
use testkit::{DELETE, Fault, FaultProxy, POST, TestApp, env};

/// Item 13: WorkOS failures are logged with their status and request id, never with an e-mail
/// address (the invitation lookup's query holds one) or the body of WorkOS's answer.
#[tokio::test]
async fn upstream_failures_log_no_address_and_no_body() {
    let proxy = FaultProxy::start(&env("WORKOS_API_URL")).await;
    let app = TestApp::with_workos_url(&proxy.url, &[]).await;
    let org = app.org_fixture().await;
    let email = format!("logged-{}@test.example", ulid::Ulid::new().to_string().to_lowercase());
    let logs = testkit::LogCapture::start();

    // A half-sent invitation is revoked by looking it up by address; the connection drops.
    let invitation =
        shared::store::InvitationItem::new(&org.org_id, &email, Role::Staff, None, org.admin.id(), Timestamp::now());
    app.deps
        .store
        .create_invitation(&invitation, &shared::domain::plans::Plans::default().free, &testkit::origin())
        .await
        .unwrap();
    proxy.fail(http::Method::GET, "/user_management/invitations", Fault::Drop, 3);
    let revoke = app.call(DELETE, &format!("/invitations/{}", invitation.id), Some(&org.admin.token), None).await;
    assert_eq!(revoke.status, 503, "{:?}", revoke.body);
    // WorkOS answers an error with a body.
    let other = format!("other-{email}");
    proxy.fail(http::Method::POST, "/user_management/invitations", Fault::Status(500), 1);
    let invite =
        app.call(POST, "/invitations", Some(&org.admin.token), Some(json!({"email": other, "role": "staff"}))).await;
    assert_eq!(invite.status, 503, "{:?}", invite.body);

    let text = logs.text();
    assert!(text.contains("upstream"), "the failures are logged: {text}");
    assert!(text.contains("\"status\":500"), "with their status: {text}");
    for secret in [email.as_str(), "injected failure", "Bearer", org.admin.token.as_str()] {
        assert!(!text.contains(secret), "the logs hold {secret:?}: {text}");
    }
}

/// Issue 9, item 16: a function whose required setting is missing answers 500 `internal_error`
/// and names the setting in its log, never "upstream unavailable".
#[tokio::test]
async fn a_missing_setting_is_a_500_named_in_the_log() {
    let app = TestApp::new().await;
    let logs = testkit::LogCapture::start();
    let request = http::Request::builder()
        .method(testkit::POST)
        .uri("/webhooks/workos")
        .header("workos-signature", "t=1, v1=00")
        .body(bytes::Bytes::from_static(b"{}"))
        .unwrap();
    let response = app.send(request).await;
    assert_eq!((response.status, response.code()), (500, "internal_error"), "{:?}", response.body);
    assert!(!response.body.to_string().contains("WORKOS_WEBHOOK_SECRET"), "the name is for the log, not the caller");
    assert!(logs.text().contains("WORKOS_WEBHOOK_SECRET"), "{}", logs.text());
}

/// Issue 21, item 4: an error keeps its cause (`#[source]`), and a 503's log line shows the whole
/// chain (the store's error, and DynamoDB's under it); the client sees `upstream_unavailable`
/// and nothing of the cause.
#[tokio::test]
async fn a_503_logs_the_chain_of_its_cause_and_sends_none_of_it() {
    let dynamodb = FaultProxy::start(&env("AWS_ENDPOINT_URL_DYNAMODB")).await;
    let app = TestApp::with_dynamodb(testkit::dynamodb_client_at(&dynamodb.url), &[]).await;
    let org = app.org_fixture().await;
    let logs = testkit::LogCapture::start();
    dynamodb.fail_action("BatchGetItem", 0, Fault::Status(500), 10);
    let answer = app.call(testkit::GET, "/org", Some(&org.admin.token), None).await;
    assert_eq!((answer.status, answer.code()), (503, "upstream_unavailable"), "{:?}", answer.body);
    assert!(!answer.body.to_string().contains("DynamoDB"), "{:?}", answer.body);
    let text = logs.text();
    let line = text.lines().find(|l| l.contains("upstream failure")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("an upstream service is unavailable: DynamoDB failed: "), "the chain: {line}");
    assert!(line.contains("injected"), "down to DynamoDB's own answer: {line}");
}
