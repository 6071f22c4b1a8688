//! The export's records (`GET /org/export`): each stored item in the shape its route shows an
//! admin, by the routes' own view code, so that what reads the API reads the export.

use serde::Serialize;

use super::views::{
    ApiKeyView, AuditEntryView, BillingView, CustomerView, InvitationView, MemberView, OrganizationView,
};
use crate::Timestamp;
use crate::domain::plans::Plans;
use crate::store::{AssignmentItem, ExportItem, ExportRecord};

/// A staff member's assignment to a customer, as the export shows it (the routes show its two
/// sides: `GET /customers/{customerId}/staff` and `GET /users/{userId}/customers`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentView {
    pub customer_id: String,
    pub user_id: String,
    pub created_at: Timestamp,
}

impl From<AssignmentItem> for AssignmentView {
    fn from(a: AssignmentItem) -> Self {
        Self { customer_id: a.customer_id, user_id: a.user_id, created_at: a.created_at }
    }
}

/// The export's records of a stored item, each in the shape its route shows an admin (API.md
/// "Audit log, deletion and export"), by the same view code as the routes. The org item makes
/// two: the organization and its billing, the latter without a portal URL (a credential valid
/// for a day, not data to keep).
pub fn export_records(item: ExportItem, plans: &Plans, now: Timestamp) -> Vec<ExportRecord> {
    fn record(kind: &'static str, view: impl Serialize) -> ExportRecord {
        ExportRecord { kind, data: serde_json::to_value(view).unwrap_or_default() }
    }
    match item {
        ExportItem::Org(org) => vec![
            record("org", OrganizationView::new(&org, plans, now)),
            record("billing", BillingView::new(&org, plans, now, None)),
        ],
        ExportItem::Member(member) => vec![record("member", MemberView::from(member))],
        ExportItem::Invitation(invitation) => vec![record("invitation", InvitationView::new(invitation, now))],
        ExportItem::Customer(customer) => vec![record("customer", CustomerView::from(customer))],
        ExportItem::Assignment(assignment) => vec![record("assignment", AssignmentView::from(assignment))],
        ExportItem::Audit(entry) => vec![record("audit", AuditEntryView::from(entry))],
        // Never its secret or digest: the key list's shape.
        ExportItem::ApiKey(key) => vec![record("api_key", ApiKeyView::from(key))],
    }
}
