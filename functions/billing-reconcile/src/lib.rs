//! `billing-reconcile`, scheduled: recovers what webhooks missed. For every organization with a
//! subscription it reads the subscription from Lemon Squeezy and applies it through the same
//! guarded write as the webhook (an event lost past Lemon Squeezy's retries is recovered within
//! one schedule period), then retries events that matched no organization. Stays under Lemon
//! Squeezy's 300 calls a minute and stops before its time budget; returns a JSON report.

use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use shared::billing::{self, Outcome};
use shared::lemonsqueezy::{Event, Subscription};
use shared::store::Applied;
use shared::{ApiError, Deps, crypto};

/// 300 calls a minute at most: one every 200 ms.
const CALL_SPACING: Duration = Duration::from_millis(200);
/// Default time budget, under the function's 60 s timeout.
const DEFAULT_BUDGET_SECONDS: u64 = 50;

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub subscriptions_checked: u32,
    pub updated: u32,
    pub unchanged: u32,
    pub failed: u32,
    pub unmatched_retried: u32,
    pub unmatched_resolved: u32,
    /// False when the time budget ran out first; the next run starts over.
    pub complete: bool,
    pub duration_ms: u128,
}

pub async fn handle(deps: &Deps, event: Value) -> Result<Value, ApiError> {
    let started = Instant::now();
    let budget =
        Duration::from_secs(event.get("budgetSeconds").and_then(Value::as_u64).unwrap_or(DEFAULT_BUDGET_SECONDS));
    let mut report = Report { complete: true, ..Report::default() };
    let mut last_call: Option<Instant> = None;

    let mut start = None;
    'orgs: loop {
        let (orgs, next) = deps.store.orgs_with_subscriptions(start).await?;
        for org in orgs {
            let Some(stored) = &org.subscription else { continue };
            if started.elapsed() >= budget {
                report.complete = false;
                break 'orgs;
            }
            if let Some(at) = last_call {
                tokio::time::sleep(CALL_SPACING.saturating_sub(at.elapsed())).await;
            }
            last_call = Some(Instant::now());
            report.subscriptions_checked += 1;
            let fetched = match deps.lemonsqueezy.get_subscription(&stored.id).await {
                Ok(resource) => Subscription::from_resource(&resource),
                Err(error) => {
                    tracing::warn!(org_id = org.id, error = %error, "could not read the subscription");
                    None
                }
            };
            let Some(fetched) = fetched else {
                report.failed += 1;
                continue;
            };
            match deps.store.apply_subscription(&org.id, &fetched, None).await? {
                Applied::Applied => {
                    tracing::info!(org_id = org.id, status = fetched.status, "subscription reconciled");
                    report.updated += 1;
                }
                Applied::Stale | Applied::Duplicate => report.unchanged += 1,
            }
        }
        match next {
            Some(next) => start = Some(next),
            None => break,
        }
    }

    for record in deps.store.unmatched_billing_events().await? {
        if started.elapsed() >= budget {
            report.complete = false;
            break;
        }
        report.unmatched_retried += 1;
        let Ok(event) = serde_json::from_str::<Event>(&record.body) else { continue };
        let subscription = billing::subscription_of(&event);
        if billing::resolve_org(deps, &event, subscription.as_deref()).await?.is_none() {
            continue;
        }
        let outcome =
            billing::process_event(deps, &event, &record.body, &crypto::sha256_hex(record.body.as_bytes())).await?;
        if outcome != Outcome::Unmatched {
            deps.store.forget_unmatched(&record).await?;
            report.unmatched_resolved += 1;
        }
    }
    report.duration_ms = started.elapsed().as_millis();
    tracing::info!(report = ?report, "billing reconcile done");
    serde_json::to_value(&report).map_err(|e| ApiError::Upstream(e.to_string()))
}
