//! Billing (issue: billing): the signed Lemon Squeezy webhook with every fixture, checkout,
//! the billing view, plan entitlements, and the reconcile job, against DynamoDB Local, the
//! emulator and a local Lemon Squeezy stand-in.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use shared::Timestamp;
use shared::domain::billing::{PortalLink, Subscription};
use shared::domain::billing_summary::BillingSummary;
use shared::domain::lemonsqueezy::Resource;
use shared::store::{SubscriptionItem, SubscriptionOwnerItem, keys};
use testkit::lemonsqueezy::{
    FIXTURE_ORG, LemonSqueezyStub, STORE_ID, fixture, fixture_for, fixture_json, fixture_untagged, sign,
};
use testkit::{DELETE, GET, OrgFixture, POST, TestApp, env};

const PLANS: &str = r#"{"free":{"name":"Free","maxCustomers":2,"maxStaff":10,"maxClients":10},
  "variants":{"500001":{"name":"Pro","maxCustomers":5,"maxStaff":20,"maxClients":20},
              "500002":{"name":"Scale","maxCustomers":50,"maxStaff":50,"maxClients":50}}}"#;

async fn billing_app(stub: &LemonSqueezyStub, allow_test_mode: bool) -> TestApp {
    let allow = allow_test_mode.to_string();
    let extra = [("PLANS", PLANS), ("LEMONSQUEEZY_ALLOW_TEST_MODE", allow.as_str())];
    TestApp::with_lemonsqueezy(&env("WORKOS_API_URL"), stub, &extra).await
}

async fn billing(app: &TestApp, org: &OrgFixture) -> Value {
    let response = app.call(GET, "/billing", Some(&org.admin.token), None).await;
    assert_eq!(response.status, 200, "{:?}", response.body);
    response.body
}

fn body(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap()
}

/// The recorded billing events with this outcome (a Scan: tests only).
async fn billing_events(app: &TestApp, outcome: &str) -> Vec<shared::store::BillingEventItem> {
    app.items()
        .await
        .into_iter()
        .filter(|item| item.get("entity").and_then(|e| e.as_s().ok()).is_some_and(|e| e == "billing_event"))
        .map(|item| serde_dynamo::from_item::<_, shared::store::BillingEventItem>(item).unwrap())
        .filter(|event| event.outcome.as_str() == outcome)
        .collect()
}

/// A subscription's item as stored (for state the API does not show, such as the last payment).
async fn subscription_item(app: &TestApp, org_id: &str, id: &str) -> shared::store::SubscriptionItem {
    app.deps.store.subscription(org_id, id).await.unwrap().unwrap_or_else(|| panic!("subscription {id} is stored"))
}

/// Whether an organization holds no subscription.
async fn owns_none(app: &TestApp, org_id: &str) -> bool {
    app.deps.store.all_subscriptions(org_id).await.unwrap().is_empty()
}

#[tokio::test]
async fn every_fixture_applies_in_turn() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, true).await;
    let org = app.org_fixture().await;
    let free = billing(&app, &org).await;
    assert_eq!(
        free,
        json!({"status": null, "planName": "Free", "variantId": null, "renewsAt": null, "endsAt": null, "customerPortalUrl": null, "subscriptionId": null})
    );

    let send = |name: &str| {
        let bytes = fixture_for(name, &org.org_id);
        let app = &app;
        async move { app.signed_webhook(&bytes).await }
    };
    let r = send("order_created").await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("applied")), "{:?}", r.body);

    let r = send("subscription_created").await;
    assert_eq!(r.body["status"], "applied");
    // The event's portal URL expired long ago (the fixture's `expires`): the view asks Lemon
    // Squeezy for a fresh one.
    stub.serve_subscription(fixture_json("subscription_created", &org.org_id)["data"].clone());
    let view = billing(&app, &org).await;
    assert_eq!(
        (view["status"].as_str(), view["planName"].as_str(), view["variantId"].as_str()),
        (Some("active"), Some("Pro"), Some("500001"))
    );
    assert_eq!(view["renewsAt"], "2025-02-15T10:00:00.000Z");
    assert!(view["customerPortalUrl"].as_str().unwrap().starts_with("https://example-store.lemonsqueezy.com/billing"));
    // An API key reads the billing view, but never the portal link (it can cancel the plan).
    let key = app.call(POST, "/api-keys", Some(&org.admin.token), Some(json!({"name": "b", "scope": "write"}))).await;
    let by_key = app.call(GET, "/billing", key.body["secret"].as_str(), None).await;
    assert_eq!((by_key.status, &by_key.body["planName"]), (200, &json!("Pro")), "{:?}", by_key.body);
    assert_eq!(by_key.body["customerPortalUrl"], Value::Null, "{:?}", by_key.body);
    assert_eq!(app.org(&org.admin).await["limits"]["maxCustomers"], 5);
    assert_eq!(app.org(&org.admin).await["plan"]["name"], "Pro");

    assert_eq!(send("subscription_updated").await.body["status"], "applied");
    assert_eq!(send("subscription_payment_success").await.body["status"], "applied");
    let payment = subscription_item(&app, &org.org_id, "600001").await.payment.unwrap();
    assert_eq!((payment.event.as_str(), payment.status.as_deref()), ("subscription_payment_success", Some("paid")));
    assert_eq!(billing(&app, &org).await["status"], "active", "a payment does not touch the status");

    // Cancelled, with the grace period over (the fixture's ends_at is in the past): free.
    assert_eq!(send("subscription_cancelled").await.body["status"], "applied");
    let view = billing(&app, &org).await;
    assert_eq!((view["status"].as_str(), view["planName"].as_str()), (Some("cancelled"), Some("Free")));
    assert_eq!(view["endsAt"], "2025-02-15T10:00:00.000Z");

    assert_eq!(send("subscription_expired").await.body["status"], "applied");
    let view = billing(&app, &org).await;
    assert_eq!((view["status"].as_str(), view["planName"].as_str()), (Some("expired"), Some("Free")));
    assert_eq!(app.org(&org.admin).await["limits"]["maxCustomers"], 2);

    // The same deliveries again change nothing.
    for name in ["order_created", "subscription_created", "subscription_payment_success", "subscription_expired"] {
        assert_eq!(send(name).await.body["status"], "duplicate", "{name}");
    }
    assert_eq!(billing(&app, &org).await["status"], "expired");
    let events = app.items().await.into_iter().filter(|i| i["entity"].as_s().unwrap() == "billing_event").count();
    assert_eq!(events, 6, "every verified delivery is recorded once");
}

