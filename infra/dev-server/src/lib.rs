//! The local gateway: every function's handler behind one HTTP server, routed as API Gateway
//! routes them (the route table is generated from `template.yaml` by `build.rs`), with CORS and
//! `POST /_local/invoke/{function}` for functions that are not HTTP routes.

use std::collections::HashMap;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
};
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt, Response};
use shared::api::http::Handler;
use shared::api::lambda::EventHandler;
use shared::{ApiError, Deps};

pub mod example;
pub mod live;
pub mod table;

/// One HTTP route: as in `template.yaml`, the function (binary) that serves it and its handler.
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub function: &'static str,
    pub handler: Handler,
}

include!(concat!(env!("OUT_DIR"), "/routes.rs"));

/// Matches `path` against a route pattern such as `/users/{userId}`, giving its parameters.
fn match_path(pattern: &str, path: &str) -> Option<HashMap<String, String>> {
    let mut params = HashMap::new();
    let mut pattern_parts = pattern.trim_matches('/').split('/');
    let mut path_parts = path.trim_matches('/').split('/');
    loop {
        match (pattern_parts.next(), path_parts.next()) {
            (None, None) => return Some(params),
            (Some(want), Some(have)) => {
                if let Some(name) = want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                    if have.is_empty() {
                        return None;
                    }
                    params.insert(name.to_owned(), percent_decode(have)?);
                } else if want != have {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The route that serves `method` and `path`, with its path parameters.
fn route_for(method: &Method, path: &str) -> Option<(Route, HashMap<String, String>)> {
    routes().into_iter().find_map(|route| {
        let params = match_path(route.path, path)?;
        (route.method == method).then_some((route, params))
    })
}

/// The function (binary) that serves `method` and `path`, if any.
pub fn function_for(method: &Method, path: &str) -> Option<&'static str> {
    route_for(method, path).map(|(route, _)| route.function)
}

/// Routes one HTTP request to its function's handler, shaped as API Gateway (HTTP API, payload
/// format 2.0) would hand it over. Unknown routes answer 404 as API Gateway does.
pub async fn dispatch(deps: &Deps, request: http::Request<Bytes>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let Some((route, params)) = route_for(request.method(), &path) else {
        return shared::api::http::problem(&ApiError::NotFound);
    };
    let query: HashMap<String, Vec<String>> = request
        .uri()
        .query()
        .map(|query| {
            let mut map: HashMap<String, Vec<String>> = HashMap::new();
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                let decode = |s: &str| percent_decode(&s.replace('+', " ")).unwrap_or_default();
                map.entry(decode(name)).or_default().push(decode(value));
            }
            map
        })
        .unwrap_or_default();
    let (parts, bytes) = request.into_parts();
    let body = if bytes.is_empty() {
        Body::Empty
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) => Body::Text(text),
            Err(error) => Body::Binary(error.into_bytes()),
        }
    };
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.request_id = Some(ulid::Ulid::new().to_string());
    context.route_key = Some(format!("{} {}", route.method, route.path));
    let mut description = ApiGatewayV2httpRequestContextHttpDescription::default();
    description.method = parts.method.clone();
    description.path = Some(path);
    context.http = description;
    let request = lambda_http::Request::from_parts(parts, body)
        .with_path_parameters(params)
        .with_query_string_parameters(query)
        .with_request_context(RequestContext::ApiGatewayV2(context));
    shared::api::http::run(deps, &request, route.handler).await
}

/// The bytes of a handler's response body.
pub fn body_bytes(body: Body) -> Vec<u8> {
    match body {
        Body::Empty => Vec::new(),
        Body::Text(text) => text.into_bytes(),
        Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    }
}

/// CORS as the deployed HTTP API answers it, for the origins the local stack allows.
pub struct Cors {
    pub allowed_origins: Vec<String>,
}

impl Cors {
    pub const ALLOW_METHODS: &'static str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
    pub const ALLOW_HEADERS: &'static str = "authorization, content-type, idempotency-key";

    pub fn from_list(list: &str) -> Self {
        Self { allowed_origins: list.split(',').map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned).collect() }
    }

    fn allowed<'a>(&self, headers: &'a http::HeaderMap) -> Option<&'a HeaderValue> {
        let origin = headers.get(header::ORIGIN)?;
        self.allowed_origins.iter().any(|o| o.as_bytes() == origin.as_bytes()).then_some(origin)
    }

    /// The answer to a preflight request, if this is one.
    pub fn preflight(&self, method: &Method, headers: &http::HeaderMap) -> Option<Response<Body>> {
        if method != Method::OPTIONS || !headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
            return None;
        }
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::NO_CONTENT;
        if let Some(origin) = self.allowed(headers) {
            let h = response.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(Self::ALLOW_METHODS));
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(Self::ALLOW_HEADERS));
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
            h.insert(header::VARY, HeaderValue::from_static("origin"));
        }
        Some(response)
    }

    /// Adds the CORS headers of an actual (non-preflight) response.
    pub fn decorate(&self, request_headers: &http::HeaderMap, response: &mut Response<Body>) {
        if let Some(origin) = self.allowed(request_headers) {
            let h = response.headers_mut();
            h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            h.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("location, idempotent-replayed, www-authenticate"),
            );
            h.insert(header::VARY, HeaderValue::from_static("origin"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_patterns() {
        assert_eq!(match_path("/me", "/me"), Some(HashMap::new()));
        assert_eq!(match_path("/me", "/me/"), Some(HashMap::new()));
        assert_eq!(match_path("/me", "/org"), None);
        let params = match_path("/users/{userId}", "/users/user_%31").unwrap();
        assert_eq!(params["userId"], "user_1");
        assert_eq!(match_path("/users/{userId}", "/users"), None);
        assert_eq!(match_path("/users/{userId}", "/users/a/b"), None);
    }
}
