//! The scripts behind `make dev`, run as `make dev` runs them, against the test services and the
//! app served on a loopback port (issue 9, items 15 and 16; issue 20, item 10).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use testkit::{PrivateEmulator, TestApp, env};

fn script(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts").join(name)
}

fn port_of(url: &str) -> String {
    url.rsplit(':').next().unwrap().to_owned()
}

/// Item 15: with `WORKOS_API_URL` naming an environment without the demo users, the demo-data
/// step says so in one line and succeeds, so `make dev` keeps the API up.
#[tokio::test]
async fn demo_data_is_skipped_when_its_users_are_absent() {
    let app = Arc::new(TestApp::new().await);
    let url = app.serve().await;
    let output = tokio::process::Command::new(script("demo-data.sh"))
        .env("PORT", port_of(&url))
        .env("WORKOS_API_URL", env("WORKOS_API_URL"))
        .env("WORKOS_CLIENT_ID", env("WORKOS_CLIENT_ID"))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("demo data: skipped"), "{stdout}");
}

/// Item 16: the registration `make dev` makes with the emulator: a change made in the emulator
/// reaches the mirror through the signed webhook, with no sync run.
#[tokio::test]
async fn the_registered_webhook_brings_emulator_changes_to_the_mirror() {
    let workos = PrivateEmulator::start().await;
    let secret = "local-workos-webhook-secret";
    let extra = [("WORKOS_ISSUERS", workos.url.as_str()), ("WORKOS_WEBHOOK_SECRET", secret)];
    let app = Arc::new(TestApp::with_workos_url(&workos.url, &extra).await);
    let emulator = workos.emulator();
    let org_id = emulator.create_org("Live Mirror Co").await;
    let admin = emulator.create_user("admin").await;
    emulator.add_membership(&admin.id, &org_id, "admin").await;
    app.run_job("workos-sync", json!({})).await.unwrap();
    let url = app.serve().await;

    for _ in 0..2 {
        let output = tokio::process::Command::new(script("workos-webhook.sh"))
            .arg(format!("{url}/webhooks/workos"))
            .env("WORKOS_API_URL", &workos.url)
            .env("WORKOS_WEBHOOK_SECRET", secret)
            .output()
            .await
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let endpoints = emulator.api(reqwest::Method::GET, "/webhook_endpoints", None).await;
    assert_eq!(endpoints["data"].as_array().unwrap().len(), 1, "registered once: {endpoints}");

    let newcomer = emulator.create_user("newcomer").await;
    emulator.add_membership(&newcomer.id, &org_id, "staff").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.deps.store.get_member(&org_id, &newcomer.id).await.unwrap().is_none() {
        assert!(Instant::now() < deadline, "the webhook did not bring the new member");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Issue 20, item 10: with `AWS_ENDPOINT_URL_DYNAMODB` naming a DynamoDB that does not answer yet,
/// `make dev` asks it again and again for a while, then says in one line which URL did not
/// answer, and stops there: nothing built or started, no SDK error.
#[tokio::test]
async fn dev_waits_for_a_dynamodb_it_did_not_start_then_names_its_url() {
    // A port where connections are taken and closed unanswered, as while a server is starting,
    // counting them.
    let dynamodb = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dynamodb_url = format!("http://{}", dynamodb.local_addr().unwrap());
    let attempts = Arc::new(AtomicUsize::new(0));
    let counted = attempts.clone();
    tokio::spawn(async move {
        while let Ok((connection, _)) = dynamodb.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(connection);
        }
    });
    // Should it get further: the test emulator rather than one of its own, and a free port for
    // the gateway rather than `make dev`'s.
    let gateway_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let output = tokio::process::Command::new(script("dev.sh"))
        .env("AWS_ENDPOINT_URL_DYNAMODB", &dynamodb_url)
        .env("WORKOS_API_URL", env("WORKOS_API_URL"))
        .env("PORT", gateway_port.to_string())
        .output()
        .await
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success(), "{said}");
    assert_eq!(said.trim_end().lines().count(), 1, "one line: {said}");
    assert!(said.contains(&dynamodb_url) && said.contains("AWS_ENDPOINT_URL_DYNAMODB"), "{said}");
    assert!(attempts.load(Ordering::SeqCst) > 1, "it asked once and gave up: {said}");
}

/// The script registers exactly the events the mirror applies.
#[test]
fn the_registered_events_are_the_mirrors() {
    let text = std::fs::read_to_string(script("workos-webhook.sh")).unwrap();
    for event in shared::flows::sync::EVENT_TYPES {
        assert!(text.contains(&format!("\"{event}\"")), "{event} is not registered");
    }
    assert_eq!(
        text.matches("\"user.").count()
            + text.matches("\"organization").count()
            + text.matches("\"invitation.").count(),
        shared::flows::sync::EVENT_TYPES.len()
    );
}