#[tokio::test]
async fn cancelled_keeps_the_plan_until_it_ends() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, true).await;
    let org = app.org_fixture().await;
    let mut cancelled = fixture_json("subscription_cancelled", &org.org_id);
    cancelled["data"]["attributes"]["ends_at"] = json!("2999-01-01T00:00:00.000Z");
    assert_eq!(app.signed_webhook(&body(&cancelled)).await.body["status"], "applied");
    let view = billing(&app, &org).await;
    assert_eq!((view["status"].as_str(), view["planName"].as_str()), (Some("cancelled"), Some("Pro")));
    for status in ["paused", "unpaid", "on_trial", "past_due"] {
        let mut event = fixture_json("subscription_updated", &org.org_id);
        event["data"]["attributes"]["status"] = json!(status);
        event["data"]["attributes"]["updated_at"] = json!(format!(
            "2025-03-0{}T00:00:00.000Z",
            ["paused", "unpaid", "on_trial", "past_due"].iter().position(|s| *s == status).unwrap() + 1
        ));
        assert_eq!(app.signed_webhook(&body(&event)).await.body["status"], "applied");
        let expected = if ["on_trial", "past_due"].contains(&status) { "Pro" } else { "Free" };
        assert_eq!(billing(&app, &org).await["planName"], expected, "{status}");
    }
}

#[tokio::test]
async fn bad_deliveries_are_refused_and_write_nothing() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, true).await;
    let org = app.org_fixture().await;
    let before = app.snapshot().await;
    let good = fixture_for("subscription_created", &org.org_id);
    let good_signature = sign(&good);
    let other_signature = sign(&fixture_for("subscription_updated", &org.org_id));
    let cases: Vec<(&str, Vec<u8>, Option<String>, u16, &str)> = vec![
        ("missing header", good.clone(), None, 401, "invalid_signature"),
        ("empty header", good.clone(), Some(String::new()), 401, "invalid_signature"),
        ("non-hex", good.clone(), Some("zz".repeat(32)), 401, "invalid_signature"),
        ("short", good.clone(), Some(good_signature[..40].to_owned()), 401, "invalid_signature"),
        ("too long", good.clone(), Some(format!("{good_signature}00")), 401, "invalid_signature"),
        ("signature of another body", good.clone(), Some(other_signature), 401, "invalid_signature"),
        (
            "wrong secret",
            good.clone(),
            Some(shared::crypto::hex(&shared::crypto::hmac_sha256(b"nope", &good))),
            401,
            "invalid_signature",
        ),
        ("empty body, unsigned", Vec::new(), None, 401, "invalid_signature"),
        ("empty body, signed", Vec::new(), Some(sign(b"")), 400, "malformed_json"),
        ("malformed JSON, signed", b"{\"meta\":".to_vec(), Some(sign(b"{\"meta\":")), 400, "malformed_json"),
        ("not a webhook, signed", b"{\"a\":1}".to_vec(), Some(sign(b"{\"a\":1}")), 400, "validation_failed"),
    ];
    for (case, bytes, signature, status, code) in cases {
        let response = app.webhook(&bytes, signature.as_deref()).await;
        assert_eq!((response.status, response.code()), (status, code), "{case}: {:?}", response.body);
    }
    let huge = vec![b' '; 2 * 1024 * 1024];
    let response = app.webhook(&huge, Some(&sign(&huge))).await;
    assert_eq!((response.status, response.code()), (413, "payload_too_large"));
    assert_eq!(app.snapshot().await, before, "nothing written");
}

#[tokio::test]
async fn out_of_order_events_end_in_the_newest_state() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, true).await;
    let org = app.org_fixture().await;
    // updated (10:00:12) arrives before created (10:00:08).
    assert_eq!(app.signed_webhook(&fixture_for("subscription_updated", &org.org_id)).await.body["status"], "applied");
    assert_eq!(app.signed_webhook(&fixture_for("subscription_created", &org.org_id)).await.body["status"], "stale");
    let stored = subscription_item(&app, &org.org_id, "600001").await.state.unwrap();
    assert_eq!(stored.updated_at.to_string(), "2025-01-15T10:00:12.000Z");
    // expired, then a stale "active" retry.
    assert_eq!(app.signed_webhook(&fixture_for("subscription_expired", &org.org_id)).await.body["status"], "applied");
    let mut late_active = fixture_json("subscription_updated", &org.org_id);
    late_active["meta"]["webhook_id"] = json!("00000000-0000-4000-8000-00000000ffff");
    assert_eq!(app.signed_webhook(&body(&late_active)).await.body["status"], "stale");
    assert_eq!(billing(&app, &org).await["status"], "expired");
    // Stale events are recorded too, with their outcome.
    let outcomes: Vec<String> = app
        .items()
        .await
        .into_iter()
        .filter(|i| i["entity"].as_s().unwrap() == "billing_event")
        .map(|i| i["outcome"].as_s().unwrap().clone())
        .collect();
    assert_eq!(outcomes.iter().filter(|o| *o == "stale").count(), 2);
}

