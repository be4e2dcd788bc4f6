//! What an interrupted command leaves behind. Temporary folders and files
//! remove themselves when dropped, but a signal ends the process without
//! running any drop: paths registered here are removed when SIGINT or
//! SIGTERM arrives, and the process then exits with 128 + the signal, as a
//! shell reports it. Code that must stop at a safe point instead (writing a
//! disk) holds a [`Deferred`]: the first signal is recorded for it to see,
//! and only a second one ends the process at once.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, Once};

static PATHS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static DEFERRED: Mutex<Vec<Arc<AtomicI32>>> = Mutex::new(Vec::new());

/// While this is alive, SIGINT and SIGTERM do not end the process: the
/// first one is recorded here, for the holder to stop at its next safe
/// point. A second signal ends the process as usual.
#[derive(Debug)]
pub struct Deferred(Arc<AtomicI32>);

impl Deferred {
    /// The signal that arrived since this was made, if any.
    pub fn signal(&self) -> Option<i32> {
        match self.0.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n),
        }
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        let mut all = DEFERRED.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|d| !Arc::ptr_eq(d, &self.0));
    }
}

/// Defers SIGINT and SIGTERM to the caller while the result is alive.
pub fn defer() -> Deferred {
    let flag = Arc::new(AtomicI32::new(0));
    DEFERRED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Arc::clone(&flag));
    Deferred(flag)
}

/// Records `signal` for every holder of a [`Deferred`]; false when there
/// is none, or one had already seen a signal (the user insists).
fn deferred(signal: i32) -> bool {
    let all = DEFERRED.lock().unwrap_or_else(|p| p.into_inner());
    !all.is_empty()
        && all.iter().all(|d| {
            d.compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        })
}

/// A path removed on a signal while this is alive.
#[derive(Debug)]
pub struct Registered(PathBuf);

impl Drop for Registered {
    fn drop(&mut self) {
        let mut paths = PATHS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = paths.iter().rposition(|p| *p == self.0) {
            paths.remove(at);
        }
    }
}

/// Registers `path` (a file or a folder) for removal on a signal.
pub fn register(path: &Path) -> Registered {
    PATHS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(path.to_path_buf());
    Registered(path.to_path_buf())
}

/// Starts the thread that waits for SIGINT and SIGTERM; once per process.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            return;
        };
        std::thread::spawn(move || {
            for signal in signals.forever() {
                if deferred(signal) {
                    continue;
                }
                let paths = PATHS.lock().unwrap_or_else(|p| p.into_inner());
                for path in paths.iter().rev() {
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(path)
                    } else {
                        std::fs::remove_file(path)
                    };
                }
                eprintln!(
                    "\ninterrupted: removed {} temporary files and folders",
                    paths.len()
                );
                std::process::exit(128 + signal);
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deferred_signal_is_recorded_once_and_a_second_one_is_not_deferred() {
        assert!(!deferred(2), "nothing defers yet");
        let held = defer();
        assert_eq!(held.signal(), None);
        assert!(deferred(2));
        assert_eq!(held.signal(), Some(2));
        assert!(!deferred(15), "the user insists");
        drop(held);
        assert!(!deferred(2));
    }
}
