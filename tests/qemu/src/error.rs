//! Why a boot test failed, with the end of the console log to read.

use std::process::ExitStatus;

/// How many console lines an error shows.
pub const TAIL_LINES: usize = 40;

#[derive(Debug, thiserror::Error)]
pub enum BootError {
    #[error("{marker:?} did not appear on the console within {seconds}s; last lines:\n{tail}")]
    Timeout {
        marker: String,
        seconds: u64,
        tail: String,
    },
    #[error("QEMU exited ({status}) before the test was done; last lines:\n{tail}")]
    QemuExited { status: ExitStatus, tail: String },
    #[error("the guest kernel panicked: {line}")]
    Panic { line: String },
    #[error("{what} failed:\n{output}")]
    Command { what: String, output: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl BootError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BootError {
        let what = what.into();
        move |source| BootError::Io { what, source }
    }
}

/// The last [`TAIL_LINES`] lines of a log.
pub fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}
