//! `make bench`'s live-update figures (issue 22): the time from a write's answer to its frame at
//! every open socket, with 1, 100 and 1,000 sockets of one organization open on the local
//! gateway (which reads DynamoDB Local's stream and runs `live-broadcast` in process, as
//! `make dev` does). Prints JSON: per socket count, the p50 and p99 of the per-socket latencies
//! and of the time until the last socket had it. Run under `infra/scripts/services.sh`
//! (`LIVE_TEST_DYNAMODB_URL`). Knobs: `LIVE_BENCH_ROUNDS` (20), `LIVE_BENCH_SOCKETS` ("1,100,1000").

use std::time::{Duration, Instant};

use serde_json::json;
use testkit::{PATCH, POST, TestApp};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let rounds: usize = std::env::var("LIVE_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(20);
    let counts: Vec<usize> = std::env::var("LIVE_BENCH_SOCKETS")
        .unwrap_or_else(|_| "1,100,1000".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let app = TestApp::for_live().await;
    let org = app.org_fixture().await;
    let admin = org.admin.token.clone();
    let created = app.call(POST, "/customers", Some(&admin), Some(json!({"name": "Bench"}))).await;
    let customer = created.body["id"].as_str().expect("a customer").to_owned();
    let path = format!("/customers/{customer}");
    let live = app.live().await;
    let mut results = Vec::new();
    for &count in &counts {
        let mut sockets = Vec::with_capacity(count);
        for _ in 0..count {
            sockets.push(live.connect(&admin).await);
        }
        live.gateway.caught_up().await;
        let (mut each, mut last) = (Vec::new(), Vec::new());
        let mut missing = 0;
        for round in 0..rounds {
            let name = json!({"name": format!("Bench {count} {round}")});
            let answer = app.call(PATCH, &path, Some(&admin), Some(name)).await;
            assert_eq!(answer.status, 200, "{:?}", answer.body);
            let written = Instant::now();
            let arrivals =
                futures::future::join_all(sockets.iter_mut().map(|socket| async move {
                    socket.next(Duration::from_secs(10)).await.map(|_| written.elapsed())
                }))
                .await;
            let mut round_last = Duration::ZERO;
            for arrival in arrivals {
                match arrival {
                    Some(elapsed) => {
                        each.push(elapsed.as_secs_f64() * 1000.0);
                        round_last = round_last.max(elapsed);
                    }
                    None => missing += 1,
                }
            }
            last.push(round_last.as_secs_f64() * 1000.0);
        }
        each.sort_by(f64::total_cmp);
        last.sort_by(f64::total_cmp);
        results.push(json!({
            "sockets": count,
            "rounds": rounds,
            "missing": missing,
            "each_ms": {"p50": percentile(&each, 0.5), "p99": percentile(&each, 0.99)},
            "last_ms": {"p50": percentile(&last, 0.5), "p99": percentile(&last, 0.99)},
        }));
        eprintln!("{}", results.last().expect("a result"));
        drop(sockets);
    }
    println!("{}", serde_json::to_string_pretty(&json!({"live": results})).expect("json"));
}
