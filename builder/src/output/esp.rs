//! EFI system partitions. A UEFI disk's ESP starts systemd-boot (Debian's
//! systemd-boot-efi) from the path firmware boots without a boot entry,
//! which picks a UKI from `EFI/Linux/`: each root slot has its own UKI,
//! `cairn-VERSION.efi`, whose signed command line pins that slot's root.
//! systemd-boot starts the newest version (the `.osrel` IMAGE_VERSION) that
//! has tries left, so an update written as `cairn-VERSION+3.efi` boots next
//! and falls back to the good one after three failed tries; the init
//! removes the counter once the new system has stayed up. `loader.conf`
//! turns the menu and its editor off: the command line is the UKI's.
//!
//! An ISO's ESP holds the UKI itself at the boot path (no slots to pick).

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;

use cairn_boot::fat;
use sha2::{Digest as _, Sha256};

use super::OutputError;
use super::disk::{boot_file, image_err};
use super::window::Window;
use crate::arch::Arch;

/// Where a disk's UKIs live, the folder systemd-boot lists.
pub const UKI_DIR: &str = "EFI/Linux";
/// systemd-boot's settings on the ESP.
pub const LOADER_CONF: &str = "loader/loader.conf";
/// No menu, no editor (a changed command line would no longer match the
/// root hash anyway, but nobody should be invited to try), and no entries
/// beyond the UKIs: the firmware's own boot options stay out of the list.
const LOADER_SETTINGS: &str = "timeout 0\neditor no\nauto-entries no\nauto-firmware no\n";

/// The UKI file name of `version` (without a boot counter).
pub fn uki_name(version: &str) -> String {
    format!("cairn-{version}.efi")
}

/// A UKI file name as systemd-boot reads it: `cairn-2.efi`, or with a boot
/// counter `cairn-2+3.efi` (tries left) and `cairn-2+2-1.efi` (tries done).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryName {
    /// The name without counter and `.efi`: `cairn-2`.
    pub stem: String,
    pub version: Option<String>,
    /// `None` without a counter: a good (blessed) entry.
    pub tries_left: Option<u32>,
    pub tries_done: u32,
}

/// Reads a UKI file name; `None` for one that is not `NAME[+N[-M]].efi`.
pub fn parse_entry(name: &str) -> Option<EntryName> {
    let base = name
        .strip_suffix(".efi")
        .or_else(|| name.strip_suffix(".EFI"))?;
    let (stem, counter) = match base.rsplit_once('+') {
        Some((stem, counter)) => (stem, Some(counter)),
        None => (base, None),
    };
    let (tries_left, tries_done) = match counter {
        None => (None, 0),
        Some(c) => {
            let (left, done) = c.split_once('-').unwrap_or((c, "0"));
            (Some(left.parse().ok()?), done.parse().ok()?)
        }
    };
    Some(EntryName {
        stem: stem.to_string(),
        version: stem.strip_prefix("cairn-").map(str::to_string),
        tries_left,
        tries_done,
    })
}

/// Compares dotted versions number by number (`2.10` > `2.9`); text that
/// is not a version sorts before every version.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parse = |v: &str| -> Option<Vec<u64>> { v.split('.').map(|n| n.parse().ok()).collect() };
    parse(a).cmp(&parse(b))
}

/// Orders UKI file names as systemd-boot 252 does for cairn's UKIs: entries
/// with no tries left last, then the newest version first, then more tries
/// left first. The first is the one that boots by default.
pub fn boot_order(names: &mut [String]) {
    names.sort_by(|a, b| {
        let (pa, pb) = (parse_entry(a), parse_entry(b));
        let bad = |p: &Option<EntryName>| p.as_ref().is_none_or(|p| p.tries_left == Some(0));
        let version = |p: &Option<EntryName>| {
            p.as_ref()
                .and_then(|p| p.version.clone())
                .unwrap_or_default()
        };
        let left =
            |p: &Option<EntryName>| p.as_ref().and_then(|p| p.tries_left).unwrap_or(u32::MAX);
        bad(&pa)
            .cmp(&bad(&pb))
            .then_with(|| compare_versions(&version(&pb), &version(&pa)))
            .then_with(|| left(&pb).cmp(&left(&pa)))
            .then_with(|| b.cmp(a))
    });
}

