//! One success-path request for every HTTP function, against an organization prepared for it:
//! what `tests/deployed.rs` sends to each function's binary, and what `make bench`
//! (`src/bin/bench-functions.rs`) measures. A request that changes something gets a target of
//! its own in each round (a member to remove, a customer to delete, …), so that every round of
//! it is a success and not a 404.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::lambda::HttpEvent;
use crate::lemonsqueezy::{fixture_for, sign};
use crate::{GET, Member, OrgFixture, POST, PUT, TestApp};

/// What some requests change, one per round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// A staff member, provisioned, for `delete-user`.
    Member,
    /// A pending invitation, for `delete-invitation`.
    Invitation,
    /// A customer, for `delete-customer`.
    DeletedCustomer,
    /// A customer the staff member is not assigned to, for `assign-staff`.
    UnassignedCustomer,
    /// A customer the staff member is assigned to, for `unassign-staff`.
    AssignedCustomer,
    /// An organization of its own with its admin, for `delete-org`.
    Org,
    /// An API key, for `delete-api-key`.
    ApiKey,
}

impl Target {
    /// The target `function` consumes, if it consumes one.
    pub fn of(function: &str) -> Option<Self> {
        Some(match function {
            "delete-user" => Self::Member,
            "delete-invitation" => Self::Invitation,
            "delete-customer" => Self::DeletedCustomer,
            "assign-staff" => Self::UnassignedCustomer,
            "unassign-staff" => Self::AssignedCustomer,
            "delete-org" => Self::Org,
            "delete-api-key" => Self::ApiKey,
            _ => return None,
        })
    }
}

/// The organization, its members and the targets, and how to ask each function for its work.
pub struct Scenario {
    pub org: OrgFixture,
    /// A customer that the staff member is assigned to, read by the read routes.
    pub customer_id: String,
    org_name: String,
    membership: Value,
    workos_webhook_secret: String,
    targets: HashMap<Target, Vec<String>>,
    /// The organizations `delete-org` deletes, one a round: their admin and name.
    doomed: Vec<(Member, String)>,
}

impl Scenario {
    /// Prepares an organization in `app` with `rounds(target)` of each target.
    /// `workos_webhook_secret` is the `WORKOS_WEBHOOK_SECRET` the functions get.
    pub async fn prepare(app: &TestApp, workos_webhook_secret: &str, rounds: impl Fn(Target) -> usize) -> Self {
        let org = app.org_fixture().await;
        let customer_id = new_customer(app, &org.admin, "Read Co").await;
        assign(app, &org.admin, &customer_id, org.staff.id()).await;
        let mut targets: HashMap<Target, Vec<String>> = HashMap::new();
        for target in [
            Target::Member,
            Target::Invitation,
            Target::DeletedCustomer,
            Target::UnassignedCustomer,
            Target::AssignedCustomer,
            Target::ApiKey,
        ] {
            let mut made = Vec::new();
            for round in 0..rounds(target) {
                made.push(make_target(app, &org, &customer_id, target, round).await);
            }
            targets.insert(target, made);
        }
        let mut doomed = Vec::new();
        for round in 0..rounds(Target::Org) {
            let name = format!("Doomed {round} {}", ulid::Ulid::new());
            let org_id = app.emulator.create_org(&name).await;
            let admin = app.new_member(&org_id, "admin").await;
            assert_eq!(app.call(GET, "/me", Some(&admin.token), None).await.status, 200);
            doomed.push((admin, name));
        }
        let membership = app.emulator.memberships(org.staff.id(), &org.org_id).await[0].clone();
        let org_name = app.org(&org.admin).await["name"].as_str().unwrap_or_default().to_owned();
        Self {
            doomed,
            org,
            customer_id,
            org_name,
            membership,
            workos_webhook_secret: workos_webhook_secret.to_owned(),
            targets,
        }
    }

    fn target(&self, target: Target, round: usize) -> &str {
        let made = &self.targets[&target];
        assert!(round < made.len(), "round {round} of {target:?}: only {} prepared", made.len());
        &made[round]
    }

