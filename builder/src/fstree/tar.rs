//! Reproducible tar streams of a [`Tree`]: sorted, parents-first order with
//! one fixed mtime, numeric owners only and no user or group names, ustar
//! headers with PAX records only for what ustar cannot hold. Used for package
//! layers, `pack`ed subtrees and the `tar` output.

use std::io::{self, Write};

use super::content::Contents;
use super::tree::{Entry, Kind, Tree, Xattrs};

const BLOCK: usize = 512;

/// Writes the entries as a tar stream (with its end marker) and flushes.
pub fn write_tar<'a>(
    w: &mut dyn Write,
    entries: impl Iterator<Item = (&'a str, &'a Entry)>,
    contents: &Contents,
    mtime: u64,
) -> io::Result<()> {
    for (path, entry) in entries {
        write_entry(w, path, entry, None, contents, mtime)?;
    }
    w.write_all(&[0u8; 2 * BLOCK])?;
    w.flush()
}

/// Writes a whole tree like [`write_tar`], with extended attributes as PAX
/// `SCHILY.xattr.*` records (as GNU tar and containerd read them).
pub fn write_tree_tar(w: &mut dyn Write, tree: &Tree, mtime: u64) -> io::Result<()> {
    for (path, entry, xattrs) in tree.iter_with_xattrs() {
        write_entry(w, path, entry, xattrs, tree.contents(), mtime)?;
    }
    w.write_all(&[0u8; 2 * BLOCK])?;
    w.flush()
}

fn write_entry(
    w: &mut dyn Write,
    path: &str,
    entry: &Entry,
    xattrs: Option<&Xattrs>,
    contents: &Contents,
    mtime: u64,
) -> io::Result<()> {
    let (flag, link, size, dev) = match &entry.kind {
        Kind::Dir => (b'5', "", 0, (0, 0)),
        Kind::File(id) => (b'0', "", id.size, (0, 0)),
        Kind::Symlink(target) => (b'2', target.as_str(), 0, (0, 0)),
        Kind::CharDevice(a, b) => (b'3', "", 0, (*a, *b)),
        Kind::BlockDevice(a, b) => (b'4', "", 0, (*a, *b)),
        Kind::Fifo => (b'6', "", 0, (0, 0)),
    };
    let name = match entry.kind {
        Kind::Dir => format!("{path}/"),
        _ => path.to_string(),
    };
    let mut h = Header::default();
    let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
    if !h.set_name(&name) {
        pax.push(("path".into(), name.clone().into_bytes()));
        h.set_name(&truncate(&name, 99));
    }
    if link.len() > 100 {
        pax.push(("linkpath".into(), link.as_bytes().to_vec()));
        h.field(157, 100, &link.as_bytes()[..100]);
    } else {
        h.field(157, 100, link.as_bytes());
    }
    for (key, value, off) in [("uid", entry.uid, 108), ("gid", entry.gid, 116)] {
        if !h.octal(off, 8, u64::from(value)) {
            pax.push((key.into(), value.to_string().into_bytes()));
            h.octal(off, 8, 0);
        }
    }
    if !h.octal(124, 12, size) {
        pax.push(("size".into(), size.to_string().into_bytes()));
        h.octal(124, 12, 0);
    }
    h.octal(100, 8, u64::from(entry.mode & 0o7777));
    h.octal(136, 12, mtime);
    h.0[156] = flag;
    h.octal(329, 8, u64::from(dev.0));
    h.octal(337, 8, u64::from(dev.1));
    for (key, value) in xattrs.into_iter().flatten() {
        pax.push((format!("SCHILY.xattr.{key}"), value.clone()));
    }
    if !pax.is_empty() {
        write_pax(w, &name, &pax, mtime)?;
    }
    w.write_all(&h.finish())?;
    if let Kind::File(id) = &entry.kind {
        let copied = io::copy(&mut contents.open(id)?, w)?;
        if copied != id.size {
            return Err(io::Error::other(format!(
                "{path} changed size while being written"
            )));
        }
        pad(w, size)?;
    }
    Ok(())
}

fn write_pax(
    w: &mut dyn Write,
    name: &str,
    records: &[(String, Vec<u8>)],
    mtime: u64,
) -> io::Result<()> {
    let mut body = Vec::new();
    for (key, value) in records {
        // The length prefix counts itself, so find the fixed point.
        let rest = key.len() + value.len() + 3;
        let mut len = rest + 1;
        while len != rest + len.to_string().len() {
            len = rest + len.to_string().len();
        }
        body.extend_from_slice(format!("{len} {key}=").as_bytes());
        body.extend_from_slice(value);
        body.push(b'\n');
    }
    let mut h = Header::default();
    let base = name.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    h.set_name(&truncate(&format!("PaxHeaders/{base}"), 99));
    h.octal(100, 8, 0o644);
    h.octal(108, 8, 0);
    h.octal(116, 8, 0);
    h.octal(124, 12, body.len() as u64);
    h.octal(136, 12, mtime);
    h.0[156] = b'x';
    w.write_all(&h.finish())?;
    w.write_all(&body)?;
    pad(w, body.len() as u64)
}

fn pad(w: &mut dyn Write, size: u64) -> io::Result<()> {
    let rem = (size % BLOCK as u64) as usize;
    if rem != 0 {
        w.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
    }
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

struct Header([u8; BLOCK]);

impl Default for Header {
    fn default() -> Self {
        let mut h = Header([0u8; BLOCK]);
        h.field(257, 6, b"ustar\0");
        h.field(263, 2, b"00");
        h
    }
}

impl Header {
    fn field(&mut self, off: usize, len: usize, bytes: &[u8]) {
        let n = bytes.len().min(len);
        self.0[off..off + n].copy_from_slice(&bytes[..n]);
    }

    /// Zero-padded octal with a NUL; false when the value does not fit.
    fn octal(&mut self, off: usize, len: usize, value: u64) -> bool {
        let text = format!("{value:0width$o}", width = len - 1);
        if text.len() > len - 1 {
            return false;
        }
        self.field(off, len, text.as_bytes());
        self.0[off + len - 1] = 0;
        true
    }

    /// The name, split into ustar's prefix and name fields when needed.
    fn set_name(&mut self, name: &str) -> bool {
        let bytes = name.as_bytes();
        if bytes.len() <= 100 {
            self.field(0, 100, bytes);
            return true;
        }
        // The split must fall on a `/` with at most 155 bytes before it.
        let split = (0..bytes.len().min(156))
            .rev()
            .find(|&i| bytes[i] == b'/' && bytes.len() - i - 1 <= 100 && bytes.len() - i - 1 > 0);
        match split {
            Some(i) => {
                self.field(345, 155, &bytes[..i]);
                self.field(0, 100, &bytes[i + 1..]);
                true
            }
            None => false,
        }
    }

    fn finish(mut self) -> [u8; BLOCK] {
        self.0[148..156].fill(b' ');
        let sum: u32 = self.0.iter().map(|&b| u32::from(b)).sum();
        let text = format!("{sum:06o}\0 ");
        self.0[148..156].copy_from_slice(text.as_bytes());
        self.0
    }
}