/// The UKIs in an ESP's `EFI/Linux`, in systemd-boot's order: the first
/// boots by default.
pub fn list_ukis(esp: &mut (impl Read + Seek)) -> Result<Vec<String>, fat::FatError> {
    let mut names: Vec<String> = fat::list_files(esp, UKI_DIR)?
        .into_iter()
        .filter(|n| n.to_ascii_lowercase().ends_with(".efi"))
        .collect();
    boot_order(&mut names);
    Ok(names)
}

/// The UKI `name` of an ESP's `EFI/Linux`.
pub fn read_uki(esp: &mut (impl Read + Seek), name: &str) -> Result<Vec<u8>, fat::FatError> {
    fat::read_file(esp, &format!("{UKI_DIR}/{name}"))
}

/// The bytes a disk's ESP holds besides the UKIs, for sizing it.
pub fn manager_bytes(boot_manager: u64) -> u64 {
    boot_manager + LOADER_SETTINGS.len() as u64
}

/// Writes at `offset` of `file` an ESP of `size` bytes holding `uki` where
/// firmware boots it without a boot entry (an ISO's ESP); its volume id
/// comes from the UKI's digest, so rebuilds match.
pub fn write_single(
    file: &File,
    offset: u64,
    size: u64,
    arch: Arch,
    uki: &[u8],
    path: &Path,
) -> Result<(), OutputError> {
    let mut data: &[u8] = uki;
    let mut files = [fat::File {
        path: boot_file(arch),
        size: uki.len() as u64,
        data: &mut data,
    }];
    write(file, offset, size, &[uki], &mut files, path)
}

/// Writes at `offset` of `file` a disk's ESP of `size` bytes: systemd-boot
/// at the boot path, its settings, and `uki` as `EFI/Linux/cairn-VERSION.efi`.
#[allow(clippy::too_many_arguments)]
pub fn write_slots(
    file: &File,
    offset: u64,
    size: u64,
    arch: Arch,
    boot_manager: &[u8],
    uki: &[u8],
    version: &str,
    path: &Path,
) -> Result<(), OutputError> {
    let uki_path = format!("{UKI_DIR}/{}", uki_name(version));
    let (mut m, mut s, mut u) = (boot_manager, LOADER_SETTINGS.as_bytes(), uki);
    let mut files = [
        fat::File {
            path: boot_file(arch),
            size: boot_manager.len() as u64,
            data: &mut m,
        },
        fat::File {
            path: LOADER_CONF,
            size: LOADER_SETTINGS.len() as u64,
            data: &mut s,
        },
        fat::File {
            path: &uki_path,
            size: uki.len() as u64,
            data: &mut u,
        },
    ];
    write(file, offset, size, &[boot_manager, uki], &mut files, path)
}

fn write(
    file: &File,
    offset: u64,
    size: u64,
    seed: &[&[u8]],
    files: &mut [fat::File<'_>],
    path: &Path,
) -> Result<(), OutputError> {
    let mut h = Sha256::new();
    for part in seed {
        h.update(part);
    }
    let hash: [u8; 32] = h.finalize().into();
    let opts = fat::Options {
        volume_id: u32::from_le_bytes([hash[0], hash[1], hash[2], hash[3]]),
        label: *b"ESP        ",
    };
    fat::write(&mut Window::new(file, offset), size, &opts, files)
        .map_err(image_err("EFI system partition", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_carry_the_version_and_the_boot_counter() {
        let e = parse_entry("cairn-2.10+2-1.efi").expect("an entry");
        assert_eq!(e.stem, "cairn-2.10");
        assert_eq!(e.version.as_deref(), Some("2.10"));
        assert_eq!((e.tries_left, e.tries_done), (Some(2), 1));
        let good = parse_entry("cairn-1.efi").expect("an entry");
        assert_eq!((good.tries_left, good.tries_done), (None, 0));
        assert_eq!(parse_entry("cairn-3+x.efi"), None);
        assert_eq!(parse_entry("BOOTX64"), None);
    }

    #[test]
    fn the_newest_entry_with_tries_left_boots_first_and_spent_ones_last() {
        let mut names: Vec<String> = [
            "cairn-1.efi",
            "cairn-2+0-3.efi",
            "cairn-10+3.efi",
            "cairn-9.efi",
        ]
        .map(String::from)
        .to_vec();
        boot_order(&mut names);
        assert_eq!(
            names,
            [
                "cairn-10+3.efi",
                "cairn-9.efi",
                "cairn-1.efi",
                "cairn-2+0-3.efi"
            ]
        );
    }
}
