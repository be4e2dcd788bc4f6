//! `cairn run qemu`: boots a kernel+initrd build in QEMU with the console on
//! this terminal, and exits 0 only when the guest stopped cleanly.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::{Arch, GlobalArgs};
use crate::exit::CliError;
use crate::run::console::{self, Ending};
use crate::run::qemu::{self, Machine, Publish};
use crate::run::{RunError, accel};
use crate::ui;

#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// Boot NAME-kernel + NAME-initrd.img with NAME-cmdline in QEMU; the
    /// console is this terminal (Ctrl-A X quits). Disk images (issue 6)
    /// are not bootable yet; `--disk` attaches extra drives.
    Qemu(QemuArgs),
}

#[derive(Debug, Args)]
pub struct QemuArgs {
    /// What `cairn build` wrote, as NAME or DIR/NAME (e.g. minimal).
    #[arg(value_name = "NAME")]
    pub name: PathBuf,
    /// Guest architecture (default: the kernel file's).
    #[arg(short, long, value_enum)]
    pub arch: Option<Arch>,
    /// Guest memory in MiB.
    #[arg(long, default_value_t = 1024, value_name = "MIB")]
    pub mem: u32,
    /// Guest CPUs.
    #[arg(long, default_value_t = 2)]
    pub cpus: u32,
    /// Attach FILE as a virtio disk (raw, or qcow2 by extension); repeatable.
    #[arg(long = "disk", value_name = "FILE")]
    pub disks: Vec<PathBuf>,
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
}

pub fn run(global: &GlobalArgs, cmd: RunCommand) -> anyhow::Result<()> {
    let _ = global;
    match cmd {
        RunCommand::Qemu(args) => qemu_run(args),
    }
}

fn sibling(name: &Path, suffix: &str) -> PathBuf {
    let mut s = name.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

fn qemu_run(args: QemuArgs) -> anyhow::Result<()> {
    let kernel = sibling(&args.name, "-kernel");
    let initrd = sibling(&args.name, "-initrd.img");
    let cmdline_file = sibling(&args.name, "-cmdline");
    let found = qemu::kernel_arch(&kernel)?;
    let arch = match args.arch {
        Some(asked) if asked != found => {
            return Err(RunError::WrongArch {
                path: kernel,
                found: found.oci_name(),
                asked: asked.oci_name(),
            }
            .into());
        }
        _ => found,
    };
    for path in std::iter::once(&initrd).chain(&args.disks) {
        std::fs::metadata(path).map_err(|source| RunError::Missing {
            path: path.clone(),
            source,
        })?;
    }
    let cmdline = std::fs::read_to_string(&cmdline_file).map_err(|source| RunError::Missing {
        path: cmdline_file.clone(),
        source,
    })?;
    let publish = args
        .publish
        .iter()
        .map(|p| p.parse::<Publish>())
        .collect::<Result<Vec<_>, _>>()?;
    let (accel, why) = accel::choose(args.accel, arch, &kernel);
    let machine = Machine {
        arch,
        accel,
        kernel,
        initrd,
        cmdline: cmdline.trim().to_string(),
        mem_mib: args.mem,
        cpus: args.cpus,
        disks: args.disks,
        publish,
    };
    let argv = qemu::args(&machine);
    ui::status(format!(
        "booting {} ({}) with {why}, {} MiB, {} CPUs; Ctrl-A X quits",
        args.name.display(),
        arch.oci_name(),
        args.mem,
        args.cpus
    ));
    tracing::info!("{}", argv.join(" "));
    let outcome = console::run(&argv, args.timeout.map(Duration::from_secs))
        .context("cannot run the guest")?;
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
