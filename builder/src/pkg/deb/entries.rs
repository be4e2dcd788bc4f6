//! Walking a .deb's members and the entries of its tarballs.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use tar::EntryType;

use super::ar::ArReader;
use super::path::normalize;
use super::{DebEntry, DebError, EntryKind};

/// Calls `f` for every entry of the package's data in archive order, with a
/// reader over the entry's content (empty for anything but regular files).
/// The first error, from the package or from `f`, stops the walk.
pub fn for_each_entry(
    deb: &Path,
    f: &mut dyn FnMut(&DebEntry, &mut dyn Read) -> Result<(), DebError>,
) -> Result<(), DebError> {
    with_member(deb, "data.tar", &mut |member, tarball| {
        walk_tar(deb, member, tarball, f)
    })
}

/// Finds the member `<stem>` or `<stem>.<compression>` and hands its
/// decompressed stream to `f`.
pub(super) fn with_member(
    deb: &Path,
    stem: &str,
    f: &mut dyn FnMut(&str, &mut dyn Read) -> Result<(), DebError>,
) -> Result<(), DebError> {
    let file = File::open(deb).map_err(|source| DebError::Open {
        deb: deb.to_path_buf(),
        source,
    })?;
    let format = |reason: String| DebError::Format {
        deb: deb.to_path_buf(),
        reason,
    };
    let mut ar = ArReader::new(BufReader::new(file)).map_err(|e| format(e.to_string()))?;
    let mut first = true;
    loop {
        let Some((name, _size)) = ar.next_member().map_err(|e| format(e.to_string()))? else {
            return Err(format(format!("it has no {stem} member")));
        };
        if first {
            check_debian_binary(&name, &mut ar).map_err(format)?;
            first = false;
            continue;
        }
        let Some(suffix) = name.strip_prefix(stem) else {
            continue;
        };
        let read_err = |source| DebError::Read {
            deb: deb.to_path_buf(),
            member: name.clone(),
            source,
        };
        let mut stream: Box<dyn Read + '_> = match suffix {
            "" => Box::new(&mut ar),
            ".xz" => Box::new(lzma_rust2::XzReader::new(&mut ar, true)),
            ".zst" => Box::new(
                ruzstd::decoding::StreamingDecoder::new(&mut ar)
                    .map_err(|e| read_err(std::io::Error::other(e)))?,
            ),
            ".gz" => Box::new(flate2::read::MultiGzDecoder::new(&mut ar)),
            _ => {
                return Err(DebError::Compression {
                    deb: deb.to_path_buf(),
                    member: name,
                });
            }
        };
        return f(&name, &mut stream);
    }
}

fn check_debian_binary(name: &str, ar: &mut dyn Read) -> Result<(), String> {
    if name != "debian-binary" {
        return Err(format!("its first member is {name:?}, not debian-binary"));
    }
    let mut version = String::new();
    ar.take(16)
        .read_to_string(&mut version)
        .map_err(|e| format!("debian-binary is unreadable: {e}"))?;
    if !version.starts_with("2.") {
        return Err(format!("format version {:?} is not 2.x", version.trim()));
    }
    Ok(())
}

fn walk_tar(
    deb: &Path,
    member: &str,
    tarball: &mut dyn Read,
    f: &mut dyn FnMut(&DebEntry, &mut dyn Read) -> Result<(), DebError>,
) -> Result<(), DebError> {
    let read_err = |source| DebError::Read {
        deb: deb.to_path_buf(),
        member: member.to_string(),
        source,
    };
    let mut archive = tar::Archive::new(tarball);
    for entry in archive.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        let Some(info) = describe(deb, &entry)? else {
            continue;
        };
        f(&info, &mut entry)?;
    }
    Ok(())
}

/// The entry as cairn reports it; `None` for the root directory.
fn describe<R: Read>(deb: &Path, entry: &tar::Entry<'_, R>) -> Result<Option<DebEntry>, DebError> {
    let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    let unsafe_path = |entry: String| DebError::UnsafePath {
        deb: deb.to_path_buf(),
        entry,
    };
    let path = normalize(&raw).ok_or_else(|| unsafe_path(raw.clone()))?;
    let header = entry.header();
    let kind = header.entry_type();
    if path.is_empty() && kind == EntryType::Directory {
        return Ok(None);
    }
    let unsupported = |what: &str| DebError::UnsupportedEntry {
        deb: deb.to_path_buf(),
        entry: raw.clone(),
        kind: what.to_string(),
    };
    let damaged = |what: &str| DebError::Format {
        deb: deb.to_path_buf(),
        reason: format!("entry {raw:?} has an unreadable {what}"),
    };
    if path.is_empty() {
        return Err(unsafe_path(raw.clone()));
    }
    let link = || -> Result<String, DebError> {
        let target = entry
            .link_name_bytes()
            .ok_or_else(|| damaged("link target"))?;
        String::from_utf8(target.into_owned()).map_err(|_| damaged("link target"))
    };
    let device = || -> Result<(u32, u32), DebError> {
        let major = header
            .device_major()
            .ok()
            .flatten()
            .ok_or_else(|| damaged("device number"))?;
        let minor = header
            .device_minor()
            .ok()
            .flatten()
            .ok_or_else(|| damaged("device number"))?;
        Ok((major, minor))
    };
    let kind = match kind {
        EntryType::Directory => EntryKind::Dir,
        EntryType::Regular | EntryType::Continuous => EntryKind::File,
        EntryType::Symlink => EntryKind::Symlink(link()?),
        EntryType::Link => {
            let target = link()?;
            EntryKind::Hardlink(
                normalize(&target)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| unsafe_path(format!("{raw} (hard link to {target})")))?,
            )
        }
        EntryType::Char => {
            let (major, minor) = device()?;
            EntryKind::CharDevice(major, minor)
        }
        EntryType::Block => {
            let (major, minor) = device()?;
            EntryKind::BlockDevice(major, minor)
        }
        EntryType::Fifo => EntryKind::Fifo,
        other => return Err(unsupported(&format!("{other:?}"))),
    };
    let number = |v: std::io::Result<u64>, what: &str| -> Result<u32, DebError> {
        v.ok()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| damaged(what))
    };
    let mode = header.mode().map_err(|_| damaged("mode"))? & 0o7777;
    let uid = number(header.uid(), "uid")?;
    let gid = number(header.gid(), "gid")?;
    let size = if kind == EntryKind::File {
        entry.size()
    } else {
        0
    };
    Ok(Some(DebEntry {
        path,
        kind,
        mode,
        uid,
        gid,
        size,
    }))
}
