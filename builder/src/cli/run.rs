//! `cairn run qemu`: boots a kernel+initrd build, a disk, an ISO or a UKI in
//! QEMU with the console on this terminal, and exits 0 only when the guest
//! stopped cleanly.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::{Arch, GlobalArgs};
use crate::exit::CliError;
use crate::run::console::{self, Ending};
use crate::run::extra_disk::ExtraDisk;
use crate::run::image::{self, Kind};
use crate::run::qemu::{self, Boot, DiskFormat, Machine, Medium, Publish};
use crate::run::swtpm::Swtpm;
use crate::run::target::{self, Target};
use crate::run::{RunError, accel, firmware, rpi};
use crate::ui;

#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// Boot a built system in QEMU; the console is this terminal (Ctrl-A X
    /// quits). Exits 0 when the guest powers off cleanly.
    ///
    /// TARGET is a file or a NAME. A file is booted as its contents say: a
    /// GPT disk (`-f raw-efi`, NAME-efi.raw) or a qcow2 disk (`-f qcow2-efi`)
    /// boots through UEFI firmware (OVMF on x86_64, AAVMF on arm64) as the
    /// first virtio disk; a UKI (`-f uki`, NAME.efi) is handed to the
    /// firmware directly; an ISO (`-f iso-efi`) boots from a CD drive. A
    /// `-bios` disk or ISO (a BIOS boot partition and no ESP, or no EFI
    /// entry) boots through QEMU's own PC BIOS (SeaBIOS) instead. A
    /// Raspberry Pi card (`-f rpi`) boots on QEMU's raspi3b (raspi4b for a
    /// Pi 4 card where QEMU has it, or `--dtb` with a Pi 3 device tree):
    /// its kernel, initramfs, cmdline.txt and device tree are read from the
    /// card, and a copy of the card is the SD card.
    ///
    /// Otherwise the first of these that exists is booted:
    /// NAME-kernel (with NAME-initrd.img and NAME-cmdline, no firmware),
    /// NAME-efi.raw, NAME-efi.qcow2, NAME.efi, NAME-efi.iso,
    /// NAME-bios.raw, NAME-bios.qcow2, NAME-bios.iso, NAME-rpi3.img,
    /// NAME-rpi4.img, then LinuxKit's names: NAME-efi.img, NAME-bios.img, NAME.qcow2, NAME.iso.
    ///
    /// Disks are attached with snapshot=on: the guest's writes go to a
    /// temporary overlay and the image never changes (pass --writable to
    /// keep them). The firmware's variable store is a fresh copy per boot.
    #[command(verbatim_doc_comment)]
    Qemu(QemuArgs),
}

#[derive(Debug, Args)]
pub struct QemuArgs {
    /// What `cairn build` wrote: a disk or UKI file, or NAME / DIR/NAME.
    #[arg(value_name = "TARGET")]
    pub name: PathBuf,
    /// Guest architecture (default: read from the kernel, the disk's GPT
    /// root partition type or the UKI's PE header).
    #[arg(short, long, value_enum)]
    pub arch: Option<Arch>,
    /// Guest memory in MiB.
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    pub mem: u32,
    /// Guest CPUs.
    #[arg(long, default_value_t = 2)]
    pub cpus: u32,
    /// Attach FILE as an extra virtio disk (/dev/vda, /dev/vdb, ... after
    /// the boot disk): raw, or qcow2 by extension or `format=qcow2`. With
    /// `size=` (4G, 512M; a bare number is GiB, as in LinuxKit) a missing FILE is created
    /// empty, so a data disk lasts across boots. LinuxKit's
    /// `file=FILE,size=N` is read too. Repeatable.
    #[arg(long = "disk", value_name = "FILE[,size=N][,format=F]")]
    pub disks: Vec<String>,
    /// Forward 127.0.0.1:HOST to the guest's GUEST port (user networking);
    /// append /udp for UDP. Repeatable.
    #[arg(short, long = "publish", value_name = "HOST:GUEST")]
    pub publish: Vec<String>,
    /// CPU accelerator: auto uses KVM only after a probe boot works.
    #[arg(long, value_enum, default_value_t)]
    pub accel: accel::Choice,
    /// Kill QEMU after this many seconds (an error).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Give the guest a TPM 2.0 (swtpm; Debian: swtpm, swtpm-tools), fresh
    /// for each boot unless --tpm-state is given.
    #[arg(long)]
    pub tpm: bool,
    /// Keep the TPM's state in DIR across boots (implies --tpm).
    #[arg(long, value_name = "DIR")]
    pub tpm_state: Option<PathBuf>,
    /// Let a booted disk keep the guest's writes (default: snapshot=on).
    #[arg(long)]
    pub writable: bool,
    /// Boot an ISO image as a disk, as a USB stick or a disk it was written
    /// to would be seen, not from a CD drive.
    #[arg(long)]
    pub as_disk: bool,
    /// Boot a Raspberry Pi card with this device tree instead of the
    /// card's own, on the QEMU model it is for (a bcm2837 tree on raspi3b):
    /// e.g. a Pi 4 card's kernel on raspi3b, with QEMU before 9.0.
    #[arg(long, value_name = "FILE")]
    pub dtb: Option<PathBuf>,
    /// UEFI firmware code (default: /usr/share/OVMF/OVMF_CODE_4M.fd,
    /// /usr/share/AAVMF/AAVMF_CODE.fd on arm64).
    #[arg(long, value_name = "FILE")]
    pub firmware: Option<PathBuf>,
    /// UEFI variable store template, copied for each boot (default:
    /// OVMF_VARS_4M.fd, AAVMF_VARS.fd on arm64).
    #[arg(long, value_name = "FILE")]
    pub firmware_vars: Option<PathBuf>,
}

