use clap::Args;

use super::{Arch, GlobalArgs};

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Image references, e.g. docker.io/library/alpine:3.20 or 127.0.0.1:5000/x@sha256:...
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Platforms to fetch from a multi-arch index (default: the host's).
    #[arg(short, long, value_enum, value_delimiter = ',')]
    pub arch: Vec<Arch>,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Image name in the local store.
    pub image: String,
    /// Push under another name (the registry is part of the name).
    #[arg(long = "as", value_name = "TARGET")]
    pub target: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {}

#[derive(Debug, Args)]
pub struct RmArgs {
    #[arg(required = true)]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct GcArgs {}

pub fn pull(_g: &GlobalArgs, _a: PullArgs) -> anyhow::Result<()> {
    anyhow::bail!("pull is not written yet")
}
pub fn push(_g: &GlobalArgs, _a: PushArgs) -> anyhow::Result<()> {
    anyhow::bail!("push is not written yet")
}
pub fn list(_g: &GlobalArgs, _a: ImagesArgs) -> anyhow::Result<()> {
    anyhow::bail!("images is not written yet")
}
pub fn rm(_g: &GlobalArgs, _a: RmArgs) -> anyhow::Result<()> {
    anyhow::bail!("rm is not written yet")
}
pub fn gc(_g: &GlobalArgs, _a: GcArgs) -> anyhow::Result<()> {
    anyhow::bail!("gc is not written yet")
}
