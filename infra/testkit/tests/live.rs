//! Live updates (issue 22): real WebSocket clients against the local gateway, which plays API
//! Gateway's WebSocket API and `@connections` and reads DynamoDB Local's stream into
//! `live-broadcast`, as `make dev` runs it.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::live::Socket;
use testkit::{DELETE, GET, PATCH, POST, PUT, TestApp};

const QUIET: Duration = Duration::from_millis(1500);

fn changes(frames: &[Value]) -> Vec<(String, String, String)> {
    frames
        .iter()
        .filter(|f| f["type"] == "change")
        .map(|f| {
            let text = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (text("entity"), text("action"), text("id"))
        })
        .collect()
}

async fn told(socket: &mut Socket) -> Vec<(String, String, String)> {
    changes(&socket.drain(QUIET).await)
}

#[tokio::test]
async fn tickets_are_single_use_and_bound_and_tokens_are_no_tickets() {
    let app = TestApp::for_live().await;
    let org = app.org_fixture().await;
    let live = app.live().await;
    let ticket = live.ticket(&org.staff.token).await;
    assert_eq!(ticket.status, 201, "{:?}", ticket.body);
    let url = ticket.body["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&live.ws_url) && url.contains("ticket="), "{url}");
    let mut socket = live.open(&url).await.expect("the first use opens");
    assert_eq!(live.open(&url).await.err(), Some(401), "a ticket is single-use");
    let edited = url.replace(&url[url.len() - 4..], "0000");
    assert_eq!(live.open(&edited).await.err(), Some(401), "an edited ticket");
    assert_eq!(live.open(&live.ws_url).await.err(), Some(401), "no ticket");
    let token = format!("{}?ticket={}", live.ws_url, org.staff.token);
    assert_eq!(live.open(&token).await.err(), Some(401), "a token is not a ticket");
    assert_eq!(live.ticket("not-a-token").await.status, 401);
    // An expired ticket (DynamoDB's TTL removes it only later), and a ticket for an organization
    // its user is no member of.
    let now = shared::Timestamp::now().unix_seconds();
    let stored = |ticket: &str| shared::crypto::sha256_hex(ticket.as_bytes());
    let (expired, foreign) = ("e".repeat(64), "f".repeat(64));
    let other = app.org_fixture().await;
    let store = &live.deps().store;
    store.put_ticket(&stored(&expired), &org.org_id, org.staff.id(), now - 1).await.unwrap();
    store.put_ticket(&stored(&foreign), &other.org_id, org.staff.id(), now + 30).await.unwrap();
    for (ticket, what) in [(expired, "an expired ticket"), (foreign, "another organization's")] {
        assert_eq!(live.open(&format!("{}?ticket={ticket}", live.ws_url)).await.err(), Some(401), "{what}");
    }
    // The socket that opened answers a ping, and an unknown message with an error frame.
    socket.send(json!({"action": "ping"})).await;
    assert_eq!(socket.next(QUIET).await, Some(json!({"type": "pong"})));
    socket.send(json!({"action": "subscribe"})).await;
    assert_eq!(socket.next(QUIET).await, Some(json!({"type": "error", "code": "unknown_action"})));
    socket.send(json!({"action": "ping"})).await;
    assert_eq!(socket.next(QUIET).await, Some(json!({"type": "pong"})), "the connection stays open");

    // At most 10 open connections a member: the 11th upgrade is refused.
    let mut open = vec![socket];
    for _ in 1..shared::flows::live::MAX_CONNECTIONS_PER_USER {
        open.push(live.connect(&org.staff.token).await);
    }
    let eleventh = live.ticket(&org.staff.token).await;
    assert_eq!(live.open(eleventh.body["url"].as_str().unwrap()).await.err(), Some(403));
    // The cap is each member's: another member of the organization still connects.
    let admins = live.ticket(&org.admin.token).await;
    assert!(live.open(admins.body["url"].as_str().unwrap()).await.is_ok(), "the admin's first connection");
    drop(open.pop());
    live.gateway.caught_up().await;
    let after_close = live.ticket(&org.staff.token).await;
    let reopened = live.open(after_close.body["url"].as_str().unwrap()).await;
    assert!(reopened.is_ok(), "a closed connection frees its place");
}

#[tokio::test]
async fn each_member_is_told_exactly_what_they_may_see_and_resume_replays_it() {
    let app = TestApp::for_live().await;
    let org = app.org_fixture().await;
    let other = app.org_fixture().await;
    let admin = org.admin.token.as_str();
    let live = app.live().await;
    let mut admin_socket = live.connect(admin).await;
    let mut staff_socket = live.connect(&org.staff.token).await;
    let mut client_socket = live.connect(&org.client.token).await;
    let mut foreign_socket = live.connect(&other.admin.token).await;

    let assigned = app.call(POST, "/customers", Some(admin), Some(json!({"name": "Assigned"}))).await;
    let assigned = assigned.body["id"].as_str().unwrap().to_owned();
    let unseen = app.call(POST, "/customers", Some(admin), Some(json!({"name": "Unseen"}))).await;
    let unseen = unseen.body["id"].as_str().unwrap().to_owned();
    // Who is told is decided when the change is told, from what is stored then: the creations
    // are told before the assignment exists.
    live.gateway.caught_up().await;
    let staff_path = format!("/customers/{assigned}/staff/{}", org.staff.id());
    assert_eq!(app.call(PUT, &staff_path, Some(admin), None).await.status, 201);
    let patch = json!({"name": "Assigned 2"});
    assert_eq!(app.call(PATCH, &format!("/customers/{assigned}"), Some(admin), Some(patch)).await.status, 200);
    let invite = json!({"email": "live-invitee@example.com", "role": "staff"});
    let invited = app.call(POST, "/invitations", Some(admin), Some(invite)).await;
    assert_eq!(invited.status, 201, "{:?}", invited.body);
    let invitation = invited.body["id"].as_str().unwrap().to_owned();
    assert_eq!(app.call(PATCH, "/org", Some(admin), Some(json!({"name": "Live Org"}))).await.status, 200);

    let c = |entity: &str, action: &str, id: &str| (entity.to_owned(), action.to_owned(), id.to_owned());
    let org_renamed = c("org", "updated", &org.org_id);
    let admin_told = told(&mut admin_socket).await;
    assert_eq!(
        admin_told,
        vec![
            c("customer", "created", &assigned),
            c("customer", "created", &unseen),
            c("assignment", "created", &assigned),
            c("customer", "updated", &assigned),
            c("invitation", "created", &invitation),
            org_renamed.clone(),
        ],
        "an admin is told every change, in order"
    );
    // Staff: their own assignment and, from then on, the customer; never the other customer or
    // the invitation.
    assert_eq!(
        told(&mut staff_socket).await,
        vec![c("assignment", "created", &assigned), c("customer", "updated", &assigned), org_renamed.clone()]
    );
    // A client without a customer: only the organization.
    assert_eq!(told(&mut client_socket).await, vec![org_renamed.clone()]);
    assert!(told(&mut foreign_socket).await.is_empty(), "nothing of another organization");

    // Resume: a new connection after the first change replays what the member may see now.
    let mut resumed = live.connect(&org.staff.token).await;
    let first_seq = {
        let mut again = live.connect(admin).await;
        again.send(json!({"action": "resume", "after": "0000000000000000"})).await;
        let frames = again.drain(QUIET).await;
        let replayed = changes(&frames);
        // Everything kept, in order: the fixture's own changes, then the ones above.
        assert!(replayed.ends_with(&admin_told), "{replayed:?}");
        assert_eq!(frames.last().unwrap()["type"], "synced");
        let seqs: Vec<&str> =
            frames.iter().filter(|f| f["type"] == "change").filter_map(|f| f["seq"].as_str()).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "numbers rise: {seqs:?}");
        assert_eq!(frames.last().unwrap()["seq"], frames[frames.len() - 2]["seq"], "synced names the last");
        frames[replayed.len() - admin_told.len()]["seq"].as_str().unwrap().to_owned()
    };
    resumed.send(json!({"action": "resume", "after": first_seq})).await;
    let frames = resumed.drain(QUIET).await;
    assert_eq!(
        changes(&frames),
        vec![c("assignment", "created", &assigned), c("customer", "updated", &assigned), org_renamed]
    );
    assert_eq!(frames.last().unwrap()["type"], "synced");
    resumed.send(json!({"action": "resume", "after": "0000000000999999"})).await;
    assert_eq!(resumed.next(QUIET).await, Some(json!({"type": "resync"})), "a seq not kept: resync");

    // A removed member's connection closes; a deleted customer is told to whom could see it.
    let removed = app.call(DELETE, &format!("/users/{}", org.client.id()), Some(admin), None).await;
    assert_eq!(removed.status, 204, "{:?}", removed.body);
    assert!(client_socket.closed_within(Duration::from_secs(5)).await, "a removed member's socket closes");
    assert_eq!(app.call(DELETE, &format!("/customers/{unseen}"), Some(admin), None).await.status, 204);
    let staff_told = told(&mut staff_socket).await;
    assert!(!staff_told.iter().any(|(_, _, id)| id == &unseen), "{staff_told:?}");
}

