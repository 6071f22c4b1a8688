//! Webhook abuse (issue 10): a thousand concurrent deliveries of both webhooks, mixing valid and
//! forged events, duplicates and out-of-order updates. After the storm the stored state equals
//! applying each valid event once, in per-subscription (or per-membership) `updated_at` order,
//! and nothing valid is lost. Seeded: a failure names `TEST_SEED`.

use std::collections::{BTreeMap, HashMap};

use futures::StreamExt;
use serde_json::{Value, json};
use shared::domain::plans::entitlement;
use testkit::lemonsqueezy::{LemonSqueezyStub, fixture_for, sign};
use testkit::{Seeded, TestApp, env};

const PLANS: &str = r#"{"free":{"name":"Free","maxCustomers":100,"maxStaff":100,"maxClients":100},
  "variants":{"500001":{"name":"Pro","maxCustomers":500,"maxStaff":500,"maxClients":500},
              "500002":{"name":"Scale","maxCustomers":900,"maxStaff":900,"maxClients":900}}}"#;

#[derive(Clone)]
enum Delivery {
    Valid { body: Vec<u8> },
    Forged { body: Vec<u8>, signature: String },
}

#[tokio::test]
async fn a_thousand_concurrent_billing_deliveries_end_as_each_valid_one_applied_once_in_order() {
    let mut rng = Seeded::from_env();
    let seed = rng.seed;
    let stub = LemonSqueezyStub::start().await;
    let app = TestApp::with_lemonsqueezy(&env("WORKOS_API_URL"), &stub, &[("PLANS", PLANS)]).await;
    let orgs = [app.org_fixture().await, app.org_fixture().await];

    // 8 subscriptions (4 per org), 30 versions each, one second apart, statuses and variants mixed.
    let statuses = ["active", "past_due", "paused", "on_trial", "cancelled", "unpaid", "expired"];
    let mut expected: HashMap<String, (String, String, String)> = HashMap::new(); // sub → (org, status, variant)
    let mut deliveries = Vec::new();
    let mut valid_bodies = Vec::new();
    for s in 0..8 {
        let org = &orgs[s % 2].org_id;
        let sub = format!("70{s:04}");
        let base: Value = serde_json::from_slice(&fixture_for("subscription_updated", org)).unwrap();
        for v in 0..30 {
            let mut event = base.clone();
            let status = *rng.pick(&statuses);
            let variant = if rng.below(2) == 0 { 500001 } else { 500002 };
            event["meta"]["test_mode"] = json!(false);
            event["meta"]["webhook_id"] = json!(format!("wh-{s}-{v}"));
            event["data"]["id"] = json!(sub);
            event["data"]["attributes"]["status"] = json!(status);
            event["data"]["attributes"]["variant_id"] = json!(variant);
            event["data"]["attributes"]["updated_at"] = json!(format!("2025-03-01T00:{:02}:{:02}Z", v / 60, v % 60));
            let body = serde_json::to_vec(&event).unwrap();
            valid_bodies.push(body.clone());
            deliveries.push(Delivery::Valid { body: body.clone() });
            if v == 29 {
                expected.insert(sub.clone(), (org.clone(), status.to_owned(), variant.to_string()));
            }
            // Duplicates (Lemon Squeezy's retries) and forgeries of some of them.
            if rng.below(3) == 0 {
                deliveries.push(Delivery::Valid { body: body.clone() });
            }
            if rng.below(3) == 0 {
                let mut flipped = body.clone();
                let at = rng.below(flipped.len());
                flipped[at] ^= 0x01;
                deliveries.push(Delivery::Forged { signature: sign(&body), body: flipped });
            }
            if rng.below(4) == 0 {
                let other = shared::crypto::hex(&shared::crypto::hmac_sha256(b"another-secret", &body));
                deliveries.push(Delivery::Forged { body: body.clone(), signature: other });
            }
        }
    }
    while deliveries.len() < 1000 {
        let body = rng.pick(&valid_bodies).clone();
        deliveries.push(Delivery::Valid { body });
    }
    rng.shuffle(&mut deliveries);

    let answers: Vec<(bool, u16, String)> = futures::stream::iter(deliveries.iter().cloned())
        .map(|delivery| {
            let app = &app;
            async move {
                match delivery {
                    Delivery::Valid { body } => {
                        let r = app.signed_webhook(&body).await;
                        (true, r.status, r.body["status"].as_str().unwrap_or_default().to_owned())
                    }
                    Delivery::Forged { body, signature } => {
                        let r = app.webhook(&body, Some(&signature)).await;
                        (false, r.status, r.code().to_owned())
                    }
                }
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    assert_eq!(answers.len(), deliveries.len());
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for (valid, status, outcome) in &answers {
        if *valid {
            assert_eq!(*status, 200, "seed {seed}: a valid delivery is 200 ({outcome})");
            assert!(["applied", "stale", "duplicate"].contains(&outcome.as_str()), "seed {seed}: {outcome}");
        } else {
            // A bit flip can break the JSON, but never the signature check that comes first.
            assert_eq!((*status, outcome.as_str()), (401, "invalid_signature"), "seed {seed}");
        }
        *tally.entry(format!("{valid}:{outcome}")).or_default() += 1;
    }
    eprintln!("seed {seed}: {tally:?}");

    // The newest version of each subscription is what is stored, on its own org only.
    for (sub, (org_id, status, variant)) in &expected {
        let item = app.deps.store.subscription(org_id, sub).await.unwrap();
        let stored = item.and_then(|s| s.state).unwrap_or_else(|| panic!("seed {seed}: {sub} lost"));
        assert_eq!(
            (stored.status.as_str(), stored.variant_id.as_str()),
            (status.as_str(), variant.as_str()),
            "seed {seed}: {sub}"
        );
        assert_eq!(stored.updated_at.to_string(), "2025-03-01T00:00:29.000Z", "seed {seed}: {sub}");
        assert_eq!(app.deps.store.subscription_owner(sub).await.unwrap().as_deref(), Some(org_id.as_str()));
    }
    for org in &orgs {
        let subscriptions = app.deps.store.all_subscriptions(&org.org_id).await.unwrap();
        assert_eq!(subscriptions.len(), 4, "seed {seed}: no subscription moved between orgs");
        // The org item's summary, written by racing events, decides the plan as the
        // subscriptions themselves do.
        let all = subscriptions.into_iter().filter_map(|s| s.state).map(|s| (s.id.clone(), s)).collect();
        let summary = app.deps.store.get_org(&org.org_id).await.unwrap().unwrap().billing;
        let (plans, now) = (&app.deps.config.plans, shared::Timestamp::now());
        assert_eq!(entitlement(&summary.subscriptions, plans, now), entitlement(&all, plans, now), "seed {seed}");
    }
    // Nothing valid is lost: every distinct valid body is on record, once.
    let records: Vec<String> = app
        .items()
        .await
        .into_iter()
        .filter(|i| i["entity"].as_s().unwrap() == "billing_event")
        .map(|i| i["SK"].as_s().unwrap().clone())
        .collect();
    let distinct: std::collections::BTreeSet<String> =
        valid_bodies.iter().map(|b| format!("LS#{}", shared::crypto::sha256_hex(b))).collect();
    assert_eq!(records.len(), distinct.len(), "seed {seed}: one record per distinct valid body");
    assert!(records.iter().all(|r| distinct.contains(r)), "seed {seed}: no forged body recorded");
}

#[tokio::test]
async fn a_thousand_concurrent_workos_deliveries_end_in_each_memberships_newest_state() {
    let mut rng = Seeded::from_env();
    let seed = rng.seed;
    let secret = "storm-workos-secret";
    let app = TestApp::with_workos_url(&env("WORKOS_API_URL"), &[("WORKOS_WEBHOOK_SECRET", secret)]).await;
    let org = app.org_fixture().await;
    let mut members = Vec::new();
    for _ in 0..5 {
        let member = app.new_member(&org.org_id, "staff").await;
        assert_eq!(app.call(testkit::GET, "/me", Some(&member.token), None).await.status, 200);
        members.push(member);
    }
    // Signed now, or (`skew_ms`) outside the 180 s tolerance, either way.
    let sign = |body: &str, key: &[u8], skew_ms: i128| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i128;
        let t = (now + skew_ms).to_string();
        let tag = shared::crypto::hex(&shared::crypto::hmac_sha256(key, format!("{t}.{body}").as_bytes()));
        format!("t={t}, v1={tag}")
    };
    let mut expected = HashMap::new();
    let mut bodies = Vec::new();
    for member in &members {
        let membership = app.emulator.memberships(member.id(), &org.org_id).await[0].clone();
        for v in 0..40 {
            let role = *rng.pick(&["admin", "staff"]);
            let mut data = membership.clone();
            data["role"] = json!({"slug": role});
            data["updated_at"] = json!(format!("2027-01-01T00:00:{v:02}.000Z"));
            let body = json!({"id": format!("event_{}_{v}", member.id()), "event": "organization_membership.updated",
                              "data": data, "created_at": format!("2027-01-01T00:00:{v:02}.000Z")})
            .to_string();
            bodies.push(body);
            if v == 39 {
                expected.insert(member.id().to_owned(), role);
            }
        }
    }
    // (body, forgery): 0 valid, 1 another secret, 2 five minutes old, 3 five minutes ahead (the
    // tolerance is 180 s; its edges are unit-tested in functions/workos-webhook).
    let mut deliveries: Vec<(String, usize)> = Vec::new();
    while deliveries.len() < 1000 {
        let body = rng.pick(&bodies).clone();
        let forgery = if rng.below(5) == 0 { 1 + rng.below(3) } else { 0 };
        deliveries.push((body, forgery));
    }
    // Every version at least once, validly.
    deliveries.extend(bodies.iter().map(|b| (b.clone(), 0)));
    rng.shuffle(&mut deliveries);
    let answers: Vec<(bool, u16)> = futures::stream::iter(deliveries)
        .map(|(body, forgery)| {
            let app = &app;
            let valid = forgery == 0;
            let signature = match forgery {
                0 => sign(&body, secret.as_bytes(), 0),
                1 => sign(&body, b"not-the-secret", 0),
                2 => sign(&body, secret.as_bytes(), -300_000),
                _ => sign(&body, secret.as_bytes(), 300_000),
            };
            async move {
                let request = http::Request::builder()
                    .method(testkit::POST)
                    .uri("/webhooks/workos")
                    .header("workos-signature", signature)
                    .body(bytes::Bytes::from(body))
                    .unwrap();
                (valid, app.send(request).await.status)
            }
        })
        .buffer_unordered(64)
        .collect()
        .await;
    for (valid, status) in &answers {
        assert_eq!(*status, if *valid { 200 } else { 401 }, "seed {seed}");
    }
    for member in &members {
        let stored = app.deps.store.get_member(&org.org_id, member.id()).await.unwrap().unwrap();
        assert_eq!(stored.role.slug(), expected[member.id()], "seed {seed}: {} ends in its newest role", member.id());
        // (Its `workosUpdatedAt` may be an earlier version's: a newer event that changes nothing
        // the mirror keeps is not written.)
    }
    app.assert_counts_match(&org.org_id, &format!("seed {seed}: after the storm")).await;
}
