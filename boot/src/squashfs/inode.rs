//! Inode encodings. Every type has a basic form and an extended one (basic
//! type + 7) that adds what the basic form cannot hold: an xattr id, a link
//! count, 64-bit sizes, a directory index.

use super::dir::IndexEntry;

pub(crate) const NO_XATTR: u32 = u32::MAX;
pub(crate) const NO_FRAGMENT: u32 = u32::MAX;

/// The basic inode types, which directory entries carry for every inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir = 1,
    File = 2,
    Symlink = 3,
    BlockDevice = 4,
    CharDevice = 5,
    Fifo = 6,
}

impl Kind {
    fn mode_bits(self) -> u16 {
        match self {
            Kind::Dir => 0o040000,
            Kind::File => 0o100000,
            Kind::Symlink => 0o120000,
            Kind::BlockDevice => 0o060000,
            Kind::CharDevice => 0o020000,
            Kind::Fifo => 0o010000,
        }
    }
}

/// The fields every inode starts with; uid and gid are id table indexes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Common {
    pub mode: u32,
    pub uid: u16,
    pub gid: u16,
    pub mtime: u32,
    pub ino: u32,
    pub xattr: u32,
    pub nlink: u32,
}

#[derive(Debug)]
pub(crate) enum Body<'a> {
    Dir {
        /// Where the listing starts in the directory table.
        start_block: u32,
        offset: u16,
        /// Listing bytes plus 3, for the "." and ".." the kernel invents.
        size: u32,
        parent: u32,
        index: &'a [IndexEntry],
    },
    File {
        start: u64,
        size: u64,
        /// Bytes not stored because their blocks were all zeros.
        sparse: u64,
        fragment: u32,
        fragment_offset: u32,
        blocks: &'a [u32],
    },
    Symlink {
        target: &'a [u8],
    },
    Device {
        kind: Kind,
        rdev: u32,
    },
    Fifo,
}

impl Body<'_> {
    pub fn kind(&self) -> Kind {
        match self {
            Body::Dir { .. } => Kind::Dir,
            Body::File { .. } => Kind::File,
            Body::Symlink { .. } => Kind::Symlink,
            Body::Device { kind, .. } => *kind,
            Body::Fifo => Kind::Fifo,
        }
    }
}

