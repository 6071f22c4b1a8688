//! `billing-reconcile`, scheduled: recovers what webhooks missed.
//!
//! - Every owned subscription (from the `LSSUBS` index of owners) is read from Lemon Squeezy and
//!   the answer is taken as the truth: whenever it differs from the stored state it is applied,
//!   whatever the timestamps (this also settles two events of one second whose order was
//!   unknown). The write is conditioned on the stored state still being the one read before the
//!   call, so an event applied meanwhile is not overwritten; the next run looks again.
//!   Expired subscriptions are terminal and not read again.
//! - Unmatched events that name a subscription are retried a page at a time from each shard of
//!   the retry index (bounded memory); one that still matches nothing after
//!   [`MAX_UNMATCHED_ATTEMPTS`] runs is marked `abandoned` and kept for an operator.
//!
//! Stays under Lemon Squeezy's 300 calls a minute and stops before its time budget; returns a
//! JSON report.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use shared::api::lambda::Job;
use shared::domain::audit::{Actor, Origin};
use shared::domain::billing::BillingOutcome as Outcome;
use shared::domain::billing::{Subscription, SubscriptionStatus};
use shared::domain::lemonsqueezy::Event;
use shared::flows::billing;
use shared::store::keys::UNMATCHED_SHARDS;
use shared::store::{BillingEventItem, StoreError, SubscriptionOwnerItem};
use shared::{ApiError, Deps, crypto};

/// 300 calls a minute at most: one every 200 ms.
const CALL_SPACING: Duration = Duration::from_millis(200);
/// Default time budget, under the function's 60 s timeout.
const DEFAULT_BUDGET_SECONDS: u64 = 50;
/// Runs (every 15 minutes) an unmatched event is retried before it is abandoned: 5 hours, far
/// past Lemon Squeezy's own retries and any out-of-order delivery.
pub const MAX_UNMATCHED_ATTEMPTS: u32 = 20;
/// Unmatched events read at a time.
const RETRY_PAGE: i32 = 25;

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub subscriptions_checked: u32,
    pub updated: u32,
    pub unchanged: u32,
    /// Expired (terminal) subscriptions, not read again.
    pub skipped: u32,
    pub failed: u32,
    pub unmatched_retried: u32,
    pub unmatched_resolved: u32,
    pub unmatched_abandoned: u32,
    /// False when the time budget ran out first; the next run starts over.
    pub complete: bool,
    pub duration_ms: u128,
}

struct Run<'a> {
    deps: &'a Deps,
    started: Instant,
    budget: Duration,
    last_call: Option<Instant>,
    report: Report,
    /// The system, in this invocation: the audit log's actor of the reconcile's changes.
    origin: Origin,
}

impl Run<'_> {
    fn out_of_time(&mut self) -> bool {
        let spent = self.started.elapsed() >= self.budget;
        if spent {
            self.report.complete = false;
        }
        spent
    }

    /// Reads one subscription from Lemon Squeezy and applies it where it differs.
    async fn reconcile(&mut self, owner: &SubscriptionOwnerItem) -> Result<(), ApiError> {
        let org = match self.deps.store.get_org(&owner.org_id).await {
            Ok(Some(org)) => org,
            Ok(None) => return Ok(()),
            // Being deleted: its owners go with it.
            Err(StoreError::OrgDeleted) => {
                self.report.skipped += 1;
                return Ok(());
            }
            Err(error) => return Err(error.into()),
        };
        let stored = org.subscriptions.get(&owner.subscription_id);
        if stored.is_some_and(|s| s.status == SubscriptionStatus::Expired) {
            self.report.skipped += 1;
            return Ok(());
        }
        if let Some(at) = self.last_call {
            tokio::time::sleep(CALL_SPACING.saturating_sub(at.elapsed())).await;
        }
        self.last_call = Some(Instant::now());
        self.report.subscriptions_checked += 1;
        let fetched = match self.deps.lemonsqueezy.get_subscription(&owner.subscription_id).await {
            Ok(resource) => Subscription::from_resource(&resource),
            Err(error) => {
                tracing::warn!(org_id = org.id, error = %error, "could not read the subscription");
                None
            }
        };
        let Some(fetched) = fetched.filter(|f| f.id == owner.subscription_id) else {
            self.report.failed += 1;
            return Ok(());
        };
        if stored.map(|s| s.content_hash.as_str()) == Some(fetched.content_hash.as_str()) {
            self.report.unchanged += 1;
        } else if self
            .deps
            .store
            .reconcile_subscription(&org.id, &fetched, stored, &self.origin)
            .await
            .or_else(deleted)?
        {
            tracing::info!(org_id = org.id, status = fetched.status.as_str(), "subscription reconciled");
            self.report.updated += 1;
        } else {
            // An event changed it since it was read: the next run compares again.
            self.report.unchanged += 1;
        }
        Ok(())
    }

    /// Tries an unmatched event again.
    async fn retry(&mut self, record: &BillingEventItem) -> Result<(), ApiError> {
        self.report.unmatched_retried += 1;
        let event = record.body.as_deref().and_then(|body| serde_json::from_str::<Event>(body).ok().map(|e| (body, e)));
        if let Some((body, event)) = &event {
            let subscription = billing::subscription_of(event);
            let resolved = match billing::resolve_org(self.deps, event, subscription.as_deref()).await {
                Ok(owner) => owner.org_id().is_some(),
                // Its organization was deleted: processing answers `ignored`, and it is forgotten.
                Err(ApiError::OrganizationDeleted) => true,
                Err(error) => return Err(error),
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

/// A reconcile write that met an organization being deleted changed nothing, like one that met
/// a newer event.
fn deleted(error: StoreError) -> Result<bool, StoreError> {
    match error {
        StoreError::OrgDeleted => Ok(false),
        error => Err(error),
    }
}

pub async fn handle(deps: &Deps, job: Job) -> Result<Value, ApiError> {
    let (event, origin) = (job.event, Origin::new(Actor::System, job.request_id.as_deref()));
    let budget =
        Duration::from_secs(event.get("budgetSeconds").and_then(Value::as_u64).unwrap_or(DEFAULT_BUDGET_SECONDS));
    let mut run = Run { deps, started: Instant::now(), budget, last_call: None, report: Report::default(), origin };
    run.report.complete = true;

    let mut start = None;
    'owners: loop {
        let (owners, next) = deps.store.subscription_owners(start).await?;
        for owner in &owners {
            if run.out_of_time() {
                break 'owners;
            }
            run.reconcile(owner).await?;
        }
        match next {
            Some(next) => start = Some(next),
            None => break,
        }
    }

    'shards: for shard in 0..UNMATCHED_SHARDS {
        let mut start = None;
        loop {
            let (records, next) = deps.store.retryable_billing_events(shard, start, RETRY_PAGE).await?;
            for record in &records {
                if run.out_of_time() {
                    break 'shards;
                }
                run.retry(record).await?;
            }
            match next {
                Some(next) => start = Some(next),
                None => break,
            }
        }
    }
    let mut report = run.report;
    report.duration_ms = run.started.elapsed().as_millis();
    tracing::info!(report = ?report, "billing reconcile done");
    serde_json::to_value(&report).map_err(|e| ApiError::Upstream(e.to_string()))
}
