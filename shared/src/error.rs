//! The one place where failures become HTTP statuses and API error codes (API.md "Errors").

use serde::Serialize;

/// One invalid request field, reported in `errors[]` of a `validation_failed` problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// What caused a failure that a client sees only as 503 or 500: kept (`#[source]`) for the log,
/// which shows the whole chain ([`chain`]), never sent.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// An error and every source under it, `outer: inner: innermost`, for a log line.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Every way a request can fail, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("webhook signature missing or wrong")]
    InvalidSignature,
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    MalformedJson(String),
    #[error("the cursor was not issued for this list")]
    InvalidCursor,
    #[error("the plan allows no more {resource}")]
    PlanLimitReached { resource: &'static str, limit: u64, usage: u64 },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NoOrganization(String),
    /// The token selects an organization whose deletion began (403 `no_organization`).
    #[error("the organization has been deleted")]
    OrganizationDeleted,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("the organization must keep at least one admin")]
    LastAdmin,
    /// An API key's budget of requests for this minute is spent; the next window opens in
    /// `retry_after` seconds (`Retry-After`).
    #[error("this API key's budget of {limit} requests a minute is spent; retry in {retry_after} s")]
    RateLimited { limit: u32, retry_after: u64 },
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// DynamoDB, WorkOS or Lemon Squeezy failed after retries. The cause is logged, not sent.
    #[error("an upstream service is unavailable")]
    Upstream(#[source] Cause),
    /// The deployment lacks a setting this function needs (the inner text names it and is
    /// logged, not sent). The caller can do nothing about it, and nor can a retry.
    #[error("the service is misconfigured; its operators can see why in its logs")]
    Misconfigured(#[source] Cause),
}

impl ApiError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// 503 `upstream_unavailable`, caused by `cause`.
    pub fn upstream(cause: impl Into<Cause>) -> Self {
        Self::Upstream(cause.into())
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::Validation(_) | Self::MalformedJson(_) | Self::InvalidCursor => 400,
            Self::Unauthenticated(_) | Self::InvalidSignature => 401,
            Self::PlanLimitReached { .. } => 402,
            Self::Forbidden(_) | Self::NoOrganization(_) | Self::OrganizationDeleted => 403,
            Self::NotFound => 404,
            Self::Conflict(_) | Self::LastAdmin => 409,
            Self::PayloadTooLarge(_) => 413,
            Self::RateLimited { .. } => 429,
            Self::Misconfigured(_) => 500,
            Self::Upstream(_) => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "unauthenticated",
            Self::InvalidSignature => "invalid_signature",
            Self::Validation(_) => "validation_failed",
            Self::MalformedJson(_) => "malformed_json",
            Self::InvalidCursor => "invalid_cursor",
            Self::PlanLimitReached { .. } => "plan_limit_reached",
            Self::Forbidden(_) => "forbidden",
            Self::NoOrganization(_) | Self::OrganizationDeleted => "no_organization",
            Self::NotFound => "not_found",
            Self::Conflict(_) => "conflict",
            Self::LastAdmin => "last_admin",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::Misconfigured(_) => "internal_error",
            Self::Upstream(_) => "upstream_unavailable",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "Unauthenticated",
            Self::InvalidSignature => "Invalid signature",
            Self::Validation(_) => "Validation failed",
            Self::MalformedJson(_) => "Malformed JSON",
            Self::InvalidCursor => "Invalid cursor",
            Self::PlanLimitReached { .. } => "Plan limit reached",
            Self::Forbidden(_) => "Forbidden",
            Self::NoOrganization(_) | Self::OrganizationDeleted => "No organization",
            Self::NotFound => "Not found",
            Self::Conflict(_) => "Conflict",
            Self::LastAdmin => "Last admin",
            Self::PayloadTooLarge(_) => "Payload too large",
            Self::RateLimited { .. } => "Rate limited",
            Self::Misconfigured(_) => "Internal error",
            Self::Upstream(_) => "Upstream unavailable",
        }
    }

    /// The problem+json body (RFC 9457) of this error.
    pub fn problem(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "type": format!("https://errors.api.example/{}", self.code()),
            "title": self.title(),
            "status": self.status(),
            "detail": self.to_string(),
            "code": self.code(),
        });
        match self {
            Self::Validation(errors) => body["errors"] = serde_json::json!(errors),
            Self::PlanLimitReached { resource, limit, usage } => {
                body["resource"] = serde_json::json!(resource);
                body["limit"] = serde_json::json!(limit);
                body["usage"] = serde_json::json!(usage);
            }
            _ => {}
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_is_kept_for_the_log_and_never_sent() {
        let io = std::io::Error::other("connection reset by peer");
        let error = ApiError::upstream(io);
        assert_eq!(chain(&error), "an upstream service is unavailable: connection reset by peer");
        let problem = error.problem();
        assert_eq!(
            (problem["status"].as_u64(), problem["detail"].as_str()),
            (Some(503), Some("an upstream service is unavailable"))
        );
        assert!(!problem.to_string().contains("connection reset"));
    }
}
