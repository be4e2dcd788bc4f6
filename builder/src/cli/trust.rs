use clap::{Args, Subcommand};
use std::path::PathBuf;

use super::GlobalArgs;

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an ed25519 key pair: PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub.
    Generate {
        /// Path prefix of the two files.
        #[arg(long, default_value = "cairn")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// Image name in the local store.
    pub image: String,
    /// Private key (PKCS#8 PEM).
    #[arg(long)]
    pub key: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Image name in the local store.
    pub image: String,
    /// Public key (PEM).
    #[arg(long, conflicts_with = "policy")]
    pub key: Option<PathBuf>,
    /// A config file whose `trust:` section is the policy.
    #[arg(long)]
    pub policy: Option<PathBuf>,
}

pub fn key(_global: &GlobalArgs, _cmd: KeyCommand) -> anyhow::Result<()> {
    anyhow::bail!("keys are not written yet")
}
pub fn sign(_global: &GlobalArgs, _args: SignArgs) -> anyhow::Result<()> {
    anyhow::bail!("sign is not written yet")
}
pub fn verify(_global: &GlobalArgs, _args: VerifyArgs) -> anyhow::Result<()> {
    anyhow::bail!("verify is not written yet")
}
