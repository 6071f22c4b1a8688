//! Live updates: tickets, the WebSocket routes (`$connect`, `$disconnect`, `$default`), and the
//! broadcast of the table's stream to the members who may see each change. See
//! docs/live-updates.md for the design and where the local stack differs from AWS.

use std::collections::HashSet;

use futures::StreamExt;
use serde::Serialize;

use crate::clients::live::{LiveConnections, Reached};
use crate::crypto;
use crate::domain::live::{Change, ChangeKind, ClientMessage, Seq, ServerFrame};
use crate::domain::visibility::{Viewer, may_see};
use crate::error::ApiError;
use crate::flows::access::Caller;
use crate::store::{AuditItem, ConnectionItem, MemberItem, OrgWrite};
use crate::{Deps, Timestamp};

/// How long a ticket is good for.
pub const TICKET_SECONDS: i64 = 30;
/// The most changes a resume replays; past it the client is told to refetch (`resync`), which
/// costs it a few reads instead of thousands of frames.
pub const MAX_REPLAY: usize = 500;
/// Open connections a member may have at once (tabs, devices): each costs a post per change, so
/// one member cannot make every change of their organization expensive.
pub const MAX_CONNECTIONS_PER_USER: usize = 10;
/// How many posts to one change's recipients are in flight at once.
const POSTS_IN_FLIGHT: usize = 64;

/// A ticket handed to a member: the secret, the URL that carries it, its expiry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub ticket: String,
    pub url: String,
    pub expires_at: Timestamp,
}

/// What a stream record means to the live updates.
#[derive(Debug, Clone)]
pub enum StreamChange {
    /// A new audit entry: a change to number and tell.
    Entry(Box<AuditItem>),
    /// An audit entry taken away by the undo of its change: the target changed back, told as
    /// an update of it.
    Undone(Box<AuditItem>),
    /// A member's item went: their connections close.
    MemberGone { org_id: String, user_id: String },
    /// The organization's deletion began: every connection closes.
    OrgDeletion { org_id: String },
    /// Nothing the live updates tell.
    Other,
}

fn frame(frame: &ServerFrame<'_>) -> Vec<u8> {
    serde_json::to_vec(frame).unwrap_or_default()
}

fn viewer(member: &MemberItem) -> Viewer<'_> {
    Viewer { user_id: &member.user_id, role: member.role, customer_id: member.customer_id.as_deref() }
}

impl Deps {
    fn live(&self) -> Result<&LiveConnections, ApiError> {
        self.live.as_ref().ok_or_else(|| ApiError::Misconfigured("LIVE_MANAGEMENT_URL is not set".into()))
    }

    /// A single-use ticket for the caller's user and organization, valid [`TICKET_SECONDS`].
    pub async fn issue_ticket(&self, caller: &Caller) -> Result<Ticket, ApiError> {
        let base =
            self.config.live_url.as_deref().ok_or_else(|| ApiError::Misconfigured("LIVE_URL is not set".into()))?;
        let secret: [u8; 32] =
            crypto::random_bytes().ok_or_else(|| ApiError::upstream("no randomness for a ticket"))?;
        let ticket = crypto::hex(&secret);
        let expires_at = Timestamp::now().plus(time::Duration::seconds(TICKET_SECONDS));
        let digest = crypto::sha256_hex(ticket.as_bytes());
        self.store.put_ticket(&digest, caller.org_id(), &caller.member()?.user_id, expires_at.unix_seconds()).await?;
        let separator = if base.contains('?') { '&' } else { '?' };
        Ok(Ticket { url: format!("{base}{separator}ticket={ticket}"), ticket, expires_at })
    }

