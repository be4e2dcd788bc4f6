//! The signals PID 1 handles, waited for with a timeout: each handler sets a
//! flag and writes to a self-pipe that `wait` polls (signal-hook's handlers,
//! so no `unsafe` here).

use std::io;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::pipe::PipeFlags;
use signal_hook::consts::signal::{SIGCHLD, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};

use crate::sys::Signal;

/// Stop signals first: a stop must not wait behind a stream of SIGCHLD.
const ORDER: [(i32, Signal); 5] = [
    (SIGTERM, Signal::Term),
    (SIGINT, Signal::Int),
    (SIGUSR1, Signal::Usr1),
    (SIGUSR2, Signal::Usr2),
    (SIGCHLD, Signal::Child),
];

#[derive(Debug)]
pub struct Signals {
    flags: Vec<(Arc<AtomicBool>, Signal)>,
    wake: OwnedFd,
}

impl Signals {
    /// Installs the handlers. The kernel drops signals to PID 1 that have no
    /// handler, so this comes first: a SIGTERM sent while booting is then
    /// kept, not lost.
    pub fn new() -> io::Result<Signals> {
        let (read, write) = rustix::pipe::pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        let mut flags = Vec::new();
        for (raw, signal) in ORDER {
            let flag = Arc::new(AtomicBool::new(false));
            signal_hook::flag::register(raw, Arc::clone(&flag))?;
            signal_hook::low_level::pipe::register(raw, write.try_clone()?)?;
            flags.push((flag, signal));
        }
        Ok(Signals { flags, wake: read })
    }

    fn take(&self) -> Option<Signal> {
        self.flags
            .iter()
            .find(|(flag, _)| flag.swap(false, Ordering::SeqCst))
            .map(|(_, s)| *s)
    }

    pub fn wait(&mut self, timeout: Option<Duration>) -> Option<Signal> {
        if let Some(s) = self.take() {
            return Some(s);
        }
        let timespec = timeout.map(|t| Timespec {
            tv_sec: i64::try_from(t.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(t.subsec_nanos()),
        });
        let mut fds = [PollFd::new(&self.wake, PollFlags::IN)];
        // EINTR is a wakeup like any other.
        let _ = rustix::event::poll(&mut fds, timespec.as_ref());
        let mut buf = [0u8; 64];
        while matches!(rustix::io::read(&self.wake, &mut buf), Ok(n) if n > 0) {}
        self.take()
    }
}
