//! An image layer read from the store as a tar stream, whatever its
//! compression (told by magic bytes, not by the media type), with the blob
//! re-hashed on the way: a layer whose bytes no longer match its digest is
//! refused even when its tar happens to parse.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};

use sha2::{Digest as _, Sha256};

use super::store::StoreError;
use super::tar_guard::{Limits, TarGuard};
use super::{Digest, Store};

/// Why a layer could not be read, apart from what the caller's own reading
/// of the tar stream reports.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("cannot open the layer")]
    Open(#[source] StoreError),
    #[error("cannot read the layer")]
    Read(#[source] io::Error),
    #[error("the layer's bytes hash to {actual}")]
    Digest { actual: Digest },
}

/// Runs `read` on the tar stream of layer `digest`, then reads what it left
/// and checks the digest. A digest mismatch is reported before any error
/// of `read`, since it is the cause.
pub fn with_layer<T, E>(
    store: &Store,
    digest: &Digest,
    read: impl FnOnce(&mut dyn Read) -> Result<T, E>,
) -> Result<Result<T, E>, LayerError> {
    let file = store.open_blob(digest).map_err(LayerError::Open)?;
    let compressed = file
        .metadata()
        .map_err(|e| LayerError::Read(io::Error::new(e.kind(), DiskRead(e))))?
        .len();
    let mut hashed = Hashing {
        inner: file,
        hasher: Sha256::new(),
    };
    let result = {
        let tar = decompressor(&mut hashed).map_err(LayerError::Read)?;
        let mut guarded = TarGuard::new(tar, compressed, Limits::from_env());
        read(&mut guarded)
    };
    io::copy(&mut hashed, &mut io::sink()).map_err(LayerError::Read)?;
    let actual = Digest::from_hash(hashed.hasher.finalize().into());
    if &actual != digest {
        return Err(LayerError::Digest { actual });
    }
    Ok(result)
}

/// A reader of a layer's tar stream, whatever its compression.
pub fn decompressor<'a>(r: &'a mut dyn Read) -> io::Result<Box<dyn Read + 'a>> {
    let mut r = BufReader::with_capacity(256 * 1024, r);
    let magic = r.fill_buf()?;
    Ok(if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(r))
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let d = ruzstd::decoding::StreamingDecoder::new(r)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Box::new(d)
    } else {
        Box::new(r)
    })
}

struct Hashing {
    inner: File,
    hasher: Sha256,
}

impl crate::exit::Classify for LayerError {
    fn class(&self) -> crate::exit::ErrorClass {
        use crate::exit::ErrorClass;
        match self {
            LayerError::Open(e) => e.class(),
            LayerError::Read(e) if is_disk_error(e) => ErrorClass::Environment,
            LayerError::Read(_) | LayerError::Digest { .. } => ErrorClass::User,
        }
    }
}

/// A read of the store's file that failed: the machine's fault, where every
/// other error in reading a layer (its compression, its tar) is the
/// layer's.
#[derive(Debug, thiserror::Error)]
#[error("reading the store: {0}")]
pub struct DiskRead(#[source] io::Error);

/// Whether `e` came from reading the store rather than from what it read.
pub fn is_disk_error(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<DiskRead>())
}

impl Read for Hashing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self
            .inner
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), DiskRead(e)))?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(name: &str, data: &[u8]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_path(name).expect("path");
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, data).expect("append");
        b.into_inner().expect("tar")
    }

    fn first_name(r: &mut dyn Read) -> io::Result<String> {
        let mut archive = tar::Archive::new(r);
        let entry = archive
            .entries()?
            .next()
            .ok_or(io::ErrorKind::UnexpectedEof)??;
        Ok(entry.path()?.to_string_lossy().into_owned())
    }

    #[test]
    fn a_gzip_layer_is_read_and_its_digest_checked() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("store");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &tar_of("etc/motd", b"hi")).expect("gzip");
        let digest = store.put_bytes(&gz.finish().expect("gzip")).expect("put");
        let name = with_layer(&store, &digest, first_name).expect("layer");
        assert_eq!(name.expect("tar"), "etc/motd");
    }

    #[test]
    fn a_layer_changed_in_the_store_is_refused_even_if_it_parses() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("store");
        let digest = store.put_bytes(&tar_of("etc/motd", b"hi")).expect("put");
        let path = store.blob_path(&digest);
        std::fs::write(&path, tar_of("etc/motd", b"HI")).expect("tamper");
        let err = with_layer(&store, &digest, first_name).expect_err("tampered");
        assert!(matches!(err, LayerError::Digest { .. }), "{err}");
    }
}