#[tokio::test]
async fn membership_ends_close_sockets_and_a_role_change_applies_from_the_next_change() {
    let app = TestApp::for_live().await;
    let org = app.org_fixture().await;
    let second_admin = app.new_member(&org.org_id, "admin").await;
    let admin = org.admin.token.as_str();
    assert_eq!(app.call(GET, "/me", Some(&second_admin.token), None).await.status, 200);
    let live = app.live().await;
    let mut demoted = live.connect(&second_admin.token).await;
    let mut staff = live.connect(&org.staff.token).await;

    let invite = |email: &str| json!({"email": email, "role": "staff"});
    let first = app.call(POST, "/invitations", Some(admin), Some(invite("live-first@example.com"))).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let told_first = told(&mut demoted).await;
    assert!(told_first.iter().any(|(e, _, _)| e == "invitation"), "an admin is told of invitations: {told_first:?}");
    let role = json!({"role": "staff"});
    let path = format!("/users/{}", second_admin.id());
    assert_eq!(app.call(PATCH, &path, Some(admin), Some(role)).await.status, 200);
    live.gateway.caught_up().await;
    let second = app.call(POST, "/invitations", Some(admin), Some(invite("live-second@example.com"))).await;
    assert_eq!(second.status, 201, "{:?}", second.body);
    let after = told(&mut demoted).await;
    assert!(after.contains(&("member".into(), "updated".into(), second_admin.id().to_owned())), "{after:?}");
    assert!(!after.iter().any(|(e, _, _)| e == "invitation"), "a demoted admin is told no invitation: {after:?}");

    // The organization's deletion closes every socket of it.
    let name = app.org(&org.admin).await["name"].as_str().unwrap().to_owned();
    let deleted = app.call(DELETE, "/org", Some(admin), Some(json!({"confirmName": name}))).await;
    assert!(matches!(deleted.status, 200 | 202), "{:?}", deleted.body);
    assert!(staff.closed_within(Duration::from_secs(5)).await, "the deletion closes the staff member's socket");
    assert!(demoted.closed_within(Duration::from_secs(5)).await);
}

