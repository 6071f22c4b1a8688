//! `workos-sync`, scheduled: mirrors WorkOS users and memberships into the table.
//!
//! - Incremental pass: the Events API from the stored cursor, applied in order through the
//!   same code as the WorkOS webhook; the cursor moves only past applied events, and is saved
//!   after each page.
//! - Full pass, when there is no cursor, the cursor is older than WorkOS's 30-day event
//!   retention, the last full pass is over a day old (drift), or `{"mode": "full"}` asks: every
//!   WorkOS organization compared with the table, writing only differences. It stores the last
//!   organization it finished, so a run that meets its time budget stops cleanly and the next
//!   run continues there. Every run makes progress: at least one organization or one page.
//! - Rate limits: WorkOS 429s are waited out (`Retry-After`, up to `maxRetryWaitSeconds`).
//!
//! Event (all optional): `{"mode": "full", "budgetMillis": 840000, "maxRetryWaitSeconds": 60}`.
//! Returns and logs a JSON report.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use shared::api::lambda::Job;
use shared::clients::outbound::Patience;
use shared::domain::audit::Origin;
use shared::flows::deletion::DeletionStatus;
use shared::flows::sync;
use shared::flows::sync::{Changes, EVENT_TYPES, Reads};
use shared::store::{OrgWrite, SyncState};
use shared::{ApiError, Deps, Timestamp};
use tracing::Instrument;

/// Under the function's 900 s timeout.
const DEFAULT_BUDGET: Duration = Duration::from_secs(840);
const DEFAULT_MAX_RETRY_WAIT: Duration = Duration::from_secs(60);
/// WorkOS keeps events for 30 days; an older cursor cannot be followed.
const EVENT_RETENTION: time::Duration = time::Duration::days(30);
/// A full pass at least this often catches drift that no event reported.
const FULL_PASS_EVERY: time::Duration = time::Duration::days(1);

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub full_pass: bool,
    #[serde(flatten)]
    pub reads: Reads,
    #[serde(flatten)]
    pub changes: Changes,
    pub cursor: Option<String>,
    pub deletions: Deletions,
    /// False when the time budget ran out first; the next run continues from the saved state.
    pub complete: bool,
    pub duration_ms: u128,
}

/// The organization deletions this run continued (`DELETE /org` leaves what it could not finish).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deletions {
    pub continued: u32,
    pub completed: u32,
    pub failed: u32,
}

/// At most this many deletions are continued by one run, each for what is left of the run's
/// budget but at most [`DELETION_BUDGET`] and at least [`DELETION_MIN`] (a run always makes
/// progress on one), so that the mirror gets most of the run.
const DELETIONS_PER_RUN: i32 = 10;
const DELETION_BUDGET: Duration = Duration::from_secs(30);
const DELETION_MIN: Duration = Duration::from_secs(5);

struct Budget {
    started: Instant,
    limit: Duration,
}

impl Budget {
    fn spent(&self) -> bool {
        self.started.elapsed() >= self.limit
    }
}

pub async fn handle(deps: &Deps, job: Job) -> Result<Value, ApiError> {
    let (event, origin) = (job.event, sync::workos_origin(job.request_id.as_deref()));
    let budget = Budget {
        started: Instant::now(),
        limit: event.get("budgetMillis").and_then(Value::as_u64).map(Duration::from_millis).unwrap_or(DEFAULT_BUDGET),
    };
    let max_wait = event
        .get("maxRetryWaitSeconds")
        .and_then(Value::as_u64)
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_MAX_RETRY_WAIT);
    let deps = deps.with_workos_patience(Patience { attempts: 6, max_wait });
    let force_full = event.get("mode").and_then(Value::as_str) == Some("full");

    let mut report = Report::default();
    let result = run(&deps, &origin, force_full, &budget, &mut report).await;
    report.duration_ms = budget.started.elapsed().as_millis();
    match &result {
        Ok(()) => tracing::info!(report = %serde_json::json!(report), "workos sync done"),
        Err(error) => tracing::error!(report = %serde_json::json!(report), error = %error, "workos sync stopped"),
    }
    result?;
    serde_json::to_value(&report).map_err(ApiError::upstream)
}

async fn run(
    deps: &Deps,
    origin: &Origin,
    force_full: bool,
    budget: &Budget,
    report: &mut Report,
) -> Result<(), ApiError> {
    continue_deletions(deps, budget, &mut report.deletions).await?;
    let mut state = deps.store.sync_state().await?;
    let now = Timestamp::now();
    let older_than = |at: &Option<Timestamp>, age: time::Duration| at.is_none_or(|at| at < now.minus(age));
    let cursor_lost = older_than(&state.cursor_at, EVENT_RETENTION);
    let full_due = force_full || cursor_lost || older_than(&state.full_pass_completed_at, FULL_PASS_EVERY);
    if state.full_pass_after.is_none() && full_due {
        state.full_pass_after = Some(String::new());
        state.full_pass_started_at = Some(now);
        if cursor_lost {
            // Events from here on are read after the pass; what came before, the pass covers.
            state.event_cursor = None;
            state.cursor_at = Some(now);
        }
        deps.store.save_sync_state(&state).await?;
    }
    report.cursor = state.event_cursor.clone();
    if state.full_pass_after.is_some() {
        report.full_pass = true;
        if !full_pass(deps, origin, &mut state, budget, report).await? {
            return Ok(());
        }
    }
    report.complete = incremental_pass(deps, origin, &mut state, budget, report).await?;
    Ok(())
}

