//! The byte-level pieces of ECMA-119: both-endian numbers, dates, directory
//! records, path tables and the primary volume descriptor.

use super::{BLOCK, Dir, Layout, Meta, PATH_L, PATH_M};

pub fn both16(v: u16) -> [u8; 4] {
    let (l, b) = (v.to_le_bytes(), v.to_be_bytes());
    [l[0], l[1], b[0], b[1]]
}

pub fn both32(v: u32) -> [u8; 8] {
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
pub fn long_date(mtime: u64) -> [u8; 17] {
    let (y, mo, d, h, mi, s) = parts(mtime);
    let text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}00");
    let mut out = [0u8; 17];
    out[..16].copy_from_slice(&text.as_bytes()[..16]);
    out
}

/// The 7-byte date of directory records.
pub fn short_date(mtime: u64) -> [u8; 7] {
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

pub fn record(extent: u32, size: u32, dir: bool, name: &[u8], mtime: u64) -> Vec<u8> {
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

/// The path table: the root, then each folder (all children of the root).
pub fn path_table(dirs: &[Dir], big_endian: bool) -> Vec<u8> {
    let mut t = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let name: &[u8] = if i == 0 { &[0] } else { dir.name.as_bytes() };
        let (extent, parent) = if big_endian {
            (dir.block.to_be_bytes(), 1u16.to_be_bytes())
        } else {
            (dir.block.to_le_bytes(), 1u16.to_le_bytes())
        };
        t.push(name.len() as u8);
        t.push(0);
        t.extend(extent);
        t.extend(parent);
        t.extend(name);
        if name.len() % 2 == 1 {
            t.push(0);
        }
    }
    t
}

pub fn primary(layout: &Layout, meta: &Meta) -> Vec<u8> {
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
    let table = path_table(&layout.dirs, false).len() as u32;
    d[132..140].copy_from_slice(&both32(table));
    d[140..144].copy_from_slice(&(PATH_L as u32).to_le_bytes());
    d[148..152].copy_from_slice(&(PATH_M as u32).to_be_bytes());
    let root = layout.dirs[0].block;
    d[156..190].copy_from_slice(&record(root, BLOCK as u32, true, &[0], meta.mtime));
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
