use std::io;

#[derive(Debug, thiserror::Error)]
pub enum SquashfsError {
    #[error("squashfs block size {block_size} is not a power of two from 4096 to 1048576")]
    BadBlockSize { block_size: u32 },
    #[error(
        "squashfs entry {path:?} comes after {previous:?}; write entries sorted by path \
         component, parents first"
    )]
    OutOfOrder { path: String, previous: String },
    #[error(
        "squashfs entry {path:?} is not a relative path without `..` or NUL \
         (\"\" and \".\" name the root directory, which must be a directory given first)"
    )]
    BadPath { path: String },
    #[error("squashfs entry {path:?} has a name longer than 256 bytes; shorten it")]
    NameTooLong { path: String },
    #[error(
        "squashfs entry {path:?} cannot go under {parent:?}, which was written as a non-directory"
    )]
    ParentNotDir { path: String, parent: String },
    #[error(
        "file {path:?} yielded {got} bytes where {expected} were announced; was it changed while being archived?"
    )]
    SizeMismatch {
        path: String,
        expected: u64,
        got: u64,
    },
    #[error("symlink {path:?} has a {len}-byte target; the kernel reads at most 4096")]
    SymlinkTooLong { path: String, len: usize },
    #[error(
        "device {path:?} has number {major}:{minor}; squashfs holds majors up to 4095 and minors up to 1048575"
    )]
    BadDevice {
        path: String,
        major: u32,
        minor: u32,
    },
    #[error("xattr {name:?} of {path:?} cannot be stored: {reason}")]
    BadXattr {
        path: String,
        name: String,
        reason: &'static str,
    },
    #[error("squashfs entry {path:?} brings the 65536th distinct uid/gid; squashfs holds 65535")]
    TooManyIds { path: String },
    #[error("squashfs entry {path:?} overflows the {what}; split the tree into smaller images")]
    TooLarge { path: String, what: &'static str },
    #[error("hard link {path:?} is one more name than the {nlink} its group announced")]
    LinkOverflow { path: String, nlink: u32 },
    #[error("cannot read the data of {path:?}")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot write the squashfs image at {path:?}; is the disk full or the output closed?")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("the squashfs compression thread failed while writing {path:?}")]
    Worker { path: String },
}

pub type Result<T> = std::result::Result<T, SquashfsError>;
