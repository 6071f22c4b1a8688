//! Typed items of the table. Every item carries its keys and an `entity` attribute.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::keys;
use crate::Timestamp;
use crate::lemonsqueezy::{Payment, Subscription};

/// A member's role, mirrored from the WorkOS role slug.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Staff,
    Client,
}

impl Role {
    pub fn from_slug(slug: &str) -> Option<Self> {
        match slug {
            "admin" => Some(Self::Admin),
            "staff" => Some(Self::Staff),
            "client" => Some(Self::Client),
            _ => None,
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Staff => "staff",
            Self::Client => "client",
        }
    }
}

/// How many of each limited resource an organization holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    #[serde(default)]
    pub customers: i64,
    /// Admins and staff members (the `maxStaff` seats).
    #[serde(default)]
    pub staff: i64,
    #[serde(default)]
    pub clients: i64,
    /// Admins alone, kept for the last-admin guard.
    #[serde(default)]
    pub admins: i64,
}

impl Usage {
    pub fn add(&mut self, role: Role, delta: i64) {
        match role {
            Role::Admin => {
                self.staff += delta;
                self.admins += delta;
            }
            Role::Staff => self.staff += delta,
            Role::Client => self.clients += delta,
        }
    }
}

/// An organization: `ORG#o` / `ORG`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    // No GSI keys: the org item is written on every counted insert, and an index entry would
    // copy each of those writes into one shared index partition.
    pub entity: String,
    pub id: String,
    pub name: String,
    /// Usage counters live on the org item so a limit check and an insert are one transaction.
    #[serde(flatten)]
    pub usage: Usage,
    /// The Lemon Squeezy subscriptions this organization owns, by subscription id, each as the
    /// newest event or fetch of *that* subscription left it. Always written (empty at first), so
    /// that one subscription's entry can be set by its path.
    #[serde(default)]
    pub subscriptions: BTreeMap<String, Subscription>,
    /// The newest payment event of each subscription, by subscription id.
    #[serde(default)]
    pub payments: BTreeMap<String, Payment>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl OrgItem {
    pub const ENTITY: &'static str = "org";

    pub fn new(id: &str, name: &str, now: Timestamp) -> Self {
        Self {
            pk: keys::org_pk(id),
            sk: keys::ORG_SK.to_owned(),
            entity: Self::ENTITY.to_owned(),
            id: id.to_owned(),
            name: name.to_owned(),
            usage: Usage::default(),
            subscriptions: BTreeMap::new(),
            payments: BTreeMap::new(),
            created_at: now,
            updated_at: now,
        }
    }

    pub fn usage_mut(&mut self) -> &mut Usage {
        &mut self.usage
    }
}

/// A member of an organization: `ORG#o` / `USER#u`, and in GSI1 `USER#u` / `ORG#o` (a user's orgs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    pub entity: String,
    pub org_id: String,
    pub user_id: String,
    pub role: Role,
    /// The customer a `client` belongs to; none for other roles.
    pub customer_id: Option<String>,
    /// The WorkOS organization membership id (`om_…`).
    pub membership_id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// WorkOS `updated_at` of the membership, so older WorkOS news never overwrites newer.
    pub workos_updated_at: Timestamp,
    /// New on every write of this item: a change, and the undo of one, is conditioned on the
    /// item still being the revision it read (or wrote).
    pub revision: String,
}

/// What a new member item is made of.
pub struct NewMember<'a> {
    pub org_id: &'a str,
    pub user_id: &'a str,
    pub role: Role,
    pub customer_id: Option<String>,
    pub membership_id: &'a str,
    pub profile: &'a UserProfileItem,
    pub workos_updated_at: Timestamp,
    pub now: Timestamp,
}

impl MemberItem {
    pub const ENTITY: &'static str = "member";

