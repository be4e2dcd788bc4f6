//! `cairn build`: config -> resolve -> trust -> assemble -> outputs, with a
//! summary of what was written and from which images.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use super::images::{open_store, registry};
use super::{Arch, GlobalArgs};
use crate::assemble::{self, System, UsedImage};
use crate::config;
use crate::exit::CliError;
use crate::oci::human_bytes;
use crate::output::{self, Compression, Format, Written};
use crate::plan::{self, Outcome, Pinned, Plan};
use crate::trust::{Verdict, development};
use crate::ui;

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Config files, merged in order (later files add to and override earlier ones).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Target architecture (default: the host's).
    #[arg(short, long, value_enum)]
    pub arch: Option<Arch>,
    /// Resolve and verify every image, print the plan, write no output.
    /// Images missing from the store are still pulled unless --offline.
    #[arg(long)]
    pub dry_run: bool,
    /// Use only the local store; never contact a registry.
    #[arg(long)]
    pub offline: bool,
    /// Output format: a UEFI disk (raw-efi, qcow2-efi), a unified kernel
    /// image (uki), a Raspberry Pi card (rpi, for `rpi.board`; always
    /// arm64), LinuxKit's kernel+initrd, or the root filesystem alone
    /// (squashfs, tar).
    #[arg(short, long, value_enum, default_value = "raw-efi")]
    pub format: Format,
    /// Folder the outputs are written to.
    #[arg(short, long = "output", value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
    /// Base name of the outputs (default: the first config's file stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Compression of the initrd.
    #[arg(long, value_enum, default_value_t)]
    pub compress: Compression,
    /// Use images matching PATTERN without a signature, when no trust rule
    /// covers them (like `trust.allow_unsigned`; repeatable). Every other
    /// image must be signed by a key of the config's `trust:` policy.
    #[arg(long, value_name = "PATTERN")]
    pub allow_unsigned: Vec<String>,
    /// Sign a Raspberry Pi 4 card for the EEPROM bootloader's secure-boot
    /// mode with this RSA-2048 private key (PEM): the boot partition then
    /// holds boot.img (firmware, config.txt, kernel, initramfs, device trees
    /// and cmdline.txt, which pins the root hash) and boot.sig.
    #[arg(long, value_name = "KEY.pem")]
    pub rpi_boot_key: Option<PathBuf>,
    /// The size of a disk image (raw-efi, qcow2-efi, raw-bios, qcow2-bios),
    /// e.g. 4G: the ESP and the two root slots take what the content needs
    /// and the data partition the rest. Without it the disk is as small as
    /// its content allows, and the init grows the data partition to the end
    /// of the device it is flashed to.
    #[arg(long, value_name = "SIZE", value_parser = disk_size)]
    pub disk_size: Option<u64>,
    /// This system's version, overriding the config's `version:`: numbers
    /// joined by dots (3, 2026.12.7). A disk's UKI is EFI/Linux/cairn-VERSION.efi
    /// and systemd-boot starts the newest version that has not failed; an
    /// update must be newer than the running system.
    #[arg(long, value_name = "VERSION", value_parser = image_version)]
    pub image_version: Option<String>,
}

/// The version when neither the config nor `--version` gives one.
pub const DEFAULT_VERSION: &str = "0";

fn image_version(text: &str) -> Result<String, String> {
    match config::version_problem(text) {
        Some(problem) => Err(problem),
        None => Ok(text.to_string()),
    }
}

fn disk_size(text: &str) -> Result<u64, String> {
    crate::size::parse_size(text).ok_or_else(|| crate::size::SIZE_HELP.to_string())
}

pub fn run(global: &GlobalArgs, args: BuildArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let config = config::load(&args.files)?;
    let arch = target_arch(&args)?;
    if args.format.needs_syslinux() && arch != Arch::Amd64 {
        return Err(CliError::user(format!(
            "-f {} boots from a PC BIOS, which only x86_64 machines have; for {} build raw-efi, qcow2-efi or iso-efi",
            args.format.name(),
            arch.oci_name()
        ))
        .into());
    }
    for pattern in &args.allow_unsigned {
        config::check_image_pattern(pattern)
            .map_err(|e| CliError::user(format!("--allow-unsigned: {e}")))?;
    }
    let store = open_store(global)?;
    let registry = if args.offline {
        None
    } else {
        Some(registry(global)?)
    };
    let (stub, syslinux) = loader_images(&config, args.format);
    let rpi = rpi_target(&config, args.format)?;
    let boot_key = rpi_boot_key(&args, rpi.as_ref())?;
    let request = plan::Request {
        config: &config,
        arch,
        stub,
        syslinux,
        rpi,
        allow_unsigned: &args.allow_unsigned,
        tolerate_missing: args.dry_run && args.offline,
    };
    ui::status(format!(
        "resolving the images for linux/{} (store {})",
        arch.oci_name(),
        store.root().display()
    ));
    let survey = plan::survey(&store, registry.as_ref(), &request)?;
    print_plan(survey.entries());
    announce_development_key(survey.entries());
    let missing = survey.missing();
    ui::status(format!(
        "{} images resolved, {missing} missing from the store, in {:.1}s",
        survey.entries().len() - missing,
        started.elapsed().as_secs_f64()
    ));
    if args.dry_run {
        return Ok(());
    }
    let plan = survey.into_plan()?;
    let name = output_name(&args)?;
    let (written, used) = assemble_and_write(&plan, &args, &name, boot_key.as_ref())?;
    print_summary(&written, &used, started);
    Ok(())
}

