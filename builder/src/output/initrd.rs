//! The initramfs: the root filesystem as a newc cpio stream, plus the device
//! nodes the kernel needs before devtmpfs is mounted (`/dev/console`, or the
//! init starts with no stdin, stdout and stderr).

use std::cmp::Ordering;
use std::io::Write;

use cairn_boot::cpio::{self, Meta, Writer};

use super::OutputError;
use crate::fstree::{Contents, Entry, Kind, Tree};

/// Entries every initramfs gets unless the tree has them: char 5:1 is the
/// console.
fn extras() -> [(&'static str, Entry); 1] {
    [(
        "dev/console",
        Entry {
            kind: Kind::CharDevice(5, 1),
            mode: 0o600,
            uid: 0,
            gid: 0,
        },
    )]
}

/// Writes `tree` (and the extras it lacks) as one cpio archive with every
/// timestamp `mtime`. `progress` hears of every file's bytes.
pub fn write_cpio(
    out: &mut dyn Write,
    tree: &Tree,
    mtime: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), OutputError> {
    write_entries(out, tree.iter(), tree.contents(), mtime, progress)
}

/// Writes `entries` (in tree order, contents from `contents`) and the
/// extras they lack as one cpio archive.
pub fn write_entries<'a>(
    out: &mut dyn Write,
    entries: impl Iterator<Item = (&'a str, &'a Entry)>,
    contents: &Contents,
    mtime: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), OutputError> {
    let mtime = u32::try_from(mtime).map_err(|_| OutputError::Mtime { mtime })?;
    let mut w = Writer::new(out, mtime);
    let mut extras = extras().into_iter().peekable();
    for (path, entry) in entries {
        while let Some((extra, _)) = extras.peek() {
            match cpio::path_order(extra, path) {
                Ordering::Less => {
                    if let Some((extra, e)) = extras.next() {
                        put(&mut w, contents, extra, &e, progress)?;
                    }
                }
                Ordering::Equal => {
                    extras.next();
                }
                Ordering::Greater => break,
            }
        }
        put(&mut w, contents, path, entry, progress)?;
    }
    for (extra, e) in extras {
        put(&mut w, contents, extra, &e, progress)?;
    }
    w.finish().map_err(|source| OutputError::Cpio {
        path: cpio::TRAILER.to_string(),
        source,
    })?;
    Ok(())
}

fn put(
    w: &mut Writer<&mut dyn Write>,
    contents: &Contents,
    path: &str,
    entry: &Entry,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(), OutputError> {
    let meta = Meta {
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
    };
    let done = match &entry.kind {
        Kind::Dir => w.dir(path, meta),
        Kind::File(id) => {
            let mut file = contents.open(id).map_err(|source| OutputError::Content {
                path: path.to_string(),
                source,
            })?;
            let done = w.file(path, meta, id.size, &mut file);
            progress(id.size);
            done
        }
        Kind::Symlink(target) => w.symlink(path, meta, target),
        Kind::CharDevice(major, minor) => w.char_device(path, meta, *major, *minor),
        Kind::BlockDevice(major, minor) => w.block_device(path, meta, *major, *minor),
        Kind::Fifo => w.fifo(path, meta),
    };
    done.map_err(|source| OutputError::Cpio {
        path: path.to_string(),
        source,
    })
}
