//! What a file given to `cairn run qemu` is, told by its contents rather
//! than its name (a raw disk renamed `.img` or `.qcow2` still boots right),
//! and which architecture it is for.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::RunError;
use super::gpt;
use super::qcow2::{self, Qcow2};
use crate::arch::Arch;

/// A bootable file cairn recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A raw disk with a GPT (what `cairn build -f raw-efi` writes).
    RawDisk,
    /// A qcow2 disk (`-f qcow2-efi`).
    Qcow2Disk,
    /// An EFI application, a unified kernel image (`-f uki`).
    Uki,
    /// A hybrid ISO image with an EFI system partition (`-f iso-efi`) or
    /// ISOLINUX (`-f iso-bios`), booted as a CD.
    Iso,
    /// A Raspberry Pi card (`-f rpi`): MBR and a FAT boot partition.
    RpiCard,
}

/// The firmware an image boots from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    Uefi,
    /// A PC BIOS (QEMU's SeaBIOS): `-bios` formats.
    Bios,
}

/// Which firmware boots `path`: BIOS for a disk with a BIOS boot partition
/// and no ESP, and for an ISO whose El Torito catalog has no EFI entry;
/// UEFI otherwise.
pub fn firmware(path: &Path, kind: Kind) -> Result<Firmware, RunError> {
    let file = File::open(path).map_err(unreadable(path))?;
    let bios = match kind {
        Kind::Uki | Kind::RpiCard => false,
        Kind::RawDisk => gpt::bios_only(&mut { file }).map_err(unreadable(path))?,
        Kind::Qcow2Disk => Qcow2::open(file)
            .and_then(|mut q| gpt::bios_only(&mut q))
            .map_err(unreadable(path))?,
        Kind::Iso => !iso_has_efi_entry(&file).map_err(unreadable(path))?,
    };
    Ok(if bios { Firmware::Bios } else { Firmware::Uefi })
}

/// Whether an ISO's El Torito catalog names an EFI (platform 0xEF) image:
/// in its validation entry, or in a section header.
fn iso_has_efi_entry(file: &File) -> io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let mut record = [0u8; 75];
    file.read_exact_at(&mut record, 17 * 2048)?;
    if &record[1..6] != b"CD001" || &record[7..30] != b"EL TORITO SPECIFICATION" {
        return Ok(false);
    }
    let block = cairn_boot::bytes::le_u32(&record, 71).unwrap_or_default();
    let mut catalog = vec![0u8; 2048];
    file.read_exact_at(&mut catalog, u64::from(block) * 2048)?;
    if catalog[0] == 1 && catalog[1] == 0xef {
        return Ok(true);
    }
    Ok(catalog
        .chunks(32)
        .skip(2)
        .any(|e| matches!(e[0], 0x90 | 0x91) && e[1] == 0xef))
}

/// Enough of the start of a file to see every signature checked here: the
/// GPT header may sit after a 4096-byte sector.
const HEAD: u64 = 4096 + 8;

fn unreadable(path: &Path) -> impl FnOnce(io::Error) -> RunError + '_ {
    move |source| RunError::Unreadable {
        path: path.to_path_buf(),
        source,
    }
}

/// The kind of `path`, or `UnknownFile` (and `BareKernel` for a kernel
/// that needs its initrd and command line beside it).
pub fn sniff(path: &Path) -> Result<Kind, RunError> {
    let mut head = Vec::new();
    File::open(path)
        .and_then(|f| f.take(HEAD).read_to_end(&mut head))
        .map_err(unreadable(path))?;
    let at = |offset: usize, len: usize| head.get(offset..offset + len);
    if at(0, 4) == Some(&qcow2::MAGIC[..]) {
        return Ok(Kind::Qcow2Disk);
    }
    if at(512, 8) == Some(b"EFI PART") || at(4096, 8) == Some(b"EFI PART") {
        return Ok(Kind::RawDisk);
    }
    if head.get(..512).is_some_and(super::rpi::is_card) {
        return Ok(Kind::RpiCard);
    }
    if at(0x202, 4) == Some(b"HdrS") || at(0x38, 4) == Some(b"ARM\x64") {
        return Err(RunError::BareKernel {
            path: path.to_path_buf(),
        });
    }
    if at(0, 2) == Some(b"MZ") && pe_machine(&head).is_some() {
        return Ok(Kind::Uki);
    }
    let mut volume = [0u8; 5];
    let iso = File::open(path)
        .and_then(|f| std::os::unix::fs::FileExt::read_exact_at(&f, &mut volume, 0x8001))
        .is_ok_and(|()| &volume == b"CD001");
    if iso {
        return Ok(Kind::Iso);
    }
    Err(RunError::UnknownFile {
        path: path.to_path_buf(),
    })
}