pub fn run(global: &GlobalArgs, cmd: RunCommand) -> anyhow::Result<()> {
    let _ = global;
    match cmd {
        RunCommand::Qemu(args) => qemu_run(args),
    }
}

/// The guest's architecture: what the target says, checked against
/// `--arch`; `--arch` decides when the target cannot tell.
fn guest_arch(target: &Target, asked: Option<Arch>) -> Result<Arch, RunError> {
    let (path, found) = match target {
        Target::Kernel { kernel, .. } => (kernel, qemu::kernel_arch(kernel)),
        Target::File { path, kind } => (path, image::arch(path, *kind)),
    };
    match (found, asked) {
        (Ok(found), Some(asked)) if found != asked => Err(RunError::WrongArch {
            path: path.clone(),
            found: found.oci_name(),
            asked: asked.oci_name(),
        }),
        (Ok(found), _) => Ok(found),
        (Err(RunError::UnknownArch { .. } | RunError::UnknownKernel { .. }), Some(asked)) => {
            Ok(asked)
        }
        (Err(e), _) => Err(e),
    }
}

fn must_exist(path: &Path) -> Result<(), RunError> {
    std::fs::metadata(path)
        .map(|_| ())
        .map_err(|source| RunError::Missing {
            path: path.to_path_buf(),
            source,
        })
}

/// How the target boots, and the bare kernel a KVM probe can use.
fn boot_of(
    target: Target,
    arch: Arch,
    args: &QemuArgs,
    work: &Path,
) -> Result<(Boot, Option<PathBuf>), RunError> {
    match target {
        Target::Kernel {
            kernel,
            initrd,
            cmdline,
            ..
        } => {
            must_exist(&initrd)?;
            let text = std::fs::read_to_string(&cmdline).map_err(|source| RunError::Missing {
                path: cmdline.clone(),
                source,
            })?;
            let boot = Boot::Kernel {
                kernel: kernel.clone(),
                initrd,
                cmdline: text.trim().to_string(),
            };
            Ok((boot, Some(kernel)))
        }
        Target::File {
            path,
            kind: Kind::RpiCard,
        } => {
            if args.tpm || args.tpm_state.is_some() {
                return Err(RunError::CardOption {
                    what: "TPM",
                    flag: "--tpm",
                });
            }
            if !args.disks.is_empty() || !args.publish.is_empty() {
                return Err(RunError::CardOption {
                    what: "PCI bus for extra disks or a network",
                    flag: "--disk and --publish",
                });
            }
            let machines = rpi::available_machines()?;
            let card = rpi::prepare(&path, &machines, args.dtb.as_deref(), work)?;
            Ok((Boot::Raspi(card), None))
        }
        Target::File { path, kind } => {
            let bios = image::firmware(&path, kind)? == image::Firmware::Bios;
            let from = match kind {
                Kind::Uki => Medium::Uki(path),
                Kind::Iso if !args.as_disk => Medium::Cdrom(path),
                Kind::Iso => Medium::Disk {
                    path,
                    format: DiskFormat::Raw,
                    writable: args.writable,
                },
                Kind::RawDisk | Kind::Qcow2Disk | Kind::RpiCard => Medium::Disk {
                    path,
                    format: if kind == Kind::Qcow2Disk {
                        DiskFormat::Qcow2
                    } else {
                        DiskFormat::Raw
                    },
                    writable: args.writable,
                },
            };
            if bios {
                return Ok((Boot::Bios { from }, None));
            }
            let source = firmware::source(
                arch,
                args.firmware.as_deref(),
                args.firmware_vars.as_deref(),
            );
            let firmware = firmware::prepare(arch, &source, work)?;
            Ok((Boot::Uefi { firmware, from }, None))
        }
    }
}

