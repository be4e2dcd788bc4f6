//! The system calls PID 1 makes, behind a trait so that the boot sequence in
//! `boot` runs unchanged against the kernel (`linux::Linux`) and against a
//! recording fake in unit tests.

use std::io;
use std::time::Duration;

use rustix::mount::MountFlags;

/// One filesystem mount of the boot sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mount {
    pub source: &'static str,
    pub target: &'static str,
    pub fstype: &'static str,
    pub flags: MountFlags,
    /// Filesystem options, as `mount -o` takes them.
    pub data: &'static str,
    /// Whether the system cannot run without it (else a failure is a warning).
    pub required: bool,
}

/// The signals PID 1 listens to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// A child exited: reap it.
    Child,
    /// SIGTERM: reboot (busybox convention).
    Term,
    /// SIGINT: Ctrl-Alt-Del once `disable_ctrl_alt_del` ran; reboot.
    Int,
    /// SIGUSR1: halt.
    Usr1,
    /// SIGUSR2: power off.
    Usr2,
}

/// How the system stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    Halt,
    PowerOff,
    Reboot,
}

impl Shutdown {
    pub fn verb(self) -> &'static str {
        match self {
            Shutdown::Halt => "halting",
            Shutdown::PowerOff => "powering off",
            Shutdown::Reboot => "rebooting",
        }
    }
}

/// A reaped child process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exited {
    pub pid: i32,
    /// The exit code, or None when a signal ended it.
    pub code: Option<i32>,
}

/// Everything PID 1 asks of the kernel.
pub trait Sys {
    /// Monotonic time since boot, for log timestamps.
    fn uptime(&self) -> Duration;
    /// Writes one line to the console; never fails (there may be no console).
    fn console(&mut self, line: &str);
    /// Makes fds 0, 1 and 2 point at /dev/console when the kernel left them
    /// closed (an initramfs without /dev/console).
    fn attach_console(&mut self) -> io::Result<()>;
    fn mkdir(&mut self, path: &str) -> io::Result<()>;
    fn mount(&mut self, mount: &Mount) -> io::Result<()>;
    fn read_file(&mut self, path: &str) -> io::Result<String>;
    fn set_hostname(&mut self, name: &str) -> io::Result<()>;
    /// Makes Ctrl-Alt-Del send SIGINT to PID 1 instead of rebooting at once.
    fn disable_ctrl_alt_del(&mut self) -> io::Result<()>;
    /// Blocks until one of the [`Signal`]s arrives.
    fn wait_signal(&mut self) -> Signal;
    /// Reaps one exited child; None when none is waiting to be reaped.
    fn reap(&mut self) -> Option<Exited>;
    fn sync(&mut self);
    /// Stops the system; returns only when the kernel refused.
    fn reboot(&mut self, how: Shutdown) -> io::Error;
}