/// The COFF machine field of a PE file, from the start of the file.
fn pe_machine(head: &[u8]) -> Option<u16> {
    let lfanew = usize::try_from(cairn_boot::bytes::le_u32(head, 0x3c)?).ok()?;
    if head.get(lfanew..lfanew.checked_add(4)?)? != b"PE\0\0" {
        return None;
    }
    cairn_boot::bytes::le_u16(head, lfanew + 4)
}

/// The architecture a PE machine field names (x86-64 0x8664, arm64 0xAA64).
pub fn pe_arch(machine: u16) -> Option<Arch> {
    match machine {
        0x8664 => Some(Arch::Amd64),
        0xaa64 => Some(Arch::Arm64),
        _ => None,
    }
}

/// The architecture `path` (of `kind`) is for. An architecture that cannot
/// be told is `UnknownArch`, which the caller forgives when `--arch` is
/// given; a file that cannot be read is `Unreadable`.
pub fn arch(path: &Path, kind: Kind) -> Result<Arch, RunError> {
    let unknown = |why: String| RunError::UnknownArch {
        path: path.to_path_buf(),
        why,
    };
    let file = File::open(path).map_err(unreadable(path))?;
    let found = match kind {
        // The Pi 3 and 4 boot arm64 kernels only.
        Kind::RpiCard => return Ok(Arch::Arm64),
        Kind::Uki => {
            let mut head = Vec::new();
            file.take(HEAD)
                .read_to_end(&mut head)
                .map_err(unreadable(path))?;
            let machine = pe_machine(&head).ok_or_else(|| unknown("no PE header".into()))?;
            return pe_arch(machine).ok_or_else(|| {
                unknown(format!("PE machine {machine:#06x} is not x86-64 or arm64"))
            });
        }
        Kind::RawDisk => {
            let mut file = file;
            gpt::root_arch(&mut file)
        }
        Kind::Qcow2Disk => Qcow2::open(file).and_then(|mut q| gpt::root_arch(&mut q)),
        // A BIOS boots x86 machines only.
        Kind::Iso if !iso_has_efi_entry(&file).map_err(unreadable(path))? => {
            return Ok(Arch::Amd64);
        }
        Kind::Iso => {
            let uki = crate::output::inspect::uki_of(path)
                .map_err(|e| unknown(format!("no UKI in its EFI system partition: {e}")))?;
            let machine = pe_machine(&uki).ok_or_else(|| unknown("no PE header".into()))?;
            return pe_arch(machine).ok_or_else(|| {
                unknown(format!("PE machine {machine:#06x} is not x86-64 or arm64"))
            });
        }
    };
    match found {
        Ok(Some(arch)) => Ok(arch),
        Ok(None) => Err(unknown(format!(
            "its GPT has no root partition typed for exactly one architecture \
             (x86-64 {}, arm64 {})",
            gpt::ROOT_X86_64,
            gpt::ROOT_ARM64
        ))),
        Err(e) if e.kind() == io::ErrorKind::Unsupported => Err(unknown(e.to_string())),
        Err(e) => Err(unreadable(path)(e)),
    }
}

#[cfg(test)]
#[path = "image_tests.rs"]
mod tests;
