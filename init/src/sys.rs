//! The system calls PID 1 makes, behind a trait so that the boot sequence
//! runs unchanged against the kernel (`linux::Linux`) and against a recording
//! fake in unit tests (`fake::Fake`).

use std::io;
use std::time::Duration;

use rustix::mount::MountFlags;

use crate::dm;

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

/// Mounts `m`. mount(2) ignores MS_RDONLY on a new bind mount, so a
/// read-only bind is remounted read-only; when that fails the bind is
/// removed again, never left writable.
pub fn mount_bind_aware(sys: &mut impl Sys, m: &Mount<'_>) -> io::Result<()> {
    sys.mount(m)?;
    if !m.flags.contains(MountFlags::BIND.union(MountFlags::RDONLY)) {
        return Ok(());
    }
    let remount = Mount {
        flags: m.flags.union(MountFlags::from_bits_retain(MS_REMOUNT)),
        ..*m
    };
    sys.mount(&remount).inspect_err(|_| {
        let _ = sys.unmount(m.target);
    })
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

/// Everything PID 1 asks of the kernel and of containerd.
pub trait Sys {
    /// Monotonic time since boot, for log timestamps and restart delays.
    fn uptime(&self) -> Duration;
    /// Writes one line to the console; never fails (there may be no console).
    fn console(&mut self, line: &str);
    /// Makes fds 0, 1 and 2 point at /dev/console when the kernel left them
    /// closed (an initramfs without /dev/console).
    fn attach_console(&mut self) -> io::Result<()>;
    /// Creates a directory and its missing parents; an existing one is fine.
    fn mkdir(&mut self, path: &str) -> io::Result<()>;
    fn mount(&mut self, mount: &Mount<'_>) -> io::Result<()>;
    fn read_file(&mut self, path: &str) -> io::Result<String>;
    fn write_file(&mut self, path: &str, contents: &str) -> io::Result<()>;
    fn exists(&mut self, path: &str) -> bool;
    fn remove_file(&mut self, path: &str) -> io::Result<()>;
    /// The names in a directory, sorted bytewise.
    fn list_dir(&mut self, path: &str) -> io::Result<Vec<String>>;
    fn set_hostname(&mut self, name: &str) -> io::Result<()>;
    /// Makes Ctrl-Alt-Del send SIGINT to PID 1 instead of rebooting at once.
    fn disable_ctrl_alt_del(&mut self) -> io::Result<()>;

    /// The filesystem type of `/`: `rootfs` while running from the initramfs.
    fn root_fstype(&mut self) -> io::Result<String>;
    /// Moves every file of `/` (other filesystems mounted on it excluded) into
    /// `new_root`, one file at a time; returns how many entries moved.
    fn move_root(&mut self, new_root: &str) -> io::Result<u64>;
    /// Makes `new_root` the root and executes this init again from it.
    /// Returns only when that failed.
    fn switch_root(&mut self, new_root: &str) -> io::Error;
    /// `uname -r`.
    fn kernel_release(&mut self) -> String;
    /// Loads one kernel module file with finit_module(2).
    fn load_module(&mut self, path: &str) -> io::Result<()>;
    /// Sets the loopback interface up.
    fn loopback_up(&mut self) -> io::Result<()>;

    /// Runs a program to completion, its stdio on the console.
    fn run(&mut self, argv: &[&str]) -> io::Result<Status>;
    /// Starts a program in the background, its stdout and stderr appended
    /// to those files (the same file for both is one open file).
    fn spawn(&mut self, argv: &[&str], stdout: &str, stderr: &str) -> io::Result<i32>;
    /// kill(2); pid -1 is every process but PID 1.
    fn kill(&mut self, pid: i32, signal: i32) -> io::Result<()>;
    /// Blocks until a signal arrives or `timeout` passes (None: forever).
    fn wait_signal(&mut self, timeout: Option<Duration>) -> Option<Signal>;
    /// Reaps one exited child; None when none is waiting to be reaped.
    fn reap(&mut self) -> Option<Exited>;
    /// Whether any child process is left, exited or not.
    fn has_children(&mut self) -> bool;

    /// Connects to containerd's socket and asks its version.
    fn containerd_ready(&mut self, socket: &str) -> io::Result<()>;
    /// Creates (or creates again) the container `name` in the containerd
    /// namespace `ns` from the OCI bundle at `bundle`, with no snapshotter:
    /// its rootfs is `bundle/rootfs`.
    fn service_create(&mut self, ns: &str, name: &str, bundle: &str) -> io::Result<()>;
    /// Creates the task of container `name`, its stdout and stderr to the
    /// console and `/var/log/NAME.log`; returns its pid. The process waits
    /// for [`Sys::service_start`], so the runtime steps that need a pid
    /// (interfaces, bindNS) go in between.
    fn service_task(&mut self, ns: &str, name: &str) -> io::Result<u32>;
    /// Starts the created task of container `name`.
    fn service_start(&mut self, ns: &str, name: &str) -> io::Result<()>;
    /// The tasks containerd knows in namespace `ns`.
    fn service_tasks(&mut self, ns: &str) -> io::Result<Vec<Task>>;
    /// Signals every process of the task `name`.
    fn service_kill(&mut self, ns: &str, name: &str, signal: i32) -> io::Result<()>;
    /// Deletes the stopped task `name` and returns its exit status.
    fn service_delete(&mut self, ns: &str, name: &str) -> io::Result<u32>;

    /// Blocks until the child `pid` exits, and reaps it: an onboot
    /// container's process, which PID 1 inherits when `runc create` exits.
    fn wait_pid(&mut self, pid: i32) -> io::Result<Status>;
    /// Creates a network interface (rtnetlink RTM_NEWLINK).
    fn link_add(&mut self, link: &NewLink<'_>) -> io::Result<()>;
    /// Moves the interface `name` of the root network namespace into the
    /// network namespace of process `pid`.
    fn link_move(&mut self, name: &str, pid: u32) -> io::Result<()>;
    /// Bind-mounts `/proc/PID/ns/KIND` on `path`, creating the file and its
    /// directories first and replacing an earlier bind there, so containers
    /// created later can join the namespace by path.
    fn bind_namespace(&mut self, pid: u32, kind: &str, path: &str) -> io::Result<()>;

    /// Reads up to `buf.len()` bytes of a file or block device at `offset`.
    fn read_at(&mut self, path: &str, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
    /// Sleeps: stage 1 waits for devices to appear.
    fn sleep(&mut self, duration: Duration);
    /// Renames a file over another: the last step of an atomic write.
    fn rename(&mut self, from: &str, to: &str) -> io::Result<()>;
    /// Detaches the mount at `path`.
    fn unmount(&mut self, path: &str) -> io::Result<()>;
    /// Opens the TPM (`/dev/tpmrm0`, else `/dev/tpm0`) and returns its path.
    fn tpm_open(&mut self) -> io::Result<String>;
    /// Sends one command to the TPM opened and returns its response.
    fn tpm_transmit(&mut self, command: &[u8]) -> io::Result<Vec<u8>>;
    /// Creates the device-mapper device `name` with `target` as its live,
    /// read-only table; returns its minor number (`/dev/dm-N`).
    fn dm_create(&mut self, name: &str, target: &dm::Target) -> io::Result<u32>;

    fn sync(&mut self);
    /// Unmounts everything but `/`, innermost first, detaching busy mounts.
    fn unmount_all(&mut self);
    /// Stops the system; returns only when the kernel refused.
    fn reboot(&mut self, how: Shutdown) -> io::Error;
}
