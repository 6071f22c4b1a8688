//! What a warm request costs inside the function, without I/O (`make bench`): token
//! verification with the JWKS already cached, the Lemon Squeezy signature check and parse of
//! each fixture, an API Gateway event parsed into a request, and a page of 100 customers
//! serialized into the response. Criterion measures each; then each runs `SAMPLES` more times
//! timed one by one, for the per-request p50 and p99 that criterion's batched samples do not
//! give, written as JSON to `$WARM_REQUEST_OUT` (default `target/criterion/warm-request.json`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use serde_json::json;
use shared::Timestamp;
use shared::api::http;
use shared::api::views::CustomerView;
use shared::clients::outbound::LazyHttp;
use shared::clients::tokens::TokenVerifier;
use shared::config::WorkosConfig;
use shared::domain::lemonsqueezy::{Event, verify_signature};
use shared::domain::validation::CustomerFields;
use shared::store::{CustomerItem, Page};
use testkit::TestKey;

const SAMPLES: usize = 10_000;
const FIXTURES: [&str; 6] = [
    "order_created",
    "subscription_cancelled",
    "subscription_created",
    "subscription_expired",
    "subscription_payment_success",
    "subscription_updated",
];
const SECRET: &str = "bench-webhook-secret";

type Case = (String, Box<dyn Fn()>);

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let mut cases: Vec<Case> = Vec::new();

    // A JWKS served on loopback, fetched once: every verification after it is warm.
    let jwks_url = runtime.block_on(serve_jwks());
    let config = WorkosConfig {
        api_url: jwks_url.clone(),
        client_id: "client_bench".into(),
        api_key: None,
        extra_issuers: vec![],
        webhook_secret: None,
    };
    let verifier = TokenVerifier::new(LazyHttp::default(), &config);
    let now = Timestamp::now().unix_seconds();
    let token = TestKey::sign(
        &json!({"sub": "user_bench", "iss": jwks_url, "aud": "client_bench", "org_id": "org_bench",
                "sid": "session_bench", "iat": now, "exp": now + 3600}),
        None,
    );
    runtime.block_on(verifier.verify(&token)).expect("the bench token verifies");
    let runtime = std::rc::Rc::new(runtime);
    {
        let runtime = runtime.clone();
        cases.push((
            "token verification (warm JWKS)".into(),
            Box::new(move || {
                black_box(runtime.block_on(verifier.verify(black_box(&token))).is_ok());
            }),
        ));
    }

    for name in FIXTURES {
        let body = testkit::lemonsqueezy::fixture(name);
        let signature = shared::crypto::hex(&shared::crypto::hmac_sha256(SECRET.as_bytes(), &body));
        cases.push((
            format!("Lemon Squeezy {name}: signature and parse"),
            Box::new(move || {
                verify_signature(SECRET, black_box(&body), Some(&signature)).expect("signed");
                black_box(serde_json::from_slice::<Event>(&body).expect("a fixture parses"));
            }),
        ));
    }

    let event = testkit::lambda::HttpEvent::new("GET", "/customers", "/customers");
    let mut event = event;
    event.headers.push(("authorization".into(), "Bearer x.y.z".into()));
    event.query.push(("limit".into(), "100".into()));
    let event = event.to_json().to_string();
    cases.push((
        "request parsing (API Gateway v2 event)".into(),
        Box::new(move || {
            black_box(lambda_http::request::from_str(black_box(&event)).expect("an event"));
        }),
    ));

    let items: Vec<CustomerItem> = (0..100)
        .map(|i| {
            let fields = CustomerFields {
                name: format!("Customer {i:03}"),
                email: Some(format!("ops{i}@customer.example")),
                phone: Some("+1 555 0100".into()),
                notes: Some("Quarterly review in March; invoices go to the finance team.".into()),
            };
            CustomerItem::new("org_bench", fields, "user_bench", Timestamp::now())
        })
        .collect();
    // The views are built once: a handler moves its items into them (no copy), so what a
    // request pays for is the serialization.
    let page = Page { items, next_cursor: Some("c".repeat(120)) }.map(CustomerView::from);
    cases.push((
        "response serialization (100 customers)".into(),
        Box::new(move || {
            black_box(http::json(200, black_box(&page)));
        }),
    ));

    let mut criterion = Criterion::default().configure_from_args().warm_up_time(Duration::from_millis(500));
    for (name, run) in &cases {
        criterion.bench_function(name, |b| b.iter(run));
    }
    criterion.final_summary();

    let results: Vec<_> = cases.iter().map(|(name, run)| percentiles(name, run)).collect();
    let out = std::env::var("WARM_REQUEST_OUT").unwrap_or_else(|_| "target/criterion/warm-request.json".into());
    if let Some(dir) = std::path::Path::new(&out).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::write(&out, serde_json::to_vec_pretty(&results).expect("JSON")).expect("write the percentiles");
    eprintln!("warm-request: wrote {out}");
}

/// Each of `SAMPLES` runs timed alone: p50, p99 and mean in microseconds.
fn percentiles(name: &str, run: &dyn Fn()) -> serde_json::Value {
    let mut times: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let rank = |q: f64| times[((q * times.len() as f64).ceil() as usize).saturating_sub(1)];
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let round = |v: f64| (v * 100.0).round() / 100.0;
    json!({"name": name, "p50_us": round(rank(0.5)), "p99_us": round(rank(0.99)), "mean_us": round(mean),
           "iterations": SAMPLES})
}

/// Serves the test key's JWKS at `/sso/jwks/client_bench` on loopback; answers the base URL.
async fn serve_jwks() -> String {
    let jwks = json!({"keys": [TestKey::jwk()]});
    let router = axum::Router::new()
        .route("/sso/jwks/client_bench", axum::routing::get(move || async move { axum::Json(jwks) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://127.0.0.1:{}", listener.local_addr().expect("addr").port());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    url
}
