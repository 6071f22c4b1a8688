//! The import: WorkOS decides organizations and members (through the sync's own pass), Convex
//! gives customers, assignments and each client's customer, all written through the store's
//! operations (keys, usage counters, audit entries and the deletion guard as for any request).
//!
//! Repeatable: each customer is written with the marker of its Convex `_id` in one transaction,
//! assignments and client links are compared before they are written, so a second run creates
//! nothing and an interrupted one is finished by running it again. A dry run reads the same and
//! writes nothing.

use std::collections::{HashMap, HashSet};

use futures::StreamExt;
use shared::clients::workos::{MembershipFilter, Organization};
use shared::domain::Role;
use shared::domain::audit::{Actor, Changes, Origin};
use shared::flows::billing::{self, Refresh};
use shared::flows::sync;
use shared::store::{CustomerItem, IMPORT_CHUNK, MemberItem, OrgWrite, SubscriptionClaim};
use shared::{ApiError, Deps, Timestamp};

use crate::report::{OrgReport, OrgStatus, Problem, Report, SubscriptionReport, Tally};
use crate::rows::{self, ASSIGNMENTS, CUSTOMERS, FieldMap, ORGS, USERS};
use crate::snapshot::{Line, Snapshot, SnapshotError};

/// Lines read (and written) at a time.
const BATCH: usize = 200;
/// How long one Lemon Squeezy read may take.
const LEMONSQUEEZY_LIMIT: std::time::Duration = std::time::Duration::from_secs(8);
/// Members before and after (or, dry, as WorkOS has them): new ones created, those whose role
/// differs or who are gone updated, the rest unchanged.
fn member_tally(before: &HashMap<String, Role>, after: &HashMap<String, Role>) -> Tally {
    let created = after.keys().filter(|u| !before.contains_key(*u)).count() as u64;
    let kept = after.iter().filter(|(u, role)| before.get(*u) == Some(role)).count() as u64;
    let gone = before.keys().filter(|u| !after.contains_key(*u)).count() as u64;
    Tally { created, updated: after.len() as u64 - created - kept + gone, unchanged: kept, skipped: 0 }
}

/// A staff member and customer pair, held as 8 bytes: the duplicate check of 20,000 assignments
/// need not keep their ids (a collision would only report a pair as a duplicate: 1 in 2^64).
fn pair_hash(staff: &str, customer: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (staff, customer).hash(&mut hasher);
    hasher.finish()
}

/// Why a member's client link or assignment is not written.
const NOT_SEATED: &str = "WorkOS has this member, but the table does not (the plan had no free seat when \
                          the sync stored the organization's members): not written; run the import again \
                          once the plan has room";

/// Who created an imported customer (`createdBy`).
pub const IMPORTER: &str = "convex-import";

#[derive(Debug, Clone)]
pub struct Options {
    /// Write; without it nothing is written and the report says what would be.
    pub apply: bool,
    pub fields: FieldMap,
    /// Assignment lines checked against the table at once (writes go one after another).
    pub concurrency: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    #[error("{0} (nothing is lost: run the import again to finish it)")]
    Api(#[from] ApiError),
}

impl From<shared::store::StoreError> for ImportError {
    fn from(error: shared::store::StoreError) -> Self {
        Self::Api(error.into())
    }
}

/// One of `rows`' readers: a document, with the field map, as a typed row or why it is none.
type RowReader<T> = fn(&serde_json::Map<String, serde_json::Value>, &FieldMap) -> Result<T, String>;

/// A Convex org that WorkOS has.
struct KnownOrg {
    /// Its index in the report.
    at: usize,
    org: Organization,
    /// Active WorkOS memberships: user id → role.
    roles: HashMap<String, Role>,
    /// Members stored in the table once the sync ran (dry: as they stand): user id → role.
    stored: HashMap<String, Role>,
}

/// A Convex user of a known org, as WorkOS has them.
struct KnownUser {
    org: String,
    workos_user_id: String,
    role: Role,
    customer: Option<String>,
    line: u64,
}

/// A customer of the snapshot, once read: this backend's id (`None` in a dry run, for one that
/// would be created).
type CustomerIds = HashMap<String, (String, Option<String>)>;

struct Run<'a> {
    deps: &'a Deps,
    options: &'a Options,
    origin: Origin,
    report: Report,
    orgs: HashMap<String, KnownOrg>,
    /// Convex org ids that were skipped: their rows are neither imported nor reported line by line
    /// (the organization's `reason` says why).
    skipped_orgs: HashSet<String>,
    users: HashMap<String, KnownUser>,
    customers: CustomerIds,
}

