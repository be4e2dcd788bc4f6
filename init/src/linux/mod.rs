//! [`Sys`] on the real kernel, through rustix's raw system calls, signal-hook's
//! handlers and containerd's API (`unsafe` only for the ioctls of `dm.rs`
//! and `blkpg.rs`).

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rustix::fs::{Mode, OFlags};
use rustix::mount::UnmountFlags;
use rustix::process::{Pid, WaitOptions};
use rustix::system::RebootCommand;
use rustix::time::ClockId;

mod blkpg;
mod dm;
mod log;
mod net;
mod netlink;
mod netns;
mod roles;
mod root;
mod signals;

use crate::services::containerd;
use crate::sys::{Exited, Mount, NewLink, Shutdown, Signal, Status, Task};
use signals::Signals;

/// Children get a PATH: the kernel starts init with none.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The running kernel.
#[derive(Debug)]
pub struct Linux {
    signals: Signals,
    containerd: Option<containerd::Client>,
    /// The TPM `tpm_open` opened.
    tpm: Option<std::fs::File>,
}

impl Linux {
    /// Installs the signal handlers first of all (see [`Signals::new`]).
    pub fn new() -> io::Result<Linux> {
        Ok(Linux {
            signals: Signals::new()?,
            containerd: None,
            tpm: None,
        })
    }

    fn client(&mut self) -> io::Result<&mut containerd::Client> {
        if self.containerd.is_none() {
            self.containerd = Some(containerd::Client::new()?);
        }
        self.containerd
            .as_mut()
            .ok_or_else(|| io::Error::other("no containerd client"))
    }
}

fn status(s: std::process::ExitStatus) -> Status {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => Status::Code(c),
        (None, Some(sig)) => Status::Signal(sig),
        (None, None) => Status::Code(-1),
    }
}
