//! Reading a qcow2 image's guest bytes through its L1 and L2 tables, enough
//! to find the GPT inside without `qemu-img` or a conversion. Images
//! `qemu-img convert` writes by default (versions 2 and 3, no compression,
//! no encryption, no backing file) read fully; anything else answers
//! `Unsupported`, and the caller asks for `--arch` instead.

use cairn_boot::bytes::{be_u32, be_u64};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::gpt::ReadAt;

pub const MAGIC: &[u8; 4] = b"QFI\xfb";

/// Bits 9-55 of an L1 or L2 entry hold a host offset.
const OFFSET_MASK: u64 = 0x00ff_ffff_ffff_fe00;
const COMPRESSED: u64 = 1 << 62;
/// In version 3, an L2 entry whose bit 0 is set reads as zeros.
const ZERO: u64 = 1;
/// Incompatible feature bits cairn can read past: only "dirty" (refcounts
/// may be stale, which does not matter for reading).
const READABLE_FEATURES: u64 = 1;

/// An open qcow2 image.
#[derive(Debug)]
pub struct Qcow2 {
    file: File,
    cluster_bits: u32,
    size: u64,
    l1_offset: u64,
    l1_size: u64,
    version: u32,
}

fn unsupported(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, what)
}

impl Qcow2 {
    /// Reads and checks the header.
    pub fn open(file: File) -> io::Result<Qcow2> {
        let mut header = [0u8; 80];
        file.read_exact_at(&mut header[..72], 0)?;
        if header.get(..4) != Some(&MAGIC[..]) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a qcow2 image (no QFI\\xfb magic)",
            ));
        }
        let version = be_u32(&header, 4).unwrap_or(0);
        if version == 3 {
            file.read_exact_at(&mut header[72..80], 72)?;
            let features = be_u64(&header, 72).unwrap_or(0);
            if features & !READABLE_FEATURES != 0 {
                return Err(unsupported(format!(
                    "qcow2 incompatible features {features:#x} (external data, \
                     extended L2 or a corrupt flag)"
                )));
            }
        } else if version != 2 {
            return Err(unsupported(format!("qcow2 version {version}")));
        }
        if be_u64(&header, 8).unwrap_or(0) != 0 {
            return Err(unsupported("a qcow2 image with a backing file".into()));
        }
        let cluster_bits = be_u32(&header, 20).unwrap_or(0);
        if !(9..=21).contains(&cluster_bits) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("qcow2 cluster_bits {cluster_bits}"),
            ));
        }
        if be_u32(&header, 32).unwrap_or(0) != 0 {
            return Err(unsupported("an encrypted qcow2 image".into()));
        }
        Ok(Qcow2 {
            file,
            cluster_bits,
            size: be_u64(&header, 24).unwrap_or(0),
            l1_offset: be_u64(&header, 40).unwrap_or(0),
            l1_size: u64::from(be_u32(&header, 36).unwrap_or(0)),
            version,
        })
    }

    /// The guest disk's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn entry(&self, at: u64) -> io::Result<u64> {
        let mut word = [0u8; 8];
        self.file.read_exact_at(&mut word, at)?;
        Ok(u64::from_be_bytes(word))
    }

    /// Where guest cluster `index` lives in the file; `None` reads as zeros.
    fn host_cluster(&self, index: u64) -> io::Result<Option<u64>> {
        let l2_bits = self.cluster_bits - 3;
        let l1_index = index >> l2_bits;
        if l1_index >= self.l1_size {
            return Ok(None);
        }
        let l2_table = self.entry(self.l1_offset + 8 * l1_index)? & OFFSET_MASK;
        if l2_table == 0 {
            return Ok(None);
        }
        let l2_index = index & ((1 << l2_bits) - 1);
        let l2 = self.entry(l2_table + 8 * l2_index)?;
        if l2 & COMPRESSED != 0 {
            return Err(unsupported("a compressed qcow2 cluster".into()));
        }
        if self.version >= 3 && l2 & ZERO != 0 {
            return Ok(None);
        }
        Ok(Some(l2 & OFFSET_MASK).filter(|&host| host != 0))
    }
}

impl ReadAt for Qcow2 {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let end = offset.checked_add(buf.len() as u64);
        if end.is_none_or(|end| end > self.size) {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past the end of the qcow2 guest disk",
            ));
        }
        let cluster = 1u64 << self.cluster_bits;
        let mut done = 0usize;
        while done < buf.len() {
            let at = offset + done as u64;
            let within = at & (cluster - 1);
            let take = ((cluster - within) as usize).min(buf.len() - done);
            let part = &mut buf[done..done + take];
            match self.host_cluster(at >> self.cluster_bits)? {
                Some(host) => self.file.read_exact_at(part, host + within)?,
                None => part.fill(0),
            }
            done += take;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "qcow2_tests.rs"]
mod tests;
