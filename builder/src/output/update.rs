//! `-f update`: the pieces of one root slot, for `cairn update` (and, next,
//! `cairn push` and the device's agent):
//!
//! - `NAME.update.root`: the root filesystem as squashfs with its dm-verity
//!   hash area, as a disk's root slot holds it;
//! - `NAME.update.efi`: the UKI for that slot, its command line pinning the
//!   slot's PARTUUID (derived from the root hash) and the root hash;
//! - `NAME.update.json`: the manifest: the system's name and version, the
//!   architecture, and the size and SHA-256 of each piece.
//!
//! All three are reproducible, like every output.

use std::io::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::atomic::{AtomicFile, AtomicImage};
use super::disk::{slot_cmdline, write_root};
use super::{OutputError, Request, Written, bootfs, plan, uki};

/// The manifest's format; a reader refuses any other.
pub const FORMAT: u32 = 1;
/// The largest manifest a reader takes.
pub const MAX_MANIFEST: u64 = 64 * 1024;

/// What `NAME.update.json` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub cairn_update: u32,
    /// The system's name (the UKI's IMAGE_ID): an update only replaces the
    /// same system.
    pub name: String,
    pub version: String,
    /// `amd64` or `arm64`.
    pub arch: String,
    pub root: Root,
    pub uki: Piece,
}

/// The root slot's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Root {
    pub file: String,
    pub size: u64,
    pub sha256: String,
    /// The dm-verity root hash the UKI's command line carries.
    pub root_hash: String,
    /// The unique GUID the slot must get, which the UKI names.
    pub partuuid: String,
}

/// A file of the update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Piece {
    pub file: String,
    pub size: u64,
    pub sha256: String,
}

/// The file names of `name`'s update.
pub fn file_names(name: &str) -> [String; 3] {
    [
        format!("{name}.update.json"),
        format!("{name}.update.root"),
        format!("{name}.update.efi"),
    ]
}

/// Writes the three files of `-f update`.
pub fn write(req: &Request, progress: &(dyn Fn(u64) + Sync)) -> Result<Vec<Written>, OutputError> {
    let kernel = req.kernel.ok_or(OutputError::NoKernel)?;
    let [manifest_name, root_name, uki_name] = file_names(req.name);
    let root_out = AtomicImage::create(req.dir, &root_name)?;
    let root_path = root_out.path().to_path_buf();
    let root = write_root(req, root_out.file(), 0, &root_path, progress)?;
    let root_written = root_out.commit(root.size)?;

    let (guid, cmdline) = slot_cmdline(kernel.cmdline, &root.params);
    let initramfs = bootfs::initramfs(req.rootfs, req.mtime, req.compression)?;
    let plan = plan::plan_text(req.rootfs)?;
    let image = uki::build(
        req,
        "update",
        &cmdline,
        &initramfs,
        &[(".cairn", plan.as_bytes())],
    )?;
    let mut uki_out = AtomicFile::create(req.dir, &uki_name)?;
    let uki_path = uki_out.path().to_path_buf();
    uki_out
        .write_all(&image)
        .map_err(|source| OutputError::Write {
            path: uki_path,
            source,
        })?;
    let uki_written = uki_out.commit()?;

    let manifest = Manifest {
        cairn_update: FORMAT,
        name: req.name.to_string(),
        version: req.version.to_string(),
        arch: req.arch.oci_name().to_string(),
        root: Root {
            file: root_name,
            size: root.size,
            sha256: root_written.sha256.clone(),
            root_hash: hex::encode(root.params.root_hash),
            partuuid: guid.to_string(),
        },
        uki: Piece {
            file: uki_name,
            size: image.len() as u64,
            sha256: hex::encode(Sha256::digest(&image)),
        },
    };
    let mut text = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    text.push(b'\n');
    let mut out = AtomicFile::create(req.dir, &manifest_name)?;
    let path = out.path().to_path_buf();
    out.write_all(&text)
        .map_err(|source| OutputError::Write { path, source })?;
    let manifest_written = out.commit()?;
    Ok(vec![manifest_written, root_written, uki_written])
}