    /// Round `round` of `function`'s success path (each round of a changing request is a new change).
    pub fn event(&self, function: &str, round: usize) -> HttpEvent {
        let (admin, staff) = (&self.org.admin, &self.org.staff);
        let (customer, staff_id) = (&self.customer_id, staff.id());
        let unique = ulid::Ulid::new();
        match function {
            "get-me" => member_request("GET", "/me", "/me", Some(admin), None),
            "create-org" => {
                let body = json!({"name": format!("Created Org {round} {unique}")});
                let mut e = member_request("POST", "/orgs", "/orgs", Some(admin), Some(body));
                e.headers.push(("Idempotency-Key".into(), format!("scenario-{round}-{unique}")));
                e
            }
            "get-org" => member_request("GET", "/org", "/org", Some(admin), None),
            "update-org" => member_request("PATCH", "/org", "/org", Some(admin), Some(json!({"name": self.org_name}))),
            "create-portal-link" => member_request(
                "POST",
                "/org/portal-link",
                "/org/portal-link",
                Some(admin),
                Some(json!({"intent": "sso"})),
            ),
            "list-users" => {
                let mut e = member_request("GET", "/users", "/users", Some(admin), None);
                e.query.push(("limit".into(), "2".into()));
                e
            }
            "get-user" => member_request("GET", "/users/{userId}", &format!("/users/{staff_id}"), Some(admin), None),
            "update-user" => {
                let body = json!({"role": "staff"});
                member_request("PATCH", "/users/{userId}", &format!("/users/{staff_id}"), Some(admin), Some(body))
            }
            "delete-user" => {
                let path = format!("/users/{}", self.target(Target::Member, round));
                member_request("DELETE", "/users/{userId}", &path, Some(admin), None)
            }
            "list-invitations" => member_request("GET", "/invitations", "/invitations", Some(admin), None),
            "create-invitation" => {
                let body = json!({"email": format!("new{round}-{unique}@test.example"), "role": "staff"});
                member_request("POST", "/invitations", "/invitations", Some(admin), Some(body))
            }
            "delete-invitation" => {
                let path = format!("/invitations/{}", self.target(Target::Invitation, round));
                member_request("DELETE", "/invitations/{invitationId}", &path, Some(admin), None)
            }
            "list-customers" => {
                let mut e = member_request("GET", "/customers", "/customers", Some(admin), None);
                e.query.push(("limit".into(), "1".into()));
                e
            }
            "create-customer" => {
                let body = json!({"name": format!("Created {round} {unique}"), "email": "ops@created.example"});
                member_request("POST", "/customers", "/customers", Some(admin), Some(body))
            }
            "get-customer" => {
                member_request("GET", "/customers/{customerId}", &format!("/customers/{customer}"), Some(staff), None)
            }
            "update-customer" => {
                let body = json!({"notes": format!("round {round}")});
                let path = format!("/customers/{customer}");
                member_request("PATCH", "/customers/{customerId}", &path, Some(staff), Some(body))
            }
            "delete-customer" => {
                let path = format!("/customers/{}", self.target(Target::DeletedCustomer, round));
                member_request("DELETE", "/customers/{customerId}", &path, Some(admin), None)
            }
            "list-customer-staff" => {
                let path = format!("/customers/{customer}/staff");
                member_request("GET", "/customers/{customerId}/staff", &path, Some(admin), None)
            }
            "assign-staff" | "unassign-staff" => {
                let (method, target) = match function {
                    "assign-staff" => ("PUT", Target::UnassignedCustomer),
                    _ => ("DELETE", Target::AssignedCustomer),
                };
                let path = format!("/customers/{}/staff/{staff_id}", self.target(target, round));
                member_request(method, "/customers/{customerId}/staff/{userId}", &path, Some(admin), None)
            }
            "list-user-customers" => {
                let path = format!("/users/{staff_id}/customers");
                member_request("GET", "/users/{userId}/customers", &path, Some(staff), None)
            }
            "get-billing" => member_request("GET", "/billing", "/billing", Some(admin), None),
            "get-audit-log" => member_request("GET", "/audit-log", "/audit-log", Some(admin), None),
            "get-org-export" => member_request("GET", "/org/export", "/org/export", Some(admin), None),
            "create-live-ticket" => member_request("POST", "/live/tickets", "/live/tickets", Some(admin), None),
            "list-api-keys" => member_request("GET", "/api-keys", "/api-keys", Some(admin), None),
            "create-api-key" => {
                let body = json!({"name": format!("Key {round}"), "scope": "read"});
                member_request("POST", "/api-keys", "/api-keys", Some(admin), Some(body))
            }
            "delete-api-key" => {
                let path = format!("/api-keys/{}", self.target(Target::ApiKey, round));
                member_request("DELETE", "/api-keys/{keyId}", &path, Some(admin), None)
            }
            "delete-org" => {
                let (doomed_admin, name) = &self.doomed[round];
                member_request("DELETE", "/org", "/org", Some(doomed_admin), Some(json!({"confirmName": name})))
            }
            "create-checkout" => {
                let body = json!({"variantId": "500001"});
                member_request("POST", "/billing/checkout", "/billing/checkout", Some(admin), Some(body))
            }
            "lemonsqueezy-webhook" => {
                // A new subscription each round: a delivery that is processed, not a duplicate.
                let text = String::from_utf8(fixture_for("subscription_created", &self.org.org_id))
                    .unwrap_or_default()
                    .replace("\"id\": \"600001\"", &format!("\"id\": \"6{round:08}\""));
                let mut e = HttpEvent::new("POST", "/webhooks/lemon-squeezy", "/webhooks/lemon-squeezy");
                e.headers.push(("X-Signature".into(), sign(text.as_bytes())));
                e.headers.push(("Content-Type".into(), "application/json".into()));
                e.body = Some(text.into_bytes());
                e
            }
            "workos-webhook" => {
                let body = json!({"id": format!("event_{unique}"), "event": "organization_membership.updated",
                                  "data": self.membership, "created_at": shared::Timestamp::now().to_string()})
                .to_string();
                let mut e = HttpEvent::new("POST", "/webhooks/workos", "/webhooks/workos");
                e.headers.push(("WorkOS-Signature".into(), workos_signature(&self.workos_webhook_secret, &body)));
                e.body = Some(body.into_bytes());
                e
            }
            other => panic!("the scenario has no request for {other}: add one"),
        }
    }

