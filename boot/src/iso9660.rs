//! A UEFI-bootable hybrid ISO image (ECMA-119 with El Torito): one file,
//! `EFI.IMG`, which is a FAT EFI system partition image, named as the
//! El Torito boot image for the EFI platform (so firmware boots it from a
//! CD or a BMC's virtual media), and as partition 1 (type 0xEF) of an MBR
//! in the system area (so the same file boots when written to a USB stick
//! or a disk). The caller writes the ESP image at [`Layout::esp_offset`];
//! this module writes everything around it. Every field that could vary
//! (dates, identifiers) comes from the caller, so the same inputs give the
//! same bytes.

use std::io::{self, Seek, SeekFrom, Write};

/// ISO 9660 logical blocks.
pub const BLOCK: u64 = 2048;
const PVD: u64 = 16;
const BOOT_RECORD: u64 = 17;
const TERMINATOR: u64 = 18;
const CATALOG: u64 = 19;
const PATH_L: u64 = 20;
const PATH_M: u64 = 21;
const ROOT: u64 = 22;
const ESP: u64 = 23;
/// The one file's ISO 9660 name (8.3, version 1).
const ESP_NAME: &[u8] = b"EFI.IMG;1";

/// Where things go for an ESP image of a given size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub esp_offset: u64,
    pub esp_size: u64,
    /// The whole image, a multiple of [`BLOCK`].
    pub size: u64,
}

impl Layout {
    /// The image is padded to whole MiB, as USB sticks and disk tools
    /// expect of a disk image.
    pub fn new(esp_size: u64) -> Layout {
        let esp_size = esp_size.div_ceil(512) * 512;
        let end = ESP * BLOCK + esp_size;
        Layout {
            esp_offset: ESP * BLOCK,
            esp_size,
            size: end.div_ceil(1 << 20) * (1 << 20),
        }
    }

    fn blocks(&self) -> u32 {
        (self.size / BLOCK) as u32
    }
}

/// The identifiers and the date written into the volume descriptor.
#[derive(Debug, Clone)]
pub struct Meta<'a> {
    /// Written upper case, other characters as `_`, cut at 32.
    pub volume_id: &'a str,
    /// Seconds since 1970 (SOURCE_DATE_EPOCH), for every date field.
    pub mtime: u64,
    /// The MBR disk signature (derive it from the content).
    pub disk_signature: u32,
}

/// Writes the system area (with the MBR), the volume descriptors, the boot
/// catalog, the path tables and the root directory; then sets the length.
pub fn write(out: &mut (impl Write + Seek), layout: &Layout, meta: &Meta) -> io::Result<()> {
    let mut put = |block: u64, bytes: &[u8]| -> io::Result<()> {
        out.seek(SeekFrom::Start(block * BLOCK))?;
        out.write_all(bytes)
    };
    put(0, &mbr(layout, meta.disk_signature))?;
    put(PVD, &primary(layout, meta))?;
    put(BOOT_RECORD, &boot_record())?;
    let mut end = vec![0u8; BLOCK as usize];
    end[0] = 255;
    end[1..6].copy_from_slice(b"CD001");
    end[6] = 1;
    put(TERMINATOR, &end)?;
    put(CATALOG, &catalog(layout))?;
    put(PATH_L, &path_table(false))?;
    put(PATH_M, &path_table(true))?;
    put(ROOT, &root_directory(layout, meta.mtime))?;
    // Zero padding after the ESP to the last block.
    let tail = layout.size - (layout.esp_offset + layout.esp_size);
    if tail > 0 {
        out.seek(SeekFrom::Start(layout.esp_offset + layout.esp_size))?;
        out.write_all(&vec![0u8; tail as usize])?;
    }
    Ok(())
}

fn both16(v: u16) -> [u8; 4] {
    let (l, b) = (v.to_le_bytes(), v.to_be_bytes());
    [l[0], l[1], b[0], b[1]]
}

fn both32(v: u32) -> [u8; 8] {
    let (l, b) = (v.to_le_bytes(), v.to_be_bytes());
    [l[0], l[1], l[2], l[3], b[0], b[1], b[2], b[3]]
}