#[tokio::test]
async fn twenty_parallel_duplicates_apply_once() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, true).await;
    let org = app.org_fixture().await;
    let bytes = fixture_for("subscription_created", &org.org_id);
    let calls = (0..20).map(|_| app.signed_webhook(&bytes));
    let responses = futures::future::join_all(calls).await;
    let statuses: Vec<&str> = responses.iter().map(|r| r.body["status"].as_str().unwrap_or("?")).collect();
    assert!(responses.iter().all(|r| r.status == 200), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == "applied").count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == "duplicate").count(), 19, "{statuses:?}");
}

#[tokio::test]
async fn limits_move_with_the_plan_and_data_is_kept() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, true).await;
    let org = app.org_fixture().await;
    let create = |name: &str| app.call(POST, "/customers", Some(&org.admin.token), Some(json!({"name": name})));
    assert_eq!(create("One").await.status, 201);
    assert_eq!(create("Two").await.status, 201);
    let refused = create("Three").await;
    assert_eq!((refused.status, refused.body["limit"].as_u64()), (402, Some(2)));

    assert_eq!(app.signed_webhook(&fixture_for("subscription_created", &org.org_id)).await.body["status"], "applied");
    assert_eq!(create("Three").await.status, 201, "Pro allows 5");

    assert_eq!(app.signed_webhook(&fixture_for("subscription_expired", &org.org_id)).await.body["status"], "applied");
    let refused = create("Four").await;
    assert_eq!((refused.status, refused.code(), refused.body["usage"].as_u64()), (402, "plan_limit_reached", Some(3)));
    let kept = app.call(GET, "/customers", Some(&org.admin.token), None).await;
    assert_eq!(kept.body["items"].as_array().unwrap().len(), 3, "over-limit data is kept");
    assert_eq!(app.org(&org.admin).await["usage"]["customers"], 3);
}

#[tokio::test]
async fn test_mode_unknown_events_and_unknown_orgs() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, false).await;
    let org = app.org_fixture().await;
    let r = app.signed_webhook(&fixture_for("subscription_created", &org.org_id)).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("ignored")), "test mode is refused by default");
    assert_eq!(billing(&app, &org).await["status"], Value::Null);

    let mut live = fixture_json("subscription_created", &org.org_id);
    live["meta"]["test_mode"] = json!(false);
    live["meta"]["event_name"] = json!("license_key_created");
    assert_eq!(app.signed_webhook(&body(&live)).await.body["status"], "ignored", "unknown event name");

    // Lenient parsing: numbers where strings were expected, extra fields.
    let mut odd = fixture_json("subscription_created", &org.org_id);
    odd["meta"]["test_mode"] = json!(false);
    odd["data"]["id"] = json!(600001);
    odd["data"]["attributes"]["tax_rate"] = json!(0);
    odd["data"]["attributes"]["brand_new_field"] = json!({"x": [1, 2]});
    assert_eq!(app.signed_webhook(&body(&odd)).await.body["status"], "applied");
    assert_eq!(billing(&app, &org).await["planName"], "Pro");

    // An org id that names no stored org, and no known subscription: stored as unmatched.
    let mut stranger = fixture_json("subscription_created", FIXTURE_ORG);
    stranger["meta"]["test_mode"] = json!(false);
    stranger["data"]["id"] = json!("999999");
    assert_eq!(app.signed_webhook(&body(&stranger)).await.body["status"], "unmatched");
    let unmatched = billing_events(&app, "unmatched").await;
    assert_eq!(unmatched.len(), 1);
    assert_eq!(unmatched[0].subscription_id.as_deref(), Some("999999"));
}

#[tokio::test]
async fn the_subscription_id_finds_the_org_when_custom_data_is_missing() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, true).await;
    let org = app.org_fixture().await;
    assert_eq!(app.signed_webhook(&fixture_for("subscription_created", &org.org_id)).await.body["status"], "applied");
    let mut cancelled = fixture_json("subscription_cancelled", &org.org_id);
    cancelled["meta"].as_object_mut().unwrap().remove("custom_data");
    assert_eq!(app.signed_webhook(&body(&cancelled)).await.body["status"], "applied");
    assert_eq!(billing(&app, &org).await["status"], "cancelled");
}

#[tokio::test]
async fn reconcile_recovers_a_missed_update_and_an_unmatched_event() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, true).await;
    let org = app.org_fixture().await;
    assert_eq!(app.signed_webhook(&fixture_for("subscription_created", &org.org_id)).await.body["status"], "applied");

    // A payment for a subscription nobody knows yet arrives without custom_data: unmatched.
    let mut payment = fixture_json("subscription_payment_success", &org.org_id);
    payment["meta"].as_object_mut().unwrap().remove("custom_data");
    payment["data"]["attributes"]["subscription_id"] = json!(777001);
    assert_eq!(app.signed_webhook(&body(&payment)).await.body["status"], "unmatched");

    // The subscription_updated that moved 600001 to Scale was lost; Lemon Squeezy has it.
    let mut current = fixture_json("subscription_updated", &org.org_id)["data"].clone();
    current["attributes"]["variant_id"] = json!(500002);
    current["attributes"]["updated_at"] = json!("2025-01-16T08:00:00.000Z");
    stub.serve_subscription(current);
    // Subscription 777001 then becomes known, for a second organization.
    let second = app.org_fixture().await;
    let mut other = fixture_json("subscription_created", &second.org_id);
    other["data"]["id"] = json!("777001");
    assert_eq!(app.signed_webhook(&body(&other)).await.body["status"], "applied");
    // Lemon Squeezy's stand-in does not know 777001: the job counts a failure and goes on.

    let report = app.run_job("billing-reconcile", json!({})).await.unwrap();
    assert_eq!(report["updated"], 1, "{report}");
    assert_eq!(report["failed"], 1, "{report}");
    assert_eq!(report["unmatchedResolved"], 1, "{report}");
    let paid = subscription_item(&app, &second.org_id, "777001").await.payment.expect("the payment reached its org");
    assert_eq!(paid.event, "subscription_payment_success");
    assert_eq!(report["complete"], true);
    let view = billing(&app, &org).await;
    assert_eq!((view["variantId"].as_str(), view["planName"].as_str()), (Some("500002"), Some("Scale")));
    assert!(billing_events(&app, "unmatched").await.is_empty());

    let again = app.run_job("billing-reconcile", json!({})).await.unwrap();
    assert_eq!((again["updated"].as_u64(), again["unmatchedRetried"].as_u64()), (Some(0), Some(0)), "{again}");
}

