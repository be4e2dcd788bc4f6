//! [`Sys`] on the real kernel, through rustix's raw system calls and
//! signal-hook's self-pipe (no `unsafe` in this crate).

use std::ffi::CString;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::time::Duration;

use rustix::fs::{Mode, OFlags};
use rustix::process::WaitOptions;
use rustix::system::RebootCommand;
use rustix::time::ClockId;
use signal_hook::consts::signal::{SIGCHLD, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook::iterator::Signals;

use crate::sys::{Exited, Mount, Shutdown, Signal, Sys};

/// The running kernel.
#[derive(Debug)]
pub struct Linux {
    signals: Signals,
}

impl Linux {
    /// Installs the signal handlers. The kernel drops signals to PID 1 that
    /// have no handler, so this comes first: a SIGTERM sent while booting is
    /// then queued, not lost.
    pub fn new() -> io::Result<Linux> {
        let signals = Signals::new([SIGCHLD, SIGTERM, SIGINT, SIGUSR1, SIGUSR2])?;
        Ok(Linux { signals })
    }
}

fn signal(raw: i32) -> Option<Signal> {
    Some(match raw {
        SIGCHLD => Signal::Child,
        SIGTERM => Signal::Term,
        SIGINT => Signal::Int,
        SIGUSR1 => Signal::Usr1,
        SIGUSR2 => Signal::Usr2,
        _ => return None,
    })
}

impl Sys for Linux {
    fn uptime(&self) -> Duration {
        let t = rustix::time::clock_gettime(ClockId::Monotonic);
        Duration::new(
            u64::try_from(t.tv_sec).unwrap_or(0),
            u32::try_from(t.tv_nsec).unwrap_or(0),
        )
    }

    fn console(&mut self, line: &str) {
        // Nothing to do about a console that cannot be written to.
        let _ = writeln!(io::stdout().lock(), "{line}");
    }

    fn attach_console(&mut self) -> io::Result<()> {
        if rustix::io::fcntl_getfd(io::stdout()).is_ok() {
            return Ok(());
        }
        // No CLOEXEC: when fd 0 was closed too, open returns 0 itself, which
        // dup2 leaves as it is and children inherit.
        let fd = rustix::fs::open("/dev/console", OFlags::RDWR | OFlags::NOCTTY, Mode::empty())?;
        rustix::stdio::dup2_stdin(&fd)?;
        rustix::stdio::dup2_stdout(&fd)?;
        rustix::stdio::dup2_stderr(&fd)?;
        if fd.as_raw_fd() <= 2 {
            // It is one of 0, 1, 2 now: keep it open.
            let _ = fd.into_raw_fd();
        }
        Ok(())
    }

    fn mkdir(&mut self, path: &str) -> io::Result<()> {
        Ok(rustix::fs::mkdir(path, Mode::from_raw_mode(0o755))?)
    }

    fn mount(&mut self, m: &Mount) -> io::Result<()> {
        let data = if m.data.is_empty() {
            None
        } else {
            Some(CString::new(m.data).map_err(|_| io::ErrorKind::InvalidInput)?)
        };
        Ok(rustix::mount::mount(
            m.source,
            m.target,
            m.fstype,
            m.flags,
            data.as_deref(),
        )?)
    }

    fn read_file(&mut self, path: &str) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn set_hostname(&mut self, name: &str) -> io::Result<()> {
        Ok(rustix::system::sethostname(name.as_bytes())?)
    }

    fn disable_ctrl_alt_del(&mut self) -> io::Result<()> {
        Ok(rustix::system::reboot(RebootCommand::CadOff)?)
    }

    fn wait_signal(&mut self) -> Signal {
        // `forever` ends only if the handle is closed, which nothing does;
        // powering off then beats spinning.
        self.signals
            .forever()
            .find_map(signal)
            .unwrap_or(Signal::Usr2)
    }

    fn reap(&mut self) -> Option<Exited> {
        // Ok(None): children run but none exited; Err(ECHILD): no children.
        let (pid, status) = rustix::process::waitpid(None, WaitOptions::NOHANG).ok()??;
        Some(Exited {
            pid: pid.as_raw_nonzero().get(),
            code: status.exit_status(),
        })
    }

    fn sync(&mut self) {
        rustix::fs::sync();
    }

    fn reboot(&mut self, how: Shutdown) -> io::Error {
        let cmd = match how {
            Shutdown::Halt => RebootCommand::Halt,
            Shutdown::PowerOff => RebootCommand::PowerOff,
            Shutdown::Reboot => RebootCommand::Restart,
        };
        match rustix::system::reboot(cmd) {
            Ok(()) => io::Error::other("the kernel returned from reboot(2)"),
            Err(e) => e.into(),
        }
    }
}
