//! Who may see what in an organization: the one rule every read route, the export and the live
//! updates apply (API.md "Identity and roles", "Live updates"). It answers from what a read or a
//! change carries (ids, and for staff whether they are assigned to the customer), so the same
//! rule decides "may this caller read this customer" and "may this member be told of this
//! change". Pure: callers read what it needs and apply its answer.
//!
//! - Admins see everything of their organization.
//! - Staff see the organization, its members, the customers assigned to them and their own
//!   assignments.
//! - A client sees the organization, themselves and their own customer.
//! - Invitations and billing: admins only.

use super::roles::Role;

/// Who is looking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer<'a> {
    pub user_id: &'a str,
    pub role: Role,
    /// A client's customer (none for other roles).
    pub customer_id: Option<&'a str>,
}

/// What is looked at, as a read or a change names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    Org,
    Member {
        user_id: &'a str,
    },
    Invitation,
    Billing,
    /// A customer; `viewer_assigned`: the viewer is assigned to it (it decides only for staff).
    Customer {
        customer_id: &'a str,
        viewer_assigned: bool,
    },
    /// A staff member's assignment to a customer.
    Assignment {
        customer_id: &'a str,
        user_id: &'a str,
        viewer_assigned: bool,
    },
}

/// Whether `viewer` may see `subject`.
pub fn may_see(viewer: &Viewer<'_>, subject: &Subject<'_>) -> bool {
    match (viewer.role, subject) {
        (Role::Admin, _) => true,
        (_, Subject::Org) => true,
        (_, Subject::Invitation | Subject::Billing) => false,
        (Role::Staff, Subject::Member { .. }) => true,
        (Role::Staff, Subject::Customer { viewer_assigned, .. }) => *viewer_assigned,
        (Role::Staff, Subject::Assignment { user_id, .. }) => *user_id == viewer.user_id,
        (Role::Client, Subject::Member { user_id }) => *user_id == viewer.user_id,
        (Role::Client, Subject::Customer { customer_id, .. }) => viewer.customer_id == Some(*customer_id),
        (Role::Client, Subject::Assignment { .. }) => false,
    }
}

/// What must be read to decide whether `viewer` may see the customer `customer_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerAccess {
    /// Whatever the organization holds.
    Granted,
    /// Only if the viewer is assigned to it.
    IfAssigned,
    /// Nothing: it answers 404, like a customer that does not exist.
    Denied,
}

/// [`may_see`] for a customer, before anything is read: whether the viewer's assignment matters.
pub fn customer_access(viewer: &Viewer<'_>, customer_id: &str) -> CustomerAccess {
    let seen = |viewer_assigned| may_see(viewer, &Subject::Customer { customer_id, viewer_assigned });
    match (seen(false), seen(true)) {
        (true, _) => CustomerAccess::Granted,
        (false, true) => CustomerAccess::IfAssigned,
        (false, false) => CustomerAccess::Denied,
    }
}

/// Which customers a list of them shows `viewer`: [`may_see`] over the whole organization, as
/// the query that reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerList<'a> {
    All,
    /// Those the viewer is assigned to.
    Assigned,
    /// At most this one.
    Only(Option<&'a str>),
}

pub fn customer_list<'a>(viewer: &Viewer<'a>) -> CustomerList<'a> {
    match viewer.role {
        Role::Admin => CustomerList::All,
        Role::Staff => CustomerList::Assigned,
        Role::Client => CustomerList::Only(viewer.customer_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLES: [Role; 3] = [Role::Admin, Role::Staff, Role::Client];

    fn viewer(role: Role) -> Viewer<'static> {
        Viewer { user_id: "me", role, customer_id: (role == Role::Client).then_some("mine") }
    }

    #[test]
    fn the_rule_of_api_md() {
        let (admin, staff, client) = (viewer(Role::Admin), viewer(Role::Staff), viewer(Role::Client));
        let customer = |customer_id, viewer_assigned| Subject::Customer { customer_id, viewer_assigned };
        for subject in [Subject::Invitation, Subject::Billing, customer("other", false)] {
            assert!(may_see(&admin, &subject) && !may_see(&staff, &subject), "{subject:?}");
            assert!(!may_see(&client, &subject), "{subject:?}");
        }
        for role in ROLES {
            assert!(may_see(&viewer(role), &Subject::Org));
            assert!(may_see(&viewer(role), &Subject::Member { user_id: "me" }));
        }
        assert!(may_see(&staff, &Subject::Member { user_id: "other" }));
        assert!(!may_see(&client, &Subject::Member { user_id: "other" }));
        assert!(may_see(&staff, &customer("x", true)));
        assert!(may_see(&client, &customer("mine", false)) && !may_see(&client, &customer("x", true)));
        let assignment = |user_id, viewer_assigned| Subject::Assignment { customer_id: "x", user_id, viewer_assigned };
        assert!(may_see(&staff, &assignment("me", true)));
        assert!(!may_see(&staff, &assignment("other", true)), "another staff member's assignment");
        assert!(!may_see(&client, &assignment("me", false)));
    }

    #[test]
    fn who_sees_which_customer() {
        use CustomerAccess::*;
        let as_role = |role, customer_id| Viewer { user_id: "u", role, customer_id };
        assert_eq!(customer_access(&as_role(Role::Admin, None), "cus_1"), Granted);
        assert_eq!(customer_access(&as_role(Role::Staff, None), "cus_1"), IfAssigned);
        assert_eq!(customer_access(&as_role(Role::Client, Some("cus_1")), "cus_1"), Granted);
        assert_eq!(customer_access(&as_role(Role::Client, Some("cus_1")), "cus_2"), Denied);
        assert_eq!(customer_access(&as_role(Role::Client, None), "cus_1"), Denied);
    }

    #[test]
    fn what_to_read_and_what_to_list_agree_with_the_rule() {
        for role in ROLES {
            let viewer = viewer(role);
            for id in ["mine", "other"] {
                let granted =
                    |assigned| may_see(&viewer, &Subject::Customer { customer_id: id, viewer_assigned: assigned });
                let access = customer_access(&viewer, id);
                assert_eq!(access == CustomerAccess::Denied, !granted(true), "{role:?} {id}");
                assert_eq!(access == CustomerAccess::Granted, granted(false), "{role:?} {id}");
                let listed = match customer_list(&viewer) {
                    CustomerList::All => true,
                    CustomerList::Assigned => granted(true) && !granted(false),
                    CustomerList::Only(own) => own == Some(id),
                };
                assert_eq!(listed, granted(true), "{role:?} {id}: the list shows what the rule allows");
            }
        }
    }
}
