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
    /// The guest kernel reported a CPU stall (a soft lockup or an RCU
    /// stall) and the marker never came: under TCG this is QEMU starved of
    /// host CPU, not the system under test (see [`retry_on_stall`]).
    #[error(
        "{marker:?} did not appear within {seconds}s after the guest kernel reported a CPU stall \
         ({line}); last lines:\n{tail}"
    )]
    Stall {
        marker: String,
        seconds: u64,
        line: String,
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

/// The first line of `log` in which the guest kernel reports a stalled CPU.
pub fn stall_line(log: &str) -> Option<&str> {
    const SIGNS: [&str; 3] = [
        "BUG: soft lockup",
        "rcu: INFO: rcu_",
        "detected stalls on CPUs",
    ];
    log.lines()
        .find(|l| SIGNS.iter().any(|s| l.contains(s)))
        .map(str::trim)
}

/// Runs a boot scenario, and once more when it failed only because the
/// guest kernel stalled. On a loaded 2-core host, TCG's vCPU threads can be
/// starved long enough for a guest spinlock holder to stop running; the
/// kernel then reports a stall and may not recover within the test's
/// timeout. That says nothing about cairn, so the scenario gets a second,
/// fresh boot; any other failure, or a second stall, is returned.
pub fn retry_on_stall<T>(
    scenario: &str,
    mut run: impl FnMut() -> Result<T, BootError>,
) -> Result<T, BootError> {
    match run() {
        Err(BootError::Stall { line, .. }) => {
            eprintln!("note: {scenario}: the guest kernel stalled ({line}); booting once more");
            run()
        }
        other => other,
    }
}

/// The last [`TAIL_LINES`] lines of a log.
pub fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_soft_lockup_or_rcu_stall_is_recognised_and_ordinary_lines_are_not() {
        let log = "[ 1.0] cairn: root verified\n\
                   [ 232.8] watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [containerd:212]\n";
        assert_eq!(
            stall_line(log),
            Some("[ 232.8] watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [containerd:212]")
        );
        assert!(stall_line("rcu: INFO: rcu_preempt self-detected stall on CPU").is_some());
        assert_eq!(stall_line("cairn: hello\nreboot: Power down\n"), None);
    }

    #[test]
    fn a_stalled_scenario_runs_once_more_and_other_failures_do_not() {
        let mut runs = 0;
        let stalled = || BootError::Stall {
            marker: "m".into(),
            seconds: 1,
            line: "BUG: soft lockup".into(),
            tail: String::new(),
        };
        let got = retry_on_stall("t", || {
            runs += 1;
            if runs == 1 { Err(stalled()) } else { Ok(runs) }
        });
        assert_eq!(got.ok(), Some(2));
        runs = 0;
        let got: Result<(), _> = retry_on_stall("t", || {
            runs += 1;
            Err(BootError::Panic { line: "x".into() })
        });
        assert!(matches!(got, Err(BootError::Panic { .. })));
        assert_eq!(runs, 1);
        runs = 0;
        let got: Result<(), _> = retry_on_stall("t", || {
            runs += 1;
            Err(stalled())
        });
        assert!(matches!(got, Err(BootError::Stall { .. })));
        assert_eq!(runs, 2);
    }
}
