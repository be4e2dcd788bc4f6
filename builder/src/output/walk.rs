//! One walk over a tree's entries for every archive and filesystem writer.
//! The cpio and squashfs writers take the same six kinds of entry; each is
//! an [`EntrySink`], and [`walk`] matches on entry kinds, opens contents and
//! reports progress once for all of them.

use std::io::{Read, Seek, Write};

use cairn_boot::cpio::{self, Meta};
use cairn_boot::squashfs;

use crate::fstree::{Contents, Entry, Kind, Xattrs};

/// Extended attributes as the writers take them.
pub type Pairs<'a> = &'a [(&'a str, &'a [u8])];

/// A writer that takes a tree's entries in order.
pub trait EntrySink {
    type Error;
    fn dir(&mut self, path: &str, meta: Meta, xattrs: Pairs) -> Result<(), Self::Error>;
    fn file(
        &mut self,
        path: &str,
        meta: Meta,
        size: u64,
        data: &mut dyn Read,
        xattrs: Pairs,
    ) -> Result<(), Self::Error>;
    fn symlink(
        &mut self,
        path: &str,
        meta: Meta,
        target: &str,
        xattrs: Pairs,
    ) -> Result<(), Self::Error>;
    fn char_device(
        &mut self,
        path: &str,
        meta: Meta,
        dev: (u32, u32),
        xattrs: Pairs,
    ) -> Result<(), Self::Error>;
    fn block_device(
        &mut self,
        path: &str,
        meta: Meta,
        dev: (u32, u32),
        xattrs: Pairs,
    ) -> Result<(), Self::Error>;
    fn fifo(&mut self, path: &str, meta: Meta, xattrs: Pairs) -> Result<(), Self::Error>;
}

/// Why a walk stopped, and at which entry.
#[derive(Debug)]
pub enum WalkError<E> {
    /// A file's contents could not be opened in the build's store.
    Content {
        path: String,
        source: std::io::Error,
    },
    /// The writer refused the entry.
    Sink { path: String, source: E },
}

/// Feeds `entries` (in tree order, with their xattrs) to `sink`, contents
/// from `contents`; `progress` hears of every file's bytes.
pub fn walk<'a, S: EntrySink>(
    sink: &mut S,
    entries: impl Iterator<Item = (&'a str, &'a Entry, Option<&'a Xattrs>)>,
    contents: &Contents,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), WalkError<S::Error>> {
    for (path, entry, xattrs) in entries {
        let pairs: Vec<(&str, &[u8])> = xattrs
            .map(|x| x.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect())
            .unwrap_or_default();
        let meta = Meta {
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
        };
        let done = match &entry.kind {
            Kind::Dir => sink.dir(path, meta, &pairs),
            Kind::File(id) => {
                let mut file = contents.open(id).map_err(|source| WalkError::Content {
                    path: path.to_string(),
                    source,
                })?;
                let done = sink.file(path, meta, id.size, &mut file, &pairs);
                progress(id.size);
                done
            }
            Kind::Symlink(target) => sink.symlink(path, meta, target, &pairs),
            Kind::CharDevice(major, minor) => {
                sink.char_device(path, meta, (*major, *minor), &pairs)
            }
            Kind::BlockDevice(major, minor) => {
                sink.block_device(path, meta, (*major, *minor), &pairs)
            }
            Kind::Fifo => sink.fifo(path, meta, &pairs),
        };
        done.map_err(|source| WalkError::Sink {
            path: path.to_string(),
            source,
        })?;
    }
    Ok(())
}

/// newc has no extended attributes: they are left out of an initramfs.
impl<W: Write> EntrySink for cpio::Writer<W> {
    type Error = cpio::CpioError;
    fn dir(&mut self, path: &str, meta: Meta, _: Pairs) -> Result<(), Self::Error> {
        cpio::Writer::dir(self, path, meta)
    }
    fn file(
        &mut self,
        path: &str,
        meta: Meta,
        size: u64,
        data: &mut dyn Read,
        _: Pairs,
    ) -> Result<(), Self::Error> {
        cpio::Writer::file(self, path, meta, size, data)
    }
    fn symlink(
        &mut self,
        path: &str,
        meta: Meta,
        target: &str,
        _: Pairs,
    ) -> Result<(), Self::Error> {
        cpio::Writer::symlink(self, path, meta, target)
    }
    fn char_device(
        &mut self,
        path: &str,
        meta: Meta,
        dev: (u32, u32),
        _: Pairs,
    ) -> Result<(), Self::Error> {
        cpio::Writer::char_device(self, path, meta, dev.0, dev.1)
    }
    fn block_device(
        &mut self,
        path: &str,
        meta: Meta,
        dev: (u32, u32),
        _: Pairs,
    ) -> Result<(), Self::Error> {
        cpio::Writer::block_device(self, path, meta, dev.0, dev.1)
    }
    fn fifo(&mut self, path: &str, meta: Meta, _: Pairs) -> Result<(), Self::Error> {
        cpio::Writer::fifo(self, path, meta)
    }
}

impl<W: Write + Seek> EntrySink for squashfs::Writer<W> {
    type Error = squashfs::SquashfsError;
    fn dir(&mut self, path: &str, meta: Meta, xattrs: Pairs) -> Result<(), Self::Error> {
        squashfs::Writer::dir(self, path, meta, xattrs)
    }
    fn file(
        &mut self,
        path: &str,
        meta: Meta,
        size: u64,
        data: &mut dyn Read,
        xattrs: Pairs,
    ) -> Result<(), Self::Error> {
        squashfs::Writer::file(self, path, meta, size, data, xattrs)
    }
    fn symlink(
        &mut self,
        path: &str,
        meta: Meta,
        target: &str,
        xattrs: Pairs,
    ) -> Result<(), Self::Error> {
        squashfs::Writer::symlink(self, path, meta, target, xattrs)
    }
    fn char_device(
        &mut self,
        path: &str,
        meta: Meta,
        dev: (u32, u32),
        xattrs: Pairs,
    ) -> Result<(), Self::Error> {
        squashfs::Writer::char_device(self, path, meta, dev.0, dev.1, xattrs)
    }
    fn block_device(
        &mut self,
        path: &str,
        meta: Meta,
        dev: (u32, u32),
        xattrs: Pairs,
    ) -> Result<(), Self::Error> {
        squashfs::Writer::block_device(self, path, meta, dev.0, dev.1, xattrs)
    }
    fn fifo(&mut self, path: &str, meta: Meta, xattrs: Pairs) -> Result<(), Self::Error> {
        squashfs::Writer::fifo(self, path, meta, xattrs)
    }
}
