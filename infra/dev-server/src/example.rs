//! `/_local/example/`: the TypeScript client's example page (`clients/typescript/example`,
//! bundled by `npm run build:example`), served by the local gateway so that the page and the
//! API it calls run together. Local only; three fixed files, nothing else from disk.

use std::path::PathBuf;

use http::StatusCode;
use lambda_http::{Body, Response};

pub const PREFIX: &str = "/_local/example";

/// Where the bundle is: `EXAMPLE_DIR`, or the repository's `clients/typescript/example/dist`.
fn bundle_dir() -> PathBuf {
    std::env::var_os("EXAMPLE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../clients/typescript/example/dist"))
}

/// The answer to a GET under [`PREFIX`]; `None` for any other path.
pub fn serve(path: &str) -> Option<Response<Body>> {
    let rest = path.strip_prefix(PREFIX)?;
    let (file, content_type) = match rest {
        // Relative URLs in the page (./app.js) need the trailing slash.
        "" => return Some(answer(StatusCode::MOVED_PERMANENTLY, Some(("location", "/_local/example/")), Body::Empty)),
        "/" | "/index.html" => ("index.html", "text/html; charset=utf-8"),
        "/app.js" => ("app.js", "text/javascript; charset=utf-8"),
        "/app.js.map" => ("app.js.map", "application/json"),
        _ => return Some(missing("no such file in the example page")),
    };
    Some(match std::fs::read(bundle_dir().join(file)) {
        Ok(bytes) => answer(StatusCode::OK, Some(("content-type", content_type)), Body::Binary(bytes)),
        Err(_) => missing("the example page is not built: cd clients/typescript && npm run build:example"),
    })
}

fn missing(why: &str) -> Response<Body> {
    answer(StatusCode::NOT_FOUND, Some(("content-type", "text/plain; charset=utf-8")), Body::Text(why.to_owned()))
}

fn answer(status: StatusCode, header: Option<(&str, &str)>, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if let Some((name, value)) = header {
        if let (Ok(name), Ok(value)) = (http::HeaderName::try_from(name), http::HeaderValue::try_from(value)) {
            response.headers_mut().insert(name, value);
        }
    }
    response.headers_mut().insert(http::header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_only_its_own_files() {
        assert!(serve("/customers").is_none());
        assert_eq!(serve("/_local/example").map(|r| r.status()), Some(StatusCode::MOVED_PERMANENTLY));
        for path in ["/_local/example/../../Cargo.toml", "/_local/example/%2e%2e/x", "/_local/example/dist/app.js"] {
            assert_eq!(serve(path).map(|r| r.status()), Some(StatusCode::NOT_FOUND), "{path}");
        }
    }
}
