//! Logs (text, or JSON lines with `KPSS_LOG_FORMAT=json`) and, with the
//! `otlp` cargo feature, traces exported over OTLP.

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the process's subscriber: the `KPSS_LOG` filter, logs to stderr.
/// Lines are written by a thread of their own, in batches (one line a request
/// would otherwise cost each request a write to stderr); none is dropped, and
/// the guard returned writes what is left when it is dropped.
pub fn init(format: LogFormat) -> WorkerGuard {
    let (stderr, guard) = NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let filter = EnvFilter::try_from_env("KPSS_LOG").unwrap_or_else(|_| "info".into());
    let logs = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(stderr)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_writer(stderr)
            .boxed(),
    };
    let registry = tracing_subscriber::registry().with(filter).with(logs);
    #[cfg(feature = "otlp")]
    let registry = registry.with(otlp::layer());
    registry.init();
    guard
}

#[cfg(feature = "otlp")]
mod otlp {
    use opentelemetry::trace::TracerProvider as _;
    use tracing_subscriber::Layer;

    /// Spans exported in batches over OTLP/HTTP; where to is read by the
    /// exporter from the standard `OTEL_EXPORTER_OTLP_*` variables.
    pub fn layer<S>() -> Option<impl Layer<S>>
    where
        S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()
            .map_err(|e| eprintln!("kpss: OTLP exporter not started: {e}"))
            .ok()?;
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("kpss")
            .build();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("kpss");
        opentelemetry::global::set_tracer_provider(provider);
        Some(tracing_opentelemetry::layer().with_tracer(tracer))
    }
}