/// Says once that the development key vouched for images: fine on the
/// machine that built them, never what a release should rest on.
fn announce_development_key(entries: &[plan::Entry]) {
    let by_dev = (entries.iter())
        .filter(|e| {
            matches!(
                &e.outcome,
                Outcome::Pinned(Pinned {
                    trust: Verdict::Verified {
                        development: true,
                        ..
                    },
                    ..
                })
            )
        })
        .count();
    if by_dev > 0 {
        ui::warn(format!(
            "{} of {} images are trusted through this machine's DEVELOPMENT key ({}); \
             sign release images with your own key (`cairn key generate`, `cairn pkg build --key`)",
            by_dev,
            entries.len(),
            development::public_path().display()
        ));
    }
}

/// The boot loader images `format` is built on: the UEFI stub of UKI-based
/// formats and the BIOS loader of `-bios` ones, each as the `kernel`
/// section names it, else cairn's package.
fn loader_images(config: &config::Config, format: Format) -> (Option<String>, Option<String>) {
    let kernel = config.kernel.as_ref();
    let stub = format.needs_stub().then(|| {
        (kernel.and_then(|k| k.stub.clone()))
            .unwrap_or_else(|| assemble::loader::DEFAULT_STUB.to_string())
    });
    let syslinux = format.needs_syslinux().then(|| {
        (kernel.and_then(|k| k.syslinux.clone()))
            .unwrap_or_else(|| assemble::loader::DEFAULT_SYSLINUX.to_string())
    });
    (stub, syslinux)
}

/// `--arch`, else arm64 for a Raspberry Pi card, else the host's.
fn target_arch(args: &BuildArgs) -> anyhow::Result<Arch> {
    match (args.format, args.arch) {
        (Format::Rpi, Some(Arch::Amd64)) => Err(CliError::user(
            "-f rpi builds a Raspberry Pi card, and the Pi 3 and 4 are arm64 machines: \
             drop `--arch amd64` (a card is always arm64)",
        )
        .into()),
        (Format::Rpi, _) => Ok(Arch::Arm64),
        (_, arch) => Ok(arch.unwrap_or_else(Arch::host)),
    }
}

/// The board and firmware image of an `-f rpi` card, from `rpi:`.
fn rpi_target(config: &config::Config, format: Format) -> anyhow::Result<Option<plan::RpiTarget>> {
    if format != Format::Rpi {
        return Ok(None);
    }
    let rpi = config.rpi.as_ref();
    let Some(board) = rpi.and_then(|r| r.board()) else {
        let files = (config.sources.iter())
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(CliError::user(format!(
            "{files}: -f rpi needs `rpi.board`: add `rpi: {{board: rpi3}}` (or rpi4) to the config"
        ))
        .into());
    };
    Ok(Some(plan::RpiTarget {
        board,
        firmware: rpi.map(|r| r.firmware_image()).unwrap_or_default(),
    }))
}

/// The key of `--rpi-boot-key`, read before anything is built; only a
/// Pi 4 has the secure-boot mode it is for.
fn rpi_boot_key(
    args: &BuildArgs,
    rpi: Option<&plan::RpiTarget>,
) -> anyhow::Result<Option<rsa::PrivateKey>> {
    let Some(path) = &args.rpi_boot_key else {
        return Ok(None);
    };
    match rpi.map(|r| r.board) {
        Some(crate::arch::Board::Rpi4) => Ok(Some(output::rpi_sign::load_key(path)?)),
        Some(board) => Err(CliError::user(format!(
            "--rpi-boot-key signs for the Raspberry Pi 4 bootloader's secure-boot mode; \
             the {} has none (set `rpi.board: rpi4`)",
            board.name()
        ))
        .into()),
        None => {
            Err(CliError::user("--rpi-boot-key signs a Raspberry Pi 4 card: add -f rpi").into())
        }
    }
}

/// The outputs' base name: `--name`, else the first config's file stem.
fn output_name(args: &BuildArgs) -> anyhow::Result<String> {
    let name = match &args.name {
        Some(name) => name.clone(),
        None => args
            .files
            .first()
            .and_then(|f| f.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "system".to_string()),
    };
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return Err(CliError::user(format!(
            "--name {name:?} must be a plain file name (no `/`, not starting with `.`)"
        ))
        .into());
    }
    Ok(name)
}

