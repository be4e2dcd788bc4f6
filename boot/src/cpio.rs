//! newc ("070701") cpio archives, the format the kernel unpacks as its
//! initramfs, written reproducibly and as a stream.
//!
//! Reproducible: entries must come sorted component by component with
//! parents first (the order of a `BTreeMap` of paths compared by `/`
//! components), so the same tree gives the same bytes; every entry gets the
//! same mtime; inode numbers count up from 1 in write order; device numbers
//! of the archive itself are 0. Missing parent directories are written on the
//! way (0755, root) so the kernel never has to create them.
//!
//! Streaming: a file's data is copied from its reader straight to the output;
//! the writer keeps only the chain of open directories in memory.
//!
//! Hard links follow newc's rule: every name of a linked file carries the
//! same inode number and link count, and only the last name carries the data
//! (earlier ones have size 0). The kernel links the names as it sees them and
//! fills the data in at the last one.

use crate::path::{is_under, parent_of};
use std::cmp::Ordering;
use std::io::{self, Read, Write};

/// The name of the entry that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";

const MAGIC: &[u8; 6] = b"070701";
const HEADER_LEN: u64 = 110;

const S_IFIFO: u32 = 0o010000;
const S_IFCHR: u32 = 0o020000;
const S_IFDIR: u32 = 0o040000;
const S_IFBLK: u32 = 0o060000;
const S_IFREG: u32 = 0o100000;
const S_IFLNK: u32 = 0o120000;

#[derive(Debug, thiserror::Error)]
pub enum CpioError {
    #[error(
        "cpio entry {path:?} comes after {previous:?}; write entries sorted by path \
         component, parents first"
    )]
    OutOfOrder { path: String, previous: String },
    #[error("cpio entry {path:?} is not a relative path without `..`, empty parts or NUL")]
    BadPath { path: String },
    #[error("cpio entry {path:?} is {size} bytes; a newc archive holds at most 4 GiB - 1 per file")]
    TooLarge { path: String, size: u64 },
    #[error("cpio entry {path:?} cannot go under {parent:?}, which was written as a non-directory")]
    ParentNotDir { path: String, parent: String },
    #[error(
        "file {path:?} yielded {got} bytes where {expected} were announced; was it changed while being archived?"
    )]
    SizeMismatch {
        path: String,
        expected: u64,
        got: u64,
    },
    #[error("hard link {path:?} is one more name than the {nlink} its group announced")]
    LinkOverflow { path: String, nlink: u32 },
    #[error("cannot write cpio entry {path:?}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
}

type Result<T> = std::result::Result<T, CpioError>;

/// Permission bits (including setuid, setgid and sticky) and numeric owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Meta {
    /// `mode` owned by root.
    pub fn root(mode: u32) -> Meta {
        Meta {
            mode,
            uid: 0,
            gid: 0,
        }
    }
}

/// The names of one hard-linked file: allocate with [`Writer::link_group`],
/// then write each name with [`Writer::linked_file`].
#[derive(Debug)]
pub struct LinkGroup {
    ino: u32,
    nlink: u32,
    written: u32,
}

/// Compares paths by `/` components, so a directory sorts right before its
/// own children (`a`, `a/b`, `a.b`), as a tree walk visits them.
pub fn path_order(a: &str, b: &str) -> Ordering {
    a.split('/').cmp(b.split('/'))
}

/// A newc archive being written to `W` (wrap files in a `BufWriter`).
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    mtime: u32,
    next_ino: u32,
    offset: u64,
    /// The last path written and whether it was a directory.
    last: Option<(String, bool)>,
    /// The directories that are ancestors of the last path, outermost first.
    open_dirs: Vec<String>,
}

impl<W: Write> Writer<W> {
    /// Every entry gets `mtime` (seconds since the epoch, e.g. SOURCE_DATE_EPOCH).
    pub fn new(out: W, mtime: u32) -> Writer<W> {
        Writer {
            out,
            mtime,
            next_ino: 1,
            offset: 0,
            last: None,
            open_dirs: Vec::new(),
        }
    }

