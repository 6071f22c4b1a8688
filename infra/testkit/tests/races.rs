//! Races (issue 10), 20 rounds each: concurrent creates at a limit admit exactly the limit;
//! concurrent demotions and removals keep an admin; assignments against a customer's delete
//! leave none pointing at a missing customer; a role change against the sync job and the WorkOS
//! webhook. After every round the counts invariant holds (`TestApp::counts_match`).

use std::time::Duration;

use futures::future::join_all;
use serde_json::json;
use testkit::{DELETE, GET, PATCH, POST, PUT, PrivateEmulator, TestApp, env};

const ROUNDS: usize = 20;

fn tight(customers: u64, staff: u64) -> String {
    format!(r#"{{"free":{{"name":"Free","maxCustomers":{customers},"maxStaff":{staff},"maxClients":10}}}}"#)
}

#[tokio::test]
async fn creates_at_a_limit_admit_exactly_the_limit() {
    let plans = tight(5, 4);
    let app = TestApp::with_workos_url(&env("WORKOS_API_URL"), &[("PLANS", plans.as_str())]).await;
    for round in 0..ROUNDS {
        let org = app.org_fixture().await; // admin and staff: 2 of 4 staff seats
        let creates = (0..12).map(|i| {
            app.call(POST, "/customers", Some(&org.admin.token), Some(json!({"name": format!("R{round} C{i}")})))
        });
        let invites = (0..6).map(|i| {
            let email = format!("race-{round}-{i}-{}@test.example", ulid::Ulid::new().to_string().to_lowercase());
            app.call(POST, "/invitations", Some(&org.admin.token), Some(json!({"email": email, "role": "staff"})))
        });
        let (created, invited) = futures::join!(join_all(creates), join_all(invites));
        let count = |answers: &[testkit::TestResponse], status| answers.iter().filter(|r| r.status == status).count();
        assert_eq!((count(&created, 201), count(&created, 402)), (5, 7), "round {round}: customers");
        assert_eq!((count(&invited, 201), count(&invited, 402)), (2, 4), "round {round}: seats");
        app.assert_counts_match(&org.org_id, &format!("round {round}")).await;
    }
}

#[tokio::test]
async fn concurrent_demotions_and_removals_keep_an_admin() {
    let app = TestApp::new().await;
    for round in 0..ROUNDS {
        let org = app.org_fixture().await;
        let mut admins = vec![org.admin.clone()];
        for _ in 0..2 {
            let admin = app.new_member(&org.org_id, "admin").await;
            assert_eq!(app.call(GET, "/me", Some(&admin.token), None).await.status, 200);
            admins.push(admin);
        }
        // Each admin acts on the next: one demotes, one removes, one demotes itself.
        let actions = (0..3).map(|i| {
            let (actor, target) = (&admins[i], &admins[(i + 1) % 3]);
            let app = &app;
            async move {
                match (i + round) % 3 {
                    0 => {
                        let body = Some(json!({"role": "staff"}));
                        app.call(PATCH, &format!("/users/{}", target.id()), Some(&actor.token), body).await
                    }
                    1 => app.call(DELETE, &format!("/users/{}", target.id()), Some(&actor.token), None).await,
                    _ => {
                        let body = Some(json!({"role": "staff"}));
                        app.call(PATCH, &format!("/users/{}", actor.id()), Some(&actor.token), body).await
                    }
                }
            }
        });
        for answer in join_all(actions).await {
            assert!([200, 204, 403, 404, 409].contains(&answer.status), "round {round}: {:?}", answer.body);
        }
        app.assert_counts_match(&org.org_id, &format!("round {round}")).await;
    }
}

#[tokio::test]
async fn assignments_against_a_customer_delete_leave_none_dangling() {
    let app = TestApp::new().await;
    let org = app.org_fixture().await;
    let mut staff = vec![org.staff.clone()];
    for _ in 0..2 {
        let member = app.new_member(&org.org_id, "staff").await;
        assert_eq!(app.call(GET, "/me", Some(&member.token), None).await.status, 200);
        staff.push(member);
    }
    let admin = Some(org.admin.token.as_str());
    for round in 0..ROUNDS {
        let created = app.call(POST, "/customers", admin, Some(json!({"name": format!("Contested {round}")}))).await;
        let customer = created.body["id"].as_str().unwrap().to_owned();
        let assign = format!("/customers/{customer}/staff/{}", staff[0].id());
        assert_eq!(app.call(PUT, &assign, admin, None).await.status, 201);
        let mut requests = Vec::new();
        for member in &staff {
            requests.push((PUT, format!("/customers/{customer}/staff/{}", member.id())));
            requests.push((DELETE, format!("/customers/{customer}/staff/{}", member.id())));
        }
        requests.insert(round % requests.len(), (DELETE, format!("/customers/{customer}")));
        let calls = requests.into_iter().map(|(method, path)| {
            let app = &app;
            async move { app.call(method, &path, admin, None).await }
        });
        for answer in join_all(calls).await {
            assert!(answer.status < 500, "round {round}: {:?}", answer.body);
        }
        // A delete that lost to an assignment is finished by its retry.
        let retry = app.call(DELETE, &format!("/customers/{customer}"), admin, None).await;
        assert!([204, 404].contains(&retry.status), "round {round}: {:?}", retry.body);
        app.assert_counts_match(&org.org_id, &format!("round {round}")).await;
    }
}

#[tokio::test]
async fn a_role_change_against_the_sync_and_the_webhook_settles() {
    let workos = PrivateEmulator::start().await;
    let secret = "race-webhook-secret";
    let extra = [("WORKOS_ISSUERS", workos.url.as_str()), ("WORKOS_WEBHOOK_SECRET", secret)];
    let app = TestApp::with_workos_url(&workos.url, &extra).await;
    let emulator = workos.emulator();
    let org_id = emulator.create_org("Race Co").await;
    let admin = emulator.create_user("admin").await;
    emulator.add_membership(&admin.id, &org_id, "admin").await;
    let target = emulator.create_user("staff").await;
    emulator.add_membership(&target.id, &org_id, "staff").await;
    app.run_job("workos-sync", json!({})).await.unwrap();
    let token = emulator.token(&admin, Some(&org_id)).await;
    let path = format!("/user_management/organization_memberships?user_id={}&organization_id={org_id}", target.id);
    for round in 0..ROUNDS {
        let role = if round % 2 == 0 { "admin" } else { "staff" };
        let membership = emulator.api(reqwest::Method::GET, &path, None).await["data"][0].clone();
        let mut news = membership.clone();
        news["role"] = json!({"slug": if role == "admin" { "staff" } else { "admin" }});
        news["updated_at"] = json!(shared::Timestamp::now().to_string());
        let body = json!({"id": format!("event_race_{round}"), "event": "organization_membership.updated",
                          "data": news, "created_at": shared::Timestamp::now().to_string()})
        .to_string();
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis().to_string();
        let tag =
            shared::crypto::hex(&shared::crypto::hmac_sha256(secret.as_bytes(), format!("{t}.{body}").as_bytes()));
        let webhook = http::Request::builder()
            .method(POST)
            .uri("/webhooks/workos")
            .header("workos-signature", format!("t={t}, v1={tag}"))
            .body(bytes::Bytes::from(body))
            .unwrap();
        let user_path = format!("/users/{}", target.id);
        let (patched, synced, hooked) = futures::join!(
            app.call(PATCH, &user_path, Some(&token), Some(json!({"role": role}))),
            app.run_job("workos-sync", json!({"mode": "full"})),
            app.send(webhook),
        );
        assert!(patched.status < 500, "round {round}: {:?}", patched.body);
        assert!(synced.is_ok(), "round {round}: {synced:?}");
        assert_eq!(hooked.status, 200, "round {round}");
        app.assert_counts_match(&org_id, &format!("round {round}")).await;
        // The next full pass settles the table on what WorkOS holds.
        tokio::time::sleep(Duration::from_millis(10)).await;
        app.run_job("workos-sync", json!({"mode": "full"})).await.unwrap();
        let stored = app.deps.store.get_member(&org_id, &target.id).await.unwrap().map(|m| m.role.slug().to_owned());
        let in_workos = emulator.api(reqwest::Method::GET, &path, None).await["data"][0]["role"]["slug"]
            .as_str()
            .map(str::to_owned);
        assert_eq!(stored, in_workos, "round {round}: the table and WorkOS agree after a full pass");
        app.assert_counts_match(&org_id, &format!("round {round}, settled")).await;
    }
}