    pub fn new(new: NewMember<'_>) -> Self {
        Self {
            pk: keys::org_pk(new.org_id),
            sk: keys::member_sk(new.user_id),
            gsi1pk: keys::user_pk(new.user_id),
            gsi1sk: keys::org_pk(new.org_id),
            entity: Self::ENTITY.to_owned(),
            org_id: new.org_id.to_owned(),
            user_id: new.user_id.to_owned(),
            role: new.role,
            customer_id: new.customer_id,
            membership_id: new.membership_id.to_owned(),
            email: new.profile.email.clone(),
            first_name: new.profile.first_name.clone(),
            last_name: new.profile.last_name.clone(),
            created_at: new.now,
            updated_at: new.now,
            workos_updated_at: new.workos_updated_at,
            revision: new_revision(),
        }
    }

    /// This member as a new revision of itself, written `now`.
    pub fn revised(&self, now: Timestamp) -> Self {
        Self { updated_at: now, revision: new_revision(), ..self.clone() }
    }
}

fn new_revision() -> String {
    ulid::Ulid::new().to_string()
}

/// `ORG#o` / `REMOVED#u`: a member that was removed, and the WorkOS membership it had then.
/// It keeps late or replayed news of that membership, and requests that race the removal, from
/// bringing the user back:
/// - removed through the API ([`RemovalOrigin::Api`]): this application is deleting the
///   membership in WorkOS, so that membership never comes back (only a new one does);
/// - removed because WorkOS said so ([`RemovalOrigin::Workos`]): only a state of it newer than
///   that news brings it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovedMemberItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub user_id: String,
    pub membership_id: String,
    pub origin: RemovalOrigin,
    /// The membership's WorkOS `updated_at` in the news that removed it (or as last known).
    pub workos_updated_at: Timestamp,
    /// Names this removal, so that only its own undo takes it back.
    pub removal_id: String,
    pub removed_at: Timestamp,
    /// TTL (epoch seconds): longer than WorkOS retries webhooks and keeps events.
    pub expires_at: i64,
}

/// Who removed a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RemovalOrigin {
    /// An admin, through `DELETE /users/{userId}`.
    Api,
    /// WorkOS (the sync or the webhook mirrored it).
    Workos,
}

impl RemovalOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Workos => "workos",
        }
    }
}

impl RemovedMemberItem {
    pub const ENTITY: &'static str = "removed_member";
    const RETENTION_SECONDS: i64 = 90 * 24 * 60 * 60;

    pub fn of(member: &MemberItem, origin: RemovalOrigin, workos_updated_at: Timestamp, now: Timestamp) -> Self {
        Self {
            pk: member.pk.clone(),
            sk: keys::removed_member_sk(&member.user_id),
            entity: Self::ENTITY.to_owned(),
            user_id: member.user_id.clone(),
            membership_id: member.membership_id.clone(),
            origin,
            workos_updated_at,
            removal_id: new_revision(),
            removed_at: now,
            expires_at: now.unix_seconds() + Self::RETENTION_SECONDS,
        }
    }

    /// Whether `membership_id` at WorkOS time `updated_at` may bring the user back (the rule
    /// the provisioning transaction also states as its condition).
    pub fn admits(&self, membership_id: &str, updated_at: Timestamp) -> bool {
        membership_id != self.membership_id
            || (self.origin == RemovalOrigin::Workos && self.workos_updated_at < updated_at)
    }
}

/// A user's profile as WorkOS knows it: `USER#u` / `PROFILE`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserProfileItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub user_id: String,
    pub email: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub workos_updated_at: Timestamp,
}

impl UserProfileItem {
    pub const ENTITY: &'static str = "user";

    pub fn new(user: &crate::workos::User) -> Self {
        Self {
            pk: keys::user_pk(&user.id),
            sk: keys::PROFILE_SK.to_owned(),
            entity: Self::ENTITY.to_owned(),
            user_id: user.id.clone(),
            email: user.email.clone(),
            first_name: user.first_name.clone(),
            last_name: user.last_name.clone(),
            workos_updated_at: user.updated_at,
        }
    }
}

