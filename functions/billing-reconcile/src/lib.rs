//! `billing-reconcile`, scheduled: recovers what webhooks missed.
//!
//! - Owned subscriptions (from the `LSSUBS` index of owners) are read from Lemon Squeezy and the
//!   answer is taken as the truth: whenever it differs from the stored state it is applied,
//!   whatever the timestamps (this also settles two events of one second whose order was
//!   unknown). The write is conditioned on the stored state still being the one read before the
//!   call, so an event applied meanwhile is not overwritten; a later run looks again. Expired
//!   subscriptions are terminal and not read again.
//! - Unmatched events that name a subscription are retried a page at a time from each shard of
//!   the retry index (bounded memory); one that still matches nothing after
//!   [`MAX_UNMATCHED_ATTEMPTS`] runs is marked `abandoned` and kept for an operator.
//!
//! Each walk resumes where the last run left it (`ReconcileState`), so however many
//! subscriptions there are, each is read in turn; the unmatched retries (DynamoDB only) get the
//! first quarter of every run's budget and the owners (a Lemon Squeezy call each) the rest, then
//! the retries any time left. Stays under Lemon Squeezy's 300 calls a minute and stops before its
//! time budget; returns a JSON report of how far each walk got.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use shared::api::lambda::Job;
use shared::domain::audit::{Actor, Origin};
use shared::domain::billing::BillingOutcome as Outcome;
use shared::domain::billing::SubscriptionStatus;
use shared::domain::lemonsqueezy::Event;
use shared::flows::billing::{self, Owner, Refresh};
use shared::store::keys::UNMATCHED_SHARDS;
use shared::store::{BillingEventItem, ReconcileState, SubscriptionOwnerItem};
use shared::{ApiError, Deps, crypto};

/// 300 calls a minute at most: one every 200 ms.
const CALL_SPACING: Duration = Duration::from_millis(200);
/// Default time budget, under the function's 60 s timeout.
const DEFAULT_BUDGET_SECONDS: u64 = 50;
/// Runs (every 15 minutes) an unmatched event is retried before it is abandoned: 5 hours, far
/// past Lemon Squeezy's own retries and any out-of-order delivery.
pub const MAX_UNMATCHED_ATTEMPTS: u32 = 20;
/// Items read at a time from either index; the state is saved after each page.
const PAGE: i32 = 25;
/// A Lemon Squeezy read that takes longer is given up (counted `failed`): with retries it could
/// otherwise run past the function's timeout, and a run that dies saves nothing.
const CALL_LIMIT: Duration = Duration::from_secs(8);

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub subscriptions_checked: u32,
    pub updated: u32,
    pub unchanged: u32,
    /// Expired (terminal) subscriptions, not read again, and those of organizations being deleted.
    pub skipped: u32,
    pub failed: u32,
    pub unmatched_retried: u32,
    pub unmatched_resolved: u32,
    pub unmatched_abandoned: u32,
    /// Unmatched events whose retry failed (DynamoDB); the walk went past them, and its next
    /// round tries them again.
    pub unmatched_failed: u32,
    /// The subscription the owners' walk began after (none: at the first), and the last it read.
    pub owners_began_after: Option<String>,
    pub owners_stopped_after: Option<String>,
    /// The owners' walk reached the end of the list in this run (the next begins at the first).
    pub owners_walk_ended: bool,
    /// The retries' walk went through every shard's end in this run.
    pub unmatched_walk_ended: bool,
    /// Both walks ended: everything was looked at since the last run's positions.
    pub complete: bool,
    pub duration_ms: u128,
}

struct Run<'a> {
    deps: &'a Deps,
    started: Instant,
    budget: Duration,
    last_call: Option<Instant>,
    /// Lemon Squeezy reads this run may still make (`budgetCalls`; none: as many as time allows).
    calls_left: Option<u32>,
    state: ReconcileState,
    report: Report,
    /// The system, in this invocation: the audit log's actor of the reconcile's changes.
    origin: Origin,
}

