//! The root filesystem as a squashfs image, written straight from the tree
//! (contents streamed from the build's store, xattrs and file capabilities
//! kept), alone (`-f squashfs`) or as the root partition of a disk.

use std::io::{Read, Seek, Write};
use std::path::Path;

use cairn_boot::cpio::Meta;
use cairn_boot::squashfs::{self, Options, Writer};

use super::atomic::AtomicImage;
use super::window::Window;
use super::{OutputError, Request, Written};
use crate::fstree::{Kind, Tree};

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
    for (name, entry, xattrs) in tree.iter_with_xattrs() {
        let meta = Meta {
            mode: entry.mode,
            uid: entry.uid,
            gid: entry.gid,
        };
        let pairs: Vec<(&str, &[u8])> = xattrs
            .map(|x| x.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect())
            .unwrap_or_default();
        let done = match &entry.kind {
            Kind::Dir => w.dir(name, meta, &pairs),
            Kind::File(id) => {
                let mut file = tree
                    .contents()
                    .open(id)
                    .map_err(|source| OutputError::Content {
                        path: name.to_string(),
                        source,
                    })?;
                let done = w.file(name, meta, id.size, &mut file as &mut dyn Read, &pairs);
                progress(id.size);
                done
            }
            Kind::Symlink(target) => w.symlink(name, meta, target, &pairs),
            Kind::CharDevice(major, minor) => w.char_device(name, meta, *major, *minor, &pairs),
            Kind::BlockDevice(major, minor) => w.block_device(name, meta, *major, *minor, &pairs),
            Kind::Fifo => w.fifo(name, meta, &pairs),
        };
        done.map_err(fail)?;
    }
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