    /// `$connect`: uses the ticket and stores the connection under the ticket's organization, if
    /// its user is still a member of it. Anything else is 401, as API Gateway refuses a connect.
    pub async fn open_live(&self, ticket: Option<&str>, connection_id: &str) -> Result<(), ApiError> {
        let refused = || ApiError::Unauthenticated("the live ticket is missing, used, expired or unknown".into());
        // A ticket is 64 hex digits; anything else is not looked up.
        let ticket =
            ticket.filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())).ok_or_else(refused)?;
        let now = Timestamp::now();
        let taken = self.store.take_ticket(&crypto::sha256_hex(ticket.as_bytes()), now).await?;
        let ticket = taken.ok_or_else(refused)?;
        if self.store.connections_of_user(&ticket.org_id, &ticket.user_id).await? >= MAX_CONNECTIONS_PER_USER {
            return Err(ApiError::Forbidden(format!(
                "at most {MAX_CONNECTIONS_PER_USER} live connections may be open at once; close one first"
            )));
        }
        // The member must still be one when the connection is stored (checked in its transaction).
        match self.store.open_connection(connection_id, &ticket.org_id, &ticket.user_id, now).await? {
            OrgWrite::Written(true) => {
                tracing::info!(org_id = ticket.org_id, user_id = ticket.user_id, "live connection opened");
                Ok(())
            }
            OrgWrite::Written(false) | OrgWrite::OrgGone => Err(refused()),
        }
    }

    /// `$disconnect`: forgets the connection.
    pub async fn close_live(&self, connection_id: &str) -> Result<(), ApiError> {
        if let Some(connection) = self.store.connection(connection_id).await? {
            self.store.forget_connection(&connection).await?;
        }
        Ok(())
    }

    /// `$default`: a client's message, answered with frames posted to its connection.
    pub async fn live_message(&self, connection_id: &str, body: &str) -> Result<(), ApiError> {
        let live = self.live()?;
        let Some(connection) = self.store.connection(connection_id).await? else {
            // Not a connection this backend opened (or forgotten since): closed.
            live.close(connection_id).await?;
            return Ok(());
        };
        let frames = match ClientMessage::parse(body) {
            Ok(ClientMessage::Ping) => vec![frame(&ServerFrame::Pong)],
            Ok(ClientMessage::Resume { after }) => self.replay(&connection, after).await?,
            Err(code) => vec![frame(&ServerFrame::Error { code })],
        };
        for frame in frames {
            if live.post(connection_id, frame).await? == Reached::Gone {
                self.store.forget_connection(&connection).await?;
                break;
            }
        }
        Ok(())
    }

    /// The frames of a resume after `after`: the changes the member may see now, then `synced`;
    /// or `resync` when `after` is no longer kept (or too much happened since).
    async fn replay(&self, connection: &ConnectionItem, after: Seq) -> Result<Vec<Vec<u8>>, ApiError> {
        let (org_id, now) = (connection.org_id.as_str(), Timestamp::now());
        let resync = vec![frame(&ServerFrame::Resync)];
        // `after` must be a change still kept: otherwise what came between is unknown.
        if after != Seq(0) && !self.store.change(org_id, after).await?.is_some_and(|c| c.kept(now)) {
            return Ok(resync);
        }
        let changes =
            self.store.changes_after(org_id, after, i32::try_from(MAX_REPLAY + 1).unwrap_or(i32::MAX)).await?;
        // From the start: only while the first change is still kept (TTL takes the oldest).
        let start_lost = after == Seq(0) && changes.first().is_some_and(|c| c.seq != 1);
        if changes.len() > MAX_REPLAY || start_lost || changes.first().is_some_and(|c| !c.kept(now)) {
            return Ok(resync);
        }
        let scopes: HashSet<&str> = changes.iter().filter_map(|c| c.change.customer_scope()).collect();
        let scopes: Vec<&str> = scopes.into_iter().collect();
        let user = connection.user_id.as_str();
        let (members, _) = self.store.recipients(org_id, &[user], None).await?;
        let Some(member) = members.get(user) else {
            // Removed (its removal's record may still be on its way): the socket closes.
            self.live()?.close(&connection.connection_id).await?;
            return Ok(Vec::new());
        };
        // Only a staff member's view depends on assignments.
        let assigned = match member.role {
            crate::domain::Role::Staff => self.store.assigned_among(org_id, user, &scopes).await?,
            _ => HashSet::new(),
        };
        let mut frames = Vec::new();
        let mut last = after;
        for item in &changes {
            last = item.seq();
            let in_scope = item.change.customer_scope().is_some_and(|c| assigned.contains(c));
            if may_see(&viewer(member), &item.change.subject(in_scope)) {
                let (seq, at) = (item.seq().to_string(), item.at.to_string());
                frames.push(frame(&ServerFrame::Change { seq: &seq, at: &at, change: &item.change }));
            }
        }
        frames.push(frame(&ServerFrame::Synced { seq: &last.to_string() }));
        Ok(frames)
    }

    /// One stream record's work. An error leaves the record for the event source mapping to retry.
    pub async fn broadcast(&self, change: StreamChange) -> Result<(), ApiError> {
        match change {
            StreamChange::Entry(entry) => self.tell(&entry, false).await,
            StreamChange::Undone(entry) => self.tell(&entry, true).await,
            StreamChange::MemberGone { org_id, user_id } => {
                let connections = self.store.connections_of_org(&org_id).await?;
                self.close_all(connections.iter().filter(|c| c.user_id == user_id)).await
            }
            StreamChange::OrgDeletion { org_id } => {
                let connections = self.store.connections_of_org(&org_id).await?;
                self.close_all(connections.iter()).await
            }
            StreamChange::Other => Ok(()),
        }
    }

    async fn close_all<'a>(&self, connections: impl Iterator<Item = &'a ConnectionItem>) -> Result<(), ApiError> {
        let live = self.live()?;
        for connection in connections {
            live.close(&connection.connection_id).await?;
            self.store.forget_connection(connection).await?;
        }
        Ok(())
    }

    /// Numbers an audit entry's change and posts it to each open connection of its organization
    /// whose member may see it now.
    async fn tell(&self, entry: &AuditItem, undone: bool) -> Result<(), ApiError> {
        let live = self.live()?;
        let org_id = entry.org_id.as_str();
        let mut change = Change::of(org_id, entry.action, &entry.target);
        // An undo is a change of its own, numbered apart from the change it takes back.
        let numbered_as = if undone {
            change.action = ChangeKind::Updated;
            format!("{}#undone", entry.id)
        } else {
            entry.id.clone()
        };
        let now = Timestamp::now();
        let at = if undone { now } else { entry.at };
        let seq = match self.store.number_change(org_id, &numbered_as, &change, at, now).await? {
            OrgWrite::Written(seq) => seq,
            // Being deleted: nobody is told anything more.
            OrgWrite::OrgGone => return Ok(()),
        };
        let connections = self.store.connections_of_org(org_id).await?;
        if connections.is_empty() {
            return Ok(());
        }
        let users: Vec<&str> =
            connections.iter().map(|c| c.user_id.as_str()).collect::<HashSet<_>>().into_iter().collect();
        let (members, assigned) = self.store.recipients(org_id, &users, change.customer_scope()).await?;
        let (seq_text, at) = (seq.to_string(), at.to_string());
        let body = frame(&ServerFrame::Change { seq: &seq_text, at: &at, change: &change });
        let posts: Vec<_> = connections
            .iter()
            .map(|connection| {
                let member = members.get(&connection.user_id);
                let in_scope = assigned.contains(&connection.user_id);
                post_change(live, connection, member, &change, in_scope, body.clone())
            })
            .collect();
        let results: Vec<_> = futures::stream::iter(posts).buffer_unordered(POSTS_IN_FLIGHT).collect().await;
        let mut failed = None;
        for (connection, result) in results {
            match result {
                Ok(Reached::Yes) => {}
                Ok(Reached::Gone) => self.store.forget_connection(connection).await?,
                Err(error) => {
                    tracing::warn!(cause = %crate::error::chain(&error), "a live post failed");
                    failed = Some(error);
                }
            }
        }
        // A post that failed (not a gone connection) fails the record: the retry posts the same
        // number again, which the client ignores if it has it.
        failed.map_or(Ok(()), Err)
    }
}

/// Posts a change to one connection if its member may see it; a member no longer stored has
/// their connection closed (a removal whose stream record is still on its way).
async fn post_change<'a>(
    live: &LiveConnections,
    connection: &'a ConnectionItem,
    member: Option<&MemberItem>,
    change: &Change,
    in_scope: bool,
    body: Vec<u8>,
) -> (&'a ConnectionItem, Result<Reached, ApiError>) {
    let Some(member) = member else {
        return (connection, live.close(&connection.connection_id).await.map(|_| Reached::Gone));
    };
    if !may_see(&viewer(member), &change.subject(in_scope)) {
        return (connection, Ok(Reached::Yes));
    }
    (connection, live.post(&connection.connection_id, body).await)
}
