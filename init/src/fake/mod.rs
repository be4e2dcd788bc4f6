//! A recording [`Sys`] for unit tests: every call is logged in `calls`;
//! signals, zombies, files, task exits and failures are scripted.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io;
use std::time::Duration;

use rustix::io::Errno;
use rustix::mount::MountFlags;

mod files;
mod roles;

use crate::sys::{Exited, MS_REMOUNT, Mount, NewLink, Shutdown, Signal, Status, Task};

const POWEROFF: &str = "/run/cairn/request/poweroff";

#[derive(Debug, Default)]
pub struct Fake {
    pub calls: Vec<String>,
    pub lines: Vec<String>,
    pub signals: VecDeque<Signal>,
    pub zombies: VecDeque<Exited>,
    pub files: BTreeMap<String, String>,
    pub dirs: BTreeMap<String, Vec<String>>,
    pub failing_mounts: HashMap<String, Errno>,
    /// Targets where a remount (MS_REMOUNT) fails with EPERM.
    pub failing_remounts: HashSet<String>,
    /// The target and flags of every mount, in order.
    pub mount_flags: Vec<(String, MountFlags)>,
    pub failing_modules: HashSet<String>,
    /// Exit statuses of onboot and onshutdown containers by bundle path
    /// (default 0), as `wait_pid` reports them.
    pub run_status: HashMap<String, Status>,
    /// Statuses of runc itself by step and container id, e.g.
    /// `"start onboot-000-first"` (default 0).
    pub runc_status: HashMap<String, Status>,
    /// The bundle of each pid `runc create` wrote.
    pub runc_pids: BTreeMap<i32, String>,
    /// Interfaces whose creation or move fails with EEXIST.
    pub failing_links: HashSet<String>,
    pub root_fstype: String,
    pub refuse_reboot: bool,
    pub no_containerd: bool,
    /// Services whose task is stopped, with the status `service_delete` gives.
    pub stopped: HashMap<String, u32>,
    /// Services that stop on SIGTERM (else only on SIGKILL).
    pub obey_term: bool,
    /// Which service exits at which tick (`service_tasks` call number).
    pub exits_at: Vec<(usize, String, u32)>,
    pub task_calls: usize,
    pub millis: u64,
    pub kernel: String,
    /// Creates the poweroff request once this service started so often.
    pub poweroff_after_starts: Option<(String, usize)>,
    /// Holds that request back until `service_tasks` was called so often.
    pub request_after_tasks: Option<usize>,
    /// Block devices (and other binary files) `read_at` reads.
    pub blocks: BTreeMap<String, Vec<u8>>,
    /// Reads of a device covering this byte fail with EIO, as dm-verity's
    /// do on a corrupted block.
    pub bad_bytes: HashMap<String, u64>,
    /// The response code the TPM gives every command; None: no TPM.
    pub tpm: Option<u32>,
    pub tpm_commands: Vec<Vec<u8>>,
    /// The minor number `dm_create` gives, or its error.
    pub dm_minor: u32,
    pub dm_error: Option<Errno>,
    /// Exit statuses of programs other than runc by path (default 0).
    pub program_status: HashMap<String, Status>,
    /// How many `write_at` calls succeed before every later one fails with
    /// EIO, as if the power went; None: all succeed.
    pub writes_left: Option<usize>,
    /// The error `resize_partition` gives.
    pub blkpg_error: Option<Errno>,
    /// Renames of these paths fail with this error.
    pub failing_renames: HashMap<String, Errno>,
}

impl Fake {
    pub fn new() -> Fake {
        Fake {
            root_fstype: "tmpfs".into(),
            kernel: "6.1.0-test".into(),
            obey_term: true,
            ..Fake::default()
        }
    }

    pub fn with_signals(signals: &[Signal]) -> Fake {
        Fake {
            signals: signals.iter().copied().collect(),
            ..Fake::new()
        }
    }

    pub fn calls_starting(&self, prefix: &str) -> Vec<&str> {
        self.calls
            .iter()
            .filter(|c| c.starts_with(prefix))
            .map(String::as_str)
            .collect()
    }

    pub fn position(&self, call: &str) -> Option<usize> {
        self.calls.iter().position(|c| c == call)
    }

    pub fn logged(&self, text: &str) -> bool {
        self.lines.iter().any(|l| l.contains(text))
    }

    fn call(&mut self, c: String) {
        self.calls.push(c);
    }
}

/// How the fake's calls name a containerd namespace other than cairn's.
fn in_namespace(ns: &str) -> String {
    if ns == crate::services::NAMESPACE {
        String::new()
    } else {
        format!(" in {ns}")
    }
}