/// An `Idempotency-Key` record: `USER#u` / `IDEMP#<sha256 of the key>`, kept for 24 hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub request_hash: String,
    pub state: IdempotencyState,
    /// Names the organization this record's request creates (its WorkOS `external_id` is made
    /// from it): new whenever the record is new, kept when a retry takes over a lapsed lease,
    /// so a retry finishes the same organization and a key used again after the record is gone
    /// never finds an old one.
    pub creation_id: String,
    pub lease_id: String,
    pub lease_until: i64,
    pub org_id: Option<String>,
    /// TTL (epoch seconds).
    pub expires_at: i64,
}

/// Where the request that holds an `Idempotency-Key` stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdempotencyState {
    /// Under way (or died holding its lease).
    Pending,
    /// Finished: `orgId` is what it made.
    Done,
}

impl IdempotencyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
        }
    }
}

impl IdempotencyItem {
    pub const ENTITY: &'static str = "idempotency";
    const RETENTION_SECONDS: i64 = 24 * 60 * 60;

    pub fn pending(user_id: &str, idempotency_key: &str, request_hash: &str, now: i64, lease_seconds: i64) -> Self {
        Self {
            pk: keys::user_pk(user_id),
            sk: keys::idempotency_sk(&crate::crypto::sha256_hex(idempotency_key.as_bytes())),
            entity: Self::ENTITY.to_owned(),
            request_hash: request_hash.to_owned(),
            state: IdempotencyState::Pending,
            creation_id: ulid::Ulid::new().to_string().to_lowercase(),
            lease_id: ulid::Ulid::new().to_string(),
            lease_until: now + lease_seconds,
            org_id: None,
            expires_at: now + Self::RETENTION_SECONDS,
        }
    }
}

/// A pending invitation: `ORG#o` / `INVITE#i`. Its seat is counted from creation until it is
/// accepted (the member takes the seat over) or revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub id: String,
    pub org_id: String,
    /// Lowercased.
    pub email: String,
    pub role: Role,
    pub customer_id: Option<String>,
    pub state: InvitationState,
    pub workos_invitation_id: Option<String>,
    /// When WorkOS lets it lapse; not the table's TTL attribute, since a lapsed invitation's
    /// seat must be given back by a write, not vanish with it.
    pub valid_until: Option<Timestamp>,
    pub invited_by: String,
    pub created_at: Timestamp,
}

/// A stored invitation's state. (The API also shows `expired`, which is derived from
/// `validUntil`, not stored.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InvitationState {
    /// Stored with its seat; WorkOS has not confirmed it yet.
    Sending,
    /// WorkOS sent it.
    Pending,
}

impl InvitationItem {
    pub const ENTITY: &'static str = "invitation";

    pub fn new(
        org_id: &str,
        email: &str,
        role: Role,
        customer_id: Option<String>,
        invited_by: &str,
        now: Timestamp,
    ) -> Self {
        let id = format!("inv_{}", ulid::Ulid::new().to_string().to_lowercase());
        Self {
            pk: keys::org_pk(org_id),
            sk: keys::invitation_sk(&id),
            entity: Self::ENTITY.to_owned(),
            id,
            org_id: org_id.to_owned(),
            email: email.to_lowercase(),
            role,
            customer_id,
            state: InvitationState::Sending,
            workos_invitation_id: None,
            valid_until: None,
            invited_by: invited_by.to_owned(),
            created_at: now,
        }
    }
}

/// `ORG#o` / `INVITEE#<email>`: points at the pending invitation of an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InviteeItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub invitation_id: String,
}

impl InviteeItem {
    pub const ENTITY: &'static str = "invitee";

    pub fn of(invitation: &InvitationItem) -> Self {
        Self {
            pk: invitation.pk.clone(),
            sk: keys::invitee_sk(&invitation.email),
            entity: Self::ENTITY.to_owned(),
            invitation_id: invitation.id.clone(),
        }
    }
}

