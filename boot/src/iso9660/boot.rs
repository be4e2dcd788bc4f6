//! What makes the volume boot: the El Torito boot record and catalog (for
//! CDs and virtual media), ISOLINUX's boot information table, and the MBR
//! in the system area (for the same bytes written to a USB stick or disk).

use std::io;

use super::{BLOCK, CATALOG, Layout};

/// Where ISOLINUX keeps the magic that says it can start from a hard disk
/// (the hybrid entry point the MBR code jumps to), and the magic.
const HYBRID_MAGIC_AT: usize = 0x40;
const HYBRID_MAGIC: u32 = 0x7078_c0fb;
/// The MBR boot code's room before the disk signature; syslinux's hybrid
/// MBR code reads ISOLINUX's block (in 512-byte sectors) from bytes 432-439.
const CODE_LEN: usize = 432;

pub fn boot_record() -> Vec<u8> {
    let mut d = vec![0u8; BLOCK as usize];
    d[1..6].copy_from_slice(b"CD001");
    d[6] = 1;
    d[7..30].copy_from_slice(b"EL TORITO SPECIFICATION");
    d[71..75].copy_from_slice(&(CATALOG as u32).to_le_bytes());
    d
}

fn entry(e: &mut [u8], block: u32, sectors: u64) {
    e[0] = 0x88;
    // 512-byte sectors; a larger image says 0, which EDK2 reads as "to the
    // end of the volume". BIOS entries load ISOLINUX's first 2 KiB (4
    // sectors), and ISOLINUX loads the rest itself.
    let count = u16::try_from(sectors).unwrap_or(0);
    e[6..8].copy_from_slice(&count.to_le_bytes());
    e[8..12].copy_from_slice(&block.to_le_bytes());
}

/// The validation entry and the default entry (BIOS when there is one,
/// else EFI); with both, a final section for EFI holds the EFI entry.
pub fn catalog(layout: &Layout) -> Vec<u8> {
    let mut c = vec![0u8; BLOCK as usize];
    let bios = layout.bios.map(|i| &layout.files[i]);
    let efi = layout.efi.map(|i| &layout.files[i]);
    c[0] = 1;
    c[1] = if bios.is_some() { 0 } else { 0xef };
    c[4..9].copy_from_slice(b"CAIRN");
    c[30] = 0x55;
    c[31] = 0xaa;
    let sum = c[..32].chunks(2).fold(0u16, |s, w| {
        s.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
    });
    c[28..30].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());
    let efi_entry = |e: &mut [u8], f: &super::Placed| entry(e, f.block(), f.size.div_ceil(512));
    match (bios, efi) {
        (Some(b), efi) => {
            entry(&mut c[32..64], b.block(), 4);
            if let Some(f) = efi {
                c[64] = 0x91;
                c[65] = 0xef;
                c[66..68].copy_from_slice(&1u16.to_le_bytes());
                efi_entry(&mut c[96..128], f);
            }
        }
        (None, Some(f)) => efi_entry(&mut c[32..64], f),
        (None, None) => {}
    }
    c
}

/// Fills ISOLINUX's boot information table (bytes 8-63): the primary
/// volume descriptor's block, its own block and length, and the sum of its
/// 32-bit words from byte 64, which it checks before loading the rest of
/// itself. Refuses a file that cannot start from a hybrid disk.
pub fn patch_isolinux(image: &mut [u8], block: u32) -> io::Result<()> {
    let magic = image
        .get(HYBRID_MAGIC_AT..HYBRID_MAGIC_AT + 4)
        .map(|m| u32::from_le_bytes([m[0], m[1], m[2], m[3]]));
    if magic != Some(HYBRID_MAGIC) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a hybrid-capable isolinux.bin (syslinux 4 or later has the magic at byte 64)",
        ));
    }
    let len = u32::try_from(image.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "isolinux.bin over 4 GiB"))?;
    let sum = image[64..].chunks(4).fold(0u32, |s, w| {
        let mut word = [0u8; 4];
        word[..w.len()].copy_from_slice(w);
        s.wrapping_add(u32::from_le_bytes(word))
    });
    let table = &mut image[8..64];
    table.fill(0);
    table[0..4].copy_from_slice(&(super::PVD as u32).to_le_bytes());
    table[4..8].copy_from_slice(&block.to_le_bytes());
    table[8..12].copy_from_slice(&len.to_le_bytes());
    table[12..16].copy_from_slice(&sum.to_le_bytes());
    Ok(())
}

/// The first 440 bytes of an MBR that starts ISOLINUX from a disk:
/// syslinux's hybrid MBR code (`isohdpfx.bin`), then ISOLINUX's place in
/// 512-byte sectors. A GPT disk's protective MBR takes them too.
pub fn hybrid_code(code: &[u8], layout: &Layout) -> io::Result<[u8; 440]> {
    let Some(bios) = layout.bios.map(|i| &layout.files[i]) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the volume has no BIOS boot file",
        ));
    };
    if code.len() < CODE_LEN || code.len() > 512 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the hybrid MBR code is {} bytes; syslinux's isohdpfx.bin is 432 to 512",
                code.len()
            ),
        ));
    }
    let mut out = [0u8; 440];
    out[..CODE_LEN].copy_from_slice(&code[..CODE_LEN]);
    out[432..440].copy_from_slice(&(bios.offset / 512).to_le_bytes());
    Ok(out)
}

fn partition(e: &mut [u8], active: bool, kind: u8, first: u64, sectors: u64) {
    e[0] = if active { 0x80 } else { 0 };
    // CHS fields say "use the LBA fields" except the start of the disk.
    let chs = if first == 0 {
        [0, 1, 0]
    } else {
        [0xfe, 0xff, 0xff]
    };
    e[1..4].copy_from_slice(&chs);
    e[4] = kind;
    e[5..8].copy_from_slice(&[0xfe, 0xff, 0xff]);
    e[8..12].copy_from_slice(&u32::try_from(first).unwrap_or(u32::MAX).to_le_bytes());
    e[12..16].copy_from_slice(&u32::try_from(sectors).unwrap_or(u32::MAX).to_le_bytes());
}

/// An MBR: with a BIOS boot file, the hybrid code and partition 1 over
/// the whole volume (type 0x17 alone, 0x00 beside an ESP, as firmware and
/// partitioners expect of hybrid ISOs); with an ESP, a partition of type
/// 0xEF over it, so firmware that boots the bytes as a disk finds it.
pub fn mbr(layout: &Layout, signature: u32, code: Option<&[u8]>) -> io::Result<Vec<u8>> {
    let mut m = vec![0u8; 512];
    if let Some(code) = code {
        m[..440].copy_from_slice(&hybrid_code(code, layout)?);
    }
    m[440..444].copy_from_slice(&signature.to_le_bytes());
    let esp = layout.efi.map(|i| &layout.files[i]);
    let mut slot = 0;
    if layout.bios.is_some() {
        let kind = if esp.is_some() { 0x00 } else { 0x17 };
        partition(&mut m[446..462], true, kind, 0, layout.size / 512);
        slot = 1;
    }
    if let Some(esp) = esp {
        let at = 446 + 16 * slot;
        partition(
            &mut m[at..at + 16],
            false,
            0xef,
            esp.offset / 512,
            esp.size.div_ceil(512),
        );
    }
    m[510] = 0x55;
    m[511] = 0xaa;
    Ok(m)
}
