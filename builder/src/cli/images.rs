//! `cairn pull`, `push`, `images`, `rm` and `gc`: the local store and registries.

use std::collections::BTreeSet;

use anyhow::Context;
use clap::Args;

use super::{Arch, GlobalArgs};
use crate::exit::CliError;
use crate::oci::manifest::Manifest;
use crate::oci::store::descriptor_digest;
use crate::oci::{Digest, ImageRef, Registry, RegistryOptions, Store, human_bytes};

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

/// The store the user chose, or the default one.
pub fn open_store(g: &GlobalArgs) -> anyhow::Result<Store> {
    let root = g.store.clone().unwrap_or_else(Store::default_root);
    Store::open(&root).with_context(|| format!("cannot open image store {}", root.display()))
}

/// A registry client honouring `--insecure-registry`.
pub fn registry(g: &GlobalArgs) -> anyhow::Result<Registry> {
    Ok(Registry::new(RegistryOptions {
        insecure: g.insecure_registries.clone(),
        docker_config: None,
    })?)
}

fn parse(image: &str) -> anyhow::Result<ImageRef> {
    Ok(image.parse::<ImageRef>()?)
}

pub fn pull(g: &GlobalArgs, a: PullArgs) -> anyhow::Result<()> {
    let images = a
        .images
        .iter()
        .map(|s| parse(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = open_store(g)?;
    let registry = registry(g)?;
    let archs = if a.arch.is_empty() {
        vec![Arch::host()]
    } else {
        a.arch
    };
    let platforms: Vec<String> = archs
        .iter()
        .map(|arch| format!("linux/{}", arch.oci_name()))
        .collect();
    let platforms: Vec<&str> = platforms.iter().map(String::as_str).collect();
    for image in &images {
        let pulled = registry
            .pull(&store, image, &platforms)
            .with_context(|| format!("cannot pull {image}"))?;
        println!("{}@{}", image.repo_name(), pulled.digest);
    }
    Ok(())
}

pub fn push(g: &GlobalArgs, a: PushArgs) -> anyhow::Result<()> {
    let source = parse(&a.image)?;
    let target = match &a.target {
        Some(t) => parse(t)?,
        None => source.clone(),
    };
    let store = open_store(g)?;
    let registry = registry(g)?;
    let digest = registry
        .push(&store, &source, &target)
        .with_context(|| format!("cannot push {source} to {target}"))?;
    println!("{}@{digest}", target.repo_name());
    Ok(())
}

pub fn list(g: &GlobalArgs, _a: ImagesArgs) -> anyhow::Result<()> {
    let store = open_store(g)?;
    let names = store.names()?;
    let named: BTreeSet<&str> = names.iter().map(|n| n.name.as_str()).collect();
    let mut rows = vec![[
        "NAME".to_string(),
        "DIGEST".to_string(),
        "SIZE".to_string(),
        "SIGNED".to_string(),
    ]];
    for n in &names {
        let digest = descriptor_digest(&n.descriptor);
        if is_signature(&store, &n.name, &digest) {
            continue;
        }
        let signed = n
            .name
            .parse::<ImageRef>()
            .is_ok_and(|r| named.contains(r.signature_name(&digest).as_str()));
        rows.push([
            n.name.clone(),
            format!("sha256:{}", &digest.hex()[..12]),
            human_bytes(stored_size(&store, &digest)),
            if signed { "yes" } else { "no" }.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        println!(
            "{:w0$}  {:w1$}  {:>w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
    Ok(())
}

/// Signature artifacts are listed through the SIGNED column, not as images.
fn is_signature(store: &Store, name: &str, digest: &Digest) -> bool {
    name.ends_with(".sig")
        && matches!(store.read_manifest(digest), Ok(Manifest::Image(m)) if m.subject().is_some())
}

/// Bytes the store holds for an image: its manifests and the blobs present.
fn stored_size(store: &Store, top: &Digest) -> u64 {
    let mut seen = BTreeSet::new();
    let mut todo = vec![top.clone()];
    let mut total = 0;
    while let Some(d) = todo.pop() {
        if !seen.insert(d.clone()) {
            continue;
        }
        let Ok(meta) = std::fs::metadata(store.blob_path(&d)) else {
            continue;
        };
        total += meta.len();
        // Layers can be large and are never manifests; skip parsing them.
        if meta.len() < 4 << 20
            && let Ok(m) = store.read_manifest(&d)
        {
            todo.extend(m.children());
        }
    }
    total
}

pub fn rm(g: &GlobalArgs, a: RmArgs) -> anyhow::Result<()> {
    let store = open_store(g)?;
    let mut names = Vec::new();
    for image in &a.images {
        let name = parse(image)?.store_name();
        if store.lookup(&name)?.is_none() {
            return Err(CliError::user(format!(
                "image {name} is not in store {}; run `cairn images` to see what is there",
                store.root().display()
            ))
            .into());
        }
        names.push(name);
    }
    for name in names {
        store.remove_name(&name)?;
        crate::ui::status(format!("removed {name}"));
    }
    crate::ui::status("run `cairn gc` to free the space its blobs use");
    Ok(())
}

pub fn gc(g: &GlobalArgs, _a: GcArgs) -> anyhow::Result<()> {
    let store = open_store(g)?;
    let report = store.gc()?;
    println!(
        "removed {} blobs, freed {} ({} blobs kept)",
        report.removed_blobs,
        human_bytes(report.freed_bytes),
        report.kept_blobs
    );
    Ok(())
}