/// A customer (client company): `ORG#o` / `CUSTOMER#c`, in GSI1 `ORG#o#CUSTOMERS` / name order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    pub entity: String,
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub notes: Option<String>,
    /// Client users and pending client invitations that belong to this customer; it cannot be
    /// deleted while any do.
    #[serde(default)]
    pub client_count: i64,
    /// Set when a delete has begun: the customer is gone for every reader from then on.
    #[serde(default)]
    pub deleting: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub created_by: String,
}

/// The fields a client sends for a customer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomerFields {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub notes: Option<String>,
}

impl CustomerItem {
    pub const ENTITY: &'static str = "customer";

    pub fn new(org_id: &str, fields: CustomerFields, created_by: &str, now: Timestamp) -> Self {
        let id = format!("cus_{}", ulid::Ulid::new().to_string().to_lowercase());
        Self {
            pk: keys::org_pk(org_id),
            sk: keys::customer_sk(&id),
            gsi1pk: keys::customers_gsi1pk(org_id),
            gsi1sk: keys::name_sort_key(&fields.name, &id),
            entity: Self::ENTITY.to_owned(),
            org_id: org_id.to_owned(),
            name: fields.name,
            email: fields.email,
            phone: fields.phone,
            notes: fields.notes,
            client_count: 0,
            deleting: false,
            created_at: now,
            updated_at: now,
            created_by: created_by.to_owned(),
            id,
        }
    }

    /// This customer with new fields (and the name order that follows from them).
    pub fn with_fields(&self, fields: CustomerFields, now: Timestamp) -> Self {
        Self {
            gsi1sk: keys::name_sort_key(&fields.name, &self.id),
            name: fields.name,
            email: fields.email,
            phone: fields.phone,
            notes: fields.notes,
            updated_at: now,
            ..self.clone()
        }
    }

    pub fn fields(&self) -> CustomerFields {
        CustomerFields {
            name: self.name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// A staff member assigned to a customer: `ORG#o` / `ASSIGN#c#u`, and in GSI1
/// `ORG#o#STAFF#u` / the customer's name order (the staff member's customers, by name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    pub entity: String,
    pub customer_id: String,
    pub user_id: String,
    pub created_at: Timestamp,
}

impl AssignmentItem {
    pub const ENTITY: &'static str = "assignment";

    pub fn new(customer: &CustomerItem, user_id: &str, now: Timestamp) -> Self {
        Self {
            pk: customer.pk.clone(),
            sk: keys::assignment_sk(&customer.id, user_id),
            gsi1pk: keys::staff_gsi1pk(&customer.org_id, user_id),
            gsi1sk: customer.gsi1sk.clone(),
            entity: Self::ENTITY.to_owned(),
            customer_id: customer.id.clone(),
            user_id: user_id.to_owned(),
            created_at: now,
        }
    }
}

/// `ORG#o` / `STAFF#u#c`: the same assignment seen from the staff member, written and deleted in
/// the same transaction as the [`AssignmentItem`]. Finding a staff member's assignments through
/// it is a strongly consistent base-table query (GSI1 can lag behind a just-written assignment),
/// so a staff member who leaves the role loses every assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StaffAssignmentItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub customer_id: String,
    pub user_id: String,
}

impl StaffAssignmentItem {
    pub const ENTITY: &'static str = "staff_assignment";

    pub fn new(org_id: &str, customer_id: &str, user_id: &str) -> Self {
        Self {
            pk: keys::org_pk(org_id),
            sk: keys::staff_assignment_sk(user_id, customer_id),
            entity: Self::ENTITY.to_owned(),
            customer_id: customer_id.to_owned(),
            user_id: user_id.to_owned(),
        }
    }
}

/// `LSSUB#s` / `LSSUB`: which organization a Lemon Squeezy subscription belongs to; in GSI1
/// `LSSUBS` / `LSSUB#s`, the list of subscriptions the reconcile job walks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionOwnerItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    pub entity: String,
    pub subscription_id: String,
    pub org_id: String,
}

impl SubscriptionOwnerItem {
    pub const ENTITY: &'static str = "subscription_owner";

