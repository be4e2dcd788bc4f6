//! Console output: logging through `tracing`, status lines and progress bars.
//!
//! Progress bars draw only when stdout and stderr are terminals; otherwise
//! each step prints one plain line when it finishes, so logs stay readable.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// How much the user asked to see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
    Debug,
}

static VERBOSITY: OnceLock<Verbosity> = OnceLock::new();

fn verbosity() -> Verbosity {
    *VERBOSITY.get().unwrap_or(&Verbosity::Normal)
}

/// Bars only when a person watches both streams: piping stdout (to read the
/// digests cairn prints) or stderr (to keep a log) gets plain lines.
pub fn fancy() -> bool {
    verbosity() != Verbosity::Quiet
        && std::io::stdout().is_terminal()
        && std::io::stderr().is_terminal()
}

/// Sets up `tracing` (respecting `RUST_LOG`) and remembers the verbosity.
pub fn init(v: Verbosity) {
    let _ = VERBOSITY.set(v);
    let default = match v {
        Verbosity::Quiet => "error",
        Verbosity::Normal => "warn",
        Verbosity::Verbose => "cairn=info,warn",
        Verbosity::Debug => "cairn=debug,info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .with_target(false)
        .try_init();
}

/// A one-line status message on stderr, hidden by `-q`.
pub fn status(msg: impl AsRef<str>) {
    if verbosity() > Verbosity::Quiet {
        eprintln!("{}", msg.as_ref());
    }
}

/// A warning on stderr, kept even under `-q`: something the user should
/// know before relying on the result.
pub fn warn(msg: impl AsRef<str>) {
    eprintln!("warning: {}", msg.as_ref());
}

/// Prints the error and its causes once, each cause on its own line.
pub fn report_error(err: &anyhow::Error) {
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}

/// A step that may take more than a second: a bar with a byte count or a
/// spinner on a terminal, one line when done otherwise.
#[derive(Debug)]
pub struct Step {
    bar: Option<ProgressBar>,
    label: String,
    started: Instant,
}

impl Step {
    /// A step measured in bytes; `total` may be unknown.
    pub fn bytes(label: impl Into<String>, total: Option<u64>) -> Step {
        let label = label.into();
        let bar = fancy().then(|| {
            let bar = match total {
                Some(n) => ProgressBar::new(n),
                None => ProgressBar::new_spinner(),
            };
            let template = match total {
                Some(_) => {
                    "{spinner} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
                }
                None => "{spinner} {msg} {bytes} {bytes_per_sec}",
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(label.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Step {
            bar,
            label,
            started: Instant::now(),
        }
    }

    /// A step with no measurable size: a spinner.
    pub fn spinner(label: impl Into<String>) -> Step {
        Step::bytes(label, None)
    }

    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    pub fn set_length(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(n);
        }
    }

    /// Ends the step with a short outcome, e.g. "done" or "cached".
    pub fn finish(self, outcome: &str) {
        let elapsed = self.started.elapsed().as_secs_f64();
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        status(format!("{} ... {outcome} ({elapsed:.1}s)", self.label));
    }

    /// Ends the step silently, e.g. on error (the error is reported separately).
    pub fn abandon(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