fn audit_entry(org_id: &str, customer_id: &str, at: shared::Timestamp) -> shared::store::AuditItem {
    use shared::domain::audit::{Action, Actor, Changes, Target, TargetKind};
    let id = ulid::Ulid::new().to_string();
    shared::store::AuditItem {
        pk: shared::store::keys::audit_pk(org_id, at),
        sk: shared::store::keys::audit_sk(&id),
        entity: shared::store::AuditItem::ENTITY.to_owned(),
        id: format!("aud_{}", id.to_lowercase()),
        org_id: org_id.to_owned(),
        at,
        actor: Actor::System,
        actor_id: None,
        action: Action::CustomerUpdated,
        target: Target::new(TargetKind::Customer, customer_id),
        target_id: customer_id.to_owned(),
        changes: Changes::default(),
        request_id: None,
        expires_at: at.unix_seconds() + 3600,
    }
}

fn inserted(sequence: &str, image: serde_json::Value) -> testkit_events::EventRecord {
    let mut record = testkit_events::EventRecord::default();
    record.event_name = "INSERT".into();
    record.change.sequence_number = Some(sequence.to_owned());
    record.change.new_image = serde_dynamo::to_item(image).unwrap();
    record
}

mod testkit_events {
    pub use shared::api::live::events::{EventRecord, StreamEvent};
}