fn qemu_run(args: QemuArgs) -> anyhow::Result<()> {
    let target = target::resolve(&args.name)?;
    if args.as_disk
        && !matches!(
            target,
            Target::File {
                kind: Kind::Iso,
                ..
            }
        )
    {
        return Err(CliError::user(format!(
            "--as-disk boots an ISO image as a disk; {} is not an ISO image",
            args.name.display()
        ))
        .into());
    }
    if args.dtb.is_some()
        && !matches!(
            target,
            Target::File {
                kind: Kind::RpiCard,
                ..
            }
        )
    {
        return Err(CliError::user(format!(
            "--dtb boots a Raspberry Pi card with another device tree; {} is not a card",
            args.name.display()
        ))
        .into());
    }
    let arch = guest_arch(&target, args.arch)?;
    let mut disks = args
        .disks
        .iter()
        .map(|d| d.parse::<ExtraDisk>())
        .collect::<Result<Vec<_>, _>>()?;
    // A kernel+squashfs root comes first, so the user's disks keep their names.
    if let Target::Kernel {
        squashfs: Some(image),
        ..
    } = &target
    {
        disks.insert(
            0,
            ExtraDisk {
                path: image.clone(),
                size: None,
                format: DiskFormat::Raw,
                read_only: true,
            },
        );
    }
    for disk in &disks {
        disk.ensure()?;
    }
    let publish = args
        .publish
        .iter()
        .map(|p| p.parse::<Publish>())
        .collect::<Result<Vec<_>, _>>()?;
    let work = tempfile::Builder::new()
        .prefix("cairn-run-")
        .tempdir()
        .map_err(|source| RunError::WorkDir {
            path: std::env::temp_dir(),
            source,
        })?;
    let (boot, probe_kernel) = boot_of(target, arch, &args, work.path())?;
    // Declared after `work` so it is dropped (killed) before the directory
    // holding its socket and state goes.
    let tpm = match (&args.tpm_state, args.tpm) {
        (None, false) => None,
        (state, _) => {
            let state = state.clone().unwrap_or_else(|| work.path().join("tpm"));
            Some(Swtpm::start(
                &state,
                &work.path().join("swtpm.sock"),
                &work.path().join("swtpm.log"),
            )?)
        }
    };
    let (accel, why) = accel::choose(args.accel, arch, probe_kernel.as_deref());
    let machine = Machine {
        arch,
        accel,
        boot,
        tpm: tpm.as_ref().map(|t| t.socket().to_path_buf()),
        mem_mib: args.mem,
        cpus: args.cpus,
        disks,
        publish,
    };
    let argv = qemu::args(&machine);
    ui::status(format!(
        "booting {} ({}) with {why}, {} MiB, {} CPUs{}; Ctrl-A X quits",
        args.name.display(),
        arch.oci_name(),
        args.mem,
        args.cpus,
        if tpm.is_some() { ", a TPM" } else { "" },
    ));
    tracing::info!("{}", argv.join(" "));
    let outcome = console::run(&argv, args.timeout.map(Duration::from_secs))
        .context("cannot run the guest")?;
    drop(tpm);
    match outcome.ending {
        Ending::TimedOut => Err(CliError::user(format!(
            "the guest did not stop within {}s; QEMU was killed",
            args.timeout.unwrap_or(0)
        ))
        .into()),
        _ if !outcome.status.success() => Err(CliError::environment(format!(
            "QEMU failed ({}); its messages are above",
            outcome.status
        ))
        .into()),
        Ending::Panicked(line) => {
            Err(CliError::user(format!("the guest kernel panicked: {line}")).into())
        }
        Ending::PoweredOff | Ending::Halted => {
            ui::status("guest powered off");
            Ok(())
        }
        Ending::Rebooted => {
            ui::status("guest rebooted; QEMU runs with -no-reboot, so it stopped");
            Ok(())
        }
        Ending::Stopped => {
            ui::status("QEMU stopped");
            Ok(())
        }
    }
}
