//! Which architecture a GPT disk boots: the Discoverable Partitions
//! Specification gives root partitions a type GUID per architecture, so the
//! root's type says it without mounting anything. Only the header and the
//! entry array are read (no CRC check: a damaged table fails at boot with
//! the firmware's own message, and the boot crate writes the tables).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use crate::cli::Arch;

/// Root partition type GUIDs from the Discoverable Partitions Specification.
pub const ROOT_X86_64: &str = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";
pub const ROOT_ARM64: &str = "b921b045-1df0-41c3-af44-4c6f280d3fae";

/// Sector sizes a GPT header may follow the protective MBR at.
const SECTOR_SIZES: [u64; 2] = [512, 4096];

/// Bounds that keep a corrupt header from asking for huge reads.
const MAX_ENTRIES: u32 = 1024;
const MAX_ENTRY_SIZE: u32 = 4096;

/// Reading a guest disk by byte offset, from a raw file or through a qcow2
/// image's tables.
pub trait ReadAt {
    /// Fills `buf` from `offset`; a read past the end is `UnexpectedEof`.
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
}

impl ReadAt for File {
    fn read_exact_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        FileExt::read_exact_at(self, buf, offset)
    }
}

/// A GUID as GPT stores it: the first three fields little-endian, the rest
/// in text order. `None` for text that is not a GUID.
pub fn guid_bytes(text: &str) -> Option<[u8; 16]> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || text.len() != 36 {
        return None;
    }
    let mut plain = [0u8; 16];
    for (i, byte) in plain.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    let mut stored = plain;
    stored[0..4].reverse();
    stored[4..6].reverse();
    stored[6..8].reverse();
    Some(stored)
}

/// The offset of the GPT header (after the protective MBR), if the disk has
/// one at a 512- or 4096-byte sector.
pub fn header_offset(disk: &mut impl ReadAt) -> io::Result<Option<u64>> {
    for sector in SECTOR_SIZES {
        let mut signature = [0u8; 8];
        match disk.read_exact_at(sector, &mut signature) {
            Ok(()) if &signature == b"EFI PART" => return Ok(Some(sector)),
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    if let Some(src) = bytes.get(at..at + 4) {
        word.copy_from_slice(src);
    }
    u32::from_le_bytes(word)
}

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    if let Some(src) = bytes.get(at..at + 8) {
        word.copy_from_slice(src);
    }
    u64::from_le_bytes(word)
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("GPT header: {what}"))
}

/// The architecture of the disk's root partition. `Ok(None)` when the disk
/// has no GPT, no root partition of a known architecture, or roots of two.
pub fn root_arch(disk: &mut impl ReadAt) -> io::Result<Option<Arch>> {
    let Some(sector) = header_offset(disk)? else {
        return Ok(None);
    };
    let mut header = [0u8; 92];
    disk.read_exact_at(sector, &mut header)?;
    let entries_lba = le_u64(&header, 72);
    let count = le_u32(&header, 80);
    let size = le_u32(&header, 84);
    if count > MAX_ENTRIES {
        return Err(invalid(&format!("{count} partition entries")));
    }
    if !(128..=MAX_ENTRY_SIZE).contains(&size) || !size.is_multiple_of(8) {
        return Err(invalid(&format!("partition entry size {size}")));
    }
    let start = entries_lba
        .checked_mul(sector)
        .ok_or_else(|| invalid("partition entry LBA out of range"))?;
    let mut table = vec![0u8; count as usize * size as usize];
    disk.read_exact_at(start, &mut table)?;
    let x86 = guid_bytes(ROOT_X86_64);
    let arm = guid_bytes(ROOT_ARM64);
    let mut found = None;
    for entry in table.chunks_exact(size as usize) {
        let kind = entry.get(..16);
        let arch = if kind == x86.as_ref().map(|g| &g[..]) {
            Arch::Amd64
        } else if kind == arm.as_ref().map(|g| &g[..]) {
            Arch::Arm64
        } else {
            continue;
        };
        match found {
            Some(other) if other != arch => return Ok(None),
            _ => found = Some(arch),
        }
    }
    Ok(found)
}

#[cfg(test)]
#[path = "gpt_tests.rs"]
mod tests;
