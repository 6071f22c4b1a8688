//! What an import found and did (or, in a dry run, would do): the JSON on stdout and the short
//! summary on stderr.

use serde::Serialize;

/// The whole report.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// False for a dry run: then every count says what an applied run would do.
    pub applied: bool,
    pub organizations: Vec<OrgReport>,
    /// Lines that were not imported, each with its table, line and reason.
    pub problems: Vec<Problem>,
    /// Tables of the snapshot that the import does not read (left alone).
    pub other_tables: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub table: String,
    pub line: u64,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum OrgStatus {
    Imported,
    Skipped,
}

/// One organization of the snapshot.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgReport {
    pub convex_id: String,
    pub workos_org_id: String,
    pub name: Option<String>,
    pub status: OrgStatus,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Members, as the sync makes them from WorkOS's active memberships.
    pub members: Tally,
    pub customers: Tally,
    /// Client users given their customer.
    pub clients: Tally,
    pub assignments: Tally,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<SubscriptionReport>,
    /// The plan's limits that the organization's data is over after the import (`customers: 120 of 100`).
    pub over_limit: Vec<String>,
}

impl OrgReport {
    pub fn new(convex_id: &str, workos_org_id: &str, name: Option<String>) -> Self {
        Self {
            convex_id: convex_id.to_owned(),
            workos_org_id: workos_org_id.to_owned(),
            name,
            status: OrgStatus::Imported,
            reason: None,
            members: Tally::default(),
            customers: Tally::default(),
            clients: Tally::default(),
            assignments: Tally::default(),
            subscription: None,
            over_limit: Vec::new(),
        }
    }

    /// Anything written (or, dry, to be written).
    pub fn changed(&self) -> bool {
        [&self.members, &self.customers, &self.clients, &self.assignments].iter().any(|t| t.created + t.updated > 0)
            || self.subscription.as_ref().is_some_and(|s| s.claimed)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Not imported: each has its line in `problems`.
    pub skipped: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionReport {
    pub id: String,
    /// This run made the organization its owner (false: it was already, or cannot be).
    pub claimed: bool,
    /// What happened: `claimed`, `owned already`, `owned by another organization`, and how its
    /// state was read from Lemon Squeezy.
    pub outcome: String,
}

impl Report {
    /// A few lines for the operator (stderr).
    pub fn summary(&self) -> String {
        let mut lines = vec![format!(
            "{}: {} organization(s), {} problem line(s){}",
            if self.applied { "applied" } else { "dry run (nothing written; --apply writes)" },
            self.organizations.len(),
            self.problems.len(),
            if self.other_tables.is_empty() {
                String::new()
            } else {
                format!(", tables not read: {}", self.other_tables.join(", "))
            },
        )];
        for org in &self.organizations {
            let name = org.name.as_deref().unwrap_or(&org.workos_org_id);
            match org.status {
                OrgStatus::Skipped => {
                    lines.push(format!("  {name}: skipped ({})", org.reason.as_deref().unwrap_or("")))
                }
                OrgStatus::Imported => {
                    let t = |label: &str, t: &Tally| {
                        format!("{label} +{} ~{} ={} !{}", t.created, t.updated, t.unchanged, t.skipped)
                    };
                    lines.push(format!(
                        "  {name}: {}, {}, {}, {}{}",
                        t("members", &org.members),
                        t("customers", &org.customers),
                        t("clients", &org.clients),
                        t("assignments", &org.assignments),
                        if org.over_limit.is_empty() {
                            String::new()
                        } else {
                            format!("; over the plan: {}", org.over_limit.join(", "))
                        },
                    ));
                }
            }
        }
        lines.push("  (+ created, ~ updated, = unchanged, ! skipped: see problems)".to_owned());
        lines.join("\n")
    }
}
