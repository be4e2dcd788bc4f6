//! Reading a built image back: the UKI inside a raw-efi disk (found through
//! the GPT's EFI system partition and its FAT), or a UKI file itself, for
//! `cairn pcr predict`.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use cairn_boot::fat;

use super::window::Window;
use crate::exit::{Classify, ErrorClass};

const SECTOR: u64 = 512;
/// The ESP's partition type GUID as GPT stores it (mixed endian).
const ESP_TYPE: [u8; 16] = [
    0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b,
];
const BOOT_FILES: [&str; 2] = ["EFI/BOOT/BOOTX64.EFI", "EFI/BOOT/BOOTAA64.EFI"];

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
    let (start, _) = esp(&file)
        .map_err(read)?
        .ok_or_else(|| InspectError::NotAnImage {
            path: path.to_path_buf(),
        })?;
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

/// The first EFI system partition of a GPT disk: (start, size) in bytes.
fn esp(file: &File) -> io::Result<Option<(u64, u64)>> {
    let mut header = [0u8; 92];
    if file.read_exact_at(&mut header, SECTOR).is_err() || &header[..8] != b"EFI PART" {
        return Ok(None);
    }
    let le64 = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
    let le32 = |b: &[u8]| u32::from_le_bytes(b.try_into().unwrap_or([0; 4]));
    let entries_lba = le64(&header[72..80]);
    let count = le32(&header[80..84]).min(1024) as u64;
    let size = le32(&header[84..88]) as u64;
    if !(128..=4096).contains(&size) {
        return Ok(None);
    }
    let mut entry = vec![0u8; size as usize];
    for i in 0..count {
        file.read_exact_at(&mut entry, entries_lba * SECTOR + i * size)?;
        if entry[..16] == ESP_TYPE {
            let first = le64(&entry[32..40]);
            let last = le64(&entry[40..48]);
            if last < first {
                return Ok(None);
            }
            return Ok(Some((first * SECTOR, (last - first + 1) * SECTOR)));
        }
    }
    Ok(None)
}