/// Writers' clocks 2 s apart: an entry whose time is 2 s before the last one told is numbered
/// after it, so a resume after the last number received still gets it.
#[tokio::test]
async fn a_writer_whose_clock_is_behind_is_not_missed_by_a_resume() {
    let app = TestApp::for_live().await;
    let org = app.org_fixture().await;
    let admin = org.admin.token.as_str();
    let created = app.call(POST, "/customers", Some(admin), Some(json!({"name": "Clocks"}))).await;
    let customer = created.body["id"].as_str().unwrap().to_owned();
    let live = app.live().await;
    let mut socket = live.connect(admin).await;
    socket.send(json!({"action": "resume", "after": "0000000000000000"})).await;
    let frames = socket.drain(QUIET).await;
    let last = frames.last().unwrap()["seq"].as_str().unwrap().to_owned();

    // The slow writer's entry, 2 s in the past by its clock, lands now.
    let slow = audit_entry(&org.org_id, &customer, shared::Timestamp::now().minus(time::Duration::seconds(2)));
    app.put_items(vec![serde_dynamo::to_item(&slow).unwrap()]).await;
    let live_frames = socket.drain(QUIET).await;
    assert_eq!(changes(&live_frames), vec![("customer".into(), "updated".into(), customer.clone())]);
    assert!(live_frames[0]["seq"].as_str().unwrap() > last.as_str(), "numbered after what came before");

    let mut resumed = live.connect(admin).await;
    resumed.send(json!({"action": "resume", "after": last})).await;
    let replay = resumed.drain(QUIET).await;
    assert_eq!(changes(&replay), vec![("customer".into(), "updated".into(), customer)]);

    // A change no longer kept: resync.
    let expired = json!({"PK": format!("ORG#{}#CHANGES", org.org_id), "SK": "SEQ#0000000000000500",
        "entity": "live_change", "seq": 500, "at": "2026-01-01T00:00:00.000Z", "expiresAt": 1,
        "change": {"entity": "org", "action": "updated", "id": org.org_id, "customerId": null, "userId": null}});
    app.put_items(vec![serde_dynamo::to_item(expired).unwrap()]).await;
    resumed.send(json!({"action": "resume", "after": "0000000000000500"})).await;
    assert_eq!(resumed.next(QUIET).await, Some(json!({"type": "resync"})));
}

