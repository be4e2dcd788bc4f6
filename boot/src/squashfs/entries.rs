//! The non-directory entries: files (hard-linked ones too), symlinks,
//! devices and fifos. Each is placed in the walk, its data (if any) written,
//! then its inode, and it is listed in its directory.

use std::io::{Read, Seek, Write};

use super::Xattrs;
use super::error::{Result, SquashfsError};
use super::inode::{Body, Kind, encode, encode_dev};
use super::metadata::MetaPos;
use super::writer::Writer;
use crate::cpio::Meta;

/// The kernel maps at most a page of symlink target.
const SYMLINK_MAX: usize = 4096;

/// The names of one hard-linked file: allocate with [`Writer::link_group`],
/// then write each name with [`Writer::linked_file`].
#[derive(Debug)]
pub struct LinkGroup {
    ino: u32,
    nlink: u32,
    written: u32,
    inode: Option<MetaPos>,
}

impl<W: Write + Seek> Writer<W> {
    /// A regular file of `size` bytes read from `data`.
    pub fn file(
        &mut self,
        path: &str,
        meta: Meta,
        size: u64,
        data: &mut dyn Read,
        xattrs: Xattrs,
    ) -> Result<()> {
        let norm = self.place_leaf(path)?;
        let ino = self.next_ino();
        self.file_inode(&norm, meta, ino, 1, size, data, xattrs)?;
        Ok(())
    }

    pub fn symlink(&mut self, path: &str, meta: Meta, target: &str, xattrs: Xattrs) -> Result<()> {
        let norm = self.place_leaf(path)?;
        if target.len() > SYMLINK_MAX {
            return Err(SquashfsError::SymlinkTooLong {
                path: norm,
                len: target.len(),
            });
        }
        let body = Body::Symlink {
            target: target.as_bytes(),
        };
        let ino = self.next_ino();
        self.leaf(&norm, meta, ino, 1, xattrs, &body)?;
        Ok(())
    }

    pub fn char_device(
        &mut self,
        path: &str,
        meta: Meta,
        major: u32,
        minor: u32,
        xattrs: Xattrs,
    ) -> Result<()> {
        self.device(path, meta, Kind::CharDevice, major, minor, xattrs)
    }

    pub fn block_device(
        &mut self,
        path: &str,
        meta: Meta,
        major: u32,
        minor: u32,
        xattrs: Xattrs,
    ) -> Result<()> {
        self.device(path, meta, Kind::BlockDevice, major, minor, xattrs)
    }

    pub fn fifo(&mut self, path: &str, meta: Meta, xattrs: Xattrs) -> Result<()> {
        let norm = self.place_leaf(path)?;
        let ino = self.next_ino();
        self.leaf(&norm, meta, ino, 1, xattrs, &Body::Fifo)?;
        Ok(())
    }

    /// Reserves one inode for a file with `nlink` names.
    pub fn link_group(&mut self, nlink: u32) -> LinkGroup {
        LinkGroup {
            ino: self.next_ino(),
            nlink: nlink.max(1),
            written: 0,
            inode: None,
        }
    }

    /// One name of a hard-linked file. The group's first name writes the
    /// inode (with this `meta`, `data` and `xattrs`); later names only
    /// point at it and read nothing.
    #[allow(clippy::too_many_arguments)]
    pub fn linked_file(
        &mut self,
        group: &mut LinkGroup,
        path: &str,
        meta: Meta,
        size: u64,
        data: &mut dyn Read,
        xattrs: Xattrs,
    ) -> Result<()> {
        if group.written == group.nlink {
            return Err(SquashfsError::LinkOverflow {
                path: path.to_string(),
                nlink: group.nlink,
            });
        }
        let norm = self.place_leaf(path)?;
        match group.inode {
            None => {
                let at =
                    self.file_inode(&norm, meta, group.ino, group.nlink, size, data, xattrs)?;
                group.inode = Some(at);
            }
            Some(inode) => self.add_child(&norm, group.ino, inode, Kind::File),
        }
        group.written += 1;
        Ok(())
    }

    fn device(
        &mut self,
        path: &str,
        meta: Meta,
        kind: Kind,
        major: u32,
        minor: u32,
        xattrs: Xattrs,
    ) -> Result<()> {
        let norm = self.place_leaf(path)?;
        let rdev = encode_dev(major, minor).ok_or_else(|| SquashfsError::BadDevice {
            path: norm.clone(),
            major,
            minor,
        })?;
        let ino = self.next_ino();
        self.leaf(&norm, meta, ino, 1, xattrs, &Body::Device { kind, rdev })?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn file_inode(
        &mut self,
        norm: &str,
        meta: Meta,
        ino: u32,
        nlink: u32,
        size: u64,
        data: &mut dyn Read,
        xattrs: Xattrs,
    ) -> Result<MetaPos> {
        let layout = self.data.file(norm, size, data)?;
        let body = Body::File {
            start: layout.start,
            size,
            sparse: layout.sparse,
            fragment: layout.fragment,
            fragment_offset: layout.fragment_offset,
            blocks: &layout.blocks,
        };
        self.leaf(norm, meta, ino, nlink, xattrs, &body)
    }

    /// Writes the inode of a non-directory and lists it in its directory.
    fn leaf(
        &mut self,
        norm: &str,
        meta: Meta,
        ino: u32,
        nlink: u32,
        xattrs: Xattrs,
        body: &Body,
    ) -> Result<MetaPos> {
        let xattr = self.xattr_id(norm, xattrs)?;
        let common = self.common(norm, meta, ino, nlink, xattr)?;
        let at = self.put_inode(ino, &encode(&common, body));
        self.add_child(norm, ino, at, body.kind());
        Ok(at)
    }
}
