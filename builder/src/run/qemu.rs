//! The QEMU command line for a kernel+initrd system, built as plain data so
//! it can be checked without starting QEMU.
//!
//! x86_64 runs on `q35`, arm64 on `virt` with a Cortex-A57 under TCG (the
//! host CPU under KVM). Networking is QEMU's user mode with a virtio NIC and
//! one host forward per `--publish`; disks are virtio block devices. The
//! console is the first serial port on stdio (`-nographic`, where Ctrl-A X
//! quits), and `-no-reboot` turns a guest reboot into QEMU exiting.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::RunError;
use crate::cli::Arch;

/// How the guest's CPU runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

/// A host port forwarded to a guest port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish {
    pub host: u16,
    pub guest: u16,
    pub proto: Proto,
}

impl std::str::FromStr for Publish {
    type Err = RunError;

    /// `HOST:GUEST`, `HOST:GUEST/tcp` or `HOST:GUEST/udp`.
    fn from_str(spec: &str) -> Result<Publish, RunError> {
        let bad = || RunError::BadPublish {
            spec: spec.to_string(),
        };
        let (ports, proto) = match spec.rsplit_once('/') {
            Some((ports, "tcp")) => (ports, Proto::Tcp),
            Some((ports, "udp")) => (ports, Proto::Udp),
            Some(_) => return Err(bad()),
            None => (spec, Proto::Tcp),
        };
        let (host, guest) = ports.split_once(':').ok_or_else(bad)?;
        Ok(Publish {
            host: host.parse().map_err(|_| bad())?,
            guest: guest.parse().map_err(|_| bad())?,
            proto,
        })
    }
}

/// A kernel+initrd system to boot.
#[derive(Debug, Clone)]
pub struct Machine {
    pub arch: Arch,
    pub accel: Accel,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub cmdline: String,
    pub mem_mib: u32,
    pub cpus: u32,
    pub disks: Vec<PathBuf>,
    pub publish: Vec<Publish>,
}

/// The QEMU binary for an architecture and the Debian package with it.
pub fn program(arch: Arch) -> (&'static str, &'static str) {
    match arch {
        Arch::Amd64 => ("qemu-system-x86_64", "qemu-system-x86"),
        Arch::Arm64 => ("qemu-system-aarch64", "qemu-system-arm"),
    }
}

/// The serial console the kernel must write to on each architecture.
pub fn console(arch: Arch) -> &'static str {
    match arch {
        Arch::Amd64 => "ttyS0",
        Arch::Arm64 => "ttyAMA0",
    }
}

/// The command line as it will be passed: a `console=` for the serial port
/// when the system names none, and `panic=-1` (unless set) so a kernel
/// panic ends QEMU instead of hanging it.
pub fn effective_cmdline(cmdline: &str, arch: Arch) -> String {
    let mut words: Vec<String> = cmdline.split_whitespace().map(str::to_string).collect();
    if !words.iter().any(|w| w.starts_with("console=")) {
        words.push(format!("console={}", console(arch)));
    }
    if !words.iter().any(|w| w.starts_with("panic=")) {
        words.push("panic=-1".to_string());
    }
    words.join(" ")
}

/// QEMU's arguments, program first.
pub fn args(m: &Machine) -> Vec<String> {
    let (program, _) = program(m.arch);
    let mut a: Vec<String> = vec![program.into()];
    let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
    match (m.arch, m.accel) {
        (Arch::Amd64, Accel::Tcg) => push(&["-machine", "q35", "-accel", "tcg"]),
        (Arch::Amd64, Accel::Kvm) => push(&["-machine", "q35", "-accel", "kvm", "-cpu", "host"]),
        (Arch::Arm64, Accel::Tcg) => {
            push(&["-machine", "virt", "-accel", "tcg", "-cpu", "cortex-a57"])
        }
        (Arch::Arm64, Accel::Kvm) => push(&["-machine", "virt", "-accel", "kvm", "-cpu", "host"]),
    }
    let mem = m.mem_mib.to_string();
    let cpus = m.cpus.to_string();
    push(&["-m", &mem, "-smp", &cpus, "-nographic", "-no-reboot"]);
    let kernel = m.kernel.display().to_string();
    let initrd = m.initrd.display().to_string();
    let cmdline = effective_cmdline(&m.cmdline, m.arch);
    push(&["-kernel", &kernel, "-initrd", &initrd, "-append", &cmdline]);
    let mut netdev = "user,id=net0".to_string();
    for p in &m.publish {
        let proto = match p.proto {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        };
        netdev.push_str(&format!(
            ",hostfwd={proto}:127.0.0.1:{}-:{}",
            p.host, p.guest
        ));
    }
    push(&["-netdev", &netdev, "-device", "virtio-net-pci,netdev=net0"]);
    for (i, disk) in m.disks.iter().enumerate() {
        let format = match disk.extension().and_then(|e| e.to_str()) {
            Some("qcow2") => "qcow2",
            _ => "raw",
        };
        let drive = format!(
            "if=virtio,index={i},format={format},file={}",
            disk.display()
        );
        push(&["-drive", &drive]);
    }
    a
}

/// The architecture a kernel file was built for: x86 bzImages carry "HdrS"
/// at 0x202, arm64 Images "ARM\x64" at 0x38.
pub fn kernel_arch(path: &Path) -> Result<Arch, RunError> {
    let mut head = Vec::with_capacity(0x210);
    File::open(path)
        .and_then(|f| f.take(0x210).read_to_end(&mut head))
        .map_err(|source| RunError::Missing {
            path: path.to_path_buf(),
            source,
        })?;
    if head.get(0x202..0x206) == Some(b"HdrS") {
        Ok(Arch::Amd64)
    } else if head.get(0x38..0x3c) == Some(b"ARM\x64") {
        Ok(Arch::Arm64)
    } else {
        Err(RunError::UnknownKernel {
            path: path.to_path_buf(),
        })
    }
}

#[cfg(test)]
#[path = "qemu_tests.rs"]
mod tests;