#[tokio::test]
async fn checkout_and_billing_view_are_admin_only() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, true).await;
    let org = app.org_fixture().await;
    let response =
        app.call(POST, "/billing/checkout", Some(&org.admin.token), Some(json!({"variantId": "500001"}))).await;
    assert_eq!(response.status, 201, "{:?}", response.body);
    assert!(response.body["url"].as_str().unwrap().starts_with("https://"));
    let sent = &stub.checkouts()[0]["data"];
    assert_eq!(sent["attributes"]["checkout_data"]["custom"]["org_id"], org.org_id.as_str());
    assert_eq!(sent["attributes"]["checkout_data"]["email"], org.admin.user.email.as_str());
    assert_eq!(sent["relationships"]["store"]["data"]["id"], STORE_ID);
    assert_eq!(sent["relationships"]["variant"]["data"]["id"], "500001");

    let unknown = app.call(POST, "/billing/checkout", Some(&org.admin.token), Some(json!({"variantId": "1"}))).await;
    assert_eq!((unknown.status, unknown.body["errors"][0]["field"].as_str()), (400, Some("variantId")));
    let extra =
        app.call(POST, "/billing/checkout", Some(&org.admin.token), Some(json!({"variantId": "500001", "x": 1}))).await;
    assert_eq!(extra.status, 400);
    for member in [&org.staff, &org.client] {
        assert_eq!(
            app.call(POST, "/billing/checkout", Some(&member.token), Some(json!({"variantId": "500001"}))).await.status,
            403
        );
        assert_eq!(app.call(GET, "/billing", Some(&member.token), None).await.status, 403);
    }
    stub.fail_next(1);
    let failed =
        app.call(POST, "/billing/checkout", Some(&org.admin.token), Some(json!({"variantId": "500001"}))).await;
    assert_eq!((failed.status, failed.code()), (503, "upstream_unavailable"));
    let _ = fixture("order_created");
}

/// API Gateway hands a body it took as binary over base64-encoded (`isBase64Encoded`): the
/// signature is checked over the decoded bytes.
#[tokio::test]
async fn a_base64_encoded_body_is_decoded_before_the_signature_check() {
    use base64::Engine;
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, true).await;
    let org = app.org_fixture().await;
    let bytes = fixture_for("subscription_created", &org.org_id);
    let event = |signature: &str| {
        json!({
            "version": "2.0", "routeKey": "POST /webhooks/lemon-squeezy", "rawPath": "/webhooks/lemon-squeezy",
            "rawQueryString": "", "headers": {"content-type": "application/json", "x-signature": signature},
            "requestContext": {"accountId": "1", "apiId": "a", "domainName": "d", "domainPrefix": "d",
                "http": {"method": "POST", "path": "/webhooks/lemon-squeezy", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "t"},
                "requestId": "r", "routeKey": "POST /webhooks/lemon-squeezy", "stage": "$default", "time": "t", "timeEpoch": 0},
            "body": base64::engine::general_purpose::STANDARD.encode(&bytes), "isBase64Encoded": true,
        })
        .to_string()
    };
    let forged = lambda_http::request::from_str(&event(&"0".repeat(64))).unwrap();
    let webhook: shared::api::http::Handler = |d, r| Box::pin(lemonsqueezy_webhook::handle(d, r));
    let response = shared::api::http::run(&app.deps, &forged, webhook).await;
    assert_eq!(response.status(), 401);
    let request = lambda_http::request::from_str(&event(&sign(&bytes))).unwrap();
    let response = shared::api::http::run(&app.deps, &request, webhook).await;
    assert_eq!(response.status(), 200);
    assert_eq!(billing(&app, &org).await["status"], "active");
}

/// An organization that moved to a new subscription is reconciled for each subscription it owns
/// that can still change: an expired one is terminal and not read again.
#[tokio::test]
async fn reconcile_reads_every_owned_subscription_but_expired_ones() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, true).await;
    let org = app.org_fixture().await;
    assert_eq!(app.signed_webhook(&fixture_for("subscription_created", &org.org_id)).await.body["status"], "applied");
    assert_eq!(app.signed_webhook(&fixture_for("subscription_expired", &org.org_id)).await.body["status"], "applied");
    let mut next = fixture_json("subscription_created", &org.org_id);
    next["data"]["id"] = json!("600002");
    next["data"]["attributes"]["updated_at"] = json!("2025-03-01T00:00:00.000Z");
    assert_eq!(app.signed_webhook(&body(&next)).await.body["status"], "applied");
    stub.serve_subscription(next["data"].clone());
    let report = app.run_job("billing-reconcile", json!({})).await.unwrap();
    assert_eq!((report["subscriptionsChecked"].as_u64(), report["failed"].as_u64()), (Some(1), Some(0)), "{report}");
    assert_eq!(report["skipped"], 1, "{report}");
}

// --- ownership, ordering and the unmatched backlog (issue 9, item 1 and item 9) ---------------

/// An event as JSON, edited: `id` the subscription, `updated_at`, `status`, `variant_id`.
fn subscription_event(bytes: &[u8], id: &str, updated_at: &str, status: &str, variant: u64) -> Vec<u8> {
    let mut event: Value = serde_json::from_slice(bytes).unwrap();
    event["meta"]["test_mode"] = json!(false);
    event["data"]["id"] = json!(id);
    event["data"]["attributes"]["updated_at"] = json!(updated_at);
    event["data"]["attributes"]["status"] = json!(status);
    event["data"]["attributes"]["variant_id"] = json!(variant);
    event["data"]["attributes"]["urls"]["customer_portal"] = json!(format!("https://portal.example/{id}"));
    body(&event)
}

