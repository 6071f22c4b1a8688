//! Typed items of the table. Every item carries its keys and an `entity` attribute.

use serde::{Deserialize, Serialize};

use super::keys;

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
    /// The Lemon Squeezy subscription, as the newest event or fetch left it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscription: Option<crate::lemonsqueezy::Subscription>,
    /// The newest payment event of the subscription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_payment: Option<crate::lemonsqueezy::Payment>,
    pub created_at: String,
    pub updated_at: String,
}

impl OrgItem {
    pub const ENTITY: &'static str = "org";

    pub fn new(id: &str, name: &str, now: &str) -> Self {
        Self {
            pk: keys::org_pk(id),
            sk: keys::ORG_SK.to_owned(),
            entity: Self::ENTITY.to_owned(),
            id: id.to_owned(),
            name: name.to_owned(),
            usage: Usage::default(),
            subscription: None,
            last_payment: None,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
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
    pub created_at: String,
    pub updated_at: String,
    /// WorkOS `updated_at` of the membership, so older WorkOS news never overwrites newer.
    pub workos_updated_at: String,
}

/// What a new member item is made of.
pub struct NewMember<'a> {
    pub org_id: &'a str,
    pub user_id: &'a str,
    pub role: Role,
    pub customer_id: Option<String>,
    pub membership_id: &'a str,
    pub profile: &'a UserProfileItem,
    pub workos_updated_at: &'a str,
    pub now: &'a str,
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
            created_at: new.now.to_owned(),
            updated_at: new.now.to_owned(),
            workos_updated_at: new.workos_updated_at.to_owned(),
        }
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
    pub workos_updated_at: String,
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
            workos_updated_at: user.updated_at.clone(),
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
    pub state: String,
    pub lease_id: String,
    pub lease_until: i64,
    pub org_id: Option<String>,
    /// TTL (epoch seconds).
    pub expires_at: i64,
}

impl IdempotencyItem {
    pub const ENTITY: &'static str = "idempotency";
    pub const PENDING: &'static str = "pending";
    pub const DONE: &'static str = "done";
    const RETENTION_SECONDS: i64 = 24 * 60 * 60;

    pub fn pending(user_id: &str, idempotency_key: &str, request_hash: &str, now: i64, lease_seconds: i64) -> Self {
        Self {
            pk: keys::user_pk(user_id),
            sk: keys::idempotency_sk(&crate::crypto::sha256_hex(idempotency_key.as_bytes())),
            entity: Self::ENTITY.to_owned(),
            request_hash: request_hash.to_owned(),
            state: Self::PENDING.to_owned(),
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
    /// `sending` until WorkOS has it, then `pending`.
    pub state: String,
    pub workos_invitation_id: Option<String>,
    /// When WorkOS lets it lapse (RFC 3339); not the table's TTL attribute, since a lapsed
    /// invitation's seat must be given back by a write, not vanish with it.
    pub valid_until: Option<String>,
    pub invited_by: String,
    pub created_at: String,
}

impl InvitationItem {
    pub const ENTITY: &'static str = "invitation";
    pub const SENDING: &'static str = "sending";
    pub const PENDING: &'static str = "pending";

    pub fn new(
        org_id: &str,
        email: &str,
        role: Role,
        customer_id: Option<String>,
        invited_by: &str,
        now: &str,
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
            state: Self::SENDING.to_owned(),
            workos_invitation_id: None,
            valid_until: None,
            invited_by: invited_by.to_owned(),
            created_at: now.to_owned(),
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
    pub created_at: String,
    pub updated_at: String,
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

    pub fn new(org_id: &str, fields: CustomerFields, created_by: &str, now: &str) -> Self {
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
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
            created_by: created_by.to_owned(),
            id,
        }
    }

    /// This customer with new fields (and the name order that follows from them).
    pub fn with_fields(&self, fields: CustomerFields, now: &str) -> Self {
        Self {
            gsi1sk: keys::name_sort_key(&fields.name, &self.id),
            name: fields.name,
            email: fields.email,
            phone: fields.phone,
            notes: fields.notes,
            updated_at: now.to_owned(),
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
    pub created_at: String,
}

impl AssignmentItem {
    pub const ENTITY: &'static str = "assignment";

    pub fn new(customer: &CustomerItem, user_id: &str, now: &str) -> Self {
        Self {
            pk: customer.pk.clone(),
            sk: keys::assignment_sk(&customer.id, user_id),
            gsi1pk: keys::staff_gsi1pk(&customer.org_id, user_id),
            gsi1sk: customer.gsi1sk.clone(),
            entity: Self::ENTITY.to_owned(),
            customer_id: customer.id.clone(),
            user_id: user_id.to_owned(),
            created_at: now.to_owned(),
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

/// A verified Lemon Squeezy delivery, kept 90 days for audit and replay: in its organization's
/// `ORG#o#EVENTS` partition, or in `LS#EVENTS` when it matched no organization. Its key is the
/// body's hash, so a second delivery of the same body is a duplicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BillingEventItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub event_name: String,
    pub org_id: Option<String>,
    pub subscription_id: Option<String>,
    pub received_at: String,
    /// `applied`, `stale`, `ignored` or `unmatched`.
    pub outcome: String,
    pub body: String,
    /// TTL (epoch seconds).
    pub expires_at: i64,
}

impl BillingEventItem {
    pub const ENTITY: &'static str = "billing_event";
    const RETENTION_SECONDS: i64 = 90 * 24 * 60 * 60;

    pub fn new(
        org_id: Option<&str>,
        body_hash: &str,
        event_name: &str,
        subscription_id: Option<&str>,
        body: &str,
        outcome: &str,
    ) -> Self {
        let now = time::OffsetDateTime::now_utc();
        Self {
            pk: match org_id {
                Some(org_id) => keys::org_events_pk(org_id),
                None => keys::UNMATCHED_EVENTS_PK.to_owned(),
            },
            sk: keys::billing_event_sk(body_hash),
            entity: Self::ENTITY.to_owned(),
            event_name: event_name.to_owned(),
            org_id: org_id.map(str::to_owned),
            subscription_id: subscription_id.map(str::to_owned),
            received_at: crate::rfc3339(now),
            outcome: outcome.to_owned(),
            body: body.to_owned(),
            expires_at: now.unix_timestamp() + Self::RETENTION_SECONDS,
        }
    }
}
