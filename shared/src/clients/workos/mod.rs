//! A thin typed client for the WorkOS API (and its emulator): organizations, users and
//! organization memberships. Retries 429 (honouring `Retry-After`), 5xx and transport failures
//! with backoff; POSTs are retried only where WorkOS cannot have acted on them.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod memberships;
mod types;

pub use types::{Event, Invitation, Membership, Organization, RoleRef, User};

use super::outbound::{self, Failure, LazyHttp, Patience};
use crate::config::WorkosConfig;
use crate::error::ApiError;

/// A failed WorkOS call. Its text (which reaches the logs) holds the status, WorkOS's error
/// code and request id, never WorkOS's message, which can quote an e-mail address.
#[derive(Debug, thiserror::Error)]
pub enum WorkosError {
    #[error("WorkOS answered {status} ({code}), request id {request_id}")]
    Status { status: u16, code: String, request_id: String },
    #[error("WorkOS could not be reached: {0}")]
    Transport(String),
    #[error("WorkOS answered something unreadable: {0}")]
    Decode(String),
    #[error("WorkOS is not configured: WORKOS_API_KEY is not set")]
    NotConfigured,
}

impl WorkosError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Status { status: 404, .. })
    }

    /// WorkOS refused the request as it was made (a 4xx other than a rate limit): the same
    /// request again would be refused again.
    pub fn is_client_error(&self) -> bool {
        matches!(self, Self::Status { status, .. } if (400..500).contains(status) && *status != 429)
    }
}

