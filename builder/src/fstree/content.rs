//! File contents of a tree being built, kept on disk in a temporary folder
//! and named by sha256, so a 380 MB module tree never sits in memory and a
//! file shipped by two packages is stored once.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// The sha256 (hex) and size of one stored content.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContentId {
    pub sha256: String,
    pub size: u64,
}

/// A temporary folder of contents, removed when dropped.
#[derive(Debug)]
pub struct Contents {
    dir: tempfile::TempDir,
}

impl Contents {
    /// A new folder under `parent` (the system temp folder when `None`).
    pub fn new(parent: Option<&Path>) -> io::Result<Contents> {
        let dir = match parent {
            Some(p) => tempfile::Builder::new()
                .prefix("cairn-tree-")
                .tempdir_in(p)?,
            None => tempfile::Builder::new().prefix("cairn-tree-").tempdir()?,
        };
        Ok(Contents { dir })
    }

    /// Copies everything `r` yields into the folder.
    pub fn add(&self, r: &mut dyn Read) -> io::Result<ContentId> {
        let mut tmp = tempfile::NamedTempFile::new_in(self.dir.path())?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])?;
            size += n as u64;
        }
        let id = ContentId {
            sha256: hex::encode(hasher.finalize()),
            size,
        };
        let target = self.path(&id);
        if !target.exists() {
            tmp.persist(&target).map_err(|e| e.error)?;
        }
        Ok(id)
    }

    pub fn add_bytes(&self, bytes: &[u8]) -> io::Result<ContentId> {
        self.add(&mut &bytes[..])
    }

    /// A content produced by `write` into a temporary file (a packed subtree).
    pub fn add_with(
        &self,
        write: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> io::Result<ContentId> {
        let mut tmp = tempfile::NamedTempFile::new_in(self.dir.path())?;
        write(tmp.as_file_mut())?;
        tmp.as_file_mut().flush()?;
        let mut file = File::open(tmp.path())?;
        let id = self.add(&mut file)?;
        Ok(id)
    }

    pub fn path(&self, id: &ContentId) -> PathBuf {
        self.dir.path().join(&id.sha256)
    }

    pub fn open(&self, id: &ContentId) -> io::Result<File> {
        File::open(self.path(id))
    }

    /// Reads at most `limit` bytes of a content (ELF headers, small files).
    pub fn read_prefix(&self, id: &ContentId, limit: u64) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        self.open(id)?.take(limit).read_to_end(&mut out)?;
        Ok(out)
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }
}
