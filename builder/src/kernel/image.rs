//! The `/config` file of a kernel package image in the local store: the
//! platform's layers are read in order, and the last layer that has `config`
//! at its root (or deletes it with a whiteout) decides.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};

use super::KernelError;
use crate::oci::manifest::Manifest;
use crate::oci::resolve::resolve;
use crate::oci::store::descriptor_digest;
use crate::oci::{ImageRef, Store};

/// The file looked for, at the image's root.
const CONFIG: &str = "config";
const WHITEOUT: &str = ".wh.config";
const OPAQUE: &str = ".wh..wh..opq";

/// Kernel configs are a few hundred kB; anything far larger is not one.
const MAX_CONFIG: u64 = 16 << 20;

/// Reads `/config` from `image` for `arch` (`amd64`, `arm64`), from the
/// local store only.
pub fn read_config(store: &Store, image: &ImageRef, arch: &str) -> Result<String, KernelError> {
    let image_name = image.to_string();
    let resolved = resolve(store, None, image, &format!("linux/{arch}")).map_err(|source| {
        KernelError::Resolve {
            image: image_name.clone(),
            arch: arch.to_string(),
            source: Box::new(source),
        }
    })?;
    let manifest = store
        .read_manifest(&resolved.platform_digest)
        .map_err(|source| KernelError::Store {
            image: image_name.clone(),
            source,
        })?;
    let Manifest::Image(manifest) = manifest else {
        return Err(KernelError::NotAnImage { image: image_name });
    };
    let mut found: Option<Vec<u8>> = None;
    for layer in manifest.layers() {
        let digest = descriptor_digest(layer);
        let blob = store
            .open_blob(&digest)
            .map_err(|source| KernelError::Store {
                image: image_name.clone(),
                source,
            })?;
        match scan_layer(blob).map_err(|source| KernelError::Layer {
            image: image_name.clone(),
            layer: digest,
            source,
        })? {
            Found::File(bytes) => found = Some(bytes),
            Found::Deleted => found = None,
            Found::Nothing => {}
        }
    }
    let bytes = found.ok_or_else(|| KernelError::NoConfig {
        image: image_name.clone(),
    })?;
    String::from_utf8(bytes).map_err(|_| KernelError::NoConfig { image: image_name })
}

/// What one layer says about `/config`.
#[derive(Debug)]
enum Found {
    File(Vec<u8>),
    Deleted,
    Nothing,
}

/// Reads a layer blob: a tar, gzip-compressed, zstd-compressed or plain
/// (told apart by their magic bytes, whatever the media type claims).
fn scan_layer(blob: File) -> std::io::Result<Found> {
    let mut input = BufReader::new(blob);
    let tar: Box<dyn Read> = match input.fill_buf()? {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::MultiGzDecoder::new(input)),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Box::new(
            ruzstd::decoding::StreamingDecoder::new(input)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?,
        ),
        _ => Box::new(input),
    };
    let mut deleted = false;
    for entry in tar::Archive::new(tar).entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        match path.trim_start_matches("./").trim_start_matches('/') {
            CONFIG if entry.header().entry_type().is_file() => {
                if entry.size() > MAX_CONFIG {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "/{CONFIG} is {} bytes, too large for a kernel config",
                            entry.size()
                        ),
                    ));
                }
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes)?;
                // Layers hold each path once: no need to read the rest
                // (a kernel package's modules are hundreds of MB).
                return Ok(Found::File(bytes));
            }
            WHITEOUT | OPAQUE => deleted = true,
            _ => {}
        }
    }
    Ok(if deleted {
        Found::Deleted
    } else {
        Found::Nothing
    })
}
