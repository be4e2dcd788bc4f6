//! A streaming reader for the `ar` archives that wrap every .deb.
//!
//! The format is a magic line followed by members, each with a fixed 60-byte
//! text header and its data padded to an even length. Only what dpkg writes
//! is accepted: plain names (a trailing `/` is tolerated), decimal sizes.

use std::io::{self, Read};

const MAGIC: &[u8; 8] = b"!<arch>\n";
const HEADER_LEN: usize = 60;

/// Reads members one after another; the reader itself yields the data of the
/// current member.
#[derive(Debug)]
pub(super) struct ArReader<R: Read> {
    inner: R,
    /// Bytes of the current member not read yet.
    left: u64,
    /// Padding after the current member.
    pad: u64,
}

impl<R: Read> ArReader<R> {
    pub(super) fn new(mut inner: R) -> io::Result<ArReader<R>> {
        let mut magic = [0u8; 8];
        inner
            .read_exact(&mut magic)
            .map_err(|e| eof_as(e, "too short for an ar archive"))?;
        if &magic != MAGIC {
            return Err(invalid("not an ar archive (bad magic)"));
        }
        Ok(ArReader {
            inner,
            left: 0,
            pad: 0,
        })
    }

    /// Skips what is left of the current member and returns the next one's
    /// name and size, or `None` at the end of the archive.
    pub(super) fn next_member(&mut self) -> io::Result<Option<(String, u64)>> {
        let rest = self.left + self.pad;
        if rest > 0 {
            let skipped = io::copy(&mut (&mut self.inner).take(rest), &mut io::sink())?;
            if skipped < self.left {
                return Err(invalid("archive ends inside a member"));
            }
        }
        self.left = 0;
        self.pad = 0;
        let mut header = [0u8; HEADER_LEN];
        let got = read_full(&mut self.inner, &mut header)?;
        if got == 0 {
            return Ok(None);
        }
        if got < HEADER_LEN || &header[58..60] != b"`\n" {
            return Err(invalid("damaged member header"));
        }
        let name = std::str::from_utf8(&header[..16])
            .map_err(|_| invalid("member name is not text"))?
            .trim_end()
            .trim_end_matches('/')
            .to_string();
        let size: u64 = std::str::from_utf8(&header[48..58])
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| invalid("member size is not a number"))?;
        self.left = size;
        self.pad = size % 2;
        Ok(Some((name, size)))
    }
}

impl<R: Read> Read for ArReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(invalid("archive ends inside a member"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn invalid(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn eof_as(e: io::Error, msg: &'static str) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        invalid(msg)
    } else {
        e
    }
}

#[cfg(test)]
pub(super) fn build(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    for (name, data) in members {
        let header = format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            name,
            0,
            0,
            0,
            "100644",
            data.len()
        );
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_read_in_order_and_padding_is_skipped() {
        let bytes = build(&[
            ("debian-binary", b"2.0\n"),
            ("odd", b"abc"),
            ("last", b"xy"),
        ]);
        let mut ar = ArReader::new(bytes.as_slice()).expect("magic");
        let mut seen = Vec::new();
        while let Some((name, size)) = ar.next_member().expect("header") {
            let mut data = Vec::new();
            if name != "odd" {
                ar.read_to_end(&mut data).expect("data");
            }
            seen.push((name, size, data));
        }
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0], ("debian-binary".into(), 4, b"2.0\n".to_vec()));
        assert_eq!(seen[1].1, 3);
        assert_eq!(seen[2], ("last".into(), 2, b"xy".to_vec()));
    }

    #[test]
    fn a_file_without_the_magic_is_refused() {
        let err = ArReader::new(&b"PK\x03\x04 not an ar file"[..]).expect_err("bad magic");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_truncated_member_is_an_error() {
        let mut bytes = build(&[("data.tar", b"0123456789")]);
        bytes.truncate(bytes.len() - 4);
        let mut ar = ArReader::new(bytes.as_slice()).expect("magic");
        ar.next_member().expect("header");
        let mut data = Vec::new();
        assert!(ar.read_to_end(&mut data).is_err());
    }
}
