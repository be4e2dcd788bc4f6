//! GUIDs as GPT stores them (UEFI specification, appendix A: the first three
//! fields little-endian), their text form, the partition type GUIDs cairn
//! uses, and GUIDs derived from content so that disks are reproducible.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// A GUID in the byte order GPT stores it: the first three fields
/// little-endian, the last two as written.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid(pub [u8; 16]);

/// EFI system partition.
pub const ESP: Guid = Guid::from_fields(
    0xc12a7328,
    0xf81f,
    0x11d2,
    [0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b],
);
/// Root partition for x86-64 (Discoverable Partitions Specification).
pub const ROOT_X86_64: Guid = Guid::from_fields(
    0x4f68bce3,
    0xe8cd,
    0x4db1,
    [0x96, 0xe7, 0xfb, 0xca, 0xf9, 0x84, 0xb7, 0x09],
);
/// Root partition for arm64 (Discoverable Partitions Specification).
pub const ROOT_ARM64: Guid = Guid::from_fields(
    0xb921b045,
    0x1df0,
    0x41c3,
    [0xaf, 0x44, 0x4c, 0x6f, 0x28, 0x0d, 0x3f, 0xae],
);
/// BIOS boot partition: boot loader bytes with no file system of their
/// own, which partitioners and operating systems leave alone.
pub const BIOS_BOOT: Guid = Guid::from_fields(
    0x21686148,
    0x6449,
    0x6e6f,
    [0x74, 0x4e, 0x65, 0x65, 0x64, 0x45, 0x46, 0x49],
);
/// Generic Linux data partition.
pub const LINUX_DATA: Guid = Guid::from_fields(
    0x0fc63daf,
    0x8483,
    0x4772,
    [0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4],
);

impl Guid {
    /// From the fields as the text form shows them (`a-b-c-d[0..2]-d[2..8]`).
    pub const fn from_fields(a: u32, b: u16, c: u16, d: [u8; 8]) -> Guid {
        let (a, b, c) = (a.to_le_bytes(), b.to_le_bytes(), c.to_le_bytes());
        Guid([
            a[0], a[1], a[2], a[3], b[0], b[1], c[0], c[1], d[0], d[1], d[2], d[3], d[4], d[5],
            d[6], d[7],
        ])
    }

    /// The text form in either case, or `None`; for callers that word their
    /// own error (the `FromStr` impl gives [`GuidError`]).
    pub fn parse(text: &str) -> Option<Guid> {
        text.parse().ok()
    }

    /// The bytes in text order (RFC 9562 big-endian).
    fn text_order(&self) -> [u8; 16] {
        swap_order(self.0)
    }
}

/// Converts between text order and GPT order (the swap is its own inverse).
fn swap_order(b: [u8; 16]) -> [u8; 16] {
    let mut o = b;
    o[..4].reverse();
    o[4..6].reverse();
    o[6..8].reverse();
    o
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = hex::encode(self.text_order());
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guid({self})")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{text:?} is not a GUID; write it as 8-4-4-4-12 hex digits")]
pub struct GuidError {
    pub text: String,
}

impl FromStr for Guid {
    type Err = GuidError;

    fn from_str(s: &str) -> Result<Guid, GuidError> {
        let err = || GuidError {
            text: s.to_string(),
        };
        let b = s.as_bytes();
        if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
            return Err(err());
        }
        let digits: String = s.split('-').collect();
        let mut text = [0u8; 16];
        hex::decode_to_slice(&digits, &mut text).map_err(|_| err())?;
        Ok(Guid(swap_order(text)))
    }
}

/// A GUID derived from `seed` (sha256 of the length-prefixed parts), marked
/// as an RFC 9562 version 8 (custom) GUID.
pub fn guid_from(seed: &[&[u8]]) -> Guid {
    let mut h = Sha256::new();
    h.update(b"cairn gpt guid v1");
    for part in seed {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let mut text = [0u8; 16];
    text.copy_from_slice(&h.finalize()[..16]);
    text[6] = (text[6] & 0x0f) | 0x80;
    text[8] = (text[8] & 0x3f) | 0x80;
    Guid(swap_order(text))
}
