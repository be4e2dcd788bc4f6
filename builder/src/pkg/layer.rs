//! Reproducible layers: the tree's tar stream (see `fstree::tar`) through gzip
//! with a fixed header (no time, no file name) from the pure-Rust zlib-rs
//! backend, whose output does not depend on the machine.

use std::io;

use flate2::{Compression, GzBuilder};

use crate::fstree::Tree;
use crate::fstree::tar::write_tar;
use crate::oci::digest::HashingWriter;
use crate::oci::{Digest, Store, StoreError};

/// A layer blob in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Of the gzip stream: the blob's name.
    pub digest: Digest,
    /// Of the uncompressed tar: what image configs list.
    pub diff_id: Digest,
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("cannot write a layer into the image store")]
    Store(#[source] StoreError),
    #[error("cannot write a layer into the image store at {path}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: io::Error,
    },
}

impl crate::exit::Classify for LayerError {
    fn class(&self) -> crate::exit::ErrorClass {
        crate::exit::ErrorClass::Environment
    }
}

/// Writes `tree` as a gzip layer blob into `store`, streaming.
pub fn write_layer(store: &Store, tree: &Tree, mtime: u64) -> Result<Layer, LayerError> {
    let io_err = |source| LayerError::Io {
        path: store.root().to_path_buf(),
        source,
    };
    let blob = store.writer(None).map_err(LayerError::Store)?;
    let gz = GzBuilder::new().write(blob, Compression::default());
    let mut tar = HashingWriter::new(io::BufWriter::with_capacity(256 * 1024, gz));
    write_tar(&mut tar, tree.iter(), tree.contents(), mtime).map_err(io_err)?;
    let (diff_id, buffered) = tar.finish();
    let gz = buffered.into_inner().map_err(|e| io_err(e.into_error()))?;
    let blob = gz.finish().map_err(io_err)?;
    let size = blob.written();
    let digest = blob.commit().map_err(LayerError::Store)?;
    Ok(Layer {
        digest,
        diff_id,
        size,
    })
}

#[cfg(test)]
#[path = "layer_tests.rs"]
mod tests;