/// Item 1: `custom_data.org_id` is chosen by whoever pays. A subscription of someone else's,
/// naming org A without this backend's tag (or with another org's tag), is unmatched: A keeps
/// its plan, its portal URL, and the ordering of its own subscription.
#[tokio::test]
async fn a_payer_cannot_take_over_another_orgs_billing() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, false).await;
    let a = app.org_fixture().await;
    let b = app.org_fixture().await;
    let own = subscription_event(
        &fixture_for("subscription_created", &a.org_id),
        "600001",
        "2025-01-15T10:00:08Z",
        "active",
        500001,
    );
    assert_eq!(app.signed_webhook(&own).await.body["status"], "applied");
    // The event's portal URL is a year old: the first view reads a fresh one and keeps it.
    stub.serve_subscription(serde_json::from_slice::<Value>(&own).unwrap()["data"].clone());
    let before = billing(&app, &a).await;
    assert!(before["customerPortalUrl"].as_str().is_some_and(|url| url.contains("subscription=600001")), "{before}");
    assert_eq!(before["planName"], "Pro");

    // The attack of the review: another subscription, naming A, later, paused.
    let untagged = subscription_event(
        &fixture_untagged("subscription_created", &a.org_id),
        "666001",
        "2025-06-01T00:00:00Z",
        "paused",
        500001,
    );
    // The same with B's genuine tag, but A's id.
    let mut borrowed: Value = serde_json::from_slice(&subscription_event(
        &fixture_for("subscription_created", &b.org_id),
        "666002",
        "2025-06-01T00:00:01Z",
        "paused",
        500001,
    ))
    .unwrap();
    borrowed["meta"]["custom_data"]["org_id"] = json!(a.org_id);
    for (case, event) in [("no tag", untagged), ("another org's tag", body(&borrowed))] {
        let response = app.signed_webhook(&event).await;
        assert_eq!(response.body["status"], "unmatched", "{case}");
        assert_eq!(billing(&app, &a).await, before, "{case}: A's plan and portal URL are unchanged");
    }
    assert!(owns_none(&app, &b.org_id).await, "B gained nothing either");
    let unmatched = billing_events(&app, "unmatched").await;
    assert_eq!(unmatched.len(), 2);
    assert!(unmatched.iter().all(|e| e.org_id.is_none()), "recorded under no organization");

    // A's own renewal still applies: nothing else's timestamps count for it.
    let renewal = subscription_event(
        &fixture_for("subscription_updated", &a.org_id),
        "600001",
        "2025-02-15T10:00:00Z",
        "active",
        500002,
    );
    assert_eq!(app.signed_webhook(&renewal).await.body["status"], "applied");
    assert_eq!(billing(&app, &a).await["planName"], "Scale");
}

/// Item 1: a subscription one organization owns is never moved to another, even by an event
/// whose custom data carries another organization's genuine tag.
#[tokio::test]
async fn an_owned_subscription_never_moves_to_another_org() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, false).await;
    let a = app.org_fixture().await;
    let b = app.org_fixture().await;
    let created = subscription_event(
        &fixture_for("subscription_created", &a.org_id),
        "600001",
        "2025-01-15T10:00:08Z",
        "active",
        500001,
    );
    assert_eq!(app.signed_webhook(&created).await.body["status"], "applied");
    let for_b = subscription_event(
        &fixture_for("subscription_updated", &b.org_id),
        "600001",
        "2025-01-20T00:00:00Z",
        "active",
        500002,
    );
    assert_eq!(app.signed_webhook(&for_b).await.body["status"], "applied");
    assert_eq!(billing(&app, &a).await["planName"], "Scale", "applied to its owner, A");
    assert_eq!(billing(&app, &b).await["planName"], "Free");
    assert!(owns_none(&app, &b.org_id).await);
    assert_eq!(app.deps.store.subscription_owner("600001").await.unwrap().as_deref(), Some(a.org_id.as_str()));
}

/// The checkout's custom data carries a tag that the webhook accepts for that organization.
#[tokio::test]
async fn a_checkouts_custom_data_is_accepted_by_the_webhook() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, false).await;
    let org = app.org_fixture().await;
    let response =
        app.call(POST, "/billing/checkout", Some(&org.admin.token), Some(json!({"variantId": "500001"}))).await;
    assert_eq!(response.status, 201, "{:?}", response.body);
    let custom = stub.checkouts()[0]["data"]["attributes"]["checkout_data"]["custom"].clone();
    assert!(custom["org_tag"].as_str().is_some_and(|t| t.len() == 64), "{custom}");
    let mut event: Value = serde_json::from_slice(&fixture_untagged("subscription_created", &org.org_id)).unwrap();
    event["meta"]["test_mode"] = json!(false);
    event["meta"]["custom_data"] = custom;
    assert_eq!(app.signed_webhook(&body(&event)).await.body["status"], "applied");
    assert_eq!(billing(&app, &org).await["planName"], "Pro");
}

