//! Faults (issue 10): DynamoDB Local stopped in the middle of a run of writes, and started again
//! on the same data; the Lemon Squeezy stand-in down. (WorkOS's 429, 500, timeouts and dropped
//! connections are covered route by route in `members.rs`, `orgs.rs` and `auth.rs` through the
//! fault proxy.)

use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;
use testkit::lemonsqueezy::{LemonSqueezyStub, ROOMY_PLANS, fixture_for};
use testkit::{GET, POST, TestApp, env};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// DynamoDB Local on `port`, keeping its data in `dir` (so a restart finds it).
fn start_dynamodb(port: u16, dir: &std::path::Path) -> tokio::process::Child {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/start-dynamodb.sh");
    tokio::process::Command::new(script)
        .arg(port.to_string())
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start DynamoDB Local")
}

async fn wait_until_up(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(Instant::now() < deadline, "DynamoDB Local did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn dynamodb_stopping_mid_writes_answers_503_and_leaves_no_partial_write() {
    let dir = std::env::temp_dir().join(format!("ddb-fault-{}", ulid::Ulid::new()));
    let port = free_port();
    let mut dynamodb = start_dynamodb(port, &dir);
    wait_until_up(port).await;
    let client = testkit::dynamodb_client_at(&format!("http://127.0.0.1:{port}"));
    let app = TestApp::with_dynamodb(client, &[]).await;
    let org = app.org_fixture().await;
    let customer = app.call(POST, "/customers", Some(&org.admin.token), Some(json!({"name": "Kept Co"}))).await;
    let customer_id = customer.body["id"].as_str().unwrap().to_owned();

    // A run of writes (customers, client invitations that move clientCount, role changes),
    // with DynamoDB Local killed partway through.
    let writes = (0..120).map(|i| {
        let app = &app;
        let token = org.admin.token.clone();
        let customer_id = customer_id.clone();
        async move {
            let response = match i % 3 {
                0 => app.call(POST, "/customers", Some(&token), Some(json!({"name": format!("Run {i}")}))).await,
                1 => {
                    let email = format!("fault-{i}-{}@test.example", ulid::Ulid::new().to_string().to_lowercase());
                    let body = json!({"email": email, "role": "client", "customerId": customer_id});
                    app.call(POST, "/invitations", Some(&token), Some(body)).await
                }
                _ => app.call(GET, "/org", Some(&token), None).await,
            };
            (response.status, response.code().to_owned())
        }
    });
    let mut stream = futures::stream::iter(writes).buffer_unordered(4);
    let mut answers = Vec::new();
    while let Some(answer) = stream.next().await {
        answers.push(answer);
        if answers.len() == 30 {
            dynamodb.start_kill().unwrap();
            dynamodb.wait().await.unwrap();
        }
    }
    drop(stream);
    let failed: Vec<_> = answers.iter().filter(|(status, _)| *status >= 500).collect();
    assert!(!failed.is_empty(), "some writes met the outage: {answers:?}");
    assert!(failed.iter().all(|(status, code)| *status == 503 && code == "upstream_unavailable"), "{failed:?}");
    assert!(answers.iter().all(|(status, _)| [200, 201, 503].contains(status)), "{answers:?}");

    // Started again on the same data: whole transactions only.
    let _restarted = start_dynamodb(port, &dir);
    wait_until_up(port).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.deps.store.get_org(&org.org_id).await.is_err() {
        assert!(Instant::now() < deadline, "DynamoDB Local did not answer after the restart");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.assert_counts_match(&org.org_id, "after the restart").await;
    assert_eq!(app.call(GET, "/org", Some(&org.admin.token), None).await.status, 200, "serving again");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_lemon_squeezy_api_down_fails_checkout_but_not_the_webhook() {
    let stub = LemonSqueezyStub::start().await;
    let extra = [("PLANS", ROOMY_PLANS), ("LEMONSQUEEZY_ALLOW_TEST_MODE", "true")];
    let app = TestApp::with_lemonsqueezy(&env("WORKOS_API_URL"), &stub, &extra).await;
    let org = app.org_fixture().await;
    drop(stub); // the API is gone: connections are refused
    let checkout =
        app.call(POST, "/billing/checkout", Some(&org.admin.token), Some(json!({"variantId": "500001"}))).await;
    assert_eq!((checkout.status, checkout.code()), (503, "upstream_unavailable"), "{:?}", checkout.body);
    let delivered = app.signed_webhook(&fixture_for("subscription_created", &org.org_id)).await;
    assert_eq!((delivered.status, delivered.body["status"].as_str()), (200, Some("applied")));
    assert_eq!(app.org(&org.admin).await["plan"]["name"], "Pro");
}
