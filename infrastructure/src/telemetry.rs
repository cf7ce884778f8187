//! Logging through `tracing`: building the subscriber is separate from installing it, so tests
//! can send logs to a sink of their own (or nowhere).

use tracing::subscriber::set_global_default;
use tracing::Subscriber;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Builds a subscriber honouring `RUST_LOG` (default `default_filter`). A span is logged when it
/// closes, so every HTTP request leaves one line with its request id, status and latency.
/// Colours only when `ansi` (the sink is a terminal).
pub fn subscriber<W>(
    format: LogFormat,
    default_filter: &str,
    ansi: bool,
    sink: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(sink)
        .with_span_events(FmtSpan::CLOSE)
        .with_target(true)
        .with_ansi(ansi && format == LogFormat::Text);
    match format {
        LogFormat::Json => Box::new(builder.json().with_current_span(true).finish()),
        LogFormat::Text => Box::new(builder.finish()),
    }
}

/// Installs `subscriber` for the whole process; a second call is ignored (tests start several
/// servers in one process).
pub fn install(subscriber: Box<dyn Subscriber + Send + Sync>) {
    let _already_installed = set_global_default(subscriber);
}
