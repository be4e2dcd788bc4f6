//! Running QEMU with its console passed through to ours, watching the
//! kernel's last words: `reboot: Power down`, `reboot: System halted` and
//! `reboot: Restarting system` end a guest cleanly (with `-no-reboot` a
//! restart stops QEMU too); `Kernel panic - not syncing` does not, even
//! though `panic=-1` makes QEMU exit 0 after it.

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::RunError;

/// How the guest ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    PoweredOff,
    Halted,
    Rebooted,
    /// The kernel panicked; the line that said so.
    Panicked(String),
    /// QEMU exited with no last word from the kernel (Ctrl-A X, or a quiet
    /// console).
    Stopped,
    /// `timeout` passed and QEMU was killed.
    TimedOut,
}

#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub ending: Ending,
}

/// Runs `args` (program first) with stdin inherited and stdout copied to
/// ours line by line.
pub fn run(args: &[String], timeout: Option<Duration>) -> Result<Outcome, RunError> {
    let (program, rest) = args.split_first().ok_or_else(|| RunError::Console {
        source: io::Error::other("empty QEMU command"),
    })?;
    let mut child = Command::new(program)
        .args(rest)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| RunError::NoQemu {
            program: program.clone(),
            package: if program.ends_with("x86_64") {
                "qemu-system-x86"
            } else {
                "qemu-system-arm"
            },
            source,
        })?;
    let stdout = child.stdout.take().ok_or_else(|| RunError::Console {
        source: io::Error::other("QEMU has no stdout pipe"),
    })?;
    let ending: Arc<Mutex<Option<Ending>>> = Arc::default();
    let seen = Arc::clone(&ending);
    let copier = std::thread::spawn(move || -> io::Result<()> {
        let mut reader = BufReader::new(stdout);
        let mut line = Vec::new();
        let mut out = io::stdout();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return out.flush();
            }
            out.write_all(&line)?;
            out.flush()?;
            let text = String::from_utf8_lossy(&line);
            if let Some(end) = last_word(&text)
                && let Ok(mut slot) = seen.lock()
                && !matches!(*slot, Some(Ending::Panicked(_)))
            {
                *slot = Some(end);
            }
        }
    });
    let timed_out = AtomicBool::new(false);
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(source) => return Err(RunError::Console { source }),
        }
        if timeout.is_some_and(|t| started.elapsed() > t) {
            timed_out.store(true, Ordering::Relaxed);
            let _ = child.kill();
            break child
                .wait()
                .map_err(|source| RunError::Console { source })?;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    match copier.join() {
        Ok(Ok(())) => {}
        Ok(Err(source)) => return Err(RunError::Console { source }),
        Err(_) => {
            return Err(RunError::Console {
                source: io::Error::other("the console copier stopped"),
            });
        }
    }
    let ending = if timed_out.load(Ordering::Relaxed) {
        Ending::TimedOut
    } else {
        ending
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .unwrap_or(Ending::Stopped)
    };
    Ok(Outcome { status, ending })
}

/// The ending a console line announces, if any.
pub fn last_word(line: &str) -> Option<Ending> {
    if line.contains("Kernel panic - not syncing") {
        Some(Ending::Panicked(line.trim().to_string()))
    } else if line.contains("reboot: Power down") {
        Some(Ending::PoweredOff)
    } else if line.contains("reboot: System halted") {
        Some(Ending::Halted)
    } else if line.contains("reboot: Restarting system") {
        Some(Ending::Rebooted)
    } else {
        None
    }
}
