//! Reading Debian binary packages (.deb) without dpkg: an `ar` archive with
//! `debian-binary`, `control.tar.*` and `data.tar.*` members.
//!
//! Everything streams: the data tarball is decompressed and walked entry by
//! entry, so a package of any size needs only a small buffer. Paths are
//! normalized and checked before the caller sees them: no entry can name a
//! file outside the package's root.

mod ar;
mod control;
mod entries;
mod path;

use std::path::PathBuf;

use crate::exit::{Classify, ErrorClass};

pub use control::{ControlInfo, control};
pub use entries::for_each_entry;
pub use path::normalize;

/// One file system object in a package's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebEntry {
    /// Relative and normalized: no leading `./` or `/`, no `.` or `..`
    /// components, no trailing `/`. The root directory itself is not reported.
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits including setuid, setgid and sticky (`0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Bytes of content; zero for everything but regular files.
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Dir,
    File,
    /// The link target exactly as packaged (absolute or relative); it is
    /// resolved inside the image, never on the host.
    Symlink(String),
    /// Another entry of the same package, normalized like [`DebEntry::path`].
    Hardlink(String),
    CharDevice(u32, u32),
    BlockDevice(u32, u32),
    Fifo,
}

/// Errors reading a .deb; each names the package file.
#[derive(Debug, thiserror::Error)]
pub enum DebError {
    #[error("cannot open package {}", deb.display())]
    Open {
        deb: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("package {} is damaged or not a .deb: {reason}", deb.display())]
    Format { deb: PathBuf, reason: String },
    #[error("cannot read {member} of package {}; the file is damaged or truncated", deb.display())]
    Read {
        deb: PathBuf,
        member: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "package {} compresses {member} in a way cairn does not read (it reads xz, zstd, gzip or none)",
        deb.display()
    )]
    Compression { deb: PathBuf, member: String },
    #[error(
        "package {} has an entry {entry:?} that points outside the package root; it was refused",
        deb.display()
    )]
    UnsafePath { deb: PathBuf, entry: String },
    #[error("package {} has entry {entry:?} of a type cairn does not unpack ({kind})", deb.display())]
    UnsupportedEntry {
        deb: PathBuf,
        entry: String,
        kind: String,
    },
    #[error("package {} has a control file without {field}", deb.display())]
    Control { deb: PathBuf, field: &'static str },
    /// Raised by a caller's callback in [`for_each_entry`].
    #[error("cannot unpack {entry} from package {}", deb.display())]
    Entry {
        deb: PathBuf,
        entry: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl Classify for DebError {
    fn class(&self) -> ErrorClass {
        match self {
            DebError::Open { source, .. } if source.kind() != std::io::ErrorKind::NotFound => {
                ErrorClass::Environment
            }
            DebError::Entry { .. } => ErrorClass::Environment,
            _ => ErrorClass::User,
        }
    }
}

#[cfg(test)]
mod tests;
