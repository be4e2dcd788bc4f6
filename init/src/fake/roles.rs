//! Each role of [`crate::sys::Sys`], recorded and scripted.

use super::*;
use crate::sys::{
    BlockDevices, Console, Containerd, DeviceMapper, Kernel, Network, Processes, Tpm,
};

impl Console for Fake {
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

    fn sleep(&mut self, duration: Duration) {
        self.millis += u64::try_from(duration.as_millis()).unwrap_or(0);
    }
}

impl Kernel for Fake {
    fn set_hostname(&mut self, name: &str) -> io::Result<()> {
        self.call(format!("hostname {name}"));
        Ok(())
    }

    fn disable_ctrl_alt_del(&mut self) -> io::Result<()> {
        self.call("cad off".into());
        Ok(())
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

impl Processes for Fake {
    fn run(&mut self, argv: &[&str]) -> io::Result<Status> {
        self.call(format!("run {}", argv.join(" ")));
        if let Some(status) = argv.first().and_then(|p| self.program_status.get(*p)) {
            return Ok(*status);
        }
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

    fn wait_pid(&mut self, pid: i32) -> io::Result<Status> {
        self.call(format!("wait {pid}"));
        let bundle = self.runc_pids.get(&pid).ok_or(Errno::CHILD)?;
        Ok(self
            .run_status
            .get(bundle)
            .copied()
            .unwrap_or(Status::Code(0)))
    }
}

impl Containerd for Fake {
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
}

impl Network for Fake {
    fn loopback_up(&mut self) -> io::Result<()> {
        self.call("lo up".into());
        Ok(())
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
}

impl Tpm for Fake {
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
}

impl DeviceMapper for Fake {
    fn dm_create(&mut self, name: &str, target: &crate::sys::Target) -> io::Result<u32> {
        self.call(format!("dm_create {name} {target}"));
        match self.dm_error {
            Some(errno) => Err(errno.into()),
            None => Ok(self.dm_minor),
        }
    }
}

impl BlockDevices for Fake {
    fn write_at(&mut self, path: &str, offset: u64, bytes: &[u8]) -> io::Result<()> {
        self.call(format!("pwrite {path} @{offset} {}", bytes.len()));
        if let Some(left) = self.writes_left.as_mut() {
            if *left == 0 {
                return Err(Errno::IO.into());
            }
            *left -= 1;
        }
        let data = self.blocks.get_mut(path).ok_or(Errno::NOENT)?;
        let start = usize::try_from(offset).map_err(|_| Errno::INVAL)?;
        let end = start.checked_add(bytes.len()).ok_or(Errno::INVAL)?;
        data.get_mut(start..end)
            .ok_or(Errno::NOSPC)?
            .copy_from_slice(bytes);
        Ok(())
    }

    fn fsync(&mut self, path: &str) -> io::Result<()> {
        self.call(format!("fsync {path}"));
        Ok(())
    }

    fn resize_partition(
        &mut self,
        disk: &str,
        number: u32,
        start: u64,
        length: u64,
    ) -> io::Result<()> {
        self.call(format!("blkpg resize {disk} {number} {start} {length}"));
        match self.blkpg_error {
            Some(errno) => Err(errno.into()),
            None => Ok(()),
        }
    }
}
