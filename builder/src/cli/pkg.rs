//! `cairn pkg build` and `cairn pkg lock`: packages from `pkg/<name>/build.yml`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use super::{Arch as CliArch, GlobalArgs};
use crate::exit::CliError;
use crate::oci::Store;
use crate::pkg::build::{self, Inputs};
use crate::pkg::spec::{Arch, BuildSpec};
use crate::pkg::{crates, debs};
use crate::trust::{self, KeyFiles, SigningKey};
use crate::ui;

#[derive(Debug, Subcommand)]
pub enum PkgCommand {
    /// Build a package into the local store as a signed multi-arch OCI image.
    ///
    /// Uses only the pinned Debian packages of lock.yml. Prints
    /// `cairn/<name>@sha256:<digest>` as the last line.
    Build(BuildArgs),
    /// Resolve the Debian packages of build.yml for each architecture and
    /// write lock.yml next to it.
    Lock(LockArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The package folder, e.g. pkg/runc.
    pub dir: PathBuf,
    /// Only these architectures (comma-separated); default: all of build.yml.
    #[arg(long, value_delimiter = ',', value_name = "ARCH")]
    pub arch: Vec<CliArch>,
    /// Private signing key (PKCS#8 PEM). Default: a development key under
    /// ~/.config/cairn/, created on first use.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// The package folder, e.g. pkg/runc.
    pub dir: PathBuf,
}

pub fn run(global: &GlobalArgs, cmd: PkgCommand) -> anyhow::Result<()> {
    match cmd {
        PkgCommand::Build(args) => build_pkg(global, args),
        PkgCommand::Lock(args) => lock(args),
    }
}

fn spec_arch(a: CliArch) -> Arch {
    match a {
        CliArch::Amd64 => Arch::Amd64,
        CliArch::Arm64 => Arch::Arm64,
    }
}

fn build_pkg(global: &GlobalArgs, args: BuildArgs) -> anyhow::Result<()> {
    let spec = BuildSpec::load(&args.dir)?;
    let mut archs: Vec<Arch> = args.arch.iter().map(|&a| spec_arch(a)).collect();
    if archs.is_empty() {
        archs = spec.archs.clone();
    }
    archs.sort();
    archs.dedup();
    if let Some(a) = archs.iter().find(|a| !spec.archs.contains(a)) {
        return Err(CliError::user(format!(
            "package {} is not built for {}; its build.yml lists {}",
            spec.name,
            a.name(),
            spec.archs
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into());
    }
    let mtime = super::source_date_epoch()?;
    // Keys are checked before the long work starts.
    let key = signing_key(args.key.as_deref())?;
    let store_root = global.store.clone().unwrap_or_else(Store::default_root);
    let store = Store::open(&store_root)
        .with_context(|| format!("cannot open image store {}", store_root.display()))?;
    let mut debs = debs::debs_for(&spec, &args.dir, &archs)?;
    let mut manifests = Vec::new();
    for arch in &archs {
        let plan = spec.for_arch(*arch);
        let mut inputs = Inputs {
            debs: debs.remove(arch).unwrap_or_default(),
            crates: Vec::new(),
        };
        if !plan.crates.is_empty() {
            let root = crates::workspace_root(&args.dir)?;
            for c in &plan.crates {
                let step = ui::Step::spinner(format!(
                    "cargo build {} ({})",
                    c.package,
                    arch.rust_target()
                ));
                inputs.crates.push(crates::build(&root, c, *arch)?);
                step.finish("done");
            }
        }
        let step = ui::Step::spinner(format!("assembling {} {}", spec.name, arch.name()));
        let tree = build::assemble(&spec, &args.dir, *arch, &inputs, mtime)?;
        step.finish(&format!("{} entries", tree.len()));
        let step = ui::Step::spinner(format!("writing the {} layer", arch.name()));
        let (manifest, size) = build::write_arch(&store, &spec, *arch, &tree, mtime)?;
        step.finish(&format!("{:.1} MB", size as f64 / 1e6));
        manifests.push(manifest);
    }
    let built = build::finish(&store, &spec, &manifests)?;
    let tagged = built.image.with_tag(&built.tag);
    let signed = trust::sign(&store, &tagged, &key)?;
    ui::status(format!(
        "built {} ({}) and signed it with key {}",
        tagged.store_name(),
        archs
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>()
            .join(", "),
        signed.key
    ));
    println!("cairn/{}@{}", spec.name, built.digest);
    Ok(())
}

/// The key given, or the development key, created on first use.
fn signing_key(key: Option<&Path>) -> anyhow::Result<SigningKey> {
    if let Some(path) = key {
        return Ok(SigningKey::load(path)?);
    }
    let prefix = trust::development::prefix();
    let dir = prefix.parent().unwrap_or(Path::new("."));
    let files = KeyFiles::for_prefix(&prefix);
    if files.private.exists() {
        return Ok(SigningKey::load(&files.private)?);
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create {} for the development key", dir.display()))?;
    let key = SigningKey::generate()?;
    key.write_pair(&prefix, false)?;
    ui::status(format!(
        "created a DEVELOPMENT signing key {} (not for releases: pass --key for those); \
         its public key {} goes into `trust.keys` of configs that use these packages",
        files.private.display(),
        files.public.display()
    ));
    Ok(key)
}

fn lock(args: LockArgs) -> anyhow::Result<()> {
    let spec = BuildSpec::load(&args.dir)?;
    let path = debs::lock(&spec, &args.dir)?;
    ui::status(format!("wrote {}", path.display()));
    Ok(())
}