    /// Bytes written so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn dir(&mut self, path: &str, meta: Meta) -> Result<()> {
        self.entry(path, S_IFDIR, meta, 2, &[], (0, 0))
    }

    /// A regular file of `size` bytes read from `data`.
    pub fn file(&mut self, path: &str, meta: Meta, size: u64, data: &mut dyn Read) -> Result<()> {
        self.file_entry(path, meta, None, 1, size, data)
    }

    pub fn symlink(&mut self, path: &str, meta: Meta, target: &str) -> Result<()> {
        self.entry(path, S_IFLNK, meta, 1, target.as_bytes(), (0, 0))
    }

    pub fn char_device(&mut self, path: &str, meta: Meta, major: u32, minor: u32) -> Result<()> {
        self.entry(path, S_IFCHR, meta, 1, &[], (major, minor))
    }

    pub fn block_device(&mut self, path: &str, meta: Meta, major: u32, minor: u32) -> Result<()> {
        self.entry(path, S_IFBLK, meta, 1, &[], (major, minor))
    }

    pub fn fifo(&mut self, path: &str, meta: Meta) -> Result<()> {
        self.entry(path, S_IFIFO, meta, 1, &[], (0, 0))
    }

    /// Reserves one inode for a file with `nlink` names.
    pub fn link_group(&mut self, nlink: u32) -> LinkGroup {
        LinkGroup {
            ino: self.next_ino(),
            nlink: nlink.max(1),
            written: 0,
        }
    }

    /// One name of a hard-linked file. `data` is read only for the group's
    /// last name, which carries the contents.
    pub fn linked_file(
        &mut self,
        group: &mut LinkGroup,
        path: &str,
        meta: Meta,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<()> {
        if group.written == group.nlink {
            return Err(CpioError::LinkOverflow {
                path: path.to_string(),
                nlink: group.nlink,
            });
        }
        group.written += 1;
        if group.written == group.nlink {
            self.file_entry(path, meta, Some(group.ino), group.nlink, size, data)
        } else {
            self.file_entry(
                path,
                meta,
                Some(group.ino),
                group.nlink,
                0,
                &mut io::empty(),
            )
        }
    }

    /// Writes the trailer and returns the output, flushed.
    pub fn finish(mut self) -> Result<W> {
        let path = TRAILER.to_string();
        self.header(&path, 0, Meta::root(0), 0, 1, 0, (0, 0))?;
        self.pad()
            .map_err(|source| CpioError::Io { path, source })?;
        self.out.flush().map_err(|source| CpioError::Io {
            path: TRAILER.to_string(),
            source,
        })?;
        Ok(self.out)
    }

    fn next_ino(&mut self) -> u32 {
        let ino = self.next_ino;
        self.next_ino += 1;
        ino
    }

    fn file_entry(
        &mut self,
        path: &str,
        meta: Meta,
        ino: Option<u32>,
        nlink: u32,
        size: u64,
        data: &mut dyn Read,
    ) -> Result<()> {
        let path = self.place(path, false)?;
        let ino = ino.unwrap_or_else(|| self.next_ino());
        let size32 = u32::try_from(size).map_err(|_| CpioError::TooLarge {
            path: path.clone(),
            size,
        })?;
        self.header(&path, S_IFREG, meta, ino, nlink, size32, (0, 0))?;
        let io = |source| CpioError::Io {
            path: path.clone(),
            source,
        };
        let copied = io::copy(&mut data.take(size), &mut self.out).map_err(io)?;
        let mut extra = [0u8; 1];
        let more = loop {
            match data.read(&mut extra) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io(e)),
            }
        };
        if copied != size || more != 0 {
            return Err(CpioError::SizeMismatch {
                path,
                expected: size,
                got: copied + more as u64,
            });
        }
        self.offset += size;
        self.pad().map_err(io)
    }

    fn entry(
        &mut self,
        path: &str,
        kind: u32,
        meta: Meta,
        nlink: u32,
        body: &[u8],
        rdev: (u32, u32),
    ) -> Result<()> {
        let path = self.place(path, kind == S_IFDIR)?;
        let ino = self.next_ino();
        // A symlink target is at most PATH_MAX, so it always fits.
        let size = body.len() as u32;
        self.header(&path, kind, meta, ino, nlink, size, rdev)?;
        let io = |source| CpioError::Io {
            path: path.clone(),
            source,
        };
        self.out.write_all(body).map_err(io)?;
        self.offset += body.len() as u64;
        self.pad().map_err(io)
    }

    /// Checks the order of `path`, writes its missing parents and records it
    /// as the last entry. Returns the normalized path.
    fn place(&mut self, path: &str, is_dir: bool) -> Result<String> {
        let norm = normalize(path)?;
        if let Some((previous, prev_dir)) = &self.last {
            if path_order(previous, &norm) != Ordering::Less {
                return Err(CpioError::OutOfOrder {
                    path: norm,
                    previous: previous.clone(),
                });
            }
            if !prev_dir && is_under(&norm, previous) {
                return Err(CpioError::ParentNotDir {
                    path: norm,
                    parent: previous.clone(),
                });
            }
        }
        while let Some(top) = self.open_dirs.last() {
            if is_under(&norm, top) {
                break;
            }
            self.open_dirs.pop();
        }
        let mut missing = Vec::new();
        let mut parent = parent_of(&norm);
        while !parent.is_empty() && self.open_dirs.last().is_none_or(|top| top != parent) {
            missing.push(parent.to_string());
            parent = parent_of(parent);
        }
        for dir in missing.into_iter().rev() {
            let ino = self.next_ino();
            self.header(&dir, S_IFDIR, Meta::root(0o755), ino, 2, 0, (0, 0))?;
            self.pad().map_err(|source| CpioError::Io {
                path: dir.clone(),
                source,
            })?;
            self.open_dirs.push(dir);
        }
        if is_dir {
            self.open_dirs.push(norm.clone());
        }
        self.last = Some((norm.clone(), is_dir));
        Ok(norm)
    }

    #[allow(clippy::too_many_arguments)]
    fn header(
        &mut self,
        path: &str,
        kind: u32,
        meta: Meta,
        ino: u32,
        nlink: u32,
        size: u32,
        rdev: (u32, u32),
    ) -> Result<()> {
        let name_len = path.len() as u32 + 1;
        let fields = [
            ino,
            kind | (meta.mode & 0o7777),
            meta.uid,
            meta.gid,
            nlink,
            self.mtime,
            size,
            0,
            0,
            rdev.0,
            rdev.1,
            name_len,
            0,
        ];
        let mut head = Vec::with_capacity(HEADER_LEN as usize + path.len() + 4);
        head.extend_from_slice(MAGIC);
        for f in fields {
            head.extend_from_slice(format!("{f:08X}").as_bytes());
        }
        head.extend_from_slice(path.as_bytes());
        head.push(0);
        let io = |source| CpioError::Io {
            path: path.to_string(),
            source,
        };
        self.out.write_all(&head).map_err(io)?;
        self.offset += head.len() as u64;
        self.pad().map_err(io)
    }

    /// newc aligns every header and every body to 4 bytes.
    fn pad(&mut self) -> io::Result<()> {
        let rem = (self.offset % 4) as usize;
        if rem != 0 {
            self.out.write_all(&[0u8; 3][..4 - rem])?;
            self.offset += (4 - rem) as u64;
        }
        Ok(())
    }
}

/// An entry's path, normalized; the root itself names no entry.
fn normalize(path: &str) -> Result<String> {
    crate::path::normalize(path)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| CpioError::BadPath {
            path: path.to_string(),
        })
}

#[cfg(test)]
#[path = "cpio_tests.rs"]
mod tests;
