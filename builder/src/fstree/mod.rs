//! A filesystem tree assembled in memory, its file contents kept on disk and
//! stored once per sha256, so trees of hundreds of MB stay cheap in memory.
//! Packages are built into one (`pkg`), and so is a system's root filesystem
//! (`assemble`); `tar` writes one out reproducibly.

pub mod content;
pub mod glob;
pub mod tar;
pub mod tree;

pub use content::{ContentId, Contents};
pub use glob::Glob;
pub use tree::{Entry, Kind, Tree, TreeError, Xattrs, normalize};