/// `live-broadcast` alone: a poison record fails alone, a connection that answers 410 is
/// forgotten, and a deleted organization's records are told to nobody.
#[tokio::test]
async fn broadcast_fails_a_poison_record_alone_and_forgets_gone_connections() {
    let app = TestApp::for_live().await;
    let org = app.org_fixture().await;
    let doomed = app.org_fixture().await;
    let live = app.live().await;
    let deps = live.deps();
    let now = shared::Timestamp::now();
    // A connection API Gateway no longer has (its $disconnect never came).
    let opened = deps.store.open_connection("gone-connection", &org.org_id, org.admin.id(), now).await.unwrap();
    assert_eq!(opened, shared::store::OrgWrite::Written(true));

    let good = audit_entry(&org.org_id, "cus_x", now);
    let poison = json!({"PK": format!("ORG#{}#AUDIT#2026-12", org.org_id), "SK": "AUDIT#x", "entity": "audit",
        "action": "no.such_action"});
    let mut event = testkit_events::StreamEvent::default();
    event.records = vec![inserted("100", poison), inserted("101", serde_json::to_value(&good).unwrap())];
    let answer = testkit::calls::FUNCTION.scope("live-broadcast", shared::api::live::broadcast(deps, event)).await;
    let failed: Vec<_> = answer.batch_item_failures.iter().filter_map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failed, vec!["100".to_owned()], "only the poison record fails");
    assert!(deps.store.connection("gone-connection").await.unwrap().is_none(), "a 410 connection is forgotten");
    // So does `$default`, when its answer finds the connection gone.
    let opened = deps.store.open_connection("gone-too", &org.org_id, org.admin.id(), now).await.unwrap();
    assert_eq!(opened, shared::store::OrgWrite::Written(true));
    let mut ping = shared::api::live::events::ApiGatewayWebsocketProxyRequest::default();
    ping.request_context.connection_id = Some("gone-too".into());
    ping.body = Some(r#"{"action":"ping"}"#.into());
    let answer = testkit::calls::FUNCTION.scope("live-message", shared::api::live::message(deps, &ping)).await;
    assert_eq!(answer.status_code, 200);
    assert!(deps.store.connection("gone-too").await.unwrap().is_none());
    let kept = deps.store.changes_after(&org.org_id, shared::domain::live::Seq(0), 1000).await.unwrap();
    assert!(kept.iter().any(|c| c.change.id == "cus_x"), "the good record was numbered");
    // The same record again (a retried batch): it keeps its number, and takes no other.
    let mut again = testkit_events::StreamEvent::default();
    again.records = vec![inserted("102", serde_json::to_value(&good).unwrap())];
    testkit::calls::FUNCTION.scope("live-broadcast", shared::api::live::broadcast(deps, again)).await;
    let numbered = deps.store.changes_after(&org.org_id, shared::domain::live::Seq(0), 1000).await.unwrap();
    assert_eq!(numbered.iter().filter(|c| c.change.id == "cus_x").count(), 1, "numbered once");

    // An undo takes its change's entry away: told as an update of the same target, numbered
    // apart; DynamoDB's TTL taking an old entry away is no change.
    let undone = audit_entry(&org.org_id, "cus_undone", now);
    let removed = |sequence: &str, ttl: bool| {
        let mut record = testkit_events::EventRecord::default();
        record.event_name = "REMOVE".into();
        record.change.sequence_number = Some(sequence.to_owned());
        record.change.old_image = serde_dynamo::to_item(&undone).unwrap();
        if ttl {
            let mut identity = shared::api::live::events::UserIdentity::default();
            identity.type_ = "Service".into();
            identity.principal_id = "dynamodb.amazonaws.com".into();
            record.user_identity = Some(identity);
        }
        record
    };
    let mut event = testkit_events::StreamEvent::default();
    event.records = vec![removed("300", true)];
    testkit::calls::FUNCTION.scope("live-broadcast", shared::api::live::broadcast(deps, event)).await;
    let kept = deps.store.changes_after(&org.org_id, shared::domain::live::Seq(0), 1000).await.unwrap();
    assert!(!kept.iter().any(|c| c.change.id == "cus_undone"), "a TTL deletion tells nothing");
    let mut event = testkit_events::StreamEvent::default();
    event.records = vec![removed("301", false)];
    testkit::calls::FUNCTION.scope("live-broadcast", shared::api::live::broadcast(deps, event)).await;
    let kept = deps.store.changes_after(&org.org_id, shared::domain::live::Seq(0), 1000).await.unwrap();
    let told: Vec<_> = kept.iter().filter(|c| c.change.id == "cus_undone").collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].change.action, shared::domain::live::ChangeKind::Updated);

    // An organization whose deletion began: its entries take no number and reach nobody.
    let read = deps.store.get_org(&doomed.org_id).await.unwrap().unwrap();
    let deletion = shared::store::Deletion {
        requested_at: now,
        requested_by: doomed.admin.id().to_owned(),
        request_id: None,
        workos_deleted_at: None,
    };
    assert_eq!(
        deps.store.request_deletion(&read, &deletion, &testkit::origin()).await.unwrap(),
        shared::store::OrgWrite::Written(())
    );
    let before = deps.store.changes_after(&doomed.org_id, shared::domain::live::Seq(0), 1000).await.unwrap().len();
    let mut late = testkit_events::StreamEvent::default();
    late.records = vec![inserted("200", serde_json::to_value(audit_entry(&doomed.org_id, "cus_y", now)).unwrap())];
    let answer = testkit::calls::FUNCTION.scope("live-broadcast", shared::api::live::broadcast(deps, late)).await;
    assert!(answer.batch_item_failures.is_empty());
    let after = deps.store.changes_after(&doomed.org_id, shared::domain::live::Seq(0), 1000).await.unwrap().len();
    assert_eq!(before, after, "a deleting organization's change takes no number");
}

