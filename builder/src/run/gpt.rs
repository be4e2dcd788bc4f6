//! Which architecture a GPT disk boots: the Discoverable Partitions
//! Specification gives root partitions a type GUID per architecture, so the
//! root's type says it without mounting anything. The table is read and
//! checked by `cairn_boot::gpt`, at 512- or 4096-byte sectors.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

use cairn_boot::gpt::{self, GptError, Partition};

use crate::arch::Arch;

/// Root partition type GUIDs (`cairn_boot::gpt::ROOT_*`) as text, for
/// messages and for sgdisk's `-t` in tests.
pub const ROOT_X86_64: &str = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";
pub const ROOT_ARM64: &str = "b921b045-1df0-41c3-af44-4c6f280d3fae";

/// Logical sector sizes a GPT header may follow the protective MBR at.
const SECTOR_SIZES: [u64; 2] = [512, 4096];

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

/// A `ReadAt` disk as the `Read + Seek` the table reader takes. Each read
/// fills the whole buffer or fails, which is all `read_exact` needs.
struct Cursor<'a, D> {
    disk: &'a mut D,
    pos: u64,
}

impl<D: ReadAt> Read for Cursor<'_, D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.disk.read_exact_at(self.pos, buf)?;
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }
}

impl<D> Seek for Cursor<'_, D> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(_) => None,
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek outside the disk"))?;
        Ok(self.pos)
    }
}

/// The architecture of the disk's root partition. `Ok(None)` when the disk
/// has no GPT, no root partition of a known architecture, or roots of two.
/// A damaged table is `InvalidData`; read errors keep their kind.
pub fn root_arch(disk: &mut impl ReadAt) -> io::Result<Option<Arch>> {
    Ok(partitions(disk)?.and_then(|parts| arch_of(&parts)))
}

/// Whether the disk boots from a PC BIOS only: it has a BIOS boot
/// partition (`cairn build -f raw-bios`) and no EFI system partition.
pub fn bios_only(disk: &mut impl ReadAt) -> io::Result<bool> {
    let parts = partitions(disk)?.unwrap_or_default();
    let has = |t| parts.iter().any(|p| p.type_guid == t);
    Ok(has(gpt::BIOS_BOOT) && !has(gpt::ESP))
}

/// The disk's partitions; `Ok(None)` when it has no GPT.
fn partitions(disk: &mut impl ReadAt) -> io::Result<Option<Vec<Partition>>> {
    let mut cursor = Cursor { disk, pos: 0 };
    for sector in SECTOR_SIZES {
        match gpt::read_table(&mut cursor, sector) {
            Ok((_, parts)) => return Ok(Some(parts)),
            Err(GptError::NoHeader { .. }) => {}
            Err(GptError::Read {
                what: "header",
                source,
            }) if source.kind() == io::ErrorKind::UnexpectedEof => {}
            Err(GptError::Read { source, .. }) => return Err(source),
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        }
    }
    Ok(None)
}

fn arch_of(parts: &[Partition]) -> Option<Arch> {
    let mut found = None;
    for p in parts {
        let Some(arch) = Arch::from_root_type(p.type_guid) else {
            continue;
        };
        match found {
            Some(other) if other != arch => return None,
            _ => found = Some(arch),
        }
    }
    found
}

#[cfg(test)]
#[path = "gpt_tests.rs"]
mod tests;
