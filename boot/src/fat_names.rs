//! File names on FAT: the 8.3 short name every entry has, and the VFAT long
//! name entries that carry any other name in UTF-16 before it.

use super::{FatError, Result};

pub const ATTR_LONG_NAME: u8 = 0x0F;
/// UTF-16 units per long name entry.
const UNITS_PER_ENTRY: usize = 13;
const MAX_LONG_UNITS: usize = 255;
/// Where an entry keeps its 13 units: 5, then 6, then 2, around the fields
/// a short entry has at those places.
const UNIT_OFFSETS: [usize; UNITS_PER_ENTRY] = [1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30];
const LAST_ENTRY: u8 = 0x40;

/// Characters a short name may hold besides upper-case letters and digits.
fn short_char(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit() || b"!#$%&'()-@^_`{}~".contains(&b)
}

/// The volume label may hold spaces too; lower case and the characters
/// that are special in names are refused, as fsck.fat does.
pub fn check_label(label: &[u8; 11]) -> Result<()> {
    let ok = label[0] != b' ' && label.iter().all(|&b| b == b' ' || short_char(b));
    if ok {
        Ok(())
    } else {
        Err(FatError::BadLabel {
            label: String::from_utf8_lossy(label).into_owned(),
        })
    }
}

/// The short entry name of `name` when it is already upper-case 8.3 and
/// needs no long name entries (`BOOTX64.EFI`).
pub fn plain_short(name: &str) -> Option<[u8; 11]> {
    let (base, ext) = name.split_once('.').unwrap_or((name, ""));
    let plain = (1..=8).contains(&base.len())
        && ext.len() <= 3
        && !(name.contains('.') && ext.is_empty())
        && base.bytes().chain(ext.bytes()).all(short_char);
    if !plain {
        return None;
    }
    let mut short = [b' '; 11];
    short[..base.len()].copy_from_slice(base.as_bytes());
    short[8..8 + ext.len()].copy_from_slice(ext.as_bytes());
    Some(short)
}

/// Refuses what Windows and Linux cannot store or would silently change.
pub fn check_long(path: &str, name: &str) -> Result<()> {
    let bad = |reason| FatError::BadName {
        path: path.to_string(),
        reason,
    };
    if name.is_empty() {
        return Err(bad(
            "it has an empty component (a leading, trailing or double `/`)",
        ));
    }
    if name == "." || name == ".." {
        return Err(bad("`.` and `..` cannot be names"));
    }
    if name
        .chars()
        .any(|c| c < ' ' || c == '\u{7f}' || "\"*:<>?\\|".contains(c))
    {
        return Err(bad("it holds a control character or one of \"*:<>?\\|"));
    }
    if name.ends_with('.') || name.ends_with(' ') {
        return Err(bad("a name cannot end in `.` or a space"));
    }
    if name.encode_utf16().count() > MAX_LONG_UNITS {
        return Err(bad("a name is longer than 255 UTF-16 units"));
    }
    Ok(())
}

/// The base and extension a short alias of a long name is made from, the
/// way Windows does: upper case, no spaces or inner dots, anything a short
/// name cannot hold as `_`, the extension from after the last dot.
pub fn alias_basis(name: &str) -> (Vec<u8>, Vec<u8>) {
    let trimmed = name.trim_start_matches('.');
    let (base, ext) = match trimmed.rsplit_once('.') {
        Some((b, e)) => (b, e),
        None => (trimmed, ""),
    };
    let clean = |s: &str, max: usize| -> Vec<u8> {
        s.chars()
            .filter(|&c| c != ' ' && c != '.')
            .map(|c| {
                let u = c.to_ascii_uppercase();
                if u.is_ascii() && short_char(u as u8) {
                    u as u8
                } else {
                    b'_'
                }
            })
            .take(max)
            .collect()
    };
    let mut base = clean(base, 8);
    if base.is_empty() {
        base.push(b'_');
    }
    (base, clean(ext, 3))
}

/// `BASE~N.EXT`, the base cut short so the tail fits in eight characters.
pub fn alias(base: &[u8], ext: &[u8], n: u32) -> [u8; 11] {
    let tail = format!("~{n}");
    let keep = base.len().min(8usize.saturating_sub(tail.len()));
    let mut short = [b' '; 11];
    short[..keep].copy_from_slice(&base[..keep]);
    short[keep..keep + tail.len()].copy_from_slice(tail.as_bytes());
    short[8..8 + ext.len()].copy_from_slice(ext);
    short
}