/// Item 1: ordering is per subscription, and the plan follows the best subscription granting
/// access; `GET /billing` names it.
#[tokio::test]
async fn ordering_is_per_subscription_and_the_best_plan_wins() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, false).await;
    let org = app.org_fixture().await;
    let tagged = fixture_for("subscription_created", &org.org_id);
    let pro = subscription_event(&tagged, "600001", "2025-03-01T00:00:00Z", "active", 500001);
    assert_eq!(app.signed_webhook(&pro).await.body["status"], "applied");
    // An older event of another subscription is not stale: it is about another subscription.
    let scale = subscription_event(&tagged, "600002", "2025-02-01T00:00:00Z", "active", 500002);
    assert_eq!(app.signed_webhook(&scale).await.body["status"], "applied");
    stub.serve_subscription(serde_json::from_slice::<Value>(&scale).unwrap()["data"].clone());
    let view = billing(&app, &org).await;
    assert_eq!((view["planName"].as_str(), view["subscriptionId"].as_str()), (Some("Scale"), Some("600002")));
    assert!(view["customerPortalUrl"].as_str().unwrap().contains("subscription=600002"), "that subscription's link");
    // The better one is paused: the plan falls back to the other that still grants access.
    let paused = subscription_event(&tagged, "600002", "2025-02-02T00:00:00Z", "paused", 500002);
    assert_eq!(app.signed_webhook(&paused).await.body["status"], "applied");
    let view = billing(&app, &org).await;
    assert_eq!((view["planName"].as_str(), view["subscriptionId"].as_str()), (Some("Pro"), Some("600001")));
    assert_eq!(app.org(&org.admin).await["limits"]["maxCustomers"], 5);
    // Stale stays per subscription.
    let old = subscription_event(&tagged, "600001", "2025-01-01T00:00:00Z", "expired", 500001);
    assert_eq!(app.signed_webhook(&old).await.body["status"], "stale");
}

/// Item 1: Lemon Squeezy's `updated_at` has one-second precision. Another state in the same
/// second is applied, not dropped; the same state again (another body) is stale.
#[tokio::test]
async fn a_same_second_change_is_not_dropped() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, false).await;
    let org = app.org_fixture().await;
    let tagged = fixture_for("subscription_created", &org.org_id);
    let active = subscription_event(&tagged, "600001", "2025-03-01T00:00:00Z", "active", 500001);
    assert_eq!(app.signed_webhook(&active).await.body["status"], "applied");
    let past_due = subscription_event(&tagged, "600001", "2025-03-01T00:00:00Z", "past_due", 500001);
    assert_eq!(app.signed_webhook(&past_due).await.body["status"], "applied");
    assert_eq!(billing(&app, &org).await["status"], "past_due");
    let mut again: Value = serde_json::from_slice(&past_due).unwrap();
    again["meta"]["webhook_id"] = json!("00000000-0000-4000-8000-00000000aaaa");
    assert_eq!(app.signed_webhook(&body(&again)).await.body["status"], "stale", "same content, same second");
}

/// Item 1: the reconcile job takes Lemon Squeezy's answer as the truth whenever it differs
/// from what is stored, even when its `updated_at` is older.
#[tokio::test]
async fn reconcile_applies_the_api_answer_whatever_its_timestamp() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, false).await;
    let org = app.org_fixture().await;
    let tagged = fixture_for("subscription_created", &org.org_id);
    let stored = subscription_event(&tagged, "600001", "2025-03-01T00:00:05Z", "active", 500001);
    assert_eq!(app.signed_webhook(&stored).await.body["status"], "applied");
    let truth: Value =
        serde_json::from_slice(&subscription_event(&tagged, "600001", "2025-03-01T00:00:04Z", "cancelled", 500001))
            .unwrap();
    stub.serve_subscription(truth["data"].clone());
    let report = app.run_job("billing-reconcile", json!({})).await.unwrap();
    assert_eq!(report["updated"], 1, "{report}");
    assert_eq!(billing(&app, &org).await["status"], "cancelled");
    let again = app.run_job("billing-reconcile", json!({})).await.unwrap();
    assert_eq!((again["updated"].as_u64(), again["unchanged"].as_u64()), (Some(0), Some(1)), "{again}");
}

/// A live payment of `subscription_id` without custom data: of no organization anyone knows.
fn unmatched_payment(org_id: &str, subscription_id: u64) -> Value {
    let mut payment = fixture_json("subscription_payment_success", org_id);
    payment["meta"]["test_mode"] = json!(false);
    payment["meta"].as_object_mut().unwrap().remove("custom_data");
    payment["data"]["attributes"]["subscription_id"] = json!(subscription_id);
    payment
}

/// Item 9: unmatched events spread over shards, are retried a page at a time, and are
/// abandoned after the retry limit; an order (no subscription) is never retried; an oversized
/// body is recorded without its text.
#[tokio::test]
async fn unmatched_events_are_sharded_paged_and_abandoned() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, false).await;
    let org = app.org_fixture().await;
    let events = 40;
    for i in 0..events {
        let payment = unmatched_payment(&org.org_id, 880000 + i);
        assert_eq!(app.signed_webhook(&body(&payment)).await.body["status"], "unmatched");
    }
    let mut order: Value = serde_json::from_slice(&fixture_untagged("order_created", &org.org_id)).unwrap();
    order["meta"]["test_mode"] = json!(false);
    assert_eq!(app.signed_webhook(&body(&order)).await.body["status"], "unmatched");
    let mut huge = unmatched_payment(&org.org_id, 880000);
    huge["data"]["attributes"]["padding"] = json!("x".repeat(40 * 1024));
    assert_eq!(app.signed_webhook(&body(&huge)).await.body["status"], "unmatched");

    let unmatched = billing_events(&app, "unmatched").await;
    assert_eq!(unmatched.len(), events as usize + 2);
    let partitions: std::collections::BTreeSet<&str> = unmatched.iter().map(|e| e.pk.as_str()).collect();
    assert!(partitions.len() >= 8, "spread over shards, not one partition: {partitions:?}");
    assert!(partitions.iter().all(|pk| pk.starts_with("LS#EVENTS#")));
    let big = unmatched.iter().find(|e| e.body_bytes > 32 * 1024).unwrap();
    assert!(big.body.is_none() && big.retry_pk.is_none(), "an oversized body is not stored, nor retried");
    assert!(unmatched.iter().find(|e| e.event_name == "order_created").unwrap().retry_pk.is_none());

    for run in 1..=billing_reconcile::MAX_UNMATCHED_ATTEMPTS {
        let report = app.run_job("billing-reconcile", json!({})).await.unwrap();
        assert_eq!(report["unmatchedRetried"], events, "run {run}: {report}");
        let abandoned = if run == billing_reconcile::MAX_UNMATCHED_ATTEMPTS { events } else { 0 };
        assert_eq!(report["unmatchedAbandoned"], abandoned, "run {run}: {report}");
    }
    let report = app.run_job("billing-reconcile", json!({})).await.unwrap();
    assert_eq!(report["unmatchedRetried"], 0, "abandoned events are not retried: {report}");
    assert_eq!(billing_events(&app, "abandoned").await.len(), events as usize, "kept for an operator");
}

