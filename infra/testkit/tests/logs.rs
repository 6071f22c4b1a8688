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

/// Issue 25: an API key's secret and its digest reach no log line, whether the key is made,
/// listed, used, refused for its scope or its budget, or edited; its id is on the span.
#[tokio::test]
async fn an_api_keys_secret_is_never_logged() {
    let app = TestApp::with_workos_url(&env("WORKOS_API_URL"), &[("API_KEY_REQUESTS_PER_MINUTE", "3")]).await;
    let org = app.org_fixture().await;
    let logs = testkit::LogCapture::start();
    let body = json!({"name": "Logged?", "scope": "read"});
    let made = app.call(POST, "/api-keys", Some(&org.admin.token), Some(body)).await;
    assert_eq!(made.status, 201);
    let (secret, id) = (made.body["secret"].as_str().unwrap(), made.body["id"].as_str().unwrap());
    assert_eq!(app.call(testkit::GET, "/api-keys", Some(&org.admin.token), None).await.status, 200);
    let last = if secret.ends_with('0') { '1' } else { '0' };
    let edited = format!("{}{last}", &secret[..secret.len() - 1]);
    for _ in 0..4 {
        app.call(testkit::GET, "/customers", Some(secret), None).await;
    }
    assert_eq!(app.call(POST, "/customers", Some(secret), Some(json!({"name": "x"}))).await.status, 403);
    assert_eq!(app.call(testkit::GET, "/customers", Some(&edited), None).await.status, 401);

    let text = logs.text();
    assert!(text.contains(&format!("\"api_key_id\":\"{id}\"")), "the key's id is on the span: {text}");
    let random = secret.rsplit('.').next().unwrap();
    let digest = shared::crypto::sha256_hex(secret.as_bytes());
    for needle in [random, &edited.rsplit('.').next().unwrap()[..20], digest.as_str()] {
        assert!(!text.contains(needle), "the logs hold {needle:?}: {text}");
    }
}
