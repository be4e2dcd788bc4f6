//! The system calls PID 1 makes, behind small role traits (console, files,
//! kernel, processes, containerd, network, TPM, device-mapper, block
//! devices) so that the boot sequence runs unchanged against the kernel
//! (`linux::Linux`) and against a recording fake in unit tests
//! (`fake::Fake`). [`Sys`] is every role at once.

use rustix::mount::MountFlags;

mod block;
mod console;
mod containerd;
mod device_mapper;
mod files;
mod kernel;
mod network;
mod processes;
mod tpm;

pub use block::BlockDevices;
pub use console::Console;
pub use containerd::Containerd;
pub use device_mapper::{DeviceMapper, Target};
pub use files::Files;
pub use kernel::Kernel;
pub use network::Network;
pub use processes::Processes;
pub use tpm::Tpm;

/// mount(2)'s MS_REMOUNT, which rustix's MountFlags leaves out.
pub const MS_REMOUNT: u32 = 32;

/// One filesystem mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mount<'a> {
    pub source: &'a str,
    pub target: &'a str,
    pub fstype: &'a str,
    pub flags: MountFlags,
    /// Filesystem options, as `mount -o` takes them.
    pub data: &'a str,
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

    pub fn noun(self) -> &'static str {
        match self {
            Shutdown::Halt => "halt",
            Shutdown::PowerOff => "poweroff",
            Shutdown::Reboot => "reboot",
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

/// How a process that ran to completion ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Code(i32),
    Signal(i32),
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Status::Code(c) => write!(f, "{c}"),
            Status::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// A containerd task of a service, as containerd lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub name: String,
    /// Still created or running (not stopped).
    pub alive: bool,
}

/// A network interface to create, as `ip link add` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewLink<'a> {
    /// `veth`, `wireguard`, `dummy`, ...: the kernel's link kind.
    pub kind: &'a str,
    pub name: &'a str,
    /// The other end of a veth pair; it stays in the root namespace.
    pub peer: Option<&'a str>,
    /// Creates it right in the network namespace of this process (else in
    /// the root namespace).
    pub netns_pid: Option<u32>,
}

/// Everything PID 1 asks of the kernel and of containerd: every role at
/// once, for the boot sequence that needs them all. Code that needs one role
/// names that role instead, and each has its recording fake (`fake/`).
pub trait Sys:
    Console + Files + Kernel + Processes + Containerd + Network + Tpm + DeviceMapper + BlockDevices
{
}

impl<
    T: Console + Files + Kernel + Processes + Containerd + Network + Tpm + DeviceMapper + BlockDevices,
> Sys for T
{
}
