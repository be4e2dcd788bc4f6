//! The tree walk: entries arrive in `cpio::path_order`, so a directory is
//! complete when the first path outside it arrives. Then its listing and
//! its inode are written and it becomes an entry of its parent. Only the
//! chain of open directories and the tables are held in memory.

use crate::path::parent_of;
use std::cmp::Ordering;
use std::io::{Seek, Write};

use super::data::DataWriter;
use super::dir::{Child, write_listing};
use super::error::{Result, SquashfsError};
use super::ids::Ids;
use super::inode::{Body, Common, Kind, NO_XATTR, encode};
use super::metadata::{MetaPos, MetadataWriter};
use super::xattr::XattrTable;
use super::{Options, Xattrs, superblock};
use crate::cpio::{Meta, path_order};

/// SQUASHFS_NAME_LEN.
const NAME_MAX: usize = 256;

#[derive(Debug)]
struct OpenDir {
    path: String,
    ino: u32,
    meta: Meta,
    xattr: u32,
    children: Vec<Child>,
    subdirs: u32,
}

/// A squashfs image being written to `W` from offset 0 (wrap files in a
/// `BufWriter`).
#[derive(Debug)]
pub struct Writer<W: Write + Seek> {
    pub(super) opts: Options,
    pub(super) data: DataWriter<W>,
    pub(super) inodes: MetadataWriter,
    pub(super) dirs: MetadataWriter,
    pub(super) xattrs: XattrTable,
    pub(super) ids: Ids,
    /// Inode references by inode number - 1: the export table.
    pub(super) export: Vec<u64>,
    /// The last path written and whether it was a directory.
    last: Option<(String, bool)>,
    /// The open directories, the root first.
    open: Vec<OpenDir>,
}

impl<W: Write + Seek> Writer<W> {
    pub fn new(mut out: W, opts: Options) -> Result<Writer<W>> {
        let bs = opts.block_size;
        if !bs.is_power_of_two() || !(4096..=1 << 20).contains(&bs) {
            return Err(SquashfsError::BadBlockSize { block_size: bs });
        }
        superblock::reserve(&mut out)?;
        let mut w = Writer {
            opts,
            data: DataWriter::new(out, superblock::SIZE, opts.compression, bs as usize),
            inodes: MetadataWriter::new(opts.compression),
            dirs: MetadataWriter::new(opts.compression),
            xattrs: XattrTable::new(opts.compression),
            ids: Ids::default(),
            export: Vec::new(),
            last: None,
            open: Vec::new(),
        };
        let ino = w.next_ino();
        w.open.push(OpenDir {
            path: String::new(),
            ino,
            meta: Meta::root(0o755),
            xattr: NO_XATTR,
            children: Vec::new(),
            subdirs: 0,
        });
        Ok(w)
    }

    /// A directory; "" or "." is the root, allowed only as the first entry.
    pub fn dir(&mut self, path: &str, meta: Meta, xattrs: Xattrs) -> Result<()> {
        let norm = normalize(path)?;
        if norm.is_empty() {
            if let Some((previous, _)) = &self.last {
                return Err(SquashfsError::OutOfOrder {
                    path: path.to_string(),
                    previous: previous.clone(),
                });
            }
            let xattr = self.xattr_id(&norm, xattrs)?;
            let root = &mut self.open[0];
            (root.meta, root.xattr) = (meta, xattr);
            self.last = Some((norm, true));
            return Ok(());
        }
        self.place(&norm, true)?;
        let xattr = self.xattr_id(&norm, xattrs)?;
        let ino = self.next_ino();
        self.open.push(OpenDir {
            path: norm,
            ino,
            meta,
            xattr,
            children: Vec::new(),
            subdirs: 0,
        });
        Ok(())
    }

    /// Closes every directory, writes the tables and the superblock, pads
    /// the image with zeros to a multiple of 4096 bytes and returns the
    /// output with the image's padded length: `bytes_used` rounded up, or
    /// more when the last files were dropped as duplicates after being
    /// written (the zeros then cover where they were).
    pub fn finish(mut self) -> Result<(W, u64)> {
        while self.open.len() > 1 {
            self.close_dir()?;
        }
        let Some(root) = self.open.pop() else {
            return Err(SquashfsError::BadPath {
                path: String::new(),
            });
        };
        // mksquashfs gives the root's ".." the number after the last inode.
        let parent = self.export.len() as u32 + 1;
        let root_inode = self.dir_inode(root, parent)?;
        superblock::finish(self, root_inode)
    }

    pub(super) fn add_child(&mut self, norm: &str, ino: u32, inode: MetaPos, kind: Kind) {
        let name = norm.rsplit('/').next().unwrap_or(norm);
        if let Some(dir) = self.open.last_mut() {
            dir.children.push(Child {
                name: name.as_bytes().to_vec(),
                ino,
                inode,
                kind,
            });
        }
    }