fn padded(text: &str, len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = text.bytes().take(len).collect();
    v.resize(len, b' ');
    v
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn parts(mtime: u64) -> (i64, u32, u32, u32, u32, u32) {
    let secs = mtime.min(253_402_300_799) as i64; // 9999-12-31
    let (y, mo, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    (
        y,
        mo,
        d,
        (s / 3600) as u32,
        (s / 60 % 60) as u32,
        (s % 60) as u32,
    )
}

/// The 17-byte date of volume descriptors, in UTC.
fn long_date(mtime: u64) -> [u8; 17] {
    let (y, mo, d, h, mi, s) = parts(mtime);
    let text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}00");
    let mut out = [0u8; 17];
    out[..16].copy_from_slice(&text.as_bytes()[..16]);
    out
}

/// The 7-byte date of directory records.
fn short_date(mtime: u64) -> [u8; 7] {
    let (y, mo, d, h, mi, s) = parts(mtime);
    [
        (y - 1900).clamp(0, 255) as u8,
        mo as u8,
        d as u8,
        h as u8,
        mi as u8,
        s as u8,
        0,
    ]
}

fn record(extent: u32, size: u32, dir: bool, name: &[u8], mtime: u64) -> Vec<u8> {
    let len = 33 + name.len() + (name.len() + 1) % 2;
    let mut r = vec![0u8; len];
    r[0] = len as u8;
    r[2..10].copy_from_slice(&both32(extent));
    r[10..18].copy_from_slice(&both32(size));
    r[18..25].copy_from_slice(&short_date(mtime));
    r[25] = if dir { 2 } else { 0 };
    r[28..32].copy_from_slice(&both16(1));
    r[32] = name.len() as u8;
    r[33..33 + name.len()].copy_from_slice(name);
    r
}

fn primary(layout: &Layout, meta: &Meta) -> Vec<u8> {
    let mut d = vec![0u8; BLOCK as usize];
    d[0] = 1;
    d[1..6].copy_from_slice(b"CD001");
    d[6] = 1;
    d[8..40].copy_from_slice(&padded("", 32));
    let volume: String = meta
        .volume_id
        .chars()
        .map(|c| match c.to_ascii_uppercase() {
            c if c.is_ascii_alphanumeric() => c,
            _ => '_',
        })
        .collect();
    d[40..72].copy_from_slice(&padded(&volume, 32));
    d[80..88].copy_from_slice(&both32(layout.blocks()));
    d[120..124].copy_from_slice(&both16(1));
    d[124..128].copy_from_slice(&both16(1));
    d[128..132].copy_from_slice(&both16(BLOCK as u16));
    d[132..140].copy_from_slice(&both32(10));
    d[140..144].copy_from_slice(&(PATH_L as u32).to_le_bytes());
    d[148..152].copy_from_slice(&(PATH_M as u32).to_be_bytes());
    d[156..190].copy_from_slice(&record(ROOT as u32, BLOCK as u32, true, &[0], meta.mtime));
    for (at, len) in [(190, 128), (318, 128), (446, 128), (574, 128)] {
        d[at..at + len].copy_from_slice(&padded("", len));
    }
    d[574..574 + 5].copy_from_slice(b"CAIRN");
    for at in [702, 739, 776] {
        d[at..at + 37].copy_from_slice(&padded("", 37));
    }
    let date = long_date(meta.mtime);
    d[813..830].copy_from_slice(&date);
    d[830..847].copy_from_slice(&date);
    d[847..863].copy_from_slice(b"0000000000000000");
    d[864..880].copy_from_slice(b"0000000000000000");
    d[881] = 1;
    d
}

fn boot_record() -> Vec<u8> {
    let mut d = vec![0u8; BLOCK as usize];
    d[1..6].copy_from_slice(b"CD001");
    d[6] = 1;
    d[7..39].copy_from_slice(&{
        let mut id = [0u8; 32];
        id[..23].copy_from_slice(b"EL TORITO SPECIFICATION");
        id
    });
    d[71..75].copy_from_slice(&(CATALOG as u32).to_le_bytes());
    d
}

/// The validation entry for the EFI platform (0xEF) and one default entry:
/// bootable, no emulation, the ESP image.
fn catalog(layout: &Layout) -> Vec<u8> {
    let mut c = vec![0u8; BLOCK as usize];
    c[0] = 1;
    c[1] = 0xef;
    c[4..9].copy_from_slice(b"CAIRN");
    c[30] = 0x55;
    c[31] = 0xaa;
    let sum = c[..32].chunks(2).fold(0u16, |s, w| {
        s.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
    });
    c[28..30].copy_from_slice(&0u16.wrapping_sub(sum).to_le_bytes());
    let e = &mut c[32..64];
    e[0] = 0x88;
    // 512-byte sectors; a larger image says 0, which EDK2 reads as "to the
    // end of the volume": the image is the last thing in it.
    let sectors = layout.esp_size / 512;
    let count = if sectors <= u64::from(u16::MAX) {
        sectors as u16
    } else {
        0
    };
    e[6..8].copy_from_slice(&count.to_le_bytes());
    e[8..12].copy_from_slice(&(ESP as u32).to_le_bytes());
    c
}

fn path_table(big_endian: bool) -> Vec<u8> {
    let mut t = vec![0u8; BLOCK as usize];
    t[0] = 1;
    let extent = ROOT as u32;
    t[2..6].copy_from_slice(&if big_endian {
        extent.to_be_bytes()
    } else {
        extent.to_le_bytes()
    });
    t[6..8].copy_from_slice(&if big_endian {
        1u16.to_be_bytes()
    } else {
        1u16.to_le_bytes()
    });
    t
}

fn root_directory(layout: &Layout, mtime: u64) -> Vec<u8> {
    let mut d = Vec::with_capacity(BLOCK as usize);
    d.extend(record(ROOT as u32, BLOCK as u32, true, &[0], mtime));
    d.extend(record(ROOT as u32, BLOCK as u32, true, &[1], mtime));
    d.extend(record(
        ESP as u32,
        layout.esp_size as u32,
        false,
        ESP_NAME,
        mtime,
    ));
    d.resize(BLOCK as usize, 0);
    d
}

/// An MBR whose partition 1 (type 0xEF, the ESP) is the ESP image, so a
/// firmware that boots the file as a disk finds it.
fn mbr(layout: &Layout, signature: u32) -> Vec<u8> {
    let mut m = vec![0u8; 512];
    m[440..444].copy_from_slice(&signature.to_le_bytes());
    let e = &mut m[446..462];
    e[1..4].copy_from_slice(&[0xfe, 0xff, 0xff]);
    e[4] = 0xef;
    e[5..8].copy_from_slice(&[0xfe, 0xff, 0xff]);
    e[8..12].copy_from_slice(&((layout.esp_offset / 512) as u32).to_le_bytes());
    e[12..16].copy_from_slice(&((layout.esp_size / 512) as u32).to_le_bytes());
    m[510] = 0x55;
    m[511] = 0xaa;
    m
}

#[cfg(test)]
#[path = "iso9660_tests.rs"]
mod tests;