/// Continues the organization deletions under way (a failure of one is logged and left for the
/// next run: it does not stop the mirror).
async fn continue_deletions(deps: &Deps, budget: &Budget, report: &mut Deletions) -> Result<(), ApiError> {
    for org_id in deps.store.pending_deletions(DELETIONS_PER_RUN).await? {
        if report.continued > 0 && budget.spent() {
            break;
        }
        report.continued += 1;
        let remaining = budget.limit.saturating_sub(budget.started.elapsed());
        let span = tracing::info_span!("deletion", org_id = %org_id);
        match deps.continue_deletion(&org_id, remaining.clamp(DELETION_MIN, DELETION_BUDGET)).instrument(span).await {
            Ok(DeletionStatus::Deleted) => report.completed += 1,
            Ok(DeletionStatus::Deleting) => {}
            Err(error) => {
                tracing::warn!(error = %error, "an organization deletion failed; a later run tries again");
                if let Err(error) = deps.store.postpone_deletion(&org_id, Timestamp::now()).await {
                    tracing::warn!(error = %error, "the failed deletion could not be put behind the others");
                }
                report.failed += 1;
            }
        }
    }
    Ok(())
}

/// Continues the full pass; `Ok(true)` once every organization is done.
async fn full_pass(
    deps: &Deps,
    origin: &Origin,
    state: &mut SyncState,
    budget: &Budget,
    report: &mut Report,
) -> Result<bool, ApiError> {
    let mut after = state.full_pass_after.clone().filter(|a| !a.is_empty());
    let mut progressed = false;
    loop {
        let orgs = match deps.workos.list_organizations(after.as_deref()).await {
            Ok((orgs, _)) => orgs,
            // WorkOS's cursor is the last organization read; were it deleted in WorkOS since,
            // what WorkOS answers is not documented. Refused: the pass starts again.
            Err(error) if after.is_some() && error.is_client_error() => {
                tracing::warn!(error = %error, "WorkOS refused the full pass's cursor; the pass starts again");
                after = None;
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        if orgs.is_empty() {
            break;
        }
        for org in &orgs {
            if progressed && budget.spent() {
                return Ok(false);
            }
            progressed = true;
            match sync::reconcile_org(deps, origin, org, &mut report.changes, &mut report.reads).await? {
                OrgWrite::Written(()) => {
                    state.full_pass_after = Some(org.id.clone());
                    deps.store.save_sync_state(state).await?;
                }
                // Not a place to resume from: its WorkOS organization is about to be deleted.
                OrgWrite::OrgGone => {}
            }
        }
        after = orgs.last().map(|o| o.id.clone());
    }
    state.full_pass_after = None;
    state.full_pass_completed_at = Some(Timestamp::now());
    deps.store.save_sync_state(state).await?;
    Ok(true)
}

/// Applies events after the cursor; `Ok(true)` when none are left.
async fn incremental_pass(
    deps: &Deps,
    origin: &Origin,
    state: &mut SyncState,
    budget: &Budget,
    report: &mut Report,
) -> Result<bool, ApiError> {
    let mut progressed = false;
    loop {
        if progressed && budget.spent() {
            return Ok(false);
        }
        let since = state.cursor_at;
        let range_start = since.map(|at| at.to_string());
        let (events, _) =
            deps.workos.list_events(EVENT_TYPES, state.event_cursor.as_deref(), range_start.as_deref()).await?;
        if events.is_empty() {
            return Ok(true);
        }
        report.reads.events += events.len() as u32;
        for event in &events {
            // Without a cursor, events from before the starting point are covered by a full pass.
            let before_start = state.event_cursor.is_none() && since.is_some_and(|s| event.created_at < s);
            if EVENT_TYPES.contains(&event.event.as_str()) && !before_start {
                if let Err(error) = sync::apply_event(deps, origin, event, &mut report.changes).await {
                    // The cursor stays before this event; the next run tries it again.
                    deps.store.save_sync_state(state).await?;
                    return Err(error);
                }
            }
            state.event_cursor = Some(event.id.clone());
            if !before_start {
                state.cursor_at = Some(event.created_at);
            }
        }
        report.cursor = state.event_cursor.clone();
        deps.store.save_sync_state(state).await?;
        progressed = true;
    }
}
