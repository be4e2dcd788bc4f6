//! The boot loader's EFI variables, as efivarfs shows them, and the names
//! of its entries. systemd-boot tells the system what it booted through
//! `LoaderEntrySelected` (the entry's id, `cairn-1.efi`) and, only for an
//! entry with a boot counter, `LoaderBootCountPath` (`\EFI\Linux\cairn-2+3.efi`).
//! The firmware's bytes are not trusted: size, encoding and the path's
//! shape are checked, and anything odd counts as no variable.

use std::io;

use crate::sys::Files;

/// Where efivarfs is mounted, when the system booted through UEFI.
pub const EFIVARS: &str = "/sys/firmware/efi/efivars";
/// Present only on a UEFI boot.
pub const EFI_DIR: &str = "/sys/firmware/efi";
/// systemd's loader interface vendor GUID.
pub const LOADER_GUID: &str = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";
pub const BOOT_COUNT_PATH: &str = "LoaderBootCountPath";
pub const ENTRY_SELECTED: &str = "LoaderEntrySelected";

/// The directory systemd-boot finds UKIs in, and where its path says they are.
pub const UKI_DIR: &str = "EFI/Linux";
/// The attributes efivarfs puts before a variable's value.
const ATTRIBUTES: usize = 4;
/// A path of a few hundred UTF-16 units is more than any entry needs; a
/// longer value is refused unread.
const MAX_BYTES: usize = ATTRIBUTES + 2 * 512;
/// FAT's longest file name, in characters.
const NAME_MAX: usize = 255;

/// Why a variable's bytes are not used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    #[error("it holds more than {MAX_BYTES} bytes")]
    TooLong,
    #[error("it holds {len} bytes, no room for its attributes and a string")]
    TooShort { len: usize },
    #[error("its value is {len} bytes, not whole UTF-16 units")]
    OddLength { len: usize },
    #[error("its string has no terminating NUL")]
    NoNul,
    #[error("its string is not valid UTF-16")]
    BadUtf16,
    #[error("its string {text:?} holds control characters or bytes after its NUL")]
    Junk { text: String },
}

/// The file of loader variable `name` in efivarfs.
pub fn path(name: &str) -> String {
    format!("{EFIVARS}/{name}-{LOADER_GUID}")
}

/// The string value of loader variable `name`: Ok(None) when it is not set
/// (or efivarfs is not mounted), an error when it cannot be read or used.
pub fn read(sys: &mut impl Files, name: &str) -> io::Result<Option<Result<String, VarError>>> {
    let path = path(name);
    // One byte more than allowed tells a too long value from a full one.
    let mut buf = vec![0u8; MAX_BYTES + 1];
    let mut len = 0;
    while len < buf.len() {
        match sys.read_at(&path, len as u64, &mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        }
    }
    if len > MAX_BYTES {
        return Ok(Some(Err(VarError::TooLong)));
    }
    Ok(Some(decode(&buf[..len])))
}

/// A variable's efivarfs bytes (attributes, then a NUL-terminated UTF-16LE
/// string) as the string.
pub fn decode(bytes: &[u8]) -> Result<String, VarError> {
    if bytes.len() > MAX_BYTES {
        return Err(VarError::TooLong);
    }
    let value = bytes
        .get(ATTRIBUTES..)
        .filter(|v| v.len() >= 2)
        .ok_or(VarError::TooShort { len: bytes.len() })?;
    if value.len() % 2 != 0 {
        return Err(VarError::OddLength { len: value.len() });
    }
    let units: Vec<u16> = value
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let nul = units.iter().position(|&u| u == 0).ok_or(VarError::NoNul)?;
    let text: String = char::decode_utf16(units[..nul].iter().copied())
        .collect::<Result<_, _>>()
        .map_err(|_| VarError::BadUtf16)?;
    if text.chars().any(char::is_control) || units[nul..].iter().any(|&u| u != 0) {
        return Err(VarError::Junk { text });
    }
    Ok(text)
}

/// An entry file's name as systemd-boot reads its counter: `STEM+LEFT.efi`
/// or `STEM+LEFT-DONE.efi` (tries left, tries done), else `STEM.efi`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryName {
    pub stem: String,
    pub counter: Option<Counter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub left: u32,
    pub done: u32,
}

impl EntryName {
    /// `name` when it is a plain `.efi` file name (any case, as FAT and
    /// systemd-boot take it); the counter is the part after the last `+`
    /// when that is digits with an optional `-` and digits.
    pub fn parse(name: &str) -> Option<EntryName> {
        if !plain(name) {
            return None;
        }
        let cut = name.len().checked_sub(4)?;
        let (base, ext) = (name.get(..cut)?, name.get(cut..)?);
        if !ext.eq_ignore_ascii_case(".efi") || base.is_empty() {
            return None;
        }
        let counted = base
            .rsplit_once('+')
            .and_then(|(stem, c)| Some((stem, counter(c)?)))
            .filter(|(stem, _)| !stem.is_empty());
        Some(match counted {
            Some((stem, c)) => EntryName {
                stem: stem.into(),
                counter: Some(c),
            },
            None => EntryName {
                stem: base.into(),
                counter: None,
            },
        })
    }

    /// The name with the counter removed: the entry marked good.
    pub fn blessed(&self) -> String {
        format!("{}.efi", self.stem)
    }
}

/// `3` or `2-1`.
fn counter(text: &str) -> Option<Counter> {
    let digits = |s: &str| {
        (!s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (left, done) = match text.split_once('-') {
        Some((l, d)) => (digits(l)?, digits(d)?),
        None => (digits(text)?, 0),
    };
    Some(Counter { left, done })
}

/// A single file name: no separators of either kind, not `.` or `..`, no
/// control characters, within FAT's length.
pub fn plain(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= NAME_MAX
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
}

/// Why `LoaderBootCountPath` does not name a UKI cairn can bless.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    // `decode` let no control character through: the path prints as it is.
    #[error("names {path}, not a file in \\EFI\\Linux (cairn blesses only its UKIs there)")]
    NotUki { path: String },
    #[error("names {path}, not a counted .efi file (STEM+TRIES[-DONE].efi)")]
    NotCounted { path: String },
}

/// The entry `LoaderBootCountPath` names: `\EFI\Linux\NAME` with NAME a
/// plain, counted `.efi` file name (the directory in any case, as FAT).
pub fn counted_uki(path: &str) -> Result<EntryName, PathError> {
    let parts: Vec<&str> = path.split('\\').collect();
    let [root, efi, linux, name] = parts.as_slice() else {
        return Err(PathError::NotUki { path: path.into() });
    };
    if !root.is_empty() || !efi.eq_ignore_ascii_case("EFI") || !linux.eq_ignore_ascii_case("Linux")
    {
        return Err(PathError::NotUki { path: path.into() });
    }
    EntryName::parse(name)
        .filter(|e| e.counter.is_some())
        .ok_or_else(|| PathError::NotCounted { path: path.into() })
}

#[cfg(test)]
#[path = "efivar_tests.rs"]
mod tests;
