//! The command line: argument definitions and dispatch to one file per command
//! group. Each handler turns typed arguments into calls on the library.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::ui::Verbosity;

mod build;
pub mod exit_code;
mod flash;
mod images;
mod kernel;
mod pcr;
mod pkg;
mod run;
mod shell;
mod trust;
mod update;
mod validate;

/// Build immutable, container-only Linux systems from a YAML file.
///
/// A YAML file names a kernel, an init, containers to run once at boot
/// (onboot), long-running containers (services) and files. cairn resolves
/// every image to a digest, verifies signatures against the trust policy in the
/// YAML and assembles a read-only system. Images come from the local store
/// first (an OCI image layout, ~/.cache/cairn/store by default) and from
/// registries when missing.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, propagate_version = true)]
#[command(after_help = "Examples:\n  \
    cairn validate examples/minimal.yml      check a config, errors as FILE:LINE:COL\n  \
    cairn build --dry-run examples/minimal.yml  resolve and verify every image of a config\n  \
    cairn pull docker.io/library/alpine:3.20 copy an image into the local store\n  \
    cairn key generate --out release         write release.key (private) and release.pub\n  \
    cairn sign cairn/init:latest --key release.key")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Local image store (OCI image layout).
    #[arg(long, global = true, env = "CAIRN_STORE", value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Reach this registry over plain HTTP (localhost and 127.0.0.0/8 always are).
    #[arg(long = "insecure-registry", global = true, value_name = "HOST[:PORT]")]
    pub insecure_registries: Vec<String>,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail; twice for debug output.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

impl GlobalArgs {
    pub fn verbosity(&self) -> Verbosity {
        match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, 1) => Verbosity::Verbose,
            _ => Verbosity::Debug,
        }
    }
}

pub use crate::arch::Arch;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check config files against the schema; every error as FILE:LINE:COL.
    Validate(validate::ValidateArgs),
    /// Build a system from one or more config files (merged in order).
    Build(build::BuildArgs),
    /// Copy images from a registry into the local store.
    Pull(images::PullArgs),
    /// Copy images and their signatures from the local store to a registry.
    Push(images::PushArgs),
    /// List the images in the local store.
    Images(images::ImagesArgs),
    /// Remove image names from the local store (blobs go at the next `gc`).
    Rm(images::RmArgs),
    /// Delete blobs in the local store that no image refers to.
    Gc(images::GcArgs),
    /// Manage ed25519 signing keys.
    #[command(subcommand)]
    Key(trust::KeyCommand),
    /// Sign an image in the local store.
    Sign(trust::SignArgs),
    /// Verify an image's signatures with a key or a config's trust policy.
    Verify(trust::VerifyArgs),
    /// Check a kernel's configuration against the options cairn needs.
    #[command(subcommand)]
    Kernel(kernel::KernelCommand),
    /// Build packages (signed OCI images) from pkg/<name>/build.yml.
    #[command(subcommand)]
    Pkg(pkg::PkgCommand),
    /// Boot a built system (disk image, UKI or kernel+initrd) in a virtual machine.
    #[command(subcommand)]
    Run(run::RunCommand),
    // Its summary and long help are `FlashArgs`' doc comment.
    Flash(flash::FlashArgs),
    // Its summary and long help are `UpdateArgs`' doc comment.
    Update(update::UpdateArgs),
    /// Forecast the TPM measurements of a built image.
    #[command(subcommand)]
    Pcr(pcr::PcrCommand),
    /// Print a shell completion script (bash, zsh, fish, ...).
    Completions(shell::CompletionsArgs),
    /// Write man pages into a folder.
    Man(shell::ManArgs),
}

/// SOURCE_DATE_EPOCH when set, else 0: every timestamp cairn writes into
/// packages and outputs, so rebuilds are byte-identical.
fn source_date_epoch() -> anyhow::Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v.trim().parse().map_err(|_| {
            crate::exit::CliError::user(format!(
                "SOURCE_DATE_EPOCH={v:?} is not a number of seconds; unset it or give e.g. 1700000000"
            ))
            .into()
        }),
        _ => Ok(0),
    }
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    crate::cleanup::install();
    let global = cli.global;
    match cli.command {
        Command::Validate(args) => validate::run(&global, args),
        Command::Build(args) => build::run(&global, args),
        Command::Pull(args) => images::pull(&global, args),
        Command::Push(args) => images::push(&global, args),
        Command::Images(args) => images::list(&global, args),
        Command::Rm(args) => images::rm(&global, args),
        Command::Gc(args) => images::gc(&global, args),
        Command::Key(cmd) => trust::key(&global, cmd),
        Command::Sign(args) => trust::sign(&global, args),
        Command::Verify(args) => trust::verify(&global, args),
        Command::Kernel(cmd) => kernel::run(&global, cmd),
        Command::Pkg(cmd) => pkg::run(&global, cmd),
        Command::Run(cmd) => run::run(&global, cmd),
        Command::Flash(args) => flash::run(&global, args),
        Command::Update(args) => update::run(&global, args),
        Command::Pcr(cmd) => pcr::run(&global, cmd),
        Command::Completions(args) => shell::completions(args),
        Command::Man(args) => shell::man(args),
    }
}
