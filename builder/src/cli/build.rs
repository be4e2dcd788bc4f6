//! `cairn build`: config -> resolve -> trust, then (in later stages) assemble
//! and write outputs. Today it stops after every image is pinned and verified.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use super::images::{open_store, registry};
use super::trust::policy_from_config;
use super::{Arch, GlobalArgs};
use crate::config::{self, ImageUse};
use crate::exit::CliError;
use crate::oci::integrity::check_image;
use crate::oci::resolve::resolve;
use crate::oci::{self, ImageRef, RegistryError};
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
}

/// Where one image of the config stands after resolution.
enum Outcome {
    Pinned {
        digest: oci::Digest,
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
    let platform = format!("linux/{}", arch.oci_name());
    let store = open_store(global)?;
    let registry = if args.offline {
        None
    } else {
        Some(registry(global)?)
    };
    let uses = config.images();
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
    Err(CliError::user(
        "every image is pinned and verified, but cairn cannot assemble outputs yet \
         (kernel+initrd, tar and disk images arrive with the boot work); \
         use `cairn build --dry-run` to resolve and verify only",
    )
    .into())
}

fn print_plan(plan: &[(&ImageUse, ImageRef, Outcome)]) {
    println!("{:<12} {:<44} {:<19} TRUST", "SECTION", "IMAGE", "DIGEST");
    for (use_, image, outcome) in plan {
        let (digest, trust) = match outcome {
            Outcome::Pinned {
                digest,
                pulled,
                trust,
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
