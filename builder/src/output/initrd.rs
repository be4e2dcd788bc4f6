//! The initramfs: the root filesystem as a newc cpio stream, plus the device
//! nodes the kernel needs before devtmpfs is mounted (`/dev/console`, or the
//! init starts with no stdin, stdout and stderr).

use std::cmp::Ordering;
use std::io::Write;

use cairn_boot::cpio::{self, Writer};

use super::OutputError;
use super::walk::{WalkError, walk};
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
    let extras = extras();
    let merged = with_extras(entries, &extras).map(|(p, e)| (p, e, None));
    walk(&mut w, merged, contents, progress).map_err(|e| match e {
        WalkError::Content { path, source } => OutputError::Content { path, source },
        WalkError::Sink { path, source } => OutputError::Cpio { path, source },
    })?;
    w.finish().map_err(|source| OutputError::Cpio {
        path: cpio::TRAILER.to_string(),
        source,
    })?;
    Ok(())
}

/// `entries` with each extra the tree lacks put in its place in cpio order.
fn with_extras<'a: 'b, 'b>(
    entries: impl Iterator<Item = (&'a str, &'a Entry)> + 'b,
    extras: &'b [(&'static str, Entry)],
) -> impl Iterator<Item = (&'b str, &'b Entry)> + 'b {
    let mut extras = extras.iter().map(|(p, e)| (*p, e)).peekable();
    let mut entries = entries.peekable();
    std::iter::from_fn(move || match (entries.peek(), extras.peek()) {
        (Some((path, _)), Some((extra, _))) => match cpio::path_order(extra, path) {
            Ordering::Less => extras.next(),
            Ordering::Equal => {
                extras.next();
                entries.next()
            }
            Ordering::Greater => entries.next(),
        },
        (Some(_), None) => entries.next().map(|(p, e)| (p as &'b str, e as &'b Entry)),
        (None, _) => extras.next(),
    })
}
