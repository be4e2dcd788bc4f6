//! squashfs 4.0 images, the read-only root filesystem the kernel mounts
//! under dm-verity, written reproducibly and as a stream.
//!
//! [`Writer`] mirrors [`crate::cpio::Writer`] so one tree walk can drive
//! both: entries come sorted by [`crate::cpio::path_order`] (parents first,
//! siblings in byte order, which squashfs directories need), missing
//! parents are created (0755, root), and every inode gets the same mtime.
//! Inode numbers count up from 1 in the order entries are placed (the root
//! is 1). File data is compressed and written as it is read; only metadata
//! (inodes, listings, tables) stays in memory until [`Writer::finish`].
//!
//! Files with identical bytes share one copy of their data. The image holds
//! an export table (so it can be NFS- and overlayfs-index exported) but no
//! compression options. zstd frames are shaped for the kernel's decompressor
//! (see `compress.rs`); Debian's 6.1 kernel mounts and reads these images.

mod compress;
mod data;
mod dir;
mod entries;
mod error;
mod ids;
mod inode;
mod metadata;
mod superblock;
mod writer;
mod xattr;

pub use entries::LinkGroup;
pub use error::SquashfsError;
pub use writer::Writer;

/// How blocks are stored. Either way the superblock names zstd, and a
/// block that does not shrink is stored as is and flagged so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    /// ruzstd's fastest level (about zstd level 1).
    #[default]
    Zstd,
    /// Nothing compressed; the superblock flags say so.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Every inode's mtime and the superblock's mkfs_time (seconds since
    /// the epoch, e.g. SOURCE_DATE_EPOCH).
    pub mtime: u32,
    /// A power of two from 4096 to 1 MiB, at least the page size of the
    /// kernel that mounts the image.
    pub block_size: u32,
    pub compression: Compression,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            mtime: 0,
            block_size: 128 * 1024,
            compression: Compression::Zstd,
        }
    }
}

/// Extended attributes as (full name, value), e.g.
/// `("security.capability", bytes)`; only `user.`, `trusted.` and
/// `security.` names can be stored. Order does not matter.
pub type Xattrs<'a> = &'a [(&'a str, &'a [u8])];

#[cfg(test)]
mod test_reader;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod writer_tests;