impl Run<'_> {
    fn time_left(&self, share: f64) -> bool {
        self.started.elapsed() < self.budget.mul_f64(share)
    }

    fn calls_left(&self) -> bool {
        self.calls_left != Some(0)
    }

    /// Walks the owners from where the last run stopped, while the budget lasts.
    async fn owners(&mut self) -> Result<(), ApiError> {
        self.report.owners_began_after = self.state.owners_after.clone();
        loop {
            let (owners, more) = self.deps.store.subscription_owners(self.state.owners_after.as_deref(), PAGE).await?;
            for owner in &owners {
                if !self.time_left(1.0) || !self.calls_left() {
                    return Ok(());
                }
                // One subscription that cannot be reconciled does not hold up the rest: the
                // walk's next round tries it again.
                if let Err(error) = self.reconcile(owner).await {
                    tracing::warn!(org_id = owner.org_id, error = %error, "a subscription could not be reconciled");
                    self.report.failed += 1;
                }
                self.state.owners_after = Some(owner.subscription_id.clone());
                self.report.owners_stopped_after = self.state.owners_after.clone();
            }
            if !more {
                self.state.owners_after = None;
                self.report.owners_walk_ended = true;
            }
            self.deps.store.save_reconcile_state(&self.state).await?;
            if !more {
                return Ok(());
            }
        }
    }

    /// Walks the unmatched events from where the last run stopped, until `share` of the budget.
    async fn retries(&mut self, share: f64) -> Result<(), ApiError> {
        while self.state.retry_shard < UNMATCHED_SHARDS {
            // Empty shards cost a query each: the budget counts them too.
            if !self.time_left(share) {
                return Ok(());
            }
            let (records, more) = self
                .deps
                .store
                .retryable_billing_events(self.state.retry_shard, self.state.retry_after.as_ref(), PAGE)
                .await?;
            for record in &records {
                if !self.time_left(share) {
                    return Ok(());
                }
                if let Err(error) = self.retry(record).await {
                    tracing::warn!(event = record.event_name, error = %error, "an unmatched event could not be retried");
                    self.report.unmatched_failed += 1;
                }
                self.state.retry_after = record.retry_position();
            }
            if !more {
                self.state.retry_shard += 1;
                self.state.retry_after = None;
            }
            self.deps.store.save_reconcile_state(&self.state).await?;
        }
        self.state.retry_shard = 0;
        self.report.unmatched_walk_ended = true;
        Ok(())
    }

    /// Reads one subscription from Lemon Squeezy and applies it where it differs.
    async fn reconcile(&mut self, owner: &SubscriptionOwnerItem) -> Result<(), ApiError> {
        let stored = self.deps.store.subscription(&owner.org_id, &owner.subscription_id).await?;
        let stored = stored.and_then(|s| s.state);
        if stored.as_ref().is_some_and(|s| s.status == SubscriptionStatus::Expired) {
            self.report.skipped += 1;
            return Ok(());
        }
        if let Some(at) = self.last_call {
            tokio::time::sleep(CALL_SPACING.saturating_sub(at.elapsed())).await;
        }
        self.last_call = Some(Instant::now());
        self.calls_left = self.calls_left.map(|left| left.saturating_sub(1));
        self.report.subscriptions_checked += 1;
        let (deps, origin) = (self.deps, &self.origin);
        let refreshed = billing::refresh_subscription(
            deps,
            &owner.org_id,
            &owner.subscription_id,
            stored.as_ref(),
            origin,
            CALL_LIMIT,
        )
        .await?;
        match refreshed {
            Refresh::Updated => self.report.updated += 1,
            Refresh::Unchanged => self.report.unchanged += 1,
            Refresh::ReadFailed => self.report.failed += 1,
            Refresh::OrgGone => self.report.skipped += 1,
        }
        Ok(())
    }

    /// Tries an unmatched event again.
    async fn retry(&mut self, record: &BillingEventItem) -> Result<(), ApiError> {
        self.report.unmatched_retried += 1;
        let event = record.body.as_deref().and_then(|body| serde_json::from_str::<Event>(body).ok().map(|e| (body, e)));
        if let Some((body, event)) = &event {
            let subscription = billing::subscription_of(event);
            // An organization whose deletion began resolves too: processing answers `ignored`,
            // and the event is forgotten.
            let resolved = match billing::resolve_org(self.deps, event, subscription.as_deref()).await? {
                Owner::Stored(_) | Owner::Tagged(_) | Owner::Deleted => true,
                Owner::Unknown => false,
            };
            if resolved {
                let outcome =
                    billing::process_event(self.deps, event, body, &crypto::sha256_hex(body.as_bytes()), &self.origin)
                        .await?;
                if outcome != Outcome::Unmatched {
                    self.deps.store.forget_unmatched(record).await?;
                    self.report.unmatched_resolved += 1;
                    return Ok(());
                }
            }
        }
        if self.deps.store.note_unmatched_retry(record, MAX_UNMATCHED_ATTEMPTS).await? == Outcome::Abandoned {
            tracing::warn!(
                event = record.event_name,
                subscription_id = record.subscription_id.as_deref().unwrap_or(""),
                "unmatched billing event abandoned after its retries"
            );
            self.report.unmatched_abandoned += 1;
        }
        Ok(())
    }
}

pub async fn handle(deps: &Deps, job: Job) -> Result<Value, ApiError> {
    let (event, origin) = (job.event, Origin::new(Actor::System, job.request_id.as_deref()));
    let budget =
        Duration::from_secs(event.get("budgetSeconds").and_then(Value::as_u64).unwrap_or(DEFAULT_BUDGET_SECONDS));
    // A cap on Lemon Squeezy reads, so a run's share of the subscriptions does not depend on how
    // fast the machine is (tests; an operator easing the load on Lemon Squeezy).
    let calls_left = event.get("budgetCalls").and_then(Value::as_u64).map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    let state = deps.store.reconcile_state().await?;
    let report = Report::default();
    let mut run = Run { deps, started: Instant::now(), budget, last_call: None, calls_left, state, report, origin };
    // The state is saved after every page and at the end whatever a walk met, so that an error
    // does not make the next run start over; a run that dies between two saves makes the next
    // one read at most a page again.
    let walked = async {
        run.retries(0.25).await?;
        run.owners().await?;
        if !run.report.unmatched_walk_ended {
            run.retries(1.0).await?;
        }
        Ok::<_, ApiError>(())
    }
    .await;
    deps.store.save_reconcile_state(&run.state).await?;
    walked?;
    let mut report = run.report;
    report.complete = report.owners_walk_ended && report.unmatched_walk_ended;
    report.duration_ms = run.started.elapsed().as_millis();
    tracing::info!(report = ?report, "billing reconcile done");
    serde_json::to_value(&report).map_err(ApiError::upstream)
}
