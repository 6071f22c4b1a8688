//! Key builders: the only place that knows the shape of a key. See docs/data-model.md.
//!
//! Over 300 lines: the one place that builds keys; a third of it is their tests.

use crate::Timestamp;

/// Partition of one organization: its profile, members and (later) customers.
pub fn org_pk(org_id: &str) -> String {
    format!("ORG#{org_id}")
}

/// The organization whose partition `pk` is (`ORG#o`, `ORG#o#…`), if any.
pub fn org_of(pk: &str) -> Option<&str> {
    let rest = pk.strip_prefix("ORG#")?;
    rest.split('#').next().filter(|org| !org.is_empty())
}

/// Partition of an organization's open live connections (`CONN#<user id>#<connection id>`).
pub fn live_connections_pk(org_id: &str) -> String {
    format!("ORG#{org_id}#LIVE")
}

/// Sort key of a live connection in its organization's partition: by user first, so that one
/// member's connections are one prefix (the cap counts them without reading everyone's).
pub fn live_connection_sk(user_id: &str, connection_id: &str) -> String {
    format!("{}{connection_id}", live_user_connections_prefix(user_id))
}

/// Sort key prefix of one member's live connections.
pub fn live_user_connections_prefix(user_id: &str) -> String {
    format!("CONN#{user_id}#")
}

/// A live connection's own item, found by the connection id that API Gateway hands `$default`
/// and `$disconnect` (which carry no credential): it names the organization and user.
pub fn live_connection_pk(connection_id: &str) -> String {
    format!("LIVECONN#{connection_id}")
}

/// Sort key of a live connection's own item and of a ticket.
pub const LIVE_SK: &str = "LIVE";

/// A live ticket, by the digest of its secret (the secret itself is never stored).
pub fn live_ticket_pk(digest: &str) -> String {
    format!("LIVETICKET#{digest}")
}

/// Partition of an organization's numbered changes (`SEQ#…`, and `ENTRY#<audit entry id>` for
/// the number an entry was given).
pub fn changes_pk(org_id: &str) -> String {
    format!("ORG#{org_id}#CHANGES")
}

pub fn change_sk(seq: crate::domain::live::Seq) -> String {
    format!("SEQ#{seq}")
}

pub const CHANGE_PREFIX: &str = "SEQ#";

pub fn change_entry_sk(entry_id: &str) -> String {
    format!("ENTRY#{entry_id}")
}

/// Sort key of the organization item itself.
pub const ORG_SK: &str = "ORG";

/// Sort key of a member within its organization's partition.
pub fn member_sk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

/// A user's own partition (profile, idempotency records) and the GSI1 key of their memberships.
pub fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

/// Sort key of a user's profile.
pub const PROFILE_SK: &str = "PROFILE";

/// Sort key of an idempotency record; the client's key is hashed so any text fits.
pub fn idempotency_sk(key_hash: &str) -> String {
    format!("IDEMP#{key_hash}")
}

/// Sort key prefix of members within their organization's partition.
pub const MEMBER_PREFIX: &str = "USER#";

/// Sort key of an invitation within its organization's partition.
pub fn invitation_sk(invitation_id: &str) -> String {
    format!("INVITE#{invitation_id}")
}

/// Sort key prefix of invitations.
pub const INVITATION_PREFIX: &str = "INVITE#";

/// Sort key of the one pending invitation an email may have in an organization: makes a second
/// invitation of the same address fail atomically, and finds the invitation when its user arrives.
pub fn invitee_sk(email: &str) -> String {
    format!("INVITEE#{}", email.to_lowercase())
}

/// Partition of an organization's audit entries of the month `at` falls in (`ORG#o#AUDIT#2026-12`).
pub fn audit_pk(org_id: &str, at: Timestamp) -> String {
    let (year, month) = at.year_month();
    audit_month_pk(org_id, year, month)
}

fn audit_month_pk(org_id: &str, year: i32, month: u8) -> String {
    format!("ORG#{org_id}#AUDIT#{year:04}-{month:02}")
}

/// Sort key of an audit entry: its ULID, so the partition is in time order.
pub fn audit_sk(ulid: &str) -> String {
    format!("AUDIT#{ulid}")
}

/// The audit partitions of the `count` months up to `now`'s, newest first.
pub fn audit_months(org_id: &str, now: Timestamp, count: usize) -> Vec<String> {
    let (mut year, mut month) = now.year_month();
    let mut months = Vec::with_capacity(count);
    for _ in 0..count {
        months.push(audit_month_pk(org_id, year, month));
        (year, month) = if month == 1 { (year - 1, 12) } else { (year, month - 1) };
    }
    months
}

