//! `cairn kernel check`: does a kernel have the options cairn needs?

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::{Arch, GlobalArgs};
use crate::kernel::{self, RequiredList};
use crate::oci::{ImageRef, Store};
use crate::ui;

#[derive(Debug, Subcommand)]
pub enum KernelCommand {
    /// Check a kernel's .config against the options cairn needs.
    ///
    /// Prints, per feature, each option as built in, module or missing, and
    /// the modules the init must load. Exits 1 when a required option is
    /// missing (or a module where it must be built in).
    #[command(after_help = "Examples:\n  \
        cairn kernel check cairn/kernel:latest --arch arm64\n  \
        cairn kernel check --config /boot/config-$(uname -r)")]
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Kernel package in the local store; its /config is checked.
    #[arg(required_unless_present = "config", conflicts_with = "config")]
    pub image: Option<String>,
    /// Check this .config file instead of a package.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Architecture the kernel is for (default: the host's).
    #[arg(short, long, value_enum)]
    pub arch: Option<Arch>,
}

pub fn run(global: &GlobalArgs, cmd: KernelCommand) -> anyhow::Result<()> {
    match cmd {
        KernelCommand::Check(args) => check(global, args),
    }
}

fn check(global: &GlobalArgs, a: CheckArgs) -> anyhow::Result<()> {
    let arch = a.arch.unwrap_or_else(Arch::host).oci_name();
    let (what, config) = match (&a.config, &a.image) {
        (Some(path), _) => (path.display().to_string(), kernel::read_config_file(path)?),
        (None, Some(image)) => {
            let reference: ImageRef = image.parse()?;
            let root = global.store.clone().unwrap_or_else(Store::default_root);
            let store = Store::open(&root)
                .with_context(|| format!("cannot open image store {}", root.display()))?;
            let text = kernel::read_config(&store, &reference, arch)?;
            (
                format!("{image} /config"),
                kernel::KernelConfig::parse(&text),
            )
        }
        (None, None) => anyhow::bail!("name a kernel package or give --config FILE"),
    };
    let list = RequiredList::builtin()?;
    let report = kernel::check(&config, &list, arch);
    if global.verbosity() != ui::Verbosity::Quiet {
        println!("kernel config {what} for {arch}\n");
        print!("{}", report.table());
        let warnings = report.warnings().count();
        if report.passed() {
            println!(
                "\nok: every required option is set{}",
                if warnings > 0 {
                    format!(" ({warnings} wanted option(s) missing)")
                } else {
                    String::new()
                }
            );
        }
    }
    Ok(report.result()?)
}
