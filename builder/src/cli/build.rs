use clap::Args;
use std::path::PathBuf;

use super::{Arch, GlobalArgs};

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Config files, merged in order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Target architecture.
    #[arg(short, long, value_enum)]
    pub arch: Option<Arch>,
}

pub fn run(_global: &GlobalArgs, _args: BuildArgs) -> anyhow::Result<()> {
    anyhow::bail!("build is not written yet")
}
