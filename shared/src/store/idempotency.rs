//! `Idempotency-Key` records of `POST /orgs`: `USER#u` / `IDEMP#<sha256 of the key>`.

use aws_sdk_dynamodb::types::{ReturnValuesOnConditionCheckFailure, Update};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, condition_held, epoch_seconds, from_item, key, keys, n, s, sdk_error, to_item};

/// An `Idempotency-Key` record: `USER#u` / `IDEMP#<sha256 of the key>`, kept for 24 hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub entity: String,
    pub request_hash: String,
    pub state: IdempotencyState,
    /// Names the organization this record's request creates (its WorkOS `external_id` is made
    /// from it): new whenever the record is new, kept when a retry takes over a lapsed lease,
    /// so a retry finishes the same organization and a key used again after the record is gone
    /// never finds an old one.
    pub creation_id: String,
    pub lease_id: String,
    pub lease_until: i64,
    pub org_id: Option<String>,
    /// TTL (epoch seconds).
    pub expires_at: i64,
}

/// Where the request that holds an `Idempotency-Key` stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdempotencyState {
    /// Under way (or died holding its lease).
    Pending,
    /// Finished: `orgId` is what it made.
    Done,
}

impl IdempotencyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Done => "done",
        }
    }
}

impl IdempotencyItem {
    pub const ENTITY: &'static str = "idempotency";
    const RETENTION_SECONDS: i64 = 24 * 60 * 60;

    pub fn pending(user_id: &str, idempotency_key: &str, request_hash: &str, now: i64, lease_seconds: i64) -> Self {
        Self {
            pk: keys::user_pk(user_id),
            sk: keys::idempotency_sk(&crate::crypto::sha256_hex(idempotency_key.as_bytes())),
            entity: Self::ENTITY.to_owned(),
            request_hash: request_hash.to_owned(),
            state: IdempotencyState::Pending,
            creation_id: ulid::Ulid::new().to_string().to_lowercase(),
            lease_id: ulid::Ulid::new().to_string(),
            lease_until: now + lease_seconds,
            org_id: None,
            expires_at: now + Self::RETENTION_SECONDS,
        }
    }
}

impl Store {
    /// Claims an `Idempotency-Key` of a user for a request with `request_hash`. A claim holds a
    /// lease: a request that died half way leaves the key to be claimed again once it runs out,
    /// and the retry that takes it over keeps the record's creation id (so it finishes the same
    /// organization). A key whose record is gone (or lapsed) starts a new record, with a new
    /// creation id: it never leads back to an organization an earlier record made.
    pub async fn claim_idempotency(
        &self,
        user_id: &str,
        idempotency_key: &str,
        request_hash: &str,
        lease_seconds: i64,
    ) -> Result<IdempotencyOutcome, StoreError> {
        let now = epoch_seconds();
        let record = IdempotencyItem::pending(user_id, idempotency_key, request_hash, now, lease_seconds);
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&record)?))
            .condition_expression("attribute_not_exists(PK) OR expiresAt < :now")
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(IdempotencyOutcome::Claimed(IdempotencyClaim::of(&record))),
            Err(error) => error,
        };
        let old = error.as_service_error().and_then(|e| match e {
            aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c) => {
                c.item().cloned()
            }
            _ => None,
        });
        let Some(old) = old else {
            return Err(sdk_error(error));
        };
        let old: IdempotencyItem = from_item(old)?;
        if old.request_hash != request_hash {
            return Ok(IdempotencyOutcome::Mismatch);
        }
        match (old.state, old.org_id.clone()) {
            (IdempotencyState::Done, Some(org_id)) => Ok(IdempotencyOutcome::Done { org_id }),
            (IdempotencyState::Pending, _) if old.lease_until < now => {
                // Take over the lapsed lease, keeping the creation id.
                let taken = IdempotencyItem {
                    lease_id: record.lease_id.clone(),
                    lease_until: record.lease_until,
                    ..old.clone()
                };
                let values = vec![
                    (":lease", s(&old.lease_id)),
                    (":pending", s(IdempotencyState::Pending.as_str())),
                    (":now", n(now)),
                ];
                let condition = "leaseId = :lease AND #state = :pending AND leaseUntil < :now";
                let mut request = self
                    .client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(to_item(&taken)?))
                    .condition_expression(condition)
                    .expression_attribute_names("#state", "state");
                for (name, value) in values {
                    request = request.expression_attribute_values(name, value);
                }
                match condition_held(request.send().await.map_err(sdk_error))? {
                    true => Ok(IdempotencyOutcome::Claimed(IdempotencyClaim::of(&taken))),
                    false => Ok(IdempotencyOutcome::InProgress),
                }
            }
            _ => Ok(IdempotencyOutcome::InProgress),
        }
    }

    /// Gives a claimed key back after a failure, so the client's retry need not wait for the lease.
    /// The lease ends at once; the record, and so its creation id, stays, so that the retry
    /// finishes whatever this attempt made in WorkOS.
    pub async fn release_idempotency(&self, claim: &IdempotencyClaim) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(claim.pk.clone(), claim.sk.clone())))
            .update_expression("SET leaseUntil = :lapsed")
            .condition_expression("leaseId = :lease AND #state = :pending")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":lapsed", n(0))
            .expression_attribute_values(":lease", s(&claim.lease_id))
            .expression_attribute_values(":pending", s(IdempotencyState::Pending.as_str()))
            .send()
            .await;
        condition_held(result.map_err(sdk_error)).map(drop)
    }

    pub(super) fn finish_idempotency(
        &self,
        claim: &IdempotencyClaim,
        org_id: &str,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .set_key(Some(key(claim.pk.clone(), claim.sk.clone())))
            .update_expression("SET #state = :done, orgId = :org")
            .condition_expression("leaseId = :lease")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":done", s(IdempotencyState::Done.as_str()))
            .expression_attribute_values(":org", s(org_id))
            .expression_attribute_values(":lease", s(&claim.lease_id))
    }
}

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyOutcome {
    /// This request holds the key now and does the work.
    Claimed(IdempotencyClaim),
    /// An earlier request with the same key and body finished and made this organization.
    Done { org_id: String },
    /// A request with the same key and body is under way.
    InProgress,
    /// The key was used with another body.
    Mismatch,
}

/// The lease a request holds on an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pk: String,
    sk: String,
    lease_id: String,
    creation_id: String,
}

impl IdempotencyClaim {
    fn of(record: &IdempotencyItem) -> Self {
        Self {
            pk: record.pk.clone(),
            sk: record.sk.clone(),
            lease_id: record.lease_id.clone(),
            creation_id: record.creation_id.clone(),
        }
    }

    /// Names what this key's record creates: the same across retries of one record, new for a
    /// new record.
    pub fn creation_id(&self) -> &str {
        &self.creation_id
    }
}
