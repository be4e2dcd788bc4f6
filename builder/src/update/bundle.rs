//! An update as `cairn build -f update` wrote it: the manifest, read with a
//! size bound and checked field by field, and its two pieces beside it,
//! each checked against the manifest's size and SHA-256 before anything is
//! written to a disk.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::UpdateError;
use crate::arch::Arch;
use crate::oci::digest::HashingWriter;
use crate::output::update::{FORMAT, MAX_MANIFEST, Manifest};

/// An update whose pieces matched its manifest.
#[derive(Debug)]
pub struct Bundle {
    pub manifest: Manifest,
    pub arch: Arch,
    /// The verified squashfs and hash area.
    pub root: PathBuf,
    /// The UKI, held whole: it is small and goes to the ESP as it is.
    pub uki: Vec<u8>,
}

/// The largest UKI taken (a disk's UKI holds the kernel and a small initrd).
const MAX_UKI: u64 = 512 << 20;

/// Reads and checks the update whose manifest is `path`.
pub fn open(path: &Path) -> Result<Bundle, UpdateError> {
    let read = |source| UpdateError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read)?;
    let mut text = Vec::new();
    file.take(MAX_MANIFEST + 1)
        .read_to_end(&mut text)
        .map_err(read)?;
    let bad = |why: String| UpdateError::Manifest {
        path: path.to_path_buf(),
        why,
    };
    if text.len() as u64 > MAX_MANIFEST {
        return Err(bad(format!("it is larger than {MAX_MANIFEST} bytes")));
    }
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| bad(format!("it is not an update manifest: {e}")))?;
    if manifest.cairn_update != FORMAT {
        return Err(bad(format!(
            "it is format {}, this cairn reads format {FORMAT}; update cairn",
            manifest.cairn_update
        )));
    }
    if let Some(problem) = crate::config::version_problem(&manifest.version) {
        return Err(bad(format!("version: {problem}")));
    }
    let arch: Arch = (manifest.arch.parse())
        .map_err(|_| bad(format!("arch {:?} is not amd64 or arm64", manifest.arch)))?;
    let dir = path.parent().unwrap_or(Path::new(""));
    let piece = |name: &str| -> Result<PathBuf, UpdateError> {
        let plain = !name.is_empty() && !name.contains('/') && name != "." && name != "..";
        if plain {
            Ok(dir.join(name))
        } else {
            Err(bad(format!(
                "{name:?} is not a file name beside the manifest"
            )))
        }
    };
    let root = piece(&manifest.root.file)?;
    check_piece(&root, manifest.root.size, &manifest.root.sha256, io::sink())?;
    let uki_path = piece(&manifest.uki.file)?;
    if manifest.uki.size > MAX_UKI {
        return Err(bad(format!("its UKI claims {} bytes", manifest.uki.size)));
    }
    let uki = check_piece(
        &uki_path,
        manifest.uki.size,
        &manifest.uki.sha256,
        Vec::new(),
    )?;
    Ok(Bundle {
        manifest,
        arch,
        root,
        uki,
    })
}

/// Streams `path` through SHA-256 into `out` (a sink, or a buffer that
/// keeps the bytes), refusing a size or digest other than the manifest's.
fn check_piece<W: io::Write>(
    path: &Path,
    size: u64,
    sha256: &str,
    out: W,
) -> Result<W, UpdateError> {
    let read = |source| UpdateError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read)?;
    let mut hash = HashingWriter::new(out);
    io::copy(&mut file.take(size + 1), &mut hash).map_err(read)?;
    let seen = hash.written();
    let (digest, out) = hash.finish();
    if seen != size || digest.hex() != sha256 {
        return Err(UpdateError::Piece {
            path: path.to_path_buf(),
            why: if seen != size {
                format!("it has {seen} bytes, the manifest says {size}")
            } else {
                format!(
                    "its SHA-256 is {}, the manifest says {sha256}",
                    digest.hex()
                )
            },
        });
    }
    Ok(out)
}
