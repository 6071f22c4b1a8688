//! How a transaction ended, and what a write into an organization did: the organization's
//! lifecycle as a value that each writer matches on, rather than an error it catches.

use super::TxFailure;
use crate::store::StoreError;

/// How a transaction ended. The organization's lifecycle is an answer here, not an error: each
/// writer decides what "the organization is gone" means for it (a request refuses, a webhook or
/// the mirror has nothing left to do).
#[derive(Debug)]
pub(in crate::store) enum Commit {
    Committed,
    /// The organization's deletion began: nothing was written.
    OrgGone,
    /// The named actions' conditions failed: nothing was written.
    Cancelled(TxFailure),
}

impl Commit {
    /// For a writer with no answer of its own to a failed condition or a deleted organization:
    /// a condition that failed is a concurrent change, and the organization's deletion refuses
    /// the request that wrote.
    pub(in crate::store) fn required(self) -> Result<(), StoreError> {
        match self {
            Self::Committed => Ok(()),
            Self::OrgGone => Err(StoreError::OrgDeleted),
            Self::Cancelled(failure) => Err(StoreError::Cancelled(failure)),
        }
    }
}

/// What a write into an organization did, for writers to whom the organization's deletion is
/// news rather than a refusal (the mirror, the billing jobs, a second `DELETE /org`): they match
/// on it. Request paths call [`OrgWrite::written`], which makes it the refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "the organization may be gone: match on it"]
pub enum OrgWrite<T> {
    Written(T),
    /// The organization's deletion began: nothing was written.
    OrgGone,
}

impl<T> OrgWrite<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> OrgWrite<U> {
        match self {
            Self::Written(value) => OrgWrite::Written(f(value)),
            Self::OrgGone => OrgWrite::OrgGone,
        }
    }

    /// The value written; a deleted organization refuses (403 `no_organization`, made in `api`).
    pub fn written(self) -> Result<T, StoreError> {
        match self {
            Self::Written(value) => Ok(value),
            Self::OrgGone => Err(StoreError::OrgDeleted),
        }
    }
}
