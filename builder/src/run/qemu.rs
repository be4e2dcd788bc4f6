//! The QEMU command line for a kernel+initrd system, a UEFI disk or a UKI,
//! built as plain data so it can be checked without starting QEMU.
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
use super::firmware::Firmware;
use crate::arch::Arch;

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

/// What the guest boots from.
#[derive(Debug, Clone)]
pub enum Boot {
    /// QEMU loads the kernel and initrd itself (no firmware).
    Kernel {
        kernel: PathBuf,
        initrd: PathBuf,
        cmdline: String,
    },
    /// UEFI firmware boots a disk or a UKI.
    Uefi { firmware: Firmware, from: Medium },
    /// QEMU's own PC BIOS (SeaBIOS) boots a disk or a CD (never a UKI).
    Bios { from: Medium },
    /// A Raspberry Pi model boots a card's kernel with the card as its SD.
    Raspi(super::rpi::Card),
}

/// What the firmware boots.
#[derive(Debug, Clone)]
pub enum Medium {
    /// A GPT disk, the first boot device. Unless `writable`, QEMU keeps the
    /// guest's writes in a temporary overlay (`snapshot=on`) so a boot never
    /// changes the image.
    Disk {
        path: PathBuf,
        format: DiskFormat,
        writable: bool,
    },
    /// A unified kernel image handed to the firmware with `-kernel`; the
    /// firmware loads it as an EFI application, so its own command line and
    /// initrd apply.
    Uki(PathBuf),
    /// An ISO image in a read-only CD drive (virtio-scsi on both
    /// architectures), the first boot device: firmware boots its El Torito
    /// EFI image.
    Cdrom(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFormat {
    Raw,
    Qcow2,
}

impl DiskFormat {
    pub fn name(self) -> &'static str {
        match self {
            DiskFormat::Raw => "raw",
            DiskFormat::Qcow2 => "qcow2",
        }
    }
}

/// A system to boot.
#[derive(Debug, Clone)]
pub struct Machine {
    pub arch: Arch,
    pub accel: Accel,
    pub boot: Boot,
    /// swtpm's control socket, when the guest gets a TPM.
    pub tpm: Option<PathBuf>,
    pub mem_mib: u32,
    pub cpus: u32,
    pub disks: Vec<super::extra_disk::ExtraDisk>,
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
    if let Boot::Raspi(card) = &m.boot {
        return super::rpi::args(card, m.accel);
    }
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
    boot_args(m, &mut a);
    if let Some(socket) = &m.tpm {
        let tis = match m.arch {
            Arch::Amd64 => "tpm-tis",
            Arch::Arm64 => "tpm-tis-device",
        };
        a.extend([
            "-chardev".into(),
            format!("socket,id=chrtpm,path={}", qemu_path(socket)),
            "-tpmdev".into(),
            "emulator,id=tpm0,chardev=chrtpm".into(),
            "-device".into(),
            format!("{tis},tpmdev=tpm0"),
        ]);
    }
    let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
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
        let drive = format!(
            "if=virtio,index={i},format={},file={}{}",
            disk.format.name(),
            qemu_path(&disk.path),
            if disk.read_only { ",readonly=on" } else { "" }
        );
        push(&["-drive", &drive]);
    }
    a
}

/// A path inside a QEMU option list, where a comma separates options
/// unless doubled.
fn qemu_path(path: &Path) -> String {
    path.display().to_string().replace(',', ",,")
}

fn boot_args(m: &Machine, a: &mut Vec<String>) {
    let mut push = |items: &[String]| a.extend_from_slice(items);
    match &m.boot {
        Boot::Kernel {
            kernel,
            initrd,
            cmdline,
        } => push(&[
            "-kernel".into(),
            kernel.display().to_string(),
            "-initrd".into(),
            initrd.display().to_string(),
            "-append".into(),
            effective_cmdline(cmdline, m.arch),
        ]),
        Boot::Uefi { firmware, from } => {
            push(&[
                "-drive".into(),
                format!(
                    "if=pflash,format=raw,unit=0,readonly=on,file={}",
                    qemu_path(&firmware.code)
                ),
                "-drive".into(),
                format!(
                    "if=pflash,format=raw,unit=1,file={}",
                    qemu_path(&firmware.vars)
                ),
            ]);
            medium_args(from, a);
        }
        Boot::Bios { from } => medium_args(from, a),
        Boot::Raspi(_) => {}
    }
}

fn medium_args(from: &Medium, a: &mut Vec<String>) {
    let mut push = |items: &[String]| a.extend_from_slice(items);
    match from {
        Medium::Disk {
            path,
            format,
            writable,
        } => {
            let snapshot = if *writable { "" } else { ",snapshot=on" };
            push(&[
                "-drive".into(),
                format!(
                    "if=none,id=boot,format={},file={}{snapshot}",
                    format.name(),
                    qemu_path(path)
                ),
                "-device".into(),
                "virtio-blk-pci,drive=boot,bootindex=0".into(),
            ])
        }
        Medium::Uki(path) => push(&["-kernel".into(), path.display().to_string()]),
        Medium::Cdrom(path) => push(&[
            "-drive".into(),
            format!(
                "if=none,id=cd,media=cdrom,readonly=on,format=raw,file={}",
                qemu_path(path)
            ),
            "-device".into(),
            "virtio-scsi-pci,id=scsi".into(),
            "-device".into(),
            "scsi-cd,drive=cd,bus=scsi.0,bootindex=0".into(),
        ]),
    }
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