fn assemble_and_write(
    plan: &Plan,
    args: &BuildArgs,
    name: &str,
    boot_key: Option<&rsa::PrivateKey>,
) -> anyhow::Result<(Vec<Written>, Vec<UsedImage>)> {
    let dir = &args.output;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output folder {}", dir.display()))?;
    // Contents of the tree live next to the outputs: the same filesystem,
    // and not a RAM-backed /tmp.
    let work = tempfile::Builder::new()
        .prefix(".cairn-build-")
        .tempdir_in(dir)
        .with_context(|| format!("cannot create a work folder in {}", dir.display()))?;
    let _cleanup = crate::cleanup::register(work.path());
    let step = ui::Step::spinner("assembling the root filesystem");
    let system = match assemble::assemble(plan, work.path()) {
        Ok(system) => {
            step.finish(&format!("{} entries", system.rootfs.len()));
            system
        }
        Err(e) => {
            step.abandon();
            return Err(e.into());
        }
    };
    let disk = output::slots::DiskSpec {
        size: args.disk_size,
        data: plan.config().data.as_ref().map_or_else(
            || output::slots::DiskSpec::default().data,
            |d| d.size_bytes(),
        ),
    };
    let version = (args.image_version.clone())
        .or_else(|| plan.config().version.clone())
        .unwrap_or_else(|| DEFAULT_VERSION.to_string());
    let written = write_outputs(&system, args, dir, name, boot_key, disk, &version)?;
    Ok((written, system.images))
}

fn write_outputs(
    system: &System,
    args: &BuildArgs,
    dir: &Path,
    name: &str,
    boot_key: Option<&rsa::PrivateKey>,
    disk: output::slots::DiskSpec,
    version: &str,
) -> anyhow::Result<Vec<Written>> {
    let request = output::Request {
        rootfs: &system.rootfs,
        kernel: system.kernel.as_ref().map(|k| output::Kernel {
            image: &k.kernel,
            cmdline: &k.cmdline,
            release: &k.version,
        }),
        dir,
        name,
        mtime: super::source_date_epoch()?,
        compression: args.compress,
        arch: target_arch(args)?,
        stub: system.stub.as_ref().map(|s| &s.stub),
        boot_manager: system.stub.as_ref().map(|s| &s.boot_manager),
        version,
        syslinux: system.syslinux.as_ref(),
        rpi: system.rpi.as_ref(),
        rpi_key: boot_key,
        disk,
    };
    let label = match args.format {
        Format::KernelInitrd => format!("writing kernel+initrd ({})", args.compress.name()),
        format => format!("writing {}", format.name()),
    };
    let step = ui::Step::bytes(label, Some(output::total_bytes(&request)));
    match output::write(&request, args.format, &|n| step.inc(n)) {
        Ok(written) => {
            let total: u64 = written.iter().map(|w| w.size).sum();
            step.finish(&human_bytes(total));
            Ok(written)
        }
        Err(e) => {
            step.abandon();
            Err(e.into())
        }
    }
}

fn print_summary(written: &[Written], used: &[UsedImage], started: Instant) {
    println!();
    println!("{:<12} {:<44} PLATFORM MANIFEST", "SECTION", "IMAGE");
    for u in used {
        println!("{:<12} {:<44} {}", u.section, u.image, u.digest);
    }
    println!();
    println!("{:<40} {:>10}  SHA256", "OUTPUT", "SIZE");
    for w in written {
        println!(
            "{:<40} {:>10}  {}",
            w.path.display(),
            human_bytes(w.size),
            &w.sha256[..16]
        );
    }
    ui::status(format!(
        "built {} in {:.1}s",
        written
            .iter()
            .filter_map(|w| w.path.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed().as_secs_f64()
    ));
}

fn print_plan(entries: &[plan::Entry]) {
    println!("{:<12} {:<44} {:<19} TRUST", "SECTION", "IMAGE", "DIGEST");
    for entry in entries {
        let (digest, trust) = match &entry.outcome {
            Outcome::Pinned(p) => {
                let short = format!(
                    "{}{}",
                    &p.digest.to_string()[..19],
                    if p.pulled { "*" } else { "" }
                );
                let trust = match &p.trust {
                    Verdict::AllowedUnsigned { origin } => format!("unsigned, allowed by {origin}"),
                    Verdict::Verified { key, origin, .. } => {
                        format!("signed by {} ({origin})", &key[..key.len().min(19)])
                    }
                };
                (short, trust)
            }
            Outcome::Missing => (
                "-".to_string(),
                format!(
                    "not in the store; would pull from {}",
                    entry.image.registry()
                ),
            ),
        };
        println!(
            "{:<12} {:<44} {:<19} {trust}",
            entry.use_.section,
            entry.image.store_name(),
            digest
        );
    }
}
