//! `cairn build`: config -> resolve -> trust -> assemble -> outputs, with a
//! summary of what was written and from which images.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use super::images::{open_store, registry};
use super::trust::policy_from_config;
use super::{Arch, GlobalArgs};
use crate::assemble::{self, Inputs, System, UsedImage};
use crate::config::{self, ImageUse};
use crate::exit::CliError;
use crate::oci::integrity::check_image;
use crate::oci::resolve::resolve;
use crate::oci::{self, ImageRef, RegistryError, human_bytes};
use crate::output::{self, Compression, Format, Written};
use crate::trust::Verdict;
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
    /// image (uki), LinuxKit's kernel+initrd, or the root filesystem alone
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
}

/// Where one image of the config stands after resolution.
enum Outcome {
    Pinned {
        digest: oci::Digest,
        platform_digest: oci::Digest,
        pulled: bool,
        trust: Verdict,
    },
    /// Not in the store, and `--offline` forbids fetching it.
    Missing,
}

pub fn run(global: &GlobalArgs, args: BuildArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let config = config::load(&args.files)?;
    let policy = policy_from_config(&config.trust).context("the config's trust policy")?;
    let arch = args.arch.unwrap_or_else(Arch::host);
    if args.format.needs_syslinux() && arch != Arch::Amd64 {
        return Err(CliError::user(format!(
            "-f {} boots from a PC BIOS, which only x86_64 machines have; for {} build raw-efi, qcow2-efi or iso-efi",
            args.format.name(),
            arch.oci_name()
        ))
        .into());
    }
    let platform = format!("linux/{}", arch.oci_name());
    let store = open_store(global)?;
    let registry = if args.offline {
        None
    } else {
        Some(registry(global)?)
    };
    let mut uses = config.images();
    let (stub, syslinux) = loader_images(&config, args.format);
    for (name, image) in [("stub", &stub), ("syslinux", &syslinux)] {
        let section = format!("kernel.{name}");
        if let Some(image) = image
            && !uses.iter().any(|u| u.section == section)
        {
            uses.push(ImageUse {
                section,
                name: name.into(),
                image: image.clone(),
            });
        }
    }
    ui::status(format!(
        "resolving {} images for {platform} (store {})",
        uses.len(),
        store.root().display()
    ));
    let mut plan = Vec::with_capacity(uses.len());
    for use_ in &uses {
        let image: ImageRef = use_
            .image
            .parse()
            .with_context(|| format!("{} of the config", use_.section))?;
        let outcome = match resolve(&store, registry.as_ref(), &image, &platform) {
            Ok(resolved) => {
                check_image(&store, &resolved.digest, Some(&platform))
                    .with_context(|| format!("{} ({}) is damaged", use_.section, use_.image))?;
                let trust = policy
                    .check(&store, &image, &resolved.digest)
                    .with_context(|| format!("{} ({}) is refused", use_.section, use_.image))?;
                Outcome::Pinned {
                    digest: resolved.digest,
                    platform_digest: resolved.platform_digest,
                    pulled: resolved.pulled,
                    trust,
                }
            }
            Err(RegistryError::NotLocal { .. }) if args.offline && args.dry_run => Outcome::Missing,
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot resolve {} image {}", use_.section, use_.image)
                });
            }
        };
        plan.push((use_, image, outcome));
    }
    print_plan(&plan);
    let missing = plan
        .iter()
        .filter(|(_, _, o)| matches!(o, Outcome::Missing))
        .count();
    ui::status(format!(
        "{} images resolved, {missing} missing from the store, in {:.1}s",
        plan.len() - missing,
        started.elapsed().as_secs_f64()
    ));
    if args.dry_run {
        return Ok(());
    }
    let mut images = BTreeMap::new();
    for (use_, _, outcome) in &plan {
        if let Outcome::Pinned {
            platform_digest, ..
        } = outcome
        {
            images.insert(use_.image.clone(), platform_digest.clone());
        }
    }
    let name = output_name(&args)?;
    let inputs = Inputs {
        config: &config,
        store: &store,
        arch,
        images: &images,
        stub: stub.as_deref(),
        syslinux: syslinux.as_deref(),
    };
    let (written, used) = assemble_and_write(&inputs, &args, &name)?;
    print_summary(&written, &used, started);
    Ok(())
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
    inputs: &Inputs,
    args: &BuildArgs,
    name: &str,
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
    let system = match assemble::assemble(inputs, work.path()) {
        Ok(system) => {
            step.finish(&format!("{} entries", system.rootfs.len()));
            system
        }
        Err(e) => {
            step.abandon();
            return Err(e.into());
        }
    };
    let written = write_outputs(&system, args, dir, name)?;
    Ok((written, system.images))
}

fn write_outputs(
    system: &System,
    args: &BuildArgs,
    dir: &Path,
    name: &str,
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
        arch: args.arch.unwrap_or_else(Arch::host),
        stub: system.stub.as_ref(),
        syslinux: system.syslinux.as_ref(),
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

fn print_plan(plan: &[(&ImageUse, ImageRef, Outcome)]) {
    println!("{:<12} {:<44} {:<19} TRUST", "SECTION", "IMAGE", "DIGEST");
    for (use_, image, outcome) in plan {
        let (digest, trust) = match outcome {
            Outcome::Pinned {
                digest,
                pulled,
                trust,
                ..
            } => {
                let short = format!(
                    "{}{}",
                    &digest.to_string()[..19],
                    if *pulled { "*" } else { "" }
                );
                let trust = match trust {
                    Verdict::NotCovered => "not required".to_string(),
                    Verdict::Verified { key, origin } => {
                        format!("signed by {} ({origin})", &key[..key.len().min(19)])
                    }
                };
                (short, trust)
            }
            Outcome::Missing => (
                "-".to_string(),
                format!("not in the store; would pull from {}", image.registry()),
            ),
        };
        println!(
            "{:<12} {:<44} {:<19} {trust}",
            use_.section,
            image.store_name(),
            digest
        );
    }
}
