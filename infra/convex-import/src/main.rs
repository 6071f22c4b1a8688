//! `convex-import SNAPSHOT.zip [--apply] [--fields map.json] [--concurrency N]`: the report
//! (JSON) on stdout, a summary and progress on stderr. Exit 0: done (the report says what was
//! skipped and why); 1: stopped by a failure (run it again to finish); 2: bad arguments, or not
//! a Convex snapshot. Settings as the functions take them (TABLE_NAME, WORKOS_API_KEY, …).

use std::path::PathBuf;
use std::process::ExitCode;

use convex_import::rows::FieldMap;
use convex_import::run::{Options, import};
use convex_import::snapshot::Snapshot;

const USAGE: &str = "usage: convex-import SNAPSHOT.zip [--apply] [--fields map.json] [--concurrency N]";

fn arguments() -> Result<(PathBuf, Options), String> {
    let (mut snapshot, mut options) = (None, Options { apply: false, fields: FieldMap::default(), concurrency: 16 });
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--apply" => options.apply = true,
            "--fields" => {
                let path = args.next().ok_or("--fields needs a file")?;
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
                options.fields = FieldMap::parse(&text)?;
            }
            "--concurrency" => {
                let n = args.next().and_then(|n| n.parse().ok()).filter(|n| (1..=64).contains(n));
                options.concurrency = n.ok_or("--concurrency needs a number from 1 to 64")?;
            }
            other if other.starts_with('-') || snapshot.is_some() => return Err(format!("unknown argument {other}")),
            other => snapshot = Some(PathBuf::from(other)),
        }
    }
    Ok((snapshot.ok_or("no snapshot given")?, options))
}

#[tokio::main]
async fn main() -> ExitCode {
    shared::telemetry::init_on_stderr();
    let (path, options) = match arguments() {
        Ok(parsed) => parsed,
        Err(why) => {
            eprintln!("{why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut snapshot = match Snapshot::open(&path) {
        Ok(snapshot) => snapshot,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let deps = match shared::Deps::from_env().await {
        Ok(deps) => deps,
        Err(error) => {
            eprintln!("configuration: {error}");
            return ExitCode::from(2);
        }
    };
    let mut progress = |line: &str| eprintln!("{line}");
    match import(&deps, &mut snapshot, &options, &mut progress).await {
        Ok(report) => {
            println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
            eprintln!("{}", report.summary());
            ExitCode::SUCCESS
        }
        // Past `Snapshot::open`, a snapshot that cannot be read may have been half imported:
        // that is a stop (1), finished by a run on a readable copy, not a refusal (2).
        Err(error) => {
            eprintln!("the import stopped: {error}");
            ExitCode::FAILURE
        }
    }
}
