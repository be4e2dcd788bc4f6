use clap::Args;
use std::path::PathBuf;

use super::GlobalArgs;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Config files, merged in order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

pub fn run(_global: &GlobalArgs, _args: ValidateArgs) -> anyhow::Result<()> {
    anyhow::bail!("validate is not written yet")
}