/// The on-disk bytes of one inode, in the smallest form that holds it.
pub(crate) fn encode(c: &Common, body: &Body) -> Vec<u8> {
    let kind = body.kind();
    let has_xattr = c.xattr != NO_XATTR;
    let extended = match body {
        Body::Dir { size, index, .. } => has_xattr || *size > 0xffff || !index.is_empty(),
        Body::File {
            start,
            size,
            sparse,
            ..
        } => {
            has_xattr || c.nlink != 1 || *sparse != 0 || *start > 0xffff_ffff || *size > 0xffff_ffff
        }
        _ => has_xattr,
    };
    let mut out = Vec::with_capacity(64);
    let kind_code = kind as u16 + if extended { 7 } else { 0 };
    out.extend_from_slice(&kind_code.to_le_bytes());
    out.extend_from_slice(&(kind.mode_bits() | (c.mode & 0o7777) as u16).to_le_bytes());
    out.extend_from_slice(&c.uid.to_le_bytes());
    out.extend_from_slice(&c.gid.to_le_bytes());
    out.extend_from_slice(&c.mtime.to_le_bytes());
    out.extend_from_slice(&c.ino.to_le_bytes());
    let put32 = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
    match body {
        Body::Dir {
            start_block,
            offset,
            size,
            parent,
            index,
        } => {
            if extended {
                put32(&mut out, c.nlink);
                put32(&mut out, *size);
                put32(&mut out, *start_block);
                put32(&mut out, *parent);
                // The writer refuses directories with more index entries.
                out.extend_from_slice(&(index.len() as u16).to_le_bytes());
                out.extend_from_slice(&offset.to_le_bytes());
                put32(&mut out, c.xattr);
                for entry in *index {
                    put32(&mut out, entry.index);
                    put32(&mut out, entry.start_block);
                    put32(&mut out, entry.name.len() as u32 - 1);
                    out.extend_from_slice(&entry.name);
                }
            } else {
                put32(&mut out, *start_block);
                put32(&mut out, c.nlink);
                out.extend_from_slice(&(*size as u16).to_le_bytes());
                out.extend_from_slice(&offset.to_le_bytes());
                put32(&mut out, *parent);
            }
        }
        Body::File {
            start,
            size,
            sparse,
            fragment,
            fragment_offset,
            blocks,
        } => {
            if extended {
                out.extend_from_slice(&start.to_le_bytes());
                out.extend_from_slice(&size.to_le_bytes());
                out.extend_from_slice(&sparse.to_le_bytes());
                put32(&mut out, c.nlink);
                put32(&mut out, *fragment);
                put32(&mut out, *fragment_offset);
                put32(&mut out, c.xattr);
            } else {
                put32(&mut out, *start as u32);
                put32(&mut out, *fragment);
                put32(&mut out, *fragment_offset);
                put32(&mut out, *size as u32);
            }
            for block in *blocks {
                put32(&mut out, *block);
            }
        }
        Body::Symlink { target } => {
            put32(&mut out, c.nlink);
            // The writer refuses targets over 4096 bytes.
            put32(&mut out, target.len() as u32);
            out.extend_from_slice(target);
            if extended {
                put32(&mut out, c.xattr);
            }
        }
        Body::Device { rdev, .. } => {
            put32(&mut out, c.nlink);
            put32(&mut out, *rdev);
            if extended {
                put32(&mut out, c.xattr);
            }
        }
        Body::Fifo => {
            put32(&mut out, c.nlink);
            if extended {
                put32(&mut out, c.xattr);
            }
        }
    }
    out
}

/// The kernel's `new_encode_dev`: 12 bits of major, 20 of minor, with the
/// low minor byte at the bottom for compatibility with 16-bit numbers.
pub(crate) fn encode_dev(major: u32, minor: u32) -> Option<u32> {
    if major > 0xfff || minor > 0xf_ffff {
        return None;
    }
    Some((minor & 0xff) | (major << 8) | ((minor & !0xff) << 12))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn common(xattr: u32, nlink: u32) -> Common {
        Common {
            mode: 0o4755,
            uid: 1,
            gid: 2,
            mtime: 3,
            ino: 4,
            xattr,
            nlink,
        }
    }

    #[test]
    fn a_plain_file_uses_the_32_byte_basic_form() {
        let body = Body::File {
            start: 96,
            size: 10,
            sparse: 0,
            fragment: 0,
            fragment_offset: 5,
            blocks: &[],
        };
        let bytes = encode(&common(NO_XATTR, 1), &body);
        assert_eq!(bytes.len(), 32);
        assert_eq!(&bytes[..4], &[2, 0, 0xed, 0x89]);
    }

    #[test]
    fn an_xattr_or_a_second_link_makes_a_file_extended() {
        let body = Body::File {
            start: 96,
            size: 10,
            sparse: 0,
            fragment: NO_FRAGMENT,
            fragment_offset: 0,
            blocks: &[0x100_0000 | 10],
        };
        for c in [common(0, 1), common(NO_XATTR, 2)] {
            let bytes = encode(&c, &body);
            assert_eq!(bytes[0], 9);
            assert_eq!(bytes.len(), 56 + 4);
        }
    }

    #[test]
    fn device_numbers_follow_the_kernels_encoding() {
        assert_eq!(encode_dev(8, 1), Some(0x801));
        assert_eq!(encode_dev(1, 0x12345), Some(0x45 | 0x100 | 0x1230_0000));
        assert_eq!(encode_dev(0x1000, 0), None);
    }
}
