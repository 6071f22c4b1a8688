//! Structured JSON logs, one line per event, with the span's request id, org and user.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the JSON subscriber. `RUST_LOG` (or Lambda's `AWS_LAMBDA_LOG_LEVEL`) sets the level.
pub fn init() {
    // Lambda stamps every line already.
    let layer = json_layer(std::io::stdout).without_time();
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter(std::env::var("RUST_LOG").ok(), std::env::var("AWS_LAMBDA_LOG_LEVEL").ok()))
        .try_init();
}

/// The same JSON logs on stderr, with times: for command-line tools whose stdout is their answer
/// (`convex-import` prints its report there).
pub fn init_on_stderr() {
    let _ = tracing_subscriber::registry()
        .with(json_layer(std::io::stderr))
        .with(filter(std::env::var("RUST_LOG").ok(), None))
        .try_init();
}

/// One JSON line per event, with the current span's fields (request id, org, user).
fn json_layer<S, W>(
    writer: W,
) -> tracing_subscriber::fmt::Layer<
    S,
    tracing_subscriber::fmt::format::JsonFields,
    tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json>,
    W,
>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer)
}

/// The filter `RUST_LOG` names (`info`, or per target: `shared=debug,warn`; targets it does not
/// name stay at `info` unless it names a default), else the level
/// `AWS_LAMBDA_LOG_LEVEL` names, else `info`. `Targets` takes the same directives as the
/// `env-filter` feature's filter without its regex engine, which a cold start would load and
/// the zip would carry.
fn filter(rust_log: Option<String>, lambda_level: Option<String>) -> Targets {
    let info = Targets::new().with_default(LevelFilter::INFO);
    if let Some(directives) = rust_log.and_then(|d| d.to_lowercase().parse::<Targets>().ok()) {
        // Directives that name only some targets (`shared=debug`) keep the others at `info`,
        // so that a narrow RUST_LOG never silences a function.
        return match directives.default_level() {
            Some(_) => directives,
            None => directives.with_default(LevelFilter::INFO),
        };
    }
    match lambda_level.and_then(|level| level.to_lowercase().parse::<LevelFilter>().ok()) {
        Some(level) => Targets::new().with_default(level),
        None => info,
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn levels_come_from_rust_log_then_lambda_then_info() {
        let f = filter(Some("shared=debug,warn".into()), Some("error".into()));
        assert!(f.would_enable("shared::store", &Level::DEBUG));
        assert!(!f.would_enable("hyper", &Level::INFO));
        let f = filter(None, Some("DEBUG".into()));
        assert!(f.would_enable("anything", &Level::DEBUG));
        let f = filter(Some("shared=debug".into()), None);
        assert!(f.would_enable("shared", &Level::DEBUG) && f.would_enable("hyper", &Level::INFO));
        assert!(!f.would_enable("hyper", &Level::DEBUG));
        let f = filter(Some("shared=loud".into()), Some("nonsense".into()));
        assert!(f.would_enable("anything", &Level::INFO) && !f.would_enable("anything", &Level::DEBUG));
    }
}