/// The short name of `name` in a directory whose other entries' short
/// names `taken` tells, and whether `name` needs long name entries: an
/// upper-case 8.3 name stands for itself, any other gets the first
/// `BASE~N.EXT` alias not taken.
pub fn short_name(name: &str, taken: impl Fn(&[u8; 11]) -> bool) -> ([u8; 11], bool) {
    if let Some(short) = plain_short(name) {
        return (short, false);
    }
    let (base, ext) = alias_basis(name);
    let mut n = 1;
    let mut short = alias(&base, &ext, n);
    // A directory holds at most 65536 entries, so this ends.
    while taken(&short) {
        n += 1;
        short = alias(&base, &ext, n);
    }
    (short, true)
}

/// The checksum of a short name that each of its long name entries carries,
/// so a reader can tell the long name still belongs to it.
pub fn checksum(short: &[u8; 11]) -> u8 {
    short
        .iter()
        .fold(0u8, |sum, &b| sum.rotate_right(1).wrapping_add(b))
}

/// The long name entries for `name`, in the order they are stored: the last
/// part first, flagged, down to part 1 right before the short entry.
pub fn long_entries(name: &str, short: &[u8; 11]) -> Vec<[u8; 32]> {
    let mut units: Vec<u16> = name.encode_utf16().collect();
    let count = units.len().div_ceil(UNITS_PER_ENTRY);
    // A NUL ends a name that does not fill its last entry, 0xFFFF pads.
    if units.len() < count * UNITS_PER_ENTRY {
        units.push(0);
    }
    units.resize(count * UNITS_PER_ENTRY, 0xFFFF);
    let sum = checksum(short);
    (1..=count)
        .rev()
        .map(|part| {
            let mut e = [0u8; 32];
            e[0] = part as u8 | if part == count { LAST_ENTRY } else { 0 };
            e[11] = ATTR_LONG_NAME;
            e[13] = sum;
            let chunk = &units[(part - 1) * UNITS_PER_ENTRY..part * UNITS_PER_ENTRY];
            for (&unit, &at) in chunk.iter().zip(&UNIT_OFFSETS) {
                e[at..at + 2].copy_from_slice(&unit.to_le_bytes());
            }
            e
        })
        .collect()
}

/// How many 32-byte entries `name` takes with its short entry.
pub fn entry_count(name: &str) -> usize {
    match plain_short(name) {
        Some(_) => 1,
        None => 1 + name.encode_utf16().count().div_ceil(UNITS_PER_ENTRY),
    }
}

/// The sequence number, last flag and checksum of a long name entry, and
/// its units up to the terminating NUL.
pub struct LongPart {
    pub part: u8,
    pub last: bool,
    pub checksum: u8,
    pub units: Vec<u16>,
}

pub fn parse_long(e: &[u8]) -> LongPart {
    let units = UNIT_OFFSETS
        .iter()
        .map(|&at| u16::from_le_bytes([e[at], e[at + 1]]))
        .take_while(|&u| u != 0)
        .collect();
    LongPart {
        part: e[0] & !LAST_ENTRY,
        last: e[0] & LAST_ENTRY != 0,
        checksum: e[13],
        units,
    }
}

/// `NAME.EXT` from a short entry's 11 bytes. Windows NT keeps "all lower
/// case" flags for the base (0x08) and extension (0x10) in byte 12.
pub fn short_display(short: &[u8], case: u8) -> String {
    let part = |bytes: &[u8], lower: bool| -> String {
        let mut s: String = bytes.iter().map(|&b| char::from(b)).collect();
        s.truncate(s.trim_end_matches(' ').len());
        if lower { s.to_ascii_lowercase() } else { s }
    };
    let mut first = short[..8].to_vec();
    // 0x05 stands for a leading 0xE5, which would mean "deleted".
    if first[0] == 0x05 {
        first[0] = 0xE5;
    }
    let base = part(&first, case & 0x08 != 0);
    let ext = part(&short[8..11], case & 0x10 != 0);
    if ext.is_empty() {
        base
    } else {
        format!("{base}.{ext}")
    }
}
