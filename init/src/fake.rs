//! A recording [`Sys`] for unit tests: every call is logged in `calls`;
//! signals, zombies, files, task exits and failures are scripted.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io;
use std::time::Duration;

use rustix::io::Errno;
use rustix::mount::MountFlags;

use crate::sys::{Exited, MS_REMOUNT, Mount, NewLink, Shutdown, Signal, Status, Sys, Task};

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

impl Sys for Fake {
    fn uptime(&self) -> Duration {
        Duration::from_millis(self.millis)
    }
    fn console(&mut self, line: &str) {
        self.millis += 7;
        self.lines.push(line.to_string());
    }
    fn attach_console(&mut self) -> io::Result<()> {
        self.call("attach_console".into());
        Ok(())
    }
    fn mkdir(&mut self, path: &str) -> io::Result<()> {
        self.call(format!("mkdir {path}"));
        if path == "/sys" {
            return Err(Errno::EXIST.into());
        }
        Ok(())
    }
    fn mount(&mut self, m: &Mount<'_>) -> io::Result<()> {
        self.call(format!("mount {} {} {}", m.fstype, m.target, m.data));
        self.mount_flags.push((m.target.to_string(), m.flags));
        if m.flags.bits() & MS_REMOUNT != 0 && self.failing_remounts.contains(m.target) {
            return Err(Errno::PERM.into());
        }
        match self.failing_mounts.get(m.target) {
            Some(errno) => Err((*errno).into()),
            None => Ok(()),
        }
    }
    fn read_file(&mut self, path: &str) -> io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| Errno::NOENT.into())
    }
    fn write_file(&mut self, path: &str, contents: &str) -> io::Result<()> {
        self.call(format!("write {path}"));
        self.files.insert(path.into(), contents.into());
        Ok(())
    }
    fn exists(&mut self, path: &str) -> bool {
        self.files.contains_key(path)
            || self.dirs.contains_key(path)
            || self.blocks.contains_key(path)
    }
    fn remove_file(&mut self, path: &str) -> io::Result<()> {
        self.call(format!("rm {path}"));
        self.files.remove(path);
        Ok(())
    }
    fn list_dir(&mut self, path: &str) -> io::Result<Vec<String>> {
        let mut names = self.dirs.get(path).cloned().ok_or(Errno::NOENT)?;
        names.sort();
        Ok(names)
    }
    fn set_hostname(&mut self, name: &str) -> io::Result<()> {
        self.call(format!("hostname {name}"));
        Ok(())
    }
    fn disable_ctrl_alt_del(&mut self) -> io::Result<()> {
        self.call("cad off".into());
        Ok(())
    }
    fn root_fstype(&mut self) -> io::Result<String> {
        Ok(self.root_fstype.clone())
    }
    fn move_root(&mut self, new_root: &str) -> io::Result<u64> {
        self.call(format!("move_root {new_root}"));
        Ok(42)
    }
    fn switch_root(&mut self, new_root: &str) -> io::Error {
        self.call(format!("switch_root {new_root}"));
        Errno::INVAL.into()
    }
    fn kernel_release(&mut self) -> String {
        self.kernel.clone()
    }
    fn load_module(&mut self, path: &str) -> io::Result<()> {
        self.call(format!("insmod {path}"));
        if self.failing_modules.contains(path) {
            return Err(Errno::NOEXEC.into());
        }
        Ok(())
    }
    fn loopback_up(&mut self) -> io::Result<()> {
        self.call("lo up".into());
        Ok(())
    }
    fn run(&mut self, argv: &[&str]) -> io::Result<Status> {
        self.call(format!("run {}", argv.join(" ")));
        let step = argv.get(1).copied().unwrap_or("");
        let id = argv.last().copied().unwrap_or("");
        if let Some(status) = self.runc_status.get(&format!("{step} {id}")) {
            return Ok(*status);
        }
        if step == "create" {
            // runc create --bundle BUNDLE --pid-file FILE ID
            let pid = 200 + i32::try_from(self.runc_pids.len()).unwrap_or(0);
            let bundle = argv.get(3).copied().unwrap_or("");
            self.runc_pids.insert(pid, bundle.into());
            let file = argv.get(5).copied().unwrap_or("");
            self.files.insert(file.into(), format!("{pid}\n"));
        }
        Ok(Status::Code(0))
    }
    fn spawn(&mut self, argv: &[&str], stdout: &str, stderr: &str) -> io::Result<i32> {
        self.call(format!("spawn {} > {stdout} 2> {stderr}", argv.join(" ")));
        Ok(77)
    }
    fn kill(&mut self, pid: i32, signal: i32) -> io::Result<()> {
        self.call(format!("kill {pid} {signal}"));
        if pid == 77 {
            self.zombies.push_back(Exited { pid, code: Some(0) });
        }
        Ok(())
    }
    fn wait_signal(&mut self, timeout: Option<Duration>) -> Option<Signal> {
        let signal = self.signals.pop_front();
        match signal {
            Some(s) => self.call(format!("signal {s:?}")),
            None => match timeout {
                Some(t) => self.millis += u64::try_from(t.as_millis()).unwrap_or(0),
                None => self.call("wait forever".into()),
            },
        }
        signal
    }
    fn reap(&mut self) -> Option<Exited> {
        let exited = self.zombies.pop_front()?;
        self.call(format!("reap {}", exited.pid));
        Some(exited)
    }
    fn has_children(&mut self) -> bool {
        !self.zombies.is_empty()
    }
    fn containerd_ready(&mut self, socket: &str) -> io::Result<()> {
        self.call(format!("ready {socket}"));
        if self.no_containerd {
            return Err(Errno::NOENT.into());
        }
        Ok(())
    }
    fn service_create(&mut self, ns: &str, name: &str, bundle: &str) -> io::Result<()> {
        let ns = in_namespace(ns);
        self.call(format!("create {name} {bundle}{ns}"));
        Ok(())
    }
    fn service_task(&mut self, ns: &str, name: &str) -> io::Result<u32> {
        let ns = in_namespace(ns);
        self.call(format!("task {name}{ns}"));
        Ok(100)
    }
    fn service_start(&mut self, ns: &str, name: &str) -> io::Result<()> {
        let ns = in_namespace(ns);
        self.call(format!("start {name}{ns}"));
        self.stopped.remove(name);
        if let Some((n, times)) = &self.poweroff_after_starts
            && n == name
            && self.calls_starting(&format!("start {name}")).len() >= *times
            && self.request_after_tasks.is_none()
        {
            self.files.insert(POWEROFF.into(), String::new());
        }
        Ok(())
    }
    fn service_tasks(&mut self, _ns: &str) -> io::Result<Vec<Task>> {
        self.task_calls += 1;
        if self.request_after_tasks == Some(self.task_calls) {
            self.files.insert(POWEROFF.into(), String::new());
        }
        let now: Vec<(String, u32)> = self
            .exits_at
            .iter()
            .filter(|(at, _, _)| *at == self.task_calls)
            .map(|(_, n, s)| (n.clone(), *s))
            .collect();
        for (name, status) in now {
            self.stopped.insert(name, status);
        }
        let started: Vec<String> = self
            .calls
            .iter()
            .filter_map(|c| {
                c.strip_prefix("start ")?
                    .split(' ')
                    .next()
                    .map(str::to_string)
            })
            .collect();
        Ok(started
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|name| Task {
                alive: !self.stopped.contains_key(&name),
                name,
            })
            .collect())
    }
    fn service_kill(&mut self, _ns: &str, name: &str, signal: i32) -> io::Result<()> {
        self.call(format!("service_kill {name} {signal}"));
        if signal == 9 || self.obey_term {
            self.stopped
                .insert(name.into(), 128 + u32::try_from(signal).unwrap_or(0));
        }
        Ok(())
    }
    fn service_delete(&mut self, _ns: &str, name: &str) -> io::Result<u32> {
        self.call(format!("delete {name}"));
        Ok(self.stopped.get(name).copied().unwrap_or(0))
    }
    fn wait_pid(&mut self, pid: i32) -> io::Result<Status> {
        self.call(format!("wait {pid}"));
        let bundle = self.runc_pids.get(&pid).ok_or(Errno::CHILD)?;
        Ok(self
            .run_status
            .get(bundle)
            .copied()
            .unwrap_or(Status::Code(0)))
    }
    fn link_add(&mut self, link: &NewLink<'_>) -> io::Result<()> {
        let peer = link.peer.map(|p| format!(" peer {p}")).unwrap_or_default();
        let ns = link
            .netns_pid
            .map(|p| format!(" netns {p}"))
            .unwrap_or_default();
        self.call(format!("link add {} {}{peer}{ns}", link.kind, link.name));
        if self.failing_links.contains(link.name) {
            return Err(Errno::EXIST.into());
        }
        Ok(())
    }
    fn link_move(&mut self, name: &str, pid: u32) -> io::Result<()> {
        self.call(format!("link move {name} {pid}"));
        if self.failing_links.contains(name) {
            return Err(Errno::EXIST.into());
        }
        Ok(())
    }
    fn bind_namespace(&mut self, pid: u32, kind: &str, path: &str) -> io::Result<()> {
        self.call(format!("bind {kind} {pid} {path}"));
        Ok(())
    }
    fn read_at(&mut self, path: &str, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let data = self.blocks.get(path).ok_or(Errno::NOENT)?;
        let start = usize::try_from(offset)
            .map_err(|_| Errno::INVAL)?
            .min(data.len());
        let end = (start + buf.len()).min(data.len());
        if let Some(bad) = self.bad_bytes.get(path)
            && (offset..offset + buf.len() as u64).contains(bad)
        {
            return Err(Errno::IO.into());
        }
        buf[..end - start].copy_from_slice(&data[start..end]);
        Ok(end - start)
    }
    fn sleep(&mut self, duration: Duration) {
        self.millis += u64::try_from(duration.as_millis()).unwrap_or(0);
    }
    fn rename(&mut self, from: &str, to: &str) -> io::Result<()> {
        self.call(format!("rename {from} {to}"));
        let contents = self.files.remove(from).ok_or(Errno::NOENT)?;
        self.files.insert(to.into(), contents);
        Ok(())
    }
    fn unmount(&mut self, path: &str) -> io::Result<()> {
        self.call(format!("umount {path}"));
        Ok(())
    }
    fn tpm_open(&mut self) -> io::Result<String> {
        match self.tpm {
            Some(_) => Ok("/dev/tpmrm0".into()),
            None => Err(Errno::NOENT.into()),
        }
    }
    fn tpm_transmit(&mut self, command: &[u8]) -> io::Result<Vec<u8>> {
        self.tpm_commands.push(command.to_vec());
        let code = self.tpm.ok_or(Errno::NODEV)?;
        let mut response = vec![0x80, 0x02, 0, 0, 0, 10];
        response.extend_from_slice(&code.to_be_bytes());
        Ok(response)
    }
    fn dm_create(&mut self, name: &str, target: &crate::dm::Target) -> io::Result<u32> {
        self.call(format!("dm_create {name} {target}"));
        match self.dm_error {
            Some(errno) => Err(errno.into()),
            None => Ok(self.dm_minor),
        }
    }
    fn sync(&mut self) {
        self.call("sync".into());
    }
    fn unmount_all(&mut self) {
        self.call("unmount_all".into());
    }
    fn reboot(&mut self, how: Shutdown) -> io::Error {
        self.call(format!("reboot {how:?}"));
        if self.refuse_reboot {
            Errno::PERM.into()
        } else {
            // The real call does not return; the fake reports that it did nothing else.
            io::Error::other("stopped")
        }
    }
}