    pub fn new(subscription_id: &str, org_id: &str) -> Self {
        Self {
            pk: keys::subscription_owner_pk(subscription_id),
            sk: keys::SUBSCRIPTION_OWNER_SK.to_owned(),
            gsi1pk: keys::SUBSCRIPTIONS_GSI1PK.to_owned(),
            gsi1sk: keys::subscription_owner_pk(subscription_id),
            entity: Self::ENTITY.to_owned(),
            subscription_id: subscription_id.to_owned(),
            org_id: org_id.to_owned(),
        }
    }
}

/// What became of a verified Lemon Squeezy delivery: the webhook answers it as `{"status": …}`,
/// and its record keeps it (a duplicate is not recorded again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BillingOutcome {
    Applied,
    Duplicate,
    /// Not newer than the stored state of the same subscription.
    Stale,
    Ignored,
    /// No verifiable organization: stored, never applied, retried while it may still match.
    Unmatched,
    /// Unmatched after every retry: kept for an operator, no longer retried.
    Abandoned,
}

impl BillingOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Stale => "stale",
            Self::Ignored => "ignored",
            Self::Unmatched => "unmatched",
            Self::Abandoned => "abandoned",
        }
    }
}

/// A verified Lemon Squeezy delivery, kept 90 days for audit and replay: in its organization's
/// `ORG#o#EVENTS` partition, or, when it matched no organization, in one of
/// [`keys::UNMATCHED_SHARDS`] `LS#EVENTS#<shard>` partitions (by its hash, so no one partition
/// takes every unmatched event). Its key is the body's hash, so a second delivery of the same
/// body is a duplicate. An unmatched event that may still match (it names a subscription) is
/// also in GSI1 `LS#RETRY#<shard>` until it matches or is abandoned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingEventItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    pub retry_pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    pub retry_sk: Option<String>,
    pub entity: String,
    pub event_name: String,
    pub org_id: Option<String>,
    pub subscription_id: Option<String>,
    pub received_at: Timestamp,
    pub outcome: BillingOutcome,
    /// The raw body, unless it is over [`BillingEventItem::MAX_STORED_BODY_BYTES`].
    pub body: Option<String>,
    pub body_bytes: usize,
    /// Retries of an unmatched event so far.
    #[serde(default)]
    pub attempts: u32,
    /// TTL (epoch seconds).
    pub expires_at: i64,
}

impl BillingEventItem {
    pub const ENTITY: &'static str = "billing_event";
    const RETENTION_SECONDS: i64 = 90 * 24 * 60 * 60;
    /// Lemon Squeezy's events are a few KiB; a larger body is recorded without its text.
    pub const MAX_STORED_BODY_BYTES: usize = 32 * 1024;

    pub fn new(
        org_id: Option<&str>,
        body_hash: &str,
        event_name: &str,
        subscription_id: Option<&str>,
        body: &str,
        outcome: BillingOutcome,
        now: Timestamp,
    ) -> Self {
        let body_bytes = body.len();
        let body = (body_bytes <= Self::MAX_STORED_BODY_BYTES).then(|| body.to_owned());
        let retryable = outcome == BillingOutcome::Unmatched && subscription_id.is_some() && body.is_some();
        Self {
            pk: match org_id {
                Some(org_id) => keys::org_events_pk(org_id),
                None => keys::unmatched_events_pk(body_hash),
            },
            sk: keys::billing_event_sk(body_hash),
            retry_pk: retryable.then(|| keys::retry_events_gsi1pk(body_hash)),
            retry_sk: retryable.then(|| format!("{now}#{body_hash}")),
            entity: Self::ENTITY.to_owned(),
            event_name: event_name.to_owned(),
            org_id: org_id.map(str::to_owned),
            subscription_id: subscription_id.map(str::to_owned),
            received_at: now,
            outcome,
            body_bytes,
            body,
            attempts: 0,
            expires_at: now.unix_seconds() + Self::RETENTION_SECONDS,
        }
    }
}
