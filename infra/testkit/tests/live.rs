//! Live updates (issue 22): real WebSocket clients against the local gateway, which plays API
//! Gateway's WebSocket API and `@connections` and reads DynamoDB Local's stream into
//! `live-broadcast`, as `make dev` runs it.

use std::time::Duration;

use serde_json::{Value, json};
use testkit::live::Socket;
use testkit::{DELETE, PATCH, POST, PUT, TestApp};

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
    let app = TestApp::new().await;
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
    // The socket that opened answers a ping, and an unknown message with an error frame.
    socket.send(json!({"action": "ping"})).await;
    assert_eq!(socket.next(QUIET).await, Some(json!({"type": "pong"})));
    socket.send(json!({"action": "subscribe"})).await;
    assert_eq!(socket.next(QUIET).await, Some(json!({"type": "error", "code": "unknown_action"})));
    socket.send(json!({"action": "ping"})).await;
    assert_eq!(socket.next(QUIET).await, Some(json!({"type": "pong"})), "the connection stays open");
}

#[tokio::test]
async fn each_member_is_told_exactly_what_they_may_see_and_resume_replays_it() {
    let app = TestApp::new().await;
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
