//! Logging through `tracing`: human-readable locally, JSON lines by option.
//! The filter comes from `TRELLIS_LOG` (default `info`).

use std::io::IsTerminal as _;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines; coloured only on a terminal.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// `pretty` or `json`.
    pub fn parse(s: &str) -> anyhow::Result<LogFormat> {
        match s {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            other => anyhow::bail!("log format must be pretty or json, not {other:?}"),
        }
    }
}

/// Installs the process-wide subscriber, writing to stderr (once; later
/// calls keep the first).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_env("TRELLIS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let colour = colour_on(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR"),
    );
    let _ = tracing::subscriber::set_global_default(subscriber(
        format,
        filter,
        std::io::stderr,
        colour,
    ));
}

/// Colour codes are for terminals only (in a file or a log collector they
/// are noise), and not even there when `NO_COLOR` is set (no-color.org).
fn colour_on(terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// The subscriber `init` installs, writing to `writer`; `colour` applies to
/// pretty lines only (JSON lines are never coloured).
fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    colour: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(colour && format == LogFormat::Pretty);
    match format {
        LogFormat::Json => Box::new(builder.json().finish()),
        LogFormat::Pretty => Box::new(builder.finish()),
    }
}

/// Log lines written while a test runs, for tests that check what is
/// logged.
#[cfg(test)]
#[derive(Clone, Default)]
pub(crate) struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(test)]
impl Captured {
    /// Captures the current thread's log lines (plain pretty lines) while
    /// the guard lives.
    pub(crate) fn start() -> (Captured, tracing::subscriber::DefaultGuard) {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = subscriber(
            LogFormat::Pretty,
            EnvFilter::new("info"),
            move || writer.clone(),
            false,
        );
        (out, tracing::subscriber::set_default(subscriber))
    }

    pub(crate) fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

#[cfg(test)]
impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut out) = self.0.lock() {
            out.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_one_line(format: LogFormat, colour: bool) -> String {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = subscriber(
            format,
            EnvFilter::new("info"),
            move || writer.clone(),
            colour,
        );
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(component = "store", "ready again");
        });
        out.text()
    }

    #[test]
    fn pretty_logs_carry_colour_codes_only_on_a_terminal() {
        assert!(colour_on(true, None));
        assert!(!colour_on(false, None), "a file or a pipe");
        assert!(!colour_on(true, Some("1".into())), "NO_COLOR");
        assert!(colour_on(true, Some("".into())), "an empty NO_COLOR");
        let file = log_one_line(LogFormat::Pretty, false);
        assert!(file.contains("ready again"), "{file}");
        assert!(!file.contains('\u{1b}'), "colour codes in a file: {file:?}");
        let terminal = log_one_line(LogFormat::Pretty, true);
        assert!(
            terminal.contains("\u{1b}["),
            "no colour on a terminal: {terminal:?}"
        );
    }

    #[test]
    fn json_logs_are_one_plain_object_per_line() {
        let line = log_one_line(LogFormat::Json, true);
        assert!(!line.contains('\u{1b}'), "{line:?}");
        let value: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(value["fields"]["message"], "ready again");
    }

    #[test]
    fn the_log_format_is_pretty_or_json() {
        assert_eq!(LogFormat::parse("pretty").unwrap(), LogFormat::Pretty);
        assert_eq!(LogFormat::parse("json").unwrap(), LogFormat::Json);
        assert!(LogFormat::parse("text").is_err());
    }
}
