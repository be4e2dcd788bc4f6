//! What an interrupted command leaves behind. Temporary folders and files
//! remove themselves when dropped, but a signal ends the process without
//! running any drop: paths registered here are removed when SIGINT or
//! SIGTERM arrives, and the process then exits with 128 + the signal, as a
//! shell reports it.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once};

static PATHS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

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
            if let Some(signal) = signals.forever().next() {
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
