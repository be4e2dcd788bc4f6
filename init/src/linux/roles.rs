//! Each role of [`crate::sys::Sys`] on the real kernel.

use super::*;
use crate::sys::{
    BlockDevices, Console, Containerd, DeviceMapper, Files, Kernel, Network, Processes, Tpm,
};

impl Console for Linux {
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

    fn sleep(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

impl Files for Linux {
    fn mkdir(&mut self, path: &str) -> io::Result<()> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(path)
    }

    fn mount(&mut self, m: &Mount<'_>) -> io::Result<()> {
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

    fn write_file(&mut self, path: &str, contents: &str) -> io::Result<()> {
        std::fs::write(path, contents)
    }

    fn exists(&mut self, path: &str) -> bool {
        Path::new(path).exists()
    }

    fn remove_file(&mut self, path: &str) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn list_dir(&mut self, path: &str) -> io::Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        Ok(names)
    }

    fn read_at(&mut self, path: &str, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        std::fs::File::open(path)?.read_at(buf, offset)
    }

    fn rename(&mut self, from: &str, to: &str) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn sync_path(&mut self, path: &str) -> io::Result<()> {
        // fsync needs no write access, and a directory opens only read-only.
        let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(rustix::fs::fsync(&fd)?)
    }

    fn unmount(&mut self, path: &str) -> io::Result<()> {
        Ok(rustix::mount::unmount(path, UnmountFlags::DETACH)?)
    }

    fn unmount_all(&mut self) {
        let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") else {
            return;
        };
        let targets: Vec<&str> = mounts
            .lines()
            .filter_map(|l| l.split(' ').nth(1))
            .filter(|t| *t != "/")
            .collect();
        // Innermost (last mounted) first; busy ones are detached.
        for t in targets.iter().rev() {
            let t = t.replace("\\040", " ");
            if rustix::mount::unmount(t.as_str(), UnmountFlags::empty()).is_err() {
                let _ = rustix::mount::unmount(t.as_str(), UnmountFlags::DETACH);
            }
        }
    }

    fn sync(&mut self) {
        rustix::fs::sync();
    }

    fn root_fstype(&mut self) -> io::Result<String> {
        let info = std::fs::read_to_string("/proc/self/mountinfo")?;
        root::root_fstype(&info)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no line for /"))
    }

    fn move_root(&mut self, new_root: &str) -> io::Result<u64> {
        root::move_tree(Path::new("/"), Path::new(new_root))
    }

    fn switch_root(&mut self, new_root: &str) -> io::Error {
        root::switch_root(new_root)
    }
}

impl Kernel for Linux {
    fn set_hostname(&mut self, name: &str) -> io::Result<()> {
        Ok(rustix::system::sethostname(name.as_bytes())?)
    }

    fn disable_ctrl_alt_del(&mut self) -> io::Result<()> {
        Ok(rustix::system::reboot(RebootCommand::CadOff)?)
    }

    fn kernel_release(&mut self) -> String {
        rustix::system::uname()
            .release()
            .to_string_lossy()
            .into_owned()
    }