/// A client is told of its own customer only; billing reaches admins only; a role change is a
/// member change that staff (who see the members) and admins are told.
#[tokio::test]
async fn a_client_hears_its_customer_and_only_admins_hear_billing() {
    let stub = testkit::lemonsqueezy::LemonSqueezyStub::start().await;
    let mut extra = stub.env();
    extra.push(("LEMONSQUEEZY_ALLOW_TEST_MODE", "true"));
    let app = TestApp::for_live_with(&extra).await;
    let org = app.org_fixture().await;
    let admin = org.admin.token.as_str();
    let mut ids = Vec::new();
    for name in ["Own", "Other"] {
        let created = app.call(POST, "/customers", Some(admin), Some(json!({"name": name}))).await;
        ids.push(created.body["id"].as_str().unwrap().to_owned());
    }
    let attach = json!({"customerId": ids[0]});
    assert_eq!(app.call(PATCH, &format!("/users/{}", org.client.id()), Some(admin), Some(attach)).await.status, 200);
    let live = app.live().await;
    let mut admin_socket = live.connect(admin).await;
    let mut staff_socket = live.connect(&org.staff.token).await;
    let mut client_socket = live.connect(&org.client.token).await;

    for id in &ids {
        let patch = json!({"notes": "changed"});
        assert_eq!(app.call(PATCH, &format!("/customers/{id}"), Some(admin), Some(patch)).await.status, 200);
    }
    let event = testkit::lemonsqueezy::fixture_for("subscription_created", &org.org_id);
    assert_eq!(app.signed_webhook(&event).await.body["status"], "applied");
    // Told before the promotion (who is told is decided when it is told).
    live.gateway.caught_up().await;
    let promote = json!({"role": "admin"});
    assert_eq!(app.call(PATCH, &format!("/users/{}", org.staff.id()), Some(admin), Some(promote)).await.status, 200);

    let c = |entity: &str, action: &str, id: &str| (entity.to_owned(), action.to_owned(), id.to_owned());
    let promoted = c("member", "updated", org.staff.id());
    assert_eq!(
        told(&mut admin_socket).await,
        vec![
            c("customer", "updated", &ids[0]),
            c("customer", "updated", &ids[1]),
            c("billing", "updated", &org.org_id),
            promoted.clone()
        ]
    );
    assert_eq!(told(&mut staff_socket).await, vec![promoted], "staff: the members, no customer of others, no billing");
    assert_eq!(told(&mut client_socket).await, vec![c("customer", "updated", &ids[0])], "a client: its own customer");
}

/// A staff member unassigned from a customer is told of the unassignment and of nothing of that
/// customer afterwards; a removal that WorkOS makes (its webhook, mirrored) closes the member's
/// socket as one made through the API does.
#[tokio::test]
async fn an_unassigned_staff_member_hears_no_more_and_a_workos_removal_closes_the_socket() {
    let app = TestApp::for_live().await;
    let org = app.org_fixture().await;
    let admin = org.admin.token.as_str();
    let created = app.call(POST, "/customers", Some(admin), Some(json!({"name": "Unassigned"}))).await;
    let customer = created.body["id"].as_str().unwrap().to_owned();
    let staff_path = format!("/customers/{customer}/staff/{}", org.staff.id());
    assert_eq!(app.call(PUT, &staff_path, Some(admin), None).await.status, 201);
    let live = app.live().await;
    let mut staff = live.connect(&org.staff.token).await;
    let mut client = live.connect(&org.client.token).await;

    assert_eq!(app.call(DELETE, &staff_path, Some(admin), None).await.status, 204);
    live.gateway.caught_up().await;
    let patch = json!({"name": "Unassigned 2"});
    assert_eq!(app.call(PATCH, &format!("/customers/{customer}"), Some(admin), Some(patch)).await.status, 200);
    let c = |entity: &str, action: &str, id: &str| (entity.to_owned(), action.to_owned(), id.to_owned());
    assert_eq!(told(&mut staff).await, vec![c("assignment", "deleted", &customer)], "the unassignment, then nothing");

    // WorkOS removes the client; its webhook's event is mirrored.
    let memberships = app.emulator.memberships(org.client.id(), &org.org_id).await;
    let mut membership = memberships.into_iter().next().expect("the client's WorkOS membership");
    let later = shared::Timestamp::now().plus(time::Duration::seconds(5));
    membership["updated_at"] = json!(later.to_string());
    membership["status"] = json!("inactive");
    let event: shared::clients::workos::Event = serde_json::from_value(json!({
        "id": format!("event_{}", ulid::Ulid::new()), "event": "organization_membership.deleted",
        "data": membership, "created_at": shared::Timestamp::now().to_string(),
    }))
    .unwrap();
    app.apply_workos_event(&event).await.unwrap();
    assert!(app.deps.store.get_member(&org.org_id, org.client.id()).await.unwrap().is_none(), "mirrored");
    assert!(client.closed_within(Duration::from_secs(5)).await, "a WorkOS removal closes the socket");
}
