//! Request parsing and responses: JSON bodies, problem+json errors, paging parameters.

use futures::future::BoxFuture;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::Deps;
use crate::domain::ids::IdKind;
use crate::error::{ApiError, FieldError};

/// Request bodies over this size answer 413 (API.md "Conventions").
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const PROBLEM_JSON: &str = "application/problem+json";

/// An HTTP function's handler: what its `lib.rs` exports, boxed so the Lambda runtime and the
/// local gateway can hold any of them.
pub type Handler = for<'a> fn(&'a Deps, &'a Request) -> BoxFuture<'a, Result<Response<Body>, ApiError>>;

/// Runs a handler inside a span that carries the request id (auth adds org and user), and turns
/// its error into a problem+json response: the one place where that happens, for the Lambda
/// runtime and the local gateway alike.
pub async fn run(deps: &Deps, req: &Request, handler: Handler) -> Response<Body> {
    let request_id = request_id(req).unwrap_or_default();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.uri().path(),
        org_id = tracing::field::Empty,
        user_id = tracing::field::Empty,
        api_key_id = tracing::field::Empty,
    );
    async move {
        match handler(deps, req).await {
            Ok(response) => {
                tracing::info!(status = response.status().as_u16(), "answered");
                response
            }
            Err(error) => {
                match &error {
                    ApiError::Upstream(_) => {
                        tracing::error!(status = 503, cause = %crate::error::chain(&error), "upstream failure")
                    }
                    ApiError::Misconfigured(_) => {
                        tracing::error!(status = 500, cause = %crate::error::chain(&error), "the function is misconfigured")
                    }
                    other => {
                        tracing::info!(status = other.status(), code = other.code(), "refused")
                    }
                }
                problem(&error)
            }
        }
    }
    .instrument(span)
    .await
}

/// API Gateway's id of the request (none in process, where no gateway gave one).
pub fn request_id(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        lambda_http::request::RequestContext::ApiGatewayV2(ctx) => ctx.request_id.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The route API Gateway matched (`GET /customers/{customerId}`); set by the gateway, locally
/// too, never by the client.
pub fn route_key(req: &Request) -> Option<String> {
    match req.request_context_ref()? {
        lambda_http::request::RequestContext::ApiGatewayV2(ctx) => ctx.route_key.clone(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// The problem+json response of an error.
pub fn problem(error: &ApiError) -> Response<Body> {
    let mut response = raw_json(error.status(), PROBLEM_JSON, &error.problem());
    let headers = response.headers_mut();
    match error {
        ApiError::Unauthenticated(_) => {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(r#"Bearer error="invalid_token""#));
        }
        ApiError::RateLimited { retry_after, .. } => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        _ => {}
    }
    response
}

/// A JSON response with the given status.
pub fn json<T: Serialize>(status: u16, body: &T) -> Response<Body> {
    raw_json(status, "application/json", body)
}

/// 204 No Content.
pub fn no_content() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

fn raw_json<T: Serialize>(status: u16, content_type: &'static str, body: &T) -> Response<Body> {
    // Serializing our own response types cannot fail (string keys, no non-finite floats), but a
    // panic here would kill the process, so fall back to an empty object rather than unwrap.
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The raw body bytes, refusing bodies over [`MAX_BODY_BYTES`].
pub fn body_bytes(req: &Request) -> Result<&[u8], ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        #[allow(unreachable_patterns)]
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge(MAX_BODY_BYTES));
    }
    Ok(bytes)
}

/// Parses a JSON request body into `T`. Types that take request bodies use
/// `#[serde(deny_unknown_fields)]`, so unknown fields are `validation_failed` with the field named.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    parse_json(body_bytes(req)?)
}

/// Parses JSON bytes: syntax errors are `malformed_json`; wrong shapes, types and unknown fields
/// are `validation_failed` naming the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::MalformedJson("the request body is empty; a JSON object is expected".into()));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                // serde_path_to_error's path already ends in an unknown field's name; a missing
                // field is named only in the message.
                let named = unknown_field(&message).or_else(|| missing_field(&message));
                let field = match (path.as_str(), named) {
                    (".", Some(name)) => name.to_owned(),
                    (".", None) => String::new(),
                    (_, Some(name)) if message.starts_with("missing field") => format!("{path}.{name}"),
                    _ => path,
                };
                ApiError::Validation(vec![FieldError::new(field, strip_position(&message))])
            }
            _ => malformed(&inner),
        }
    })?;
    deserializer.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(error: &serde_json::Error) -> ApiError {
    ApiError::MalformedJson(format!("the request body is not valid JSON: {error}"))
}

fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

/// A path parameter that API Gateway (or the local gateway) extracted. An id that cannot be of
/// its kind (length, alphabet, prefix) is 404 at once, like an id that exists nowhere.
pub fn path_param(req: &Request, name: &str) -> Result<String, ApiError> {
    let value = req.path_parameters_ref().and_then(|params| params.first(name)).ok_or(ApiError::NotFound)?;
    match IdKind::of_param(name) {
        Some(kind) if !kind.admits(value) => Err(ApiError::NotFound),
        _ => Ok(value.to_owned()),
    }
}

/// A query string parameter.
pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref().and_then(|params| params.first(name)).map(str::to_owned)
}

/// A request header as text, if present and valid UTF-8.
pub fn header_str<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|value| value.to_str().ok())
}

/// Page size of a list request: `?limit=` 1–100, default 25.
pub fn page_limit(req: &Request) -> Result<i32, ApiError> {
    match query_param(req, "limit") {
        None => Ok(25),
        Some(text) => match text.parse::<i32>() {
            Ok(limit) if (1..=100).contains(&limit) => Ok(limit),
            _ => Err(ApiError::validation("limit", "must be a whole number from 1 to 100")),
        },
    }
}