// --- issue 20: billing that reaches every subscription and does not grow with its history -----

/// The stored states, owners and summary of `count` expired subscriptions of `org_id`, as the
/// webhook leaves them (written straight into the table: no test sends 10,000 events).
fn expired_history(org_id: &str, count: usize) -> (Vec<HashMap<String, AttributeValue>>, BillingSummary) {
    let now = Timestamp::now();
    let mut summary = BillingSummary::default();
    let mut items = Vec::new();
    for i in 0..count {
        let id = format!("{}", 3_000_000 + i);
        let attributes = json!({"status": "expired", "variant_id": 500001, "ends_at": "2025-01-01T00:00:00Z",
            "updated_at": format!("2024-12-{:02}T00:00:00Z", 1 + i % 28)});
        let resource = Resource { kind: "subscriptions".into(), id: id.clone(), attributes };
        let state = Subscription::from_resource(&resource).unwrap();
        summary = summary.with_state(&state, now);
        let item = SubscriptionItem {
            pk: keys::org_pk(org_id),
            sk: keys::subscription_sk(&id),
            entity: SubscriptionItem::ENTITY.into(),
            subscription_id: id.clone(),
            state: Some(state),
            payment: None,
            portal: None,
        };
        items.push(serde_dynamo::to_item(&item).unwrap());
        items.push(serde_dynamo::to_item(SubscriptionOwnerItem::new(&id, org_id)).unwrap());
    }
    (items, summary)
}

/// The size of the largest item of the organization's partition, as JSON (more than DynamoDB
/// counts: its names and punctuation).
async fn largest_item(app: &TestApp, org_id: &str) -> usize {
    let items = app.org_items(org_id).await;
    items.into_iter().map(|item| serde_dynamo::from_item::<_, Value>(item).unwrap().to_string().len()).max().unwrap()
}

/// Item 3: every subscription an organization ever had is an item of its own; the org item keeps
/// what decides the plan, and `DELETE /org` conditions on one billing revision. 130 expired
/// subscriptions put one clause each into the old condition, past DynamoDB's 4 KB expressions.
#[tokio::test]
async fn an_org_with_130_expired_subscriptions_deletes() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, false).await;
    let org = app.org_fixture().await;
    let tagged = fixture_for("subscription_created", &org.org_id);
    for i in 0..130 {
        let event = subscription_event(&tagged, &format!("{}", 700_000 + i), "2025-01-15T10:00:08Z", "expired", 500001);
        assert_eq!(app.signed_webhook(&event).await.body["status"], "applied", "subscription {i}");
    }
    let summary = app.deps.store.get_org(&org.org_id).await.unwrap().unwrap().billing;
    assert_eq!((summary.revision, summary.subscriptions.len()), (130, 1), "only the latest of the expired");
    assert!(largest_item(&app, &org.org_id).await < 4 * 1024, "no item grows with the history");
    let name = app.org(&org.admin).await["name"].as_str().unwrap().to_owned();
    let deleted = app.call(DELETE, "/org", Some(&org.admin.token), Some(json!({"confirmName": name}))).await;
    assert_eq!(deleted.status, 202, "{:?}", deleted.body);
}

/// Item 3: an organization with 10,000 subscriptions over its life reads its plan and applies a
/// new event, with no item over 64 KB.
#[tokio::test]
async fn an_org_with_10000_subscriptions_reads_its_plan_and_applies_a_new_event() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, false).await;
    let org = app.org_fixture().await;
    let (mut items, summary) = expired_history(&org.org_id, 10_000);
    let mut org_item = app.deps.store.get_org(&org.org_id).await.unwrap().unwrap();
    org_item.billing = summary;
    items.push(serde_dynamo::to_item(&org_item).unwrap());
    app.put_items(items).await;
    assert_eq!(app.deps.store.all_subscriptions(&org.org_id).await.unwrap().len(), 10_000);

    let shown = app.org(&org.admin).await;
    assert_eq!((shown["plan"]["name"].as_str(), shown["plan"]["status"].as_str()), (Some("Free"), Some("expired")));
    let tagged = fixture_for("subscription_created", &org.org_id);
    let new = subscription_event(&tagged, "4000000", "2026-01-01T00:00:00Z", "active", 500002);
    assert_eq!(app.signed_webhook(&new).await.body["status"], "applied");
    let view = billing(&app, &org).await;
    assert_eq!((view["planName"].as_str(), view["subscriptionId"].as_str()), (Some("Scale"), Some("4000000")));
    // A late event of an old one is still ordered against its own state.
    let late = subscription_event(&tagged, "3000007", "2024-11-01T00:00:00Z", "active", 500002);
    assert_eq!(app.signed_webhook(&late).await.body["status"], "stale");
    let largest = largest_item(&app, &org.org_id).await;
    assert!(largest < 64 * 1024, "the largest item is {largest} bytes");
}