    pub(super) fn common(
        &mut self,
        norm: &str,
        meta: Meta,
        ino: u32,
        nlink: u32,
        xattr: u32,
    ) -> Result<Common> {
        Ok(Common {
            mode: meta.mode,
            uid: self.ids.id(norm, meta.uid)?,
            gid: self.ids.id(norm, meta.gid)?,
            mtime: self.opts.mtime,
            ino,
            xattr,
            nlink,
        })
    }

    pub(super) fn xattr_id(&mut self, norm: &str, xattrs: Xattrs) -> Result<u32> {
        Ok(self.xattrs.add(norm, xattrs)?.unwrap_or(NO_XATTR))
    }

    pub(super) fn put_inode(&mut self, ino: u32, bytes: &[u8]) -> MetaPos {
        let at = self.inodes.position();
        self.inodes.write(bytes);
        if let Some(slot) = self.export.get_mut(ino as usize - 1) {
            *slot = at.reference();
        }
        at
    }

    /// Numbers count up from 1 in the order entries are placed.
    pub(super) fn next_ino(&mut self) -> u32 {
        self.export.push(0);
        // Checked in `superblock::finish` against u32.
        self.export.len() as u32
    }

    /// Writes a finished directory's listing and inode.
    fn dir_inode(&mut self, dir: OpenDir, parent: u32) -> Result<MetaPos> {
        let too_large = |what| SquashfsError::TooLarge {
            path: dir.path.clone(),
            what,
        };
        let listing = write_listing(&mut self.dirs, &dir.children).map_err(too_large)?;
        let start_block =
            u32::try_from(listing.start.block).map_err(|_| too_large("directory table (4 GiB)"))?;
        let body = Body::Dir {
            start_block,
            offset: listing.start.offset,
            // write_listing keeps size + 3 within u32.
            size: listing.size as u32 + 3,
            parent,
            index: &listing.index,
        };
        let nlink = dir.subdirs.saturating_add(2);
        let common = self.common(&dir.path, dir.meta, dir.ino, nlink, dir.xattr)?;
        Ok(self.put_inode(dir.ino, &encode(&common, &body)))
    }

    fn close_dir(&mut self) -> Result<()> {
        let Some(dir) = self.open.pop() else {
            return Ok(());
        };
        let parent = self.open.last().map_or(1, |p| p.ino);
        let (path, ino) = (dir.path.clone(), dir.ino);
        let at = self.dir_inode(dir, parent)?;
        self.add_child(&path, ino, at, Kind::Dir);
        if let Some(parent) = self.open.last_mut() {
            parent.subdirs = parent.subdirs.saturating_add(1);
        }
        Ok(())
    }

    pub(super) fn place_leaf(&mut self, path: &str) -> Result<String> {
        let norm = normalize(path)?;
        if norm.is_empty() {
            return Err(SquashfsError::BadPath {
                path: path.to_string(),
            });
        }
        self.place(&norm, false)?;
        Ok(norm)
    }

    /// Checks the order of `norm`, closes the directories it is not in,
    /// opens its missing parents and records it as the last entry.
    fn place(&mut self, norm: &str, is_dir: bool) -> Result<()> {
        if let Some((previous, prev_dir)) = &self.last {
            if path_order(previous, norm) != Ordering::Less {
                return Err(SquashfsError::OutOfOrder {
                    path: norm.to_string(),
                    previous: previous.clone(),
                });
            }
            if !prev_dir && is_under(norm, previous) {
                return Err(SquashfsError::ParentNotDir {
                    path: norm.to_string(),
                    parent: previous.clone(),
                });
            }
        }
        while self.open.len() > 1
            && self
                .open
                .last()
                .is_some_and(|top| !is_under(norm, &top.path))
        {
            self.close_dir()?;
        }
        let top = self.open.last().map_or("", |d| d.path.as_str()).to_string();
        let mut missing = Vec::new();
        let mut parent = parent_of(norm);
        while parent != top {
            missing.push(parent.to_string());
            parent = parent_of(parent);
        }
        for dir in missing.into_iter().rev() {
            let ino = self.next_ino();
            self.open.push(OpenDir {
                path: dir,
                ino,
                meta: Meta::root(0o755),
                xattr: NO_XATTR,
                children: Vec::new(),
                subdirs: 0,
            });
        }
        self.last = Some((norm.to_string(), is_dir));
        Ok(())
    }
}

/// An entry's path, normalized ("" is the root); names longer than
/// squashfs holds are refused.
fn normalize(path: &str) -> Result<String> {
    let bad = || SquashfsError::BadPath {
        path: path.to_string(),
    };
    let norm = crate::path::normalize(path).ok_or_else(bad)?;
    if norm.split('/').any(|c| c.len() > NAME_MAX) {
        return Err(SquashfsError::NameTooLong {
            path: path.to_string(),
        });
    }
    Ok(norm)
}

/// Below `dir`, where everything is below the root.
fn is_under(path: &str, dir: &str) -> bool {
    dir.is_empty() || crate::path::is_under(path, dir)
}
