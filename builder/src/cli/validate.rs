use clap::Args;
use std::path::PathBuf;

use super::GlobalArgs;
use crate::config;
use crate::ui;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Config files, merged in order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Loads the files as one merged config. On failure the returned error is the
/// `LoadError` itself, whose message lists every problem as FILE:LINE:COL, so
/// `ui::report_error` prints them exactly once.
pub fn run(_global: &GlobalArgs, args: ValidateArgs) -> anyhow::Result<()> {
    config::load(&args.files)?;
    let names: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
    ui::status(format!("{}: ok", names.join(" + ")));
    Ok(())
}