/// Runs the import of `snapshot`; `progress` gets a line now and then.
pub async fn import(
    deps: &Deps,
    snapshot: &mut Snapshot,
    options: &Options,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Report, ImportError> {
    let origin = Origin::new(Actor::System, Some(&format!("import-{}", ulid::Ulid::new())));
    let mut run = Run {
        deps,
        options,
        origin,
        report: Report { applied: options.apply, ..Report::default() },
        orgs: HashMap::new(),
        skipped_orgs: HashSet::new(),
        users: HashMap::new(),
        customers: HashMap::new(),
    };
    run.report.other_tables = snapshot.tables().into_iter().filter(|t| !rows::TABLES.contains(&t.as_str())).collect();
    run.orgs(snapshot).await?;
    progress(&format!("organizations: {} read, {} in WorkOS", run.report.organizations.len(), run.orgs.len()));
    run.users(snapshot)?;
    run.customers(snapshot, progress).await?;
    run.clients().await?;
    run.assignments(snapshot, progress).await?;
    run.finish().await?;
    Ok(run.report)
}

impl Run<'_> {
    fn problem(&mut self, table: &str, line: u64, reason: impl Into<String>) {
        self.report.problems.push(Problem { table: table.to_owned(), line, reason: reason.into() });
    }

    /// The rows of a batch that read as `read` reads them; every other line is reported with its
    /// table, line and reason.
    fn parsed<T>(&mut self, table: &str, batch: Vec<Line>, read: RowReader<T>) -> Vec<(u64, T)> {
        let mut rows = Vec::with_capacity(batch.len());
        for Line { number, document } in batch {
            match document.and_then(|d| read(&d, &self.options.fields)) {
                Ok(row) => rows.push((number, row)),
                Err(reason) => self.problem(table, number, reason),
            }
        }
        rows
    }

    /// The index of the known org a row names; `None` when it names an org that was skipped
    /// (its report says why, once) or none at all (a problem of that line).
    fn org_of(&mut self, table: &str, line: u64, org: &str) -> Option<usize> {
        if let Some(known) = self.orgs.get(org) {
            return Some(known.at);
        }
        if !self.skipped_orgs.contains(org) {
            self.problem(table, line, format!("orgId {org} references no organization of the snapshot"));
        }
        None
    }

    async fn orgs(&mut self, snapshot: &mut Snapshot) -> Result<(), ImportError> {
        let mut lines = snapshot.lines(ORGS)?;
        let (mut seen_workos, mut seen_ids) = (HashSet::new(), HashSet::new());
        let mut rows = Vec::new();
        loop {
            let batch = lines.next_batch(BATCH)?;
            if batch.is_empty() {
                break;
            }
            for (number, row) in self.parsed(ORGS, batch, rows::org) {
                if !seen_ids.insert(row.convex_id.clone()) || !seen_workos.insert(row.workos_org_id.clone()) {
                    self.problem(ORGS, number, format!("a second document for organization {}", row.workos_org_id));
                    continue;
                }
                self.report.organizations.push(OrgReport::new(&row.convex_id, &row.workos_org_id, row.name.clone()));
                let mut row = row;
                if let Some(id) = row.subscription_id.take_if(|id| !rows::is_subscription_id(id)) {
                    self.problem(ORGS, number, format!("subscriptionId {id:?} is not a Lemon Squeezy id: not claimed"));
                }
                rows.push(row);
            }
        }
        drop(lines);
        for (at, row) in rows.into_iter().enumerate() {
            let org = match self.deps.workos.get_organization(&row.workos_org_id).await {
                Ok(org) => org,
                Err(error) if error.is_not_found() => {
                    self.skip(at, &row.convex_id, format!("WorkOS has no organization {}", row.workos_org_id));
                    continue;
                }
                Err(error) => return Err(ApiError::from(error).into()),
            };
            self.report.organizations[at].name = Some(org.name.clone());
            let filter = MembershipFilter { user_id: None, organization_id: Some(&org.id), statuses: &["active"] };
            let memberships = self.deps.workos.list_memberships(&filter).await.map_err(ApiError::from)?;
            let roles: HashMap<String, Role> = memberships
                .iter()
                .filter(|m| m.is_active())
                .filter_map(|m| Some((m.user_id.clone(), Role::from_slug(&m.role.slug)?)))
                .collect();
            // Members as stored before, user → role: the tally compares them with what WorkOS has
            // (dry) or with what the sync stored (applied), the same way.
            let before: HashMap<String, Role> =
                self.deps.store.all_members(&org.id).await?.into_iter().map(|m| (m.user_id, m.role)).collect();
            let stored = if self.options.apply {
                let (mut changes, mut reads) = (sync::Changes::default(), sync::Reads::default());
                if sync::reconcile_org(self.deps, &self.origin, &org, &mut changes, &mut reads).await?
                    == OrgWrite::OrgGone
                {
                    self.skip(at, &row.convex_id, "the organization is being deleted".into());
                    continue;
                }
                let after: HashMap<String, Role> =
                    self.deps.store.all_members(&org.id).await?.into_iter().map(|m| (m.user_id, m.role)).collect();
                self.report.organizations[at].members = member_tally(&before, &after);
                if self.deps.store.get_org(&org.id).await?.is_none() {
                    let why = "no member of it in WorkOS could be stored, so the organization is not in the table";
                    self.skip(at, &row.convex_id, why.into());
                    continue;
                }
                after
            } else {
                self.report.organizations[at].members = member_tally(&before, &roles);
                if roles.is_empty() && self.deps.store.get_org(&org.id).await?.is_none() {
                    self.skip(at, &row.convex_id, "WorkOS has no active member of it yet".into());
                    continue;
                }
                before
            };
            if let Some(id) = row.subscription_id {
                self.report.organizations[at].subscription =
                    Some(SubscriptionReport { id, claimed: false, outcome: String::new() });
            }
            self.orgs.insert(row.convex_id, KnownOrg { at, org, roles, stored });
        }
        Ok(())
    }

    fn skip(&mut self, at: usize, convex_id: &str, reason: String) {
        let org = &mut self.report.organizations[at];
        org.status = OrgStatus::Skipped;
        org.reason = Some(reason);
        org.members = Tally::default();
        self.skipped_orgs.insert(convex_id.to_owned());
    }

    /// Users are read whole (one per member: few), to check them against WorkOS.
    fn users(&mut self, snapshot: &mut Snapshot) -> Result<(), ImportError> {
        let mut lines = snapshot.lines(USERS)?;
        let mut seen = HashSet::new();
        loop {
            let batch = lines.next_batch(BATCH)?;
            if batch.is_empty() {
                return Ok(());
            }
            for (number, row) in self.parsed(USERS, batch, rows::user) {
                let Some(at) = self.org_of(USERS, number, &row.org) else { continue };
                if !seen.insert(row.convex_id.clone()) {
                    self.problem(USERS, number, format!("a second document with _id {}", row.convex_id));
                    continue;
                }
                if !seen.insert(format!("{}\n{}", row.org, row.workos_user_id)) {
                    self.problem(
                        USERS,
                        number,
                        format!("a second user for {} in this organization", row.workos_user_id),
                    );
                    continue;
                }
                let known = &self.orgs[&row.org];
                let Some(&role) = known.roles.get(&row.workos_user_id) else {
                    let why = format!(
                        "{} has no active membership in WorkOS organization {}",
                        row.workos_user_id, known.org.id
                    );
                    self.problem(USERS, number, why);
                    self.report.organizations[at].clients.skipped += u64::from(row.role == Role::Client);
                    continue;
                };
                if role != row.role {
                    let why = format!("role {} in Convex, {} in WorkOS: WorkOS's stands", row.role.slug(), role.slug());
                    self.problem(USERS, number, why);
                }
                let user = KnownUser {
                    org: row.org,
                    workos_user_id: row.workos_user_id,
                    role,
                    customer: row.customer,
                    line: number,
                };
                self.users.insert(row.convex_id, user);
            }
        }
    }

    async fn customers(
        &mut self,
        snapshot: &mut Snapshot,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), ImportError> {
        let mut lines = snapshot.lines(CUSTOMERS)?;
        let mut read = 0usize;
        loop {
            let batch = lines.next_batch(BATCH)?;
            if batch.is_empty() {
                return Ok(());
            }
            read += batch.len();
            let mut work: Vec<(usize, u64, String, rows::CustomerRow)> = Vec::new();
            for (number, row) in self.parsed(CUSTOMERS, batch, rows::customer) {
                let Some(at) = self.org_of(CUSTOMERS, number, &row.org) else { continue };
                if self.customers.contains_key(&row.convex_id) {
                    self.problem(CUSTOMERS, number, format!("a second document with _id {}", row.convex_id));
                    self.report.organizations[at].customers.skipped += 1;
                    continue;
                }
                let org_id = self.orgs[&row.org].org.id.clone();
                self.customers.insert(row.convex_id.clone(), (org_id.clone(), None));
                work.push((at, number, org_id, row));
            }
            // What these lines became in an earlier run: the markers of their ids, and the
            // customers those name (two batched reads per organization, not one per line).
            let mut earlier: HashMap<String, String> = HashMap::new();
            let mut stored: HashMap<String, CustomerItem> = HashMap::new();
            let orgs: HashSet<&String> = work.iter().map(|(_, _, org_id, _)| org_id).collect();
            for org_id in orgs {
                let ids: Vec<&str> =
                    work.iter().filter(|w| &w.2 == org_id).map(|(_, _, _, row)| row.convex_id.as_str()).collect();
                let markers = self.deps.store.imported_among(org_id, &ids).await?;
                let ours: Vec<&str> = markers.values().map(String::as_str).collect();
                stored.extend(self.deps.store.customers_among(org_id, &ours).await?);
                earlier.extend(markers);
            }
            let mut new: Vec<(usize, u64, String, rows::CustomerRow)> = Vec::new();
            for (at, number, org_id, row) in work {
                let Some(id) = earlier.get(&row.convex_id) else {
                    new.push((at, number, org_id, row));
                    continue;
                };
                if let Some(entry) = self.customers.get_mut(&row.convex_id) {
                    entry.1 = Some(id.clone());
                }
                let tally = &mut self.report.organizations[at].customers;
                match stored.get(id) {
                    Some(customer) if customer.fields() == row.fields => tally.unchanged += 1,
                    Some(customer) => {
                        tally.updated += 1;
                        if self.options.apply {
                            let changed = customer.with_fields(row.fields.clone(), Timestamp::now());
                            self.deps.store.update_customer(customer, &changed, &self.origin).await?;
                        }
                    }
                    None => {
                        tally.skipped += 1;
                        self.customers.remove(&row.convex_id);
                        self.problem(
                            CUSTOMERS,
                            number,
                            format!("imported before as {id}, and deleted since: not made again"),
                        );
                    }
                }
            }
            self.create_customers(new).await?;
            if read % 10_000 < BATCH {
                progress(&format!("customers: {read} lines read"));
            }
        }
    }

    /// New customers, in transactions of up to [`IMPORT_CHUNK`] of one organization each.
    async fn create_customers(&mut self, new: Vec<(usize, u64, String, rows::CustomerRow)>) -> Result<(), ImportError> {
        if !self.options.apply {
            for (at, ..) in &new {
                self.report.organizations[*at].customers.created += 1;
            }
            return Ok(());
        }
        // Grouped by organization (stable: each keeps its lines' order), 25 to a transaction.
        let mut new = new;
        new.sort_by(|a, b| a.2.cmp(&b.2));
        let mut rest = new.as_slice();
        while let Some((_, _, org_id, _)) = rest.first() {
            let same_org = rest.iter().take(IMPORT_CHUNK).take_while(|(_, _, o, _)| o == org_id).count();
            let (chunk, after) = rest.split_at(same_org);
            rest = after;
            let items: Vec<(CustomerItem, String)> = chunk
                .iter()
                .map(|(_, _, org_id, row)| (imported_customer(org_id, row), row.convex_id.clone()))
                .collect();
            match self.deps.store.import_customers(&items, &self.origin).await? {
                OrgWrite::Written(true) => {
                    for ((at, ..), (customer, convex_id)) in chunk.iter().zip(&items) {
                        self.report.organizations[*at].customers.created += 1;
                        self.customers.insert(convex_id.clone(), (customer.org_id.clone(), Some(customer.id.clone())));
                    }
                }
                // Another run imported one of them meanwhile: one by one, each as it stands.
                OrgWrite::Written(false) => {
                    for ((at, ..), item) in chunk.iter().zip(items) {
                        let (org_id, convex_id) = (item.0.org_id.clone(), item.1.clone());
                        let tally = &mut self.report.organizations[*at].customers;
                        let id =
                            match self.deps.store.import_customers(std::slice::from_ref(&item), &self.origin).await? {
                                OrgWrite::Written(true) => {
                                    tally.created += 1;
                                    Some(item.0.id)
                                }
                                OrgWrite::Written(false) => {
                                    tally.unchanged += 1;
                                    self.deps.store.imported_among(&org_id, &[&convex_id]).await?.remove(&convex_id)
                                }
                                OrgWrite::OrgGone => {
                                    return Err(ApiError::upstream("the organization is being deleted").into());
                                }
                            };
                        self.customers.insert(convex_id, (org_id, id));
                    }
                }
                OrgWrite::OrgGone => return Err(ApiError::upstream("the organization is being deleted").into()),
            }
        }
        Ok(())
    }

    /// Each client user of a known org gets the customer Convex gave them.
    async fn clients(&mut self) -> Result<(), ImportError> {
        let mut users: Vec<(&String, &KnownUser)> = self.users.iter().filter(|(_, u)| u.role == Role::Client).collect();
        users.sort_by_key(|(_, u)| u.line);
        let mut problems = Vec::new();
        for (_, user) in users {
            let known = &self.orgs[&user.org];
            let tally_at = known.at;
            let Some(convex_customer) = &user.customer else {
                problems.push((user.line, "a client with no customerId: not linked to a customer".to_owned()));
                self.report.organizations[tally_at].clients.skipped += 1;
                continue;
            };
            let target = match self.customers.get(convex_customer) {
                Some((org_id, id)) if *org_id == known.org.id => id.clone(),
                _ => {
                    problems.push((
                        user.line,
                        format!("customerId {convex_customer} references no customer of its organization"),
                    ));
                    self.report.organizations[tally_at].clients.skipped += 1;
                    continue;
                }
            };
            let member = self.deps.store.get_member(&known.org.id, &user.workos_user_id).await?;
            let tally = &mut self.report.organizations[tally_at].clients;
            let (member, customer_id) = match (member, target) {
                (Some(member), Some(customer_id)) if member.role == Role::Client => (member, customer_id),
                // Applied: WorkOS has them, but the sync could not seat them (the plan's limit).
                _ if self.options.apply => {
                    tally.skipped += 1;
                    problems.push((user.line, NOT_SEATED.to_owned()));
                    continue;
                }
                // Dry: the member or the customer is still to be made.
                _ => {
                    tally.created += 1;
                    continue;
                }
            };
            if member.customer_id.as_deref() == Some(customer_id.as_str()) {
                tally.unchanged += 1;
                continue;
            }
            if member.customer_id.is_none() {
                tally.created += 1
            } else {
                tally.updated += 1
            }
            if self.options.apply {
                let linked = MemberItem { customer_id: Some(customer_id), ..member.revised(Timestamp::now()) };
                match self.deps.store.mirror_member_change(&member, &linked, &self.origin).await? {
                    OrgWrite::Written(true) => {}
                    OrgWrite::Written(false) | OrgWrite::OrgGone => {
                        return Err(
                            ApiError::upstream("a member changed while the import linked it to its customer").into()
                        );
                    }
                }
            }
        }
        for (line, reason) in problems {
            self.problem(USERS, line, reason);
        }
        Ok(())
    }

    async fn assignments(
        &mut self,
        snapshot: &mut Snapshot,
        progress: &mut (dyn FnMut(&str) + Send),
    ) -> Result<(), ImportError> {
        let mut lines = snapshot.lines(ASSIGNMENTS)?;
        let mut seen = HashSet::new();
        let mut read = 0usize;
        loop {
            let batch = lines.next_batch(BATCH)?;
            if batch.is_empty() {
                return Ok(());
            }
            read += batch.len();
            let mut work = Vec::new();
            for (number, row) in self.parsed(ASSIGNMENTS, batch, rows::assignment) {
                let Some(at) = self.org_of(ASSIGNMENTS, number, &row.org) else { continue };
                let org_id = self.orgs[&row.org].org.id.clone();
                let refused = match (self.users.get(&row.staff), self.customers.get(&row.customer)) {
                    (None, _) => {
                        Some(format!("staffId {} references no user of its organization in WorkOS", row.staff))
                    }
                    (Some(user), _) if user.org != row.org => {
                        Some(format!("staffId {} is a user of another organization", row.staff))
                    }
                    (Some(user), _) if user.role != Role::Staff => Some(format!(
                        "{} is {} in WorkOS, not staff: not assigned",
                        user.workos_user_id,
                        user.role.slug()
                    )),
                    (_, None) => Some(format!("customerId {} references no customer", row.customer)),
                    (_, Some((customer_org, _))) if *customer_org != org_id => {
                        Some(format!("customerId {} is a customer of another organization", row.customer))
                    }
                    _ => None,
                };
                if let Some(reason) = refused {
                    self.problem(ASSIGNMENTS, number, reason);
                    self.report.organizations[at].assignments.skipped += 1;
                    continue;
                }
                if !seen.insert(pair_hash(&row.staff, &row.customer)) {
                    self.problem(ASSIGNMENTS, number, "a second assignment of this staff member to this customer");
                    self.report.organizations[at].assignments.skipped += 1;
                    continue;
                }
                let user_id = self.users[&row.staff].workos_user_id.clone();
                let customer_id = self.customers[&row.customer].1.clone();
                let staff_stored = self.orgs[&row.org].stored.get(&user_id) == Some(&Role::Staff);
                work.push((at, number, org_id, customer_id, user_id, staff_stored));
            }
            // Reads at once; writes one after another (see `Store::import_customers`).
            let (deps, apply) = (self.deps, self.options.apply);
            let decided: Vec<_> = futures::stream::iter(work)
                .map(|(at, number, org_id, customer_id, user_id, staff_stored)| async move {
                    let customer_id = customer_id.as_deref();
                    let decision = decide_assignment(deps, apply, &org_id, customer_id, &user_id, staff_stored).await;
                    (at, number, user_id, decision)
                })
                .buffered(self.options.concurrency.max(1))
                .collect()
                .await;
            for (at, number, user_id, decision) in decided {
                let tally = &mut self.report.organizations[at].assignments;
                match decision? {
                    AssignmentDecision::Unchanged => tally.unchanged += 1,
                    AssignmentDecision::WouldAssign => tally.created += 1,
                    AssignmentDecision::Skip(reason) => {
                        tally.skipped += 1;
                        self.problem(ASSIGNMENTS, number, reason);
                    }
                    AssignmentDecision::Assign(customer) => {
                        match self.deps.store.assign(&customer, &user_id, Timestamp::now(), &self.origin).await? {
                            true => tally.created += 1,
                            false => tally.unchanged += 1,
                        }
                    }
                }
            }
            if read % 10_000 < BATCH {
                progress(&format!("assignments: {read} lines read"));
            }
        }
    }

    /// Per organization: its subscription, its limits, and the `org.imported` entry.
    async fn finish(&mut self) -> Result<(), ImportError> {
        let mut known: Vec<&KnownOrg> = self.orgs.values().collect();
        known.sort_by_key(|k| k.at);
        for k in known {
            let report = &mut self.report.organizations[k.at];
            if let Some(subscription) = report.subscription.as_mut() {
                match self.options.apply {
                    true => claim(self.deps, &self.origin, &k.org.id, subscription).await?,
                    false => subscription.outcome = "would be claimed and read from Lemon Squeezy".into(),
                }
            }
            if let Some(org) = self.deps.store.get_org(&k.org.id).await? {
                let limits = org.entitlement(&self.deps.config.plans, Timestamp::now()).limits;
                let dry_extra = if self.options.apply { 0 } else { report.customers.created as i64 };
                let customers = org.usage.customers + dry_extra;
                if customers > limits.max_customers as i64 {
                    report.over_limit.push(format!("customers: {customers} of {}", limits.max_customers));
                }
                if org.usage.staff > limits.max_staff as i64 {
                    report.over_limit.push(format!("staff seats: {} of {}", org.usage.staff, limits.max_staff));
                }
                if org.usage.clients > limits.max_clients as i64 {
                    report.over_limit.push(format!("client seats: {} of {}", org.usage.clients, limits.max_clients));
                }
            }
            let unrecorded = self.options.apply && !self.deps.store.import_recorded(&k.org.id).await?;
            if self.options.apply && (report.changed() || unrecorded) {
                let counts = [
                    ("members", report.members.created),
                    ("customers", report.customers.created),
                    ("customersUpdated", report.customers.updated),
                    ("clients", report.clients.created + report.clients.updated),
                    ("assignments", report.assignments.created),
                ];
                let changes = counts.iter().fold(Changes::default(), |c, (name, n)| c.field(name, &None, &Some(*n)));
                // A deletion begun meanwhile took the organization and its entries with it.
                let _ = self.deps.store.record_import(&k.org.id, changes, &self.origin).await?;
            }
        }
        Ok(())
    }
}

