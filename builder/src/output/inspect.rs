//! Reading a built image back: the UKI inside a raw-efi disk (found through
//! the GPT's EFI system partition and its FAT), inside an iso-efi image
//! (through its MBR's), or a UKI file itself, for `cairn pcr predict` and
//! `cairn run qemu`.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use cairn_boot::fat;
use cairn_boot::gpt::{self, GptError};

use super::disk::BOOT_FILES;
use super::window::Window;
use crate::exit::{Classify, ErrorClass};

/// cairn writes 512-byte-sector disks (`cairn_boot::gpt`).
const SECTOR: u64 = gpt::SECTOR;

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{} is neither a UKI nor a GPT disk with an EFI system partition; pass what `cairn build -f raw-efi` or `-f uki` wrote",
        path.display()
    )]
    NotAnImage { path: PathBuf },
    #[error("{}: its partition table cannot be used", path.display())]
    Table {
        path: PathBuf,
        #[source]
        source: GptError,
    },
    #[error("{}: its EFI system partition holds no {}", path.display(), BOOT_FILES.join(" or "))]
    NoUki {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Classify for InspectError {
    fn class(&self) -> ErrorClass {
        match self {
            InspectError::Read { .. } => ErrorClass::Environment,
            _ => ErrorClass::User,
        }
    }
}

/// The UKI `path` is or holds.
pub fn uki_of(path: &Path) -> Result<Vec<u8>, InspectError> {
    let read = |source| InspectError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(read)?;
    let mut magic = [0u8; 2];
    file.read_exact(&mut magic).map_err(read)?;
    if &magic == b"MZ" {
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0)).map_err(read)?;
        file.read_to_end(&mut bytes).map_err(read)?;
        return Ok(bytes);
    }
    let gpt_esp = esp(&mut file).map_err(|source| match source {
        GptError::Read { source, .. } => read(source),
        source => InspectError::Table {
            path: path.to_path_buf(),
            source,
        },
    })?;
    let (start, _) = match gpt_esp {
        Some(found) => found,
        None => mbr_esp(&mut file)
            .map_err(read)?
            .ok_or_else(|| InspectError::NotAnImage {
                path: path.to_path_buf(),
            })?,
    };
    let mut last = None;
    for name in BOOT_FILES {
        match fat::read_file(&mut Window::new(&file, start), name) {
            Ok(bytes) => return Ok(bytes),
            Err(e) => last = Some(e),
        }
    }
    Err(InspectError::NoUki {
        path: path.to_path_buf(),
        source: match last {
            Some(e) => Box::new(e),
            None => "no boot file names to try".into(),
        },
    })
}

/// The EFI system partition an MBR names (type 0xEF), as in an
/// `iso-efi` image: (start, size) in bytes.
fn mbr_esp(file: &mut File) -> io::Result<Option<(u64, u64)>> {
    let mut mbr = [0u8; 512];
    file.seek(SeekFrom::Start(0))?;
    match file.read_exact(&mut mbr) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    if mbr[510..512] != [0x55, 0xaa] {
        return Ok(None);
    }
    Ok(mbr[446..510].chunks(16).find(|e| e[4] == 0xef).map(|e| {
        let lba = u32::from_le_bytes([e[8], e[9], e[10], e[11]]);
        let count = u32::from_le_bytes([e[12], e[13], e[14], e[15]]);
        (u64::from(lba) * 512, u64::from(count) * 512)
    }))
}

/// The first EFI system partition of a GPT disk: (start, size) in bytes.
/// `Ok(None)` when the file has no GPT (or is too short for one) or no ESP.
fn esp(file: &mut File) -> Result<Option<(u64, u64)>, GptError> {
    let parts = match gpt::read_table(file, SECTOR) {
        Ok((_, parts)) => parts,
        Err(GptError::NoHeader { .. }) => return Ok(None),
        Err(GptError::Read {
            what: "header",
            source,
        }) if source.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    };
    // Checked: the sector numbers come from the file.
    Ok(parts
        .iter()
        .find(|p| p.type_guid == gpt::ESP)
        .and_then(|p| {
            let start = p.first_lba.checked_mul(SECTOR)?;
            let sectors = p.last_lba.checked_sub(p.first_lba)?.checked_add(1)?;
            let len = sectors.checked_mul(SECTOR)?;
            Some((start, len))
        }))
}