    /// `GET /org` without a token: the 401 path.
    pub fn unauthenticated(&self) -> HttpEvent {
        member_request("GET", "/org", "/org", None, None)
    }
}

async fn new_customer(app: &TestApp, admin: &Member, name: &str) -> String {
    let created = app.call(POST, "/customers", Some(&admin.token), Some(json!({"name": name}))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    created.body["id"].as_str().unwrap_or_default().to_owned()
}

async fn assign(app: &TestApp, admin: &Member, customer_id: &str, user_id: &str) {
    let assigned = app.call(PUT, &format!("/customers/{customer_id}/staff/{user_id}"), Some(&admin.token), None).await;
    assert!([200, 201].contains(&assigned.status), "{:?}", assigned.body);
}

async fn make_target(app: &TestApp, org: &OrgFixture, customer_id: &str, target: Target, round: usize) -> String {
    let admin = &org.admin;
    match target {
        Target::Member => {
            let member = app.new_member(&org.org_id, "staff").await;
            assert_eq!(app.call(GET, "/me", Some(&member.token), None).await.status, 200);
            member.user.id
        }
        Target::Invitation => {
            let email = format!("invited{round}-{}@test.example", ulid::Ulid::new());
            let body = json!({"email": email, "role": "client", "customerId": customer_id});
            let invited = app.call(POST, "/invitations", Some(&admin.token), Some(body)).await;
            assert_eq!(invited.status, 201, "{:?}", invited.body);
            invited.body["id"].as_str().unwrap_or_default().to_owned()
        }
        Target::DeletedCustomer => new_customer(app, admin, &format!("Delete {round}")).await,
        Target::UnassignedCustomer => new_customer(app, admin, &format!("Assign {round}")).await,
        Target::AssignedCustomer => {
            let id = new_customer(app, admin, &format!("Unassign {round}")).await;
            assign(app, admin, &id, org.staff.id()).await;
            id
        }
        Target::ApiKey => {
            let body = json!({"name": format!("Revoke {round}"), "scope": "read"});
            let created = app.call(POST, "/api-keys", Some(&admin.token), Some(body)).await;
            assert_eq!(created.status, 201, "{:?}", created.body);
            created.body["id"].as_str().unwrap_or_default().to_owned()
        }
        Target::Org => unreachable!("organizations to delete are made by `Scenario::prepare`"),
    }
}

/// A request as a member makes it: bearer token (mixed-case header name), a cookie, a JSON body.
pub fn member_request(
    method: &str,
    route: &str,
    path: &str,
    member: Option<&Member>,
    body: Option<Value>,
) -> HttpEvent {
    let mut event = HttpEvent::new(method, route, path);
    if let Some(member) = member {
        event.headers.push(("Authorization".into(), format!("Bearer {}", member.token)));
    }
    event.headers.push(("X-Forwarded-For".into(), "203.0.113.7".into()));
    event.cookies.push("session=ignored".into());
    if let Some(body) = body {
        event.headers.push(("Content-Type".into(), "application/json".into()));
        event.body = Some(body.to_string().into_bytes());
    }
    event
}

/// A `WorkOS-Signature` header for `body`, as WorkOS signs it (milliseconds, `, ` between parts).
pub fn workos_signature(secret: &str, body: &str) -> String {
    let t = shared::Timestamp::now().unix_millis().to_string();
    let tag = shared::crypto::hex(&shared::crypto::hmac_sha256(secret.as_bytes(), format!("{t}.{body}").as_bytes()));
    format!("t={t}, v1={tag}")
}