/// What an assignment line comes to, decided from what is stored.
enum AssignmentDecision {
    Unchanged,
    /// To be written: the staff member to this stored customer.
    Assign(CustomerItem),
    /// Dry run: to be written, or its customer or member is still to be made (and so is it).
    WouldAssign,
    Skip(String),
}

/// `staff_stored`: the table has the user as a staff member (the sync may not have seated them).
async fn decide_assignment(
    deps: &Deps,
    apply: bool,
    org_id: &str,
    customer_id: Option<&str>,
    user_id: &str,
    staff_stored: bool,
) -> Result<AssignmentDecision, ImportError> {
    let to_be_made =
        |why: &str| if apply { AssignmentDecision::Skip(why.into()) } else { AssignmentDecision::WouldAssign };
    // Applied, a customer without an id is one that was not made.
    let Some(customer_id) = customer_id else { return Ok(to_be_made("its customer was not imported")) };
    if !staff_stored {
        return Ok(to_be_made(NOT_SEATED));
    }
    if deps.store.get_assignment(org_id, customer_id, user_id).await?.is_some() {
        return Ok(AssignmentDecision::Unchanged);
    }
    Ok(match deps.store.get_customer(org_id, customer_id).await? {
        Some(_) if !apply => AssignmentDecision::WouldAssign,
        Some(customer) => AssignmentDecision::Assign(customer),
        None => AssignmentDecision::Skip("the customer was deleted meanwhile".into()),
    })
}

