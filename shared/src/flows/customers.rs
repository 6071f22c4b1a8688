//! The customers a caller may see or manage, and the customer a client member belongs to.

use crate::Deps;
use crate::domain::Role;
use crate::domain::access::check_customer_rule;
use crate::domain::visibility::{CustomerAccess, customer_access};
use crate::error::ApiError;
use crate::flows::access::Caller;
use crate::store::{Along, CustomerItem, Found};

/// What [`visible_in`] decides on, to read along with the membership.
pub fn customer_reads(customer_id: &str) -> [Along<'_>; 2] {
    [Along::Customer(customer_id), Along::CallersAssignment(customer_id)]
}

/// The customer the caller may see (`domain::visibility`), of items already read (with
/// [`customer_reads`]); a customer being deleted is gone for everyone. Anything else is 404, like
/// a customer that does not exist.
pub fn visible_in(caller: &Caller, found: &Found, customer_id: &str) -> Result<CustomerItem, ApiError> {
    let customer = match customer_access(&caller.viewer(), customer_id) {
        CustomerAccess::Granted => found.customer(customer_id)?,
        // Read along for every caller; it decides only for staff.
        CustomerAccess::IfAssigned => {
            let assigned = found.callers_assignment(customer_id)?.is_some();
            found.customer(customer_id)?.filter(|_| assigned)
        }
        CustomerAccess::Denied => None,
    };
    customer.ok_or(ApiError::NotFound)
}

/// Checks the rule that a `client` belongs to exactly one customer of the organization and
/// other roles to none.
pub async fn check_customer(deps: &Deps, org_id: &str, role: Role, customer_id: Option<&str>) -> Result<(), ApiError> {
    check_customer_rule(role, customer_id)?;
    match customer_id {
        // Only a client's can be Some here (the rule above).
        Some(id) if deps.store.get_customer(org_id, id).await?.is_none() => {
            Err(ApiError::validation("customerId", "no customer of this organization has this id"))
        }
        _ => Ok(()),
    }
}