    fn load_module(&mut self, path: &str) -> io::Result<()> {
        let file = std::fs::File::open(path)?;
        Ok(rustix::system::finit_module(&file, c"", 0)?)
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

impl Processes for Linux {
    fn run(&mut self, argv: &[&str]) -> io::Result<Status> {
        let (program, args) = argv.split_first().ok_or(io::ErrorKind::InvalidInput)?;
        let s = Command::new(program)
            .args(args)
            .env("PATH", PATH)
            .status()?;
        Ok(status(s))
    }

    fn spawn(&mut self, argv: &[&str], stdout: &str, stderr: &str) -> io::Result<i32> {
        let (program, args) = argv.split_first().ok_or(io::ErrorKind::InvalidInput)?;
        let open = |path: &str| OpenOptions::new().create(true).append(true).open(path);
        let out = open(stdout)?;
        let err = if stderr == stdout {
            out.try_clone()?
        } else {
            open(stderr)?
        };
        let child = Command::new(program)
            .args(args)
            .env("PATH", PATH)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()?;
        // Reaped by `reap` with every other child; dropping a Child does not wait.
        Ok(i32::try_from(child.id()).unwrap_or(-1))
    }

    fn kill(&mut self, pid: i32, signal: i32) -> io::Result<()> {
        let sig =
            rustix::process::Signal::from_named_raw(signal).ok_or(io::ErrorKind::InvalidInput)?;
        if pid == -1 {
            // kill(-1): every process but this one, found in /proc (kernel
            // threads ignore the signal).
            for entry in std::fs::read_dir("/proc")?.flatten() {
                let other = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<i32>().ok());
                if let Some(p) = other.filter(|p| *p > 1).and_then(Pid::from_raw) {
                    let _ = rustix::process::kill_process(p, sig);
                }
            }
            return Ok(());
        }
        let pid = Pid::from_raw(pid).ok_or(io::ErrorKind::InvalidInput)?;
        Ok(rustix::process::kill_process(pid, sig)?)
    }

    fn wait_signal(&mut self, timeout: Option<Duration>) -> Option<Signal> {
        self.signals.wait(timeout)
    }

    fn reap(&mut self) -> Option<Exited> {
        // Ok(None): children run but none exited; Err(ECHILD): no children.
        let (pid, status) = rustix::process::waitpid(None, WaitOptions::NOHANG).ok()??;
        Some(Exited {
            pid: pid.as_raw_nonzero().get(),
            code: status.exit_status(),
        })
    }

    fn has_children(&mut self) -> bool {
        // ECHILD is the only error waitid gives for "no children".
        rustix::process::waitid(
            rustix::process::WaitId::All,
            rustix::process::WaitIdOptions::EXITED
                | rustix::process::WaitIdOptions::NOHANG
                | rustix::process::WaitIdOptions::NOWAIT,
        )
        .is_ok()
    }

    fn wait_pid(&mut self, pid: i32) -> io::Result<Status> {
        let pid = Pid::from_raw(pid).ok_or(io::ErrorKind::InvalidInput)?;
        loop {
            match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
                Ok(Some((_, s))) => {
                    return Ok(match (s.exit_status(), s.terminating_signal()) {
                        (Some(c), _) => Status::Code(c),
                        (None, Some(sig)) => Status::Signal(sig),
                        (None, None) => Status::Code(-1),
                    });
                }
                Ok(None) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl Containerd for Linux {
    fn containerd_ready(&mut self, socket: &str) -> io::Result<()> {
        self.client()?.ready(socket)
    }

    fn service_create(&mut self, ns: &str, name: &str, bundle: &str) -> io::Result<()> {
        let config = std::fs::read_to_string(format!("{bundle}/config.json"))?;
        let spec = containerd::spec_for(&config, bundle)?;
        self.client()?.create(ns, name, spec)
    }

    fn service_task(&mut self, ns: &str, name: &str) -> io::Result<u32> {
        let fifo = log::fifo_for(name)?;
        self.client()?.create_task(ns, name, &fifo)
    }

    fn service_start(&mut self, ns: &str, name: &str) -> io::Result<()> {
        self.client()?.start(ns, name)
    }

    fn service_tasks(&mut self, ns: &str) -> io::Result<Vec<Task>> {
        self.client()?.tasks(ns)
    }

    fn service_kill(&mut self, ns: &str, name: &str, signal: i32) -> io::Result<()> {
        self.client()?.kill(ns, name, signal)
    }

    fn service_delete(&mut self, ns: &str, name: &str) -> io::Result<u32> {
        self.client()?.delete(ns, name)
    }
}

impl Network for Linux {
    fn loopback_up(&mut self) -> io::Result<()> {
        net::loopback_up()
    }

    fn link_add(&mut self, link: &NewLink<'_>) -> io::Result<()> {
        netlink::link_add(link)
    }

    fn link_move(&mut self, name: &str, pid: u32) -> io::Result<()> {
        netlink::link_move(name, pid)
    }

    fn bind_namespace(&mut self, pid: u32, kind: &str, path: &str) -> io::Result<()> {
        netns::bind(pid, kind, path)
    }
}

impl Tpm for Linux {
    fn tpm_open(&mut self) -> io::Result<String> {
        // The resource manager lets containers use the TPM at the same time.
        let mut last = io::Error::from(io::ErrorKind::NotFound);
        for path in ["/dev/tpmrm0", "/dev/tpm0"] {
            match OpenOptions::new().read(true).write(true).open(path) {
                Ok(file) => {
                    self.tpm = Some(file);
                    return Ok(path.to_string());
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn tpm_transmit(&mut self, command: &[u8]) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let tpm = self
            .tpm
            .as_mut()
            .ok_or_else(|| io::Error::other("the TPM is not open"))?;
        // The driver takes a command in one write and answers in one read.
        let written = tpm.write(command)?;
        if written != command.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("the TPM took {written} of {} bytes", command.len()),
            ));
        }
        let mut response = vec![0u8; 4096];
        let n = tpm.read(&mut response)?;
        response.truncate(n);
        Ok(response)
    }
}

impl DeviceMapper for Linux {
    fn dm_create(&mut self, name: &str, target: &crate::sys::Target) -> io::Result<u32> {
        crate::linux::dm::create(name, target)
    }
}

impl BlockDevices for Linux {
    fn write_at(&mut self, path: &str, offset: u64, bytes: &[u8]) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        OpenOptions::new()
            .write(true)
            .open(path)?
            .write_all_at(bytes, offset)
    }

    fn fsync(&mut self, path: &str) -> io::Result<()> {
        // fsync on any descriptor of a block device writes back its whole
        // page cache and flushes the device's write cache.
        OpenOptions::new().write(true).open(path)?.sync_all()
    }

    fn resize_partition(
        &mut self,
        disk: &str,
        number: u32,
        start: u64,
        length: u64,
    ) -> io::Result<()> {
        blkpg::resize(disk, number, start, length)
    }
}
