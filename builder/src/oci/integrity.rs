//! Re-hashing an image's blobs in the store before it is trusted.
//!
//! The store only ever renames a blob into place after its digest matched,
//! but a disk, a backup tool or an attacker can change it afterwards. A
//! signature covers the top-level digest, and digests chain down to every
//! layer, so checking each blob against its name makes the signature cover
//! the bytes that will actually be used.

use std::io;

use super::digest::{Digest, HashingWriter};
use super::manifest::Manifest;
use super::platform;
use super::store::{Store, StoreError, descriptor_digest};

/// What a check read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checked {
    pub blobs: usize,
    pub bytes: u64,
}

/// Re-hashes every blob of the image `top` names. With `platform`, only that
/// platform's manifest of an index is followed (and must be present); without,
/// every platform the store holds is, and platforms never pulled are skipped.
pub fn check_image(
    store: &Store,
    top: &Digest,
    platform: Option<&str>,
) -> Result<Checked, StoreError> {
    let mut checked = Checked::default();
    let mut manifests = vec![top.clone()];
    let mut first = true;
    while let Some(digest) = manifests.pop() {
        let manifest = store.read_manifest(&digest)?;
        checked.blobs += 1;
        checked.bytes += store.blob_path(&digest).metadata().map_or(0, |m| m.len());
        match manifest {
            Manifest::Index(index) => {
                for entry in index.manifests() {
                    let child = descriptor_digest(entry);
                    let wanted = match platform {
                        Some(p) => first && platform::matches(entry, p),
                        None => store.contains(&child),
                    };
                    if wanted {
                        manifests.push(child);
                    }
                }
            }
            Manifest::Image(m) => {
                for blob in std::iter::once(m.config()).chain(m.layers()) {
                    checked.bytes += check_blob(store, &descriptor_digest(blob))?;
                    checked.blobs += 1;
                }
            }
        }
        first = false;
    }
    Ok(checked)
}

/// Streams one blob through sha256; returns its size.
fn check_blob(store: &Store, digest: &Digest) -> Result<u64, StoreError> {
    let mut file = store.open_blob(digest)?;
    let mut hasher = HashingWriter::new(io::sink());
    io::copy(&mut file, &mut hasher).map_err(|source| StoreError::Io {
        path: store.blob_path(digest),
        source,
    })?;
    let size = hasher.written();
    let (actual, _) = hasher.finish();
    if &actual != digest {
        return Err(StoreError::CorruptBlob {
            store: store.root().to_path_buf(),
            digest: digest.clone(),
            actual,
        });
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::store::one_layer_image;

    fn image(store: &Store) -> (Digest, Digest) {
        let (m, _, layer) = one_layer_image(store, b"layer bytes", "example.org/a/b:1");
        (m, layer)
    }

    #[test]
    fn intact_image_checks_every_blob() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (m, _) = image(&store);
        let checked = check_image(&store, &m, None).unwrap();
        assert_eq!(checked.blobs, 3);
    }

    #[test]
    fn one_changed_byte_in_a_layer_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (m, layer) = image(&store);
        std::fs::write(store.blob_path(&layer), b"layer bytez").unwrap();
        let err = check_image(&store, &m, Some("linux/amd64")).unwrap_err();
        assert!(
            matches!(&err, StoreError::CorruptBlob { digest, .. } if digest == &layer),
            "{err}"
        );
    }
}