/// The audit partitions of every month from `since`'s to `now`'s, newest first: all that can
/// hold an entry of an organization created at `since`.
pub fn audit_months_since(org_id: &str, since: Timestamp, now: Timestamp) -> Vec<String> {
    let index = |(year, month): (i32, u8)| i64::from(year) * 12 + i64::from(month);
    let count = index(now.year_month()) - index(since.year_month()) + 1;
    audit_months(org_id, now, usize::try_from(count).unwrap_or(0).max(1))
}

/// GSI1 partition of the organizations whose deletion is under way (the WorkOS sync continues
/// them); the org item carries these keys from the request until its tombstone replaces it.
pub const DELETIONS_GSI1PK: &str = "DELETIONS";

/// Sort key of a deletion under way: its request's time, or its last failed attempt's, so the
/// longest waiting comes first.
pub fn deletion_gsi1sk(at: Timestamp, org_id: &str) -> String {
    format!("{at}#{org_id}")
}

/// Sort key of a customer within its organization's partition.
pub fn customer_sk(customer_id: &str) -> String {
    format!("CUSTOMER#{customer_id}")
}

/// Sort key of the marker of a customer imported from Convex, by its Convex `_id`.
pub fn imported_customer_sk(convex_id: &str) -> String {
    format!("{IMPORTED_CUSTOMER_PREFIX}{convex_id}")
}

const IMPORTED_CUSTOMER_PREFIX: &str = "IMPORTED#customers#";

/// Sort key of the record that an import from Convex finished for the organization.
pub const IMPORT_RECORD_SK: &str = "IMPORTED#org";

/// GSI1 partition of an organization's customers, sorted by [`name_sort_key`].
pub fn customers_gsi1pk(org_id: &str) -> String {
    format!("ORG#{org_id}#CUSTOMERS")
}

/// Case-insensitive name order, with the id to keep equal names apart and pages stable.
pub fn name_sort_key(name: &str, id: &str) -> String {
    format!("{}#{id}", name.to_lowercase())
}

/// Sort key prefix of a customer's staff assignments.
pub fn assignment_prefix(customer_id: &str) -> String {
    format!("ASSIGN#{customer_id}#")
}

/// Sort key of one staff member's assignment to one customer.
pub fn assignment_sk(customer_id: &str, user_id: &str) -> String {
    format!("ASSIGN#{customer_id}#{user_id}")
}

/// GSI1 partition of a staff member's assignments, sorted by customer name.
pub fn staff_gsi1pk(org_id: &str, user_id: &str) -> String {
    format!("ORG#{org_id}#STAFF#{user_id}")
}

/// Sort key of the record of a removed member.
pub fn removed_member_sk(user_id: &str) -> String {
    format!("REMOVED#{user_id}")
}

/// Sort key of a staff member's side of an assignment (base table, strongly consistent).
pub fn staff_assignment_sk(user_id: &str, customer_id: &str) -> String {
    format!("STAFF#{user_id}#{customer_id}")
}

/// Sort key prefix of one staff member's assignments.
pub fn staff_assignment_prefix(user_id: &str) -> String {
    format!("STAFF#{user_id}#")
}

/// Sort key of an API key within its organization's partition (read with the org item when a
/// key's request is resolved).
pub fn api_key_sk(key_id: &str) -> String {
    format!("{API_KEY_PREFIX}{key_id}")
}

/// Sort key prefix of an organization's API keys.
pub const API_KEY_PREFIX: &str = "APIKEY#";

/// Partition of the request counters of an organization's API keys (one item per key and
/// minute, gone by TTL): apart from the org's own partition, whose items the counting would
/// otherwise rewrite on every request.
pub fn key_use_pk(org_id: &str) -> String {
    format!("ORG#{org_id}#KEYUSE")
}

/// Sort key of one key's counter of one minute (unix minute).
pub fn key_use_sk(key_id: &str, minute: i64) -> String {
    format!("KEY#{key_id}#MINUTE#{minute}")
}

/// Sort key of a Lemon Squeezy subscription's item within its organization's partition.
pub fn subscription_sk(subscription_id: &str) -> String {
    format!("SUB#{subscription_id}")
}

/// Sort key prefix of an organization's subscriptions.
pub const SUBSCRIPTION_PREFIX: &str = "SUB#";

/// The subscription a key of an organization's partition is the item of, if it is one.
pub fn subscription_of_sk(sk: &str) -> Option<&str> {
    sk.strip_prefix(SUBSCRIPTION_PREFIX)
}

/// Partition mapping a Lemon Squeezy subscription to its organization.
pub fn subscription_owner_pk(subscription_id: &str) -> String {
    format!("LSSUB#{subscription_id}")
}

pub const SUBSCRIPTION_OWNER_SK: &str = "LSSUB";

/// GSI1 partition listing every known subscription (the reconcile job only). Its entries are
/// written when a subscription event arrives, a few times a month per organization.
pub const SUBSCRIPTIONS_GSI1PK: &str = "LSSUBS";

/// Partition of an organization's billing events (kept apart from its hot partition).
pub fn org_events_pk(org_id: &str) -> String {
    format!("ORG#{org_id}#EVENTS")
}

