//! One Lemon Squeezy subscription of an organization (`ORG#o` / `SUB#s`): its item, and its
//! reads. The writes that events and the reconcile make are in `billing.rs`.

use aws_sdk_dynamodb::types::{AttributeValue, Get, TransactGetItem};
use serde::{Deserialize, Serialize};

use super::{OrgRecord, Store, StoreError, from_item, key, keys, s, sdk_error, to_item};
use crate::domain::billing::{Payment, PortalLink, Subscription};

/// `ORG#o` / `SUB#s`: one subscription of an organization, as the newest event or read of
/// *that* subscription left it: its state (none yet when only a payment arrived), its newest
/// payment and its customer portal link. In the organization's own partition, so that its
/// deletion and its export find it; the org item keeps only the `BillingSummary`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub subscription_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Subscription>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portal: Option<PortalLink>,
}

impl SubscriptionItem {
    pub const ENTITY: &'static str = "subscription";
}

impl Store {
    /// One subscription of an organization (strongly consistent).
    pub async fn subscription(
        &self,
        org_id: &str,
        subscription_id: &str,
    ) -> Result<Option<SubscriptionItem>, StoreError> {
        self.get(keys::org_pk(org_id), keys::subscription_sk(subscription_id)).await
    }

    /// What the organization's key holds and one of its subscriptions, as they stood at one moment
    /// (TransactGetItems): a billing write conditions on both, so a state that arrived between two
    /// separate reads could make a payment look stale while the summary's revision still held.
    /// `None` for an organization that is not stored.
    pub async fn org_with_subscription(
        &self,
        org_id: &str,
        subscription_id: &str,
    ) -> Result<Option<(OrgRecord, Option<SubscriptionItem>)>, StoreError> {
        let get = |sk: String| {
            let get = Get::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::org_pk(org_id), sk)))
                .build()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Ok::<_, StoreError>(TransactGetItem::builder().get(get).build())
        };
        let answer = self
            .client
            .transact_get_items()
            .transact_items(get(keys::ORG_SK.to_owned())?)
            .transact_items(get(keys::subscription_sk(subscription_id))?)
            .send()
            .await
            .map_err(sdk_error)?;
        let mut items = answer.responses.unwrap_or_default().into_iter().map(|r| r.item);
        let (org, subscription) = (items.next().flatten(), items.next().flatten());
        let Some(org) = org.map(OrgRecord::from_item).transpose()? else { return Ok(None) };
        Ok(Some((org, subscription.map(from_item).transpose()?)))
    }

    /// Every subscription item of an organization (tests and operators; a request never lists
    /// them all).
    pub async fn all_subscriptions(&self, org_id: &str) -> Result<Vec<SubscriptionItem>, StoreError> {
        let values = [(":pk", keys::org_pk(org_id)), (":prefix", keys::SUBSCRIPTION_PREFIX.to_owned())];
        self.query_all("PK = :pk AND begins_with(SK, :prefix)", None, None, &values).await
    }

    /// Keeps a newer customer portal link of a stored subscription. A single conditional write,
    /// not a guarded transaction: it cannot make an item (`attribute_exists`), so it cannot bring
    /// back one that an organization's deletion removed, and it changes nothing that the audit
    /// log or the plan records.
    pub async fn save_portal_link(
        &self,
        org_id: &str,
        subscription_id: &str,
        portal: &PortalLink,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::org_pk(org_id), keys::subscription_sk(subscription_id))))
            .update_expression("SET portal = :portal")
            .condition_expression("attribute_exists(PK) AND (attribute_not_exists(portal) OR portal.expiresAt < :at)")
            .expression_attribute_values(":portal", AttributeValue::M(to_item(portal)?))
            .expression_attribute_values(":at", s(portal.expires_at.to_string()))
            .send()
            .await
            .map_err(sdk_error);
        super::condition_held(result).map(drop)
    }
}
