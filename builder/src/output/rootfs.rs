//! The root filesystem as a squashfs image, written straight from the tree
//! (contents streamed from the build's store, xattrs and file capabilities
//! kept), alone (`-f squashfs`) or as the root partition of a disk.

use std::io::{Seek, Write};
use std::path::Path;

use cairn_boot::squashfs::{self, Options, Writer};

use super::atomic::AtomicImage;
use super::walk::{WalkError, walk};
use super::window::Window;
use super::{OutputError, Request, Written};
use crate::fstree::Tree;

/// Writes `tree` as a squashfs at offset 0 of `out`; returns `out` and the
/// image's size (a multiple of 4096, as dm-verity wants).
pub fn write_squashfs<W: Write + Seek>(
    out: W,
    tree: &Tree,
    mtime: u64,
    path: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(W, u64), OutputError> {
    let fail = |source: squashfs::SquashfsError| OutputError::Image {
        what: "squashfs root filesystem",
        path: path.to_path_buf(),
        source: Box::new(source),
    };
    let mtime = u32::try_from(mtime).map_err(|_| OutputError::Mtime { mtime })?;
    let opts = Options {
        mtime,
        ..Options::default()
    };
    let mut w = Writer::new(out, opts).map_err(fail)?;
    walk(&mut w, tree.iter_with_xattrs(), tree.contents(), progress).map_err(|e| match e {
        WalkError::Content { path, source } => OutputError::Content { path, source },
        WalkError::Sink { source, .. } => fail(source),
    })?;
    w.finish().map_err(fail)
}

/// `-f squashfs`: NAME.squashfs.
pub fn write_squashfs_file(
    req: &Request,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Written, OutputError> {
    let file = AtomicImage::create(req.dir, &format!("{}.squashfs", req.name))?;
    let path = file.path().to_path_buf();
    let (_, size) = write_squashfs(
        Window::new(file.file(), 0),
        req.rootfs,
        req.mtime,
        &path,
        progress,
    )?;
    file.commit(size)
}