/// How many partitions billing events without an organization are spread over.
pub const UNMATCHED_SHARDS: u32 = 16;

/// The shard of an event without an organization: from its body hash (lowercase hex), so a
/// second delivery of the same body lands on the same key and is told a duplicate.
fn event_shard(body_hash: &str) -> u32 {
    body_hash.chars().next().and_then(|c| c.to_digit(16)).unwrap_or(0) % UNMATCHED_SHARDS
}

/// Partition of billing events that matched no organization (and ignored ones without one).
pub fn unmatched_events_pk(body_hash: &str) -> String {
    format!("LS#EVENTS#{:x}", event_shard(body_hash))
}

/// GSI1 partition of one shard of the unmatched events still to be retried.
pub fn retry_events_gsi1pk(body_hash: &str) -> String {
    retry_shard_gsi1pk(event_shard(body_hash))
}

pub fn retry_shard_gsi1pk(shard: u32) -> String {
    format!("LS#RETRY#{shard:x}")
}

/// Sort key of a billing event: the hash of its body.
pub fn billing_event_sk(body_hash: &str) -> String {
    format!("LS#{body_hash}")
}

/// Partition of a scheduled job's state (jobs only).
pub fn job_pk(job: &str) -> String {
    format!("JOB#{job}")
}

pub const JOB_STATE_SK: &str = "STATE";

/// Where `billing-reconcile` got to: `JOB#billing-reconcile` / `STATE`.
pub const RECONCILE_JOB: &str = "billing-reconcile";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_partitions_are_months_walked_back_across_years() {
        let at = Timestamp::parse("2026-02-10T00:00:00Z").unwrap();
        assert_eq!(audit_pk("org_1", at), "ORG#org_1#AUDIT#2026-02");
        assert_eq!(
            audit_months("org_1", at, 3),
            ["ORG#org_1#AUDIT#2026-02", "ORG#org_1#AUDIT#2026-01", "ORG#org_1#AUDIT#2025-12"]
        );
        // No other key of the organization starts like its audit partitions.
        assert!(!audit_pk("org_1", at).starts_with(&format!("{}#", org_pk("org_12"))));
    }

    #[test]
    fn the_months_since_creation_include_both_ends() {
        let since = Timestamp::parse("2025-11-30T23:00:00Z").unwrap();
        let now = Timestamp::parse("2026-02-01T00:00:00Z").unwrap();
        assert_eq!(
            audit_months_since("o", since, now),
            ["ORG#o#AUDIT#2026-02", "ORG#o#AUDIT#2026-01", "ORG#o#AUDIT#2025-12", "ORG#o#AUDIT#2025-11"]
        );
        assert_eq!(audit_months_since("o", now, now), ["ORG#o#AUDIT#2026-02"]);
    }

    #[test]
    fn every_tenant_partition_names_its_org() {
        let at = Timestamp::parse("2026-02-10T00:00:00Z").unwrap();
        let tenant = [org_pk("org_1"), audit_pk("org_1", at), org_events_pk("org_1"), customers_gsi1pk("org_1")];
        for pk in tenant.into_iter().chain([key_use_pk("org_1")]) {
            assert_eq!(org_of(&pk), Some("org_1"), "{pk}");
        }
        for pk in [user_pk("user_1"), subscription_owner_pk("s"), unmatched_events_pk("ab"), job_pk("j"), "ORG#".into()]
        {
            assert_eq!(org_of(&pk), None, "{pk}");
        }
    }

    #[test]
    fn tenant_keys_start_with_the_org() {
        assert_eq!(org_pk("org_1"), "ORG#org_1");
        assert_eq!(member_sk("user_1"), "USER#user_1");
        assert_eq!(idempotency_sk("ab"), "IDEMP#ab");
    }

    #[test]
    fn unmatched_events_spread_over_shards_by_hash() {
        assert_eq!(unmatched_events_pk("0abc"), "LS#EVENTS#0");
        assert_eq!(unmatched_events_pk("fabc"), "LS#EVENTS#f");
        assert_eq!(retry_events_gsi1pk("a1"), "LS#RETRY#a");
        let shards: std::collections::BTreeSet<String> =
            (0..256u32).map(|i| unmatched_events_pk(&crate::crypto::sha256_hex(&i.to_be_bytes()))).collect();
        assert_eq!(shards.len(), UNMATCHED_SHARDS as usize);
    }

    #[test]
    fn a_staff_prefix_does_not_match_a_longer_user_id() {
        assert!(!staff_assignment_sk("user_12", "cus_1").starts_with(&staff_assignment_prefix("user_1")));
        assert!(!live_connection_sk("user_12", "c1").starts_with(&live_user_connections_prefix("user_1")));
        assert!(live_connection_sk("user_1", "c1").starts_with(&live_user_connections_prefix("user_1")));
    }
}
