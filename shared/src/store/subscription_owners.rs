//! Which organization owns each Lemon Squeezy subscription (`LSSUB#s` / `LSSUB`), the walk of
//! all owners that `billing-reconcile` makes (GSI1 `LSSUBS`), and where that job got to.

use serde::{Deserialize, Serialize};

use super::{Item, RetryPosition, Store, StoreError, from_item, keys, s, sdk_error};

/// `LSSUB#s` / `LSSUB`: which organization a Lemon Squeezy subscription belongs to; in GSI1
/// `LSSUBS` / `LSSUB#s`, the list of subscriptions the reconcile job walks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionOwnerItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1sk: String,
    pub entity: String,
    pub subscription_id: String,
    pub org_id: String,
}

impl SubscriptionOwnerItem {
    pub const ENTITY: &'static str = "subscription_owner";

    pub fn new(subscription_id: &str, org_id: &str) -> Self {
        Self {
            pk: keys::subscription_owner_pk(subscription_id),
            sk: keys::SUBSCRIPTION_OWNER_SK.to_owned(),
            gsi1pk: keys::SUBSCRIPTIONS_GSI1PK.to_owned(),
            gsi1sk: keys::subscription_owner_pk(subscription_id),
            entity: Self::ENTITY.to_owned(),
            subscription_id: subscription_id.to_owned(),
            org_id: org_id.to_owned(),
        }
    }
}

impl Store {
    /// The organization a subscription belongs to, if known (strongly consistent).
    pub async fn subscription_owner(&self, subscription_id: &str) -> Result<Option<String>, StoreError> {
        let owner: Option<SubscriptionOwnerItem> =
            self.get(keys::subscription_owner_pk(subscription_id), keys::SUBSCRIPTION_OWNER_SK.to_owned()).await?;
        Ok(owner.map(|o| o.org_id))
    }

    /// Subscription owners after the one of `after` (from the first without), a page at a time
    /// (jobs only: GSI1 `LSSUBS`, which may lag behind a just-recorded owner by a moment; a later
    /// run sees it). Answers the page and whether the list goes on after it.
    pub async fn subscription_owners(
        &self,
        after: Option<&str>,
        limit: i32,
    ) -> Result<(Vec<SubscriptionOwnerItem>, bool), StoreError> {
        // The position of an owner in the index is its whole key, made from its subscription id.
        let start = after.map(|id| {
            let owner = SubscriptionOwnerItem::new(id, "");
            Item::from([
                ("PK".to_owned(), s(owner.pk)),
                ("SK".to_owned(), s(owner.sk)),
                ("GSI1PK".to_owned(), s(owner.gsi1pk)),
                ("GSI1SK".to_owned(), s(owner.gsi1sk)),
            ])
        });
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :subscriptions")
            .expression_attribute_values(":subscriptions", s(keys::SUBSCRIPTIONS_GSI1PK))
            .set_exclusive_start_key(start)
            .limit(limit)
            .send()
            .await
            .map_err(sdk_error)?;
        let owners = page.items.unwrap_or_default().into_iter().map(from_item).collect::<Result<_, _>>()?;
        Ok((owners, page.last_evaluated_key.is_some()))
    }

    pub async fn reconcile_state(&self) -> Result<ReconcileState, StoreError> {
        self.job_state(keys::RECONCILE_JOB).await
    }

    pub async fn save_reconcile_state(&self, state: &ReconcileState) -> Result<(), StoreError> {
        self.save_job_state(keys::RECONCILE_JOB, state).await
    }
}

/// Where `billing-reconcile` got to (`JOB#billing-reconcile` / `STATE`): each run goes on from
/// there, so that every owned subscription and every unmatched event gets its turn however many
/// there are, and no run starts over.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReconcileState {
    /// The subscription id of the last owner read; none: the next run starts at the first.
    pub owners_after: Option<String>,
    /// The shard of unmatched events the retries go on with, and the last record retried in it.
    #[serde(default)]
    pub retry_shard: u32,
    pub retry_after: Option<RetryPosition>,
}
