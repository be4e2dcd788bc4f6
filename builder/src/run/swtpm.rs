//! A software TPM 2.0 for the guest: `swtpm` serving QEMU's `tpm-emulator`
//! backend over a control socket. `--terminate` makes it exit when QEMU
//! closes the connection; dropping [`Swtpm`] kills it in any case, so an
//! error before QEMU starts leaves no process behind. It stays in cairn's
//! process group, so a signal to the group (Ctrl-C in a shell, a test
//! harness ending the group) reaches it too.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::RunError;

/// How long swtpm may take to create its socket.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running swtpm, killed on drop.
#[derive(Debug)]
pub struct Swtpm {
    child: Child,
    socket: PathBuf,
}

/// swtpm's arguments, program first: state in `state`, control socket at
/// `socket`, TPM2_Startup done by swtpm itself so the firmware finds a
/// started TPM.
pub fn args(state: &Path, socket: &Path) -> Vec<String> {
    [
        "swtpm",
        "socket",
        "--tpm2",
        "--tpmstate",
        &format!("dir={}", state.display()),
        "--ctrl",
        &format!("type=unixio,path={}", socket.display()),
        "--terminate",
        "--flags",
        "startup-clear",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl Swtpm {
    /// Starts swtpm and waits until its socket exists. Its messages go to
    /// `log`, quoted in the error if it stops early.
    pub fn start(state: &Path, socket: &Path, log: &Path) -> Result<Swtpm, RunError> {
        fs::create_dir_all(state).map_err(|source| RunError::WorkDir {
            path: state.to_path_buf(),
            source,
        })?;
        let log_file = File::create(log).map_err(|source| RunError::WorkDir {
            path: log.to_path_buf(),
            source,
        })?;
        let argv = args(state, socket);
        let (program, rest) = argv.split_first().ok_or_else(|| RunError::Swtpm {
            why: "empty command".into(),
        })?;
        let child = Command::new(program)
            .args(rest)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|source| match source.kind() {
                io::ErrorKind::NotFound => RunError::NoSwtpm { source },
                _ => RunError::Swtpm {
                    why: source.to_string(),
                },
            })?;
        let mut tpm = Swtpm {
            child,
            socket: socket.to_path_buf(),
        };
        let started = Instant::now();
        loop {
            if tpm.socket.exists() {
                return Ok(tpm);
            }
            let said = || {
                fs::read_to_string(log)
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            };
            match tpm.child.try_wait() {
                Ok(Some(status)) => {
                    return Err(RunError::Swtpm {
                        why: format!("it exited ({status}): {}", said()),
                    });
                }
                Ok(None) if started.elapsed() < START_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) => {
                    return Err(RunError::Swtpm {
                        why: format!(
                            "no socket at {} after {}s: {}",
                            socket.display(),
                            START_TIMEOUT.as_secs(),
                            said()
                        ),
                    });
                }
                Err(e) => {
                    return Err(RunError::Swtpm { why: e.to_string() });
                }
            }
        }
    }

    /// The control socket QEMU connects to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swtpm_serves_tpm2_on_a_control_socket_and_ends_with_qemu() {
        let argv = args(Path::new("/s"), Path::new("/s/sock"));
        assert_eq!(
            argv.join(" "),
            "swtpm socket --tpm2 --tpmstate dir=/s --ctrl type=unixio,path=/s/sock \
             --terminate --flags startup-clear"
        );
    }

    #[test]
    fn a_started_swtpm_creates_its_socket_and_is_gone_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("sock");
        let tpm = Swtpm::start(&dir.path().join("state"), &socket, &dir.path().join("log"))
            .expect("swtpm starts (Debian: swtpm)");
        assert_eq!(tpm.socket(), socket);
        let pid = tpm.child.id();
        drop(tpm);
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "swtpm {pid} still runs"
        );
    }
}
