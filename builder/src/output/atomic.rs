//! Output files that appear only when complete: written to a hidden
//! temporary file in the output folder, synced, then renamed over the final
//! name. A failed or interrupted build leaves no half-written output behind
//! (the temporary file is removed when dropped).

use std::fs::{self, Permissions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;

use crate::cleanup::{Registered, register};

use super::{OutputError, Written};

/// A hidden temporary file beside `dir/name`, and that final path.
fn hidden_temp(dir: &Path, name: &str) -> Result<(NamedTempFile, PathBuf), OutputError> {
    let path = dir.join(name);
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|source| OutputError::Create {
            path: path.clone(),
            source,
        })?;
    Ok((tmp, path))
}

/// An output being written; hashes and counts what goes through it.
#[derive(Debug)]
pub struct AtomicFile {
    out: BufWriter<NamedTempFile>,
    path: PathBuf,
    hasher: Sha256,
    size: u64,
    /// The temporary file goes on Ctrl-C too.
    _cleanup: Registered,
}

impl AtomicFile {
    pub fn create(dir: &Path, name: &str) -> Result<AtomicFile, OutputError> {
        let (tmp, path) = hidden_temp(dir, name)?;
        Ok(AtomicFile {
            _cleanup: register(tmp.path()),
            out: BufWriter::with_capacity(256 * 1024, tmp),
            path,
            hasher: Sha256::new(),
            size: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes, syncs and renames the file to its final name.
    pub fn commit(self) -> Result<Written, OutputError> {
        let path = self.path;
        let fail = |source| OutputError::Write {
            path: path.clone(),
            source,
        };
        let tmp = self.out.into_inner().map_err(|e| fail(e.into_error()))?;
        tmp.as_file().sync_all().map_err(fail)?;
        fs::set_permissions(tmp.path(), Permissions::from_mode(0o644)).map_err(fail)?;
        tmp.persist(&path).map_err(|e| fail(e.error))?;
        Ok(Written {
            path,
            size: self.size,
            sha256: hex::encode(self.hasher.finalize()),
        })
    }
}

/// An output written out of order (a disk image or squashfs, whose headers
/// come last): positional writes into the hidden temporary file, hashed by
/// reading it back at commit.
#[derive(Debug)]
pub struct AtomicImage {
    tmp: NamedTempFile,
    path: PathBuf,
    _cleanup: Registered,
}

impl AtomicImage {
    pub fn create(dir: &Path, name: &str) -> Result<AtomicImage, OutputError> {
        let (tmp, path) = hidden_temp(dir, name)?;
        Ok(AtomicImage {
            _cleanup: register(tmp.path()),
            tmp,
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self) -> &fs::File {
        self.tmp.as_file()
    }

    /// Sets the final size (a disk's trailing zeros stay sparse), syncs,
    /// hashes and renames the file to its final name.
    pub fn commit(self, size: u64) -> Result<Written, OutputError> {
        let path = self.path;
        let fail = |source| OutputError::Write {
            path: path.clone(),
            source,
        };
        let file = self.tmp.as_file();
        file.set_len(size).map_err(fail)?;
        file.sync_all().map_err(fail)?;
        let mut hasher = Sha256::new();
        let mut reader = io::BufReader::with_capacity(1 << 20, file);
        io::Seek::rewind(&mut reader).map_err(fail)?;
        io::copy(&mut reader, &mut HashSink(&mut hasher)).map_err(fail)?;
        fs::set_permissions(self.tmp.path(), Permissions::from_mode(0o644)).map_err(fail)?;
        self.tmp.persist(&path).map_err(|e| fail(e.error))?;
        Ok(Written {
            path,
            size,
            sha256: hex::encode(hasher.finalize()),
        })
    }
}

struct HashSink<'a>(&'a mut Sha256);

impl Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