impl From<WorkosError> for ApiError {
    fn from(error: WorkosError) -> Self {
        match error {
            WorkosError::NotConfigured => ApiError::Misconfigured(Box::new(error)),
            other => ApiError::Upstream(Box::new(other)),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ListPage<T> {
    pub(super) data: Vec<T>,
    #[serde(default)]
    pub(super) list_metadata: ListMetadata,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ListMetadata {
    #[serde(default)]
    pub(super) after: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Which memberships to list. WorkOS lists only active ones by default and the emulator all of
/// them, so the statuses are always sent.
#[derive(Debug, Clone, Default)]
pub struct MembershipFilter<'a> {
    pub user_id: Option<&'a str>,
    pub organization_id: Option<&'a str>,
    pub statuses: &'a [&'a str],
}

#[derive(Clone)]
pub struct WorkosClient {
    http: LazyHttp,
    base_url: String,
    api_key: Option<String>,
    patience: Patience,
}

impl WorkosClient {
    pub fn new(http: LazyHttp, config: &WorkosConfig) -> Self {
        Self { http, base_url: config.api_url.clone(), api_key: config.api_key.clone(), patience: Patience::REQUEST }
    }

    /// The same client, retrying as `patience` says.
    pub fn with_patience(&self, patience: Patience) -> Self {
        Self { patience, ..self.clone() }
    }

    /// A page of events of `types`, oldest first, after the event `after` (or from
    /// `range_start`). WorkOS filters by `events`; the emulator does not, so callers skip
    /// types they did not ask for.
    pub async fn list_events(
        &self,
        types: &[&str],
        after: Option<&str>,
        range_start: Option<&str>,
    ) -> Result<(Vec<Event>, Option<String>), WorkosError> {
        let events = types.join(",");
        let mut query: Vec<(&str, &str)> = vec![("events", &events), ("order", "asc"), ("limit", "100")];
        if let Some(after) = after {
            query.push(("after", after));
        } else if let Some(start) = range_start {
            query.push(("range_start", start));
        }
        let page: ListPage<Event> = self.call(Method::GET, "/events", &query, None::<&()>).await?;
        Ok((page.data, page.list_metadata.after.filter(|a| !a.is_empty())))
    }

    /// A page of organizations, oldest first, after the organization `after`.
    pub async fn list_organizations(
        &self,
        after: Option<&str>,
    ) -> Result<(Vec<Organization>, Option<String>), WorkosError> {
        let mut query: Vec<(&str, &str)> = vec![("order", "asc"), ("limit", "100")];
        if let Some(after) = after {
            query.push(("after", after));
        }
        let page: ListPage<Organization> = self.call(Method::GET, "/organizations", &query, None::<&()>).await?;
        Ok((page.data, page.list_metadata.after.filter(|a| !a.is_empty())))
    }

    /// Every user with a membership in the organization (all pages).
    pub async fn list_org_users(&self, org_id: &str) -> Result<Vec<User>, WorkosError> {
        self.list_all("/user_management/users", &[("organization_id", org_id), ("order", "asc")]).await
    }

    pub async fn get_user(&self, user_id: &str) -> Result<User, WorkosError> {
        self.call(Method::GET, &format!("/user_management/users/{}", encode(user_id)), &[], None::<&()>).await
    }

    pub async fn get_organization(&self, org_id: &str) -> Result<Organization, WorkosError> {
        self.call(Method::GET, &format!("/organizations/{}", encode(org_id)), &[], None::<&()>).await
    }

    /// The organization with this external id, if any.
    pub async fn find_organization_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Option<Organization>, WorkosError> {
        let path = format!("/organizations/external_id/{}", encode(external_id));
        match self.call(Method::GET, &path, &[], None::<&()>).await {
            Ok(org) => Ok(Some(org)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub async fn create_organization(&self, name: &str, external_id: &str) -> Result<Organization, WorkosError> {
        #[derive(Serialize)]
        struct Body<'a> {
            name: &'a str,
            external_id: &'a str,
        }
        self.call(Method::POST, "/organizations", &[], Some(&Body { name, external_id })).await
    }

    pub async fn rename_organization(&self, org_id: &str, name: &str) -> Result<Organization, WorkosError> {
        #[derive(Serialize)]
        struct Body<'a> {
            name: &'a str,
        }
        self.call(Method::PUT, &format!("/organizations/{}", encode(org_id)), &[], Some(&Body { name })).await
    }

    /// A WorkOS Admin Portal link for the organization (`POST /portal/generate_link`), valid for
    /// five minutes.
    pub async fn generate_portal_link(
        &self,
        org_id: &str,
        intent: &str,
        return_url: Option<&str>,
    ) -> Result<String, WorkosError> {
        #[derive(Serialize)]
        struct Body<'a> {
            organization: &'a str,
            intent: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            return_url: Option<&'a str>,
        }
        #[derive(serde::Deserialize)]
        struct Link {
            link: String,
        }
        let body = Body { organization: org_id, intent, return_url };
        let answer: Link = self.call(Method::POST, "/portal/generate_link", &[], Some(&body)).await?;
        Ok(answer.link)
    }

    /// Deletes an organization (WorkOS deletes its memberships with it); one that is gone already
    /// counts as deleted.
    pub async fn delete_organization(&self, org_id: &str) -> Result<(), WorkosError> {
        self.delete(&format!("/organizations/{}", encode(org_id))).await
    }

    /// Every item of a list, following its pages (100 items each).
    pub(super) async fn list_all<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, WorkosError> {
        let mut all = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut page_query = query.to_vec();
            page_query.push(("limit", "100"));
            if let Some(cursor) = &after {
                page_query.push(("after", cursor));
            }
            let page: ListPage<T> = self.call(Method::GET, path, &page_query, None::<&()>).await?;
            all.extend(page.data);
            match page.list_metadata.after {
                Some(next) if !next.is_empty() => after = Some(next),
                _ => return Ok(all),
            }
        }
    }

    /// A DELETE of `path`, where what is gone already counts as deleted (so a retry succeeds).
    pub(super) async fn delete(&self, path: &str) -> Result<(), WorkosError> {
        match self.call::<serde::de::IgnoredAny, ()>(Method::DELETE, path, &[], None).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_not_found() => Ok(()),
            Err(error) => Err(error),
        }
    }

    pub(super) async fn call<T: DeserializeOwned, B: Serialize>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&B>,
    ) -> Result<T, WorkosError> {
        let api_key = self.api_key.as_deref().ok_or(WorkosError::NotConfigured)?;
        let url = format!("{}{}", self.base_url, path);
        let build = || {
            let request = self.http.get().request(method.clone(), &url).bearer_auth(api_key).query(query);
            match body {
                Some(body) => request.json(body),
                None => request,
            }
        };
        let bytes = match outbound::send("WorkOS", &method, path, self.patience, build).await {
            Ok(bytes) => bytes,
            Err(Failure::Status { status, body, request_id }) => {
                let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
                let code = parsed.and_then(|b| b.code.or(b.error)).unwrap_or_default();
                return Err(WorkosError::Status { status, code, request_id: request_id.unwrap_or_default() });
            }
            Err(Failure::RetryAfter(wait)) => {
                let code = format!("rate_limited, retry after {wait:?}");
                return Err(WorkosError::Status { status: 429, code, request_id: String::new() });
            }
            Err(Failure::Transport(error)) => return Err(WorkosError::Transport(error)),
        };
        // DELETE answers 204 with no body.
        let bytes = if bytes.is_empty() { bytes::Bytes::from_static(b"null") } else { bytes };
        // serde's message can quote the answer; its category and position cannot.
        serde_json::from_slice(&bytes).map_err(|e| {
            WorkosError::Decode(format!(
                "{method} {path}: {:?} at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            ))
        })
    }
}

/// Percent-encodes a path segment (ids are URL-safe already; external ids may not be).
pub(super) fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