/// The customer a Convex row becomes: created when Convex created it.
fn imported_customer(org_id: &str, row: &rows::CustomerRow) -> CustomerItem {
    let mut customer = CustomerItem::new(org_id, row.fields.clone(), IMPORTER, row.created_at);
    customer.updated_at = Timestamp::now().max(row.created_at);
    customer
}

/// Claims the organization's subscription and reads its state from Lemon Squeezy.
async fn claim(
    deps: &Deps,
    origin: &Origin,
    org_id: &str,
    subscription: &mut SubscriptionReport,
) -> Result<(), ImportError> {
    let claimed = billing::retried_on_billing_change(|| async {
        match deps.store.get_org(org_id).await? {
            Some(org) => deps.store.claim_subscription(&org, &subscription.id, origin).await,
            None => Ok(OrgWrite::OrgGone),
        }
    })
    .await?;
    subscription.claimed = claimed == OrgWrite::Written(SubscriptionClaim::Claimed);
    let owned = match claimed {
        OrgWrite::Written(SubscriptionClaim::Claimed) => "claimed",
        OrgWrite::Written(SubscriptionClaim::OwnedAlready) => "owned already",
        OrgWrite::Written(SubscriptionClaim::OwnedByAnother) => {
            subscription.outcome = "owned by another organization: not claimed".into();
            return Ok(());
        }
        OrgWrite::OrgGone => {
            subscription.outcome = "the organization is being deleted".into();
            return Ok(());
        }
    };
    let stored = deps.store.subscription(org_id, &subscription.id).await?.and_then(|s| s.state);
    let refreshed =
        billing::refresh_subscription(deps, org_id, &subscription.id, stored.as_ref(), origin, LEMONSQUEEZY_LIMIT)
            .await?;
    subscription.outcome = match refreshed {
        Refresh::Updated => format!("{owned}; its state read from Lemon Squeezy"),
        Refresh::Unchanged => format!("{owned}; its state as Lemon Squeezy has it"),
        Refresh::ReadFailed => format!("{owned}; Lemon Squeezy could not be read: billing-reconcile completes it"),
        Refresh::OrgGone => "the organization is being deleted".into(),
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_tallied_the_same_way_dry_and_applied() {
        let map = |pairs: &[(&str, Role)]| pairs.iter().map(|(u, r)| (u.to_string(), *r)).collect::<HashMap<_, _>>();
        let before = map(&[("a", Role::Admin), ("s", Role::Staff), ("gone", Role::Client)]);
        let after = map(&[("a", Role::Admin), ("s", Role::Client), ("new", Role::Staff)]);
        let tally = member_tally(&before, &after);
        assert_eq!((tally.created, tally.updated, tally.unchanged), (1, 2, 1), "new; s's role and gone; a");
        assert_eq!(member_tally(&after, &after), Tally { unchanged: 3, ..Tally::default() });
    }

    #[test]
    fn pairs_hash_by_both_ids() {
        assert_ne!(pair_hash("a", "bc"), pair_hash("ab", "c"));
        assert_eq!(pair_hash("s", "c"), pair_hash("s", "c"));
    }
}