/// Item 2: Lemon Squeezy signs its URLs anew on every read; that is no change of the
/// subscription, and `GET /billing` hands out a portal URL only while it is valid.
#[tokio::test]
async fn a_newly_signed_url_is_no_change_and_the_portal_url_handed_out_is_valid() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, false).await;
    let org = app.org_fixture().await;
    let tagged = fixture_for("subscription_created", &org.org_id);
    let created = subscription_event(&tagged, "600001", "2025-03-01T00:00:00Z", "active", 500001);
    assert_eq!(app.signed_webhook(&created).await.body["status"], "applied");
    let mut changed: Value = serde_json::from_slice(&created).unwrap();
    changed["data"]["attributes"]["variant_id"] = json!(500002);
    stub.serve_subscription(changed["data"].clone());
    let first = app.run_job("billing-reconcile", json!({})).await.unwrap();
    assert_eq!(first["updated"], 1, "{first}");
    let second = app.run_job("billing-reconcile", json!({})).await.unwrap();
    assert_eq!((second["updated"].as_u64(), second["unchanged"].as_u64()), (Some(0), Some(1)), "{second}");
    assert_eq!(stub.reads("600001"), 2);

    // The link the reconcile read is fresh: handed out as it is, no read.
    let view = billing(&app, &org).await;
    let url = view["customerPortalUrl"].as_str().unwrap().to_owned();
    assert!(url.contains("signature="), "{url}");
    assert_eq!(stub.reads("600001"), 2, "a fresh stored link needs no read");
    // Near the end of its validity: a fresh one is read, handed out and kept.
    let expiring = PortalLink { url: url.clone(), expires_at: Timestamp::now().plus(time::Duration::minutes(30)) };
    let mut item = app.deps.store.subscription(&org.org_id, "600001").await.unwrap().unwrap();
    item.portal = Some(expiring);
    app.put_items(vec![serde_dynamo::to_item(&item).unwrap()]).await;
    let renewed = billing(&app, &org).await["customerPortalUrl"].as_str().unwrap().to_owned();
    assert_ne!(renewed, url);
    assert_eq!(stub.reads("600001"), 3);
    let kept = app.deps.store.subscription(&org.org_id, "600001").await.unwrap().unwrap().portal.unwrap();
    assert_eq!(kept.url, renewed);
    assert!(kept.fresh_at(Timestamp::now().plus(time::Duration::hours(22))));
    billing(&app, &org).await;
    assert_eq!(stub.reads("600001"), 3, "the kept link serves the next request");
    // Lemon Squeezy down and the stored link stale: no URL, the rest of the answer stands.
    let mut item = app.deps.store.subscription(&org.org_id, "600001").await.unwrap().unwrap();
    item.portal.as_mut().unwrap().expires_at = Timestamp::now();
    app.put_items(vec![serde_dynamo::to_item(&item).unwrap()]).await;
    stub.fail_next(10);
    let view = billing(&app, &org).await;
    assert_eq!((view["customerPortalUrl"].clone(), view["planName"].as_str()), (Value::Null, Some("Scale")));
}

/// Item 1: every run goes on where the last one stopped, and the owners and the unmatched
/// retries both get their share of it: with a budget of four Lemon Squeezy calls a run (counted,
/// so that the test does not depend on the machine's speed), four runs read each of 12
/// subscriptions and retry the unmatched event.
#[tokio::test]
async fn reconcile_runs_resume_and_reach_every_subscription_and_the_unmatched() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, false).await;
    let org = app.org_fixture().await;
    let tagged = fixture_for("subscription_created", &org.org_id);
    let ids: Vec<String> = (0..12).map(|i| format!("{}", 610_000 + i)).collect();
    for id in &ids {
        let event = subscription_event(&tagged, id, "2025-03-01T00:00:00Z", "active", 500001);
        assert_eq!(app.signed_webhook(&event).await.body["status"], "applied");
        stub.serve_subscription(serde_json::from_slice::<Value>(&event).unwrap()["data"].clone());
    }
    let payment = unmatched_payment(&org.org_id, 990001);
    assert_eq!(app.signed_webhook(&body(&payment)).await.body["status"], "unmatched");

    let mut reports = Vec::new();
    for _ in 0..4 {
        reports.push(app.run_job("billing-reconcile", json!({"budgetCalls": 4})).await.unwrap());
    }
    assert_eq!(reports[0]["complete"], false, "a budget of four reads does not reach 12: {}", reports[0]);
    assert_eq!(reports[1]["ownersBeganAfter"], reports[0]["ownersStoppedAfter"], "{reports:?}");
    for id in &ids {
        assert!(stub.reads(id) >= 1, "{id} was read in four runs: {reports:?}");
    }
    let unmatched = billing_events(&app, "unmatched").await;
    assert_eq!(unmatched.len(), 1);
    assert!(unmatched[0].attempts > 0, "the unmatched event was retried: {reports:?}");
    assert!(reports.iter().any(|r| r["ownersWalkEnded"] == true), "{reports:?}");
}

/// Item 1: a subscription that cannot be reconciled (here its stored item is unreadable) is
/// counted and passed: it holds up neither the other subscriptions nor later runs.
#[tokio::test]
async fn a_subscription_that_cannot_be_reconciled_holds_up_no_other() {
    let stub = LemonSqueezyStub::start().await;
    let app = billing_app(&stub, false).await;
    let org = app.org_fixture().await;
    let tagged = fixture_for("subscription_created", &org.org_id);
    let ids = ["620001", "620002", "620003"];
    for id in ids {
        let event = subscription_event(&tagged, id, "2025-03-01T00:00:00Z", "active", 500001);
        assert_eq!(app.signed_webhook(&event).await.body["status"], "applied");
        stub.serve_subscription(serde_json::from_slice::<Value>(&event).unwrap()["data"].clone());
    }
    let broken = json!({"PK": keys::org_pk(&org.org_id), "SK": keys::subscription_sk("620002"),
        "entity": "subscription", "subscriptionId": "620002", "state": "not a state"});
    app.put_items(vec![serde_dynamo::to_item(broken).unwrap()]).await;
    for run in 0..2 {
        let report = app.run_job("billing-reconcile", json!({})).await.unwrap();
        assert_eq!(
            (report["failed"].as_u64(), report["complete"].as_bool()),
            (Some(1), Some(true)),
            "run {run}: {report}"
        );
    }
    assert_eq!((stub.reads("620001"), stub.reads("620003")), (2, 2), "the others are read on every round");
}
