//! A system booting under `cairn run qemu` (TCG), its console collected as
//! it arrives so a test can wait for markers.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::build::{Built, cairn};
use crate::error::{BootError, stall_line, tail};

/// How the guest is started.
#[derive(Debug, Clone)]
pub struct Options {
    pub mem_mib: u32,
    pub cpus: u32,
    /// Host port to guest port.
    pub publish: Vec<(u16, u16)>,
    /// QEMU is killed after this long whatever happens.
    pub limit: Duration,
    /// Give the guest a software TPM (`cairn run qemu --tpm`).
    pub tpm: bool,
    /// Extra disks as `cairn run qemu --disk` takes them
    /// (`FILE[,size=N]`), kept across boots.
    pub disks: Vec<String>,
    /// Boot an ISO as a disk, as a USB stick would be (`--as-disk`).
    pub as_disk: bool,
    /// More arguments for `cairn run qemu` (e.g. `--dtb FILE`).
    pub args: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mem_mib: 1024,
            cpus: 2,
            publish: Vec::new(),
            limit: Duration::from_secs(300),
            tpm: false,
            disks: Vec::new(),
            as_disk: false,
            args: Vec::new(),
        }
    }
}

#[derive(Debug)]
pub struct Guest {
    child: Child,
    stdin: Option<ChildStdin>,
    log: Arc<Mutex<String>>,
    /// Where the next `wait_for` starts looking.
    cursor: usize,
    pub started: Instant,
}

fn collect(mut from: impl Read + Send + 'static, log: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut log) = log.lock() {
                log.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    });
}

impl Guest {
    pub fn boot(built: &Built, opts: &Options) -> Result<Guest, BootError> {
        let mut cmd = Command::new(cairn()?);
        cmd.args(["run", "qemu"])
            .arg(built.target())
            .args(["--arch", built.arch.name(), "--accel", "tcg"])
            .args(["--mem", &opts.mem_mib.to_string()])
            .args(["--cpus", &opts.cpus.to_string()])
            .args(["--timeout", &opts.limit.as_secs().to_string()]);
        if opts.tpm {
            cmd.arg("--tpm");
        }
        if opts.as_disk {
            cmd.arg("--as-disk");
        }
        for disk in &opts.disks {
            cmd.arg("--disk").arg(disk);
        }
        cmd.args(&opts.args);
        for (host, guest) in &opts.publish {
            cmd.args(["--publish", &format!("{host}:{guest}")]);
        }
        // Its own process group, so dropping the guest can end QEMU too.
        cmd.process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(BootError::io("starting cairn run qemu"))?;
        let log = Arc::new(Mutex::new(String::new()));
        if let Some(out) = child.stdout.take() {
            collect(out, Arc::clone(&log));
        }
        if let Some(err) = child.stderr.take() {
            collect(err, Arc::clone(&log));
        }
        let stdin = child.stdin.take();
        Ok(Guest {
            child,
            stdin,
            log,
            cursor: 0,
            started: Instant::now(),
        })
    }

    /// The whole console so far.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Waits until a console line after the previous match contains
    /// `marker`; returns that line.
    pub fn wait_for(&mut self, marker: &str, timeout: Duration) -> Result<String, BootError> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.log();
            let fresh = log.get(self.cursor..).unwrap_or("");
            if let Some(line) = fresh
                .lines()
                .find(|l| l.contains("Kernel panic - not syncing"))
            {
                return Err(BootError::Panic {
                    line: line.trim().to_string(),
                });
            }
            if let Some(at) = fresh.find(marker) {
                let start = log[..self.cursor + at].rfind('\n').map_or(0, |i| i + 1);
                let end = log[self.cursor + at..]
                    .find('\n')
                    .map_or(log.len(), |i| self.cursor + at + i);
                self.cursor = end;
                return Ok(log[start..end].trim().to_string());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // The last output may still be on its way.
                std::thread::sleep(Duration::from_millis(200));
                let log = self.log();
                if log.get(self.cursor..).unwrap_or("").contains(marker) {
                    continue;
                }
                return Err(BootError::QemuExited {
                    status,
                    tail: tail(&log),
                });
            }
            if Instant::now() > deadline {
                let (marker, seconds, tail) = (marker.to_string(), timeout.as_secs(), tail(&log));
                return Err(match stall_line(&log) {
                    Some(line) => BootError::Stall {
                        marker,
                        seconds,
                        line: line.to_string(),
                        tail,
                    },
                    None => BootError::Timeout {
                        marker,
                        seconds,
                        tail,
                    },
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Types on the serial console.
    pub fn send(&mut self, text: &str) -> Result<(), BootError> {
        let stdin = self.stdin.as_mut().ok_or_else(|| BootError::Io {
            what: "typing on the console".into(),
            source: std::io::Error::other("stdin is closed"),
        })?;
        stdin
            .write_all(text.as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(BootError::io("typing on the console"))
    }

    /// Quits QEMU as a user would (Ctrl-A X on the console).
    pub fn quit(&mut self) -> Result<(), BootError> {
        self.send("\x01x")
    }

    /// Waits for `cairn run qemu` to exit.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus, BootError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self
                .child
                .try_wait()
                .map_err(BootError::io("waiting for QEMU"))?
            {
                std::thread::sleep(Duration::from_millis(200));
                return Ok(status);
            }
            if Instant::now() > deadline {
                return Err(BootError::Timeout {
                    marker: "QEMU to exit".into(),
                    seconds: timeout.as_secs(),
                    tail: tail(&self.log()),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            // The group holds cairn and the QEMU it started.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .status();
            let _ = self.child.wait();
        }
    }
}
