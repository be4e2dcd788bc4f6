//! Reading a built image back: the UKI inside a raw-efi disk (found through
//! the GPT's EFI system partition and its FAT), inside an iso-efi image
//! (through its MBR's), or a UKI file itself, for `cairn pcr predict` and
//! `cairn run qemu`.

use cairn_boot::bytes::le_u32;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use cairn_boot::fat;
use cairn_boot::gpt::{self, GptError};

use super::disk::BOOT_FILES;
use super::esp;
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
    #[error(
        "{} boots from a PC BIOS (a -bios format), which measures nothing cairn can predict; predictions are for UEFI images (raw-efi, qcow2-efi, iso-efi, uki)",
        path.display()
    )]
    BiosImage { path: PathBuf },
    #[error("{}: its partition table cannot be used", path.display())]
    Table {
        path: PathBuf,
        #[source]
        source: GptError,
    },
    #[error(
        "{}: a Raspberry Pi card whose boot partition holds no {}; rebuild it with `cairn build -f rpi`",
        path.display(),
        super::rpi::PLAN
    )]
    NoPlan {
        path: PathBuf,
        #[source]
        source: fat::FatError,
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

/// What a UEFI image boots: systemd-boot and the UKIs it can pick on a
/// disk with root slots, or the one UKI of a UKI file or an ISO.
#[derive(Debug, Clone)]
pub struct Chain {
    /// systemd-boot, when the ESP starts it before the UKI.
    pub manager: Option<Vec<u8>>,
    /// The UKIs, the one that boots by default first.
    pub entries: Vec<Entry>,
}

/// One UKI and its file name on the ESP.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub uki: Vec<u8>,
}

/// The most UKIs read from one ESP (two slots, and room for strays).
const MAX_ENTRIES: usize = 8;

/// The UKI `path` is or holds that boots by default.
pub fn uki_of(path: &Path) -> Result<Vec<u8>, InspectError> {
    let mut chain = chain_upto(path, 1)?;
    Ok(chain.entries.swap_remove(0).uki)
}

/// The boot chain `path` is or holds.
pub fn chain_of(path: &Path) -> Result<Chain, InspectError> {
    chain_upto(path, MAX_ENTRIES)
}

/// The boot chain with at most `max` of its UKIs read.
fn chain_upto(path: &Path, max: usize) -> Result<Chain, InspectError> {
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
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        return Ok(Chain {
            manager: None,
            entries: vec![Entry { name, uki: bytes }],
        });
    }
    let gpt_esp = esp(&mut file).map_err(|source| match source {
        GptError::Read { source, .. } => read(source),
        source => InspectError::Table {
            path: path.to_path_buf(),
            source,
        },
    })?;
    let bios = || InspectError::BiosImage {
        path: path.to_path_buf(),
    };
    let (start, _) = match gpt_esp {
        Boot::Esp(found) => found,
        Boot::Bios => return Err(bios()),
        Boot::Neither => match mbr_boot(&mut file).map_err(read)? {
            Boot::Esp(found) => found,
            Boot::Bios => return Err(bios()),
            Boot::Neither => {
                return Err(InspectError::NotAnImage {
                    path: path.to_path_buf(),
                });
            }
        },
    };
    let mut last = None;
    for name in BOOT_FILES {
        match fat::read_file(&mut Window::new(&file, start), name) {
            Ok(bytes) => return esp_chain(&file, start, name, bytes, path, max),
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

/// The chain of an ESP whose boot file `boot` holds `bytes`: systemd-boot
/// and the UKIs in `EFI/Linux/` when it has any, else the boot file is the
/// UKI.
fn esp_chain(
    file: &File,
    start: u64,
    boot: &str,
    bytes: Vec<u8>,
    path: &Path,
    max: usize,
) -> Result<Chain, InspectError> {
    let names = esp::list_ukis(&mut Window::new(file, start)).unwrap_or_default();
    if names.is_empty() {
        return Ok(Chain {
            manager: None,
            entries: vec![Entry {
                name: boot.to_string(),
                uki: bytes,
            }],
        });
    }
    let mut entries = Vec::new();
    for name in names.into_iter().take(max) {
        let uki = esp::read_uki(&mut Window::new(file, start), &name).map_err(|source| {
            InspectError::NoUki {
                path: path.to_path_buf(),
                source: Box::new(source),
            }
        })?;
        entries.push(Entry { name, uki });
    }
    Ok(Chain {
        manager: Some(bytes),
        entries,
    })
}

/// The measurement plan on a Raspberry Pi card's boot partition, or None
/// when `path` is no card (an MBR whose partition 1 is FAT, not a GPT's
/// protective MBR).
pub fn card_plan(path: &Path) -> Result<Option<String>, InspectError> {
    let read = |source| InspectError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(read)?;
    let mut sector = [0u8; 512];
    match std::os::unix::fs::FileExt::read_exact_at(&file, &mut sector, 0) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(read(e)),
    }
    let Ok(table) = cairn_boot::mbr::parse(&sector) else {
        return Ok(None);
    };
    let Some(boot) = table.boot_fat() else {
        return Ok(None);
    };
    let plan = fat::read_file(&mut Window::new(&file, boot.offset()), super::rpi::PLAN).map_err(
        |source| InspectError::NoPlan {
            path: path.to_path_buf(),
            source,
        },
    )?;
    Ok(Some(String::from_utf8_lossy(&plan).into_owned()))
}

/// How an image boots, as its partition table says.
enum Boot {
    /// From the EFI system partition at (start, size) in bytes.
    Esp((u64, u64)),
    /// From a PC BIOS: a BIOS boot partition, or a hybrid ISO's 0x17 one.
    Bios,
    Neither,
}

/// The EFI system partition an MBR names (type 0xEF), as in an
/// `iso-efi` image, or the hybrid partition (0x17) of an `iso-bios` one.
fn mbr_boot(file: &mut File) -> io::Result<Boot> {
    let mut mbr = [0u8; 512];
    file.seek(SeekFrom::Start(0))?;
    match file.read_exact(&mut mbr) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Boot::Neither),
        Err(e) => return Err(e),
    }
    if mbr[510..512] != [0x55, 0xaa] {
        return Ok(Boot::Neither);
    }
    let entries = || mbr[446..510].chunks(16);
    if let Some(e) = entries().find(|e| e[4] == 0xef) {
        let lba = le_u32(e, 8).unwrap_or_default();
        let count = le_u32(e, 12).unwrap_or_default();
        return Ok(Boot::Esp((u64::from(lba) * 512, u64::from(count) * 512)));
    }
    Ok(if entries().any(|e| e[4] == 0x17) {
        Boot::Bios
    } else {
        Boot::Neither
    })
}

/// The first EFI system partition of a GPT disk, else whether it has a
/// BIOS boot partition. `Neither` when the file has no GPT (or is too short
/// for one).
fn esp(file: &mut File) -> Result<Boot, GptError> {
    let parts = match gpt::read_table(file, SECTOR) {
        Ok((_, parts)) => parts,
        Err(GptError::NoHeader { .. }) => return Ok(Boot::Neither),
        Err(GptError::Read {
            what: "header",
            source,
        }) if source.kind() == io::ErrorKind::UnexpectedEof => return Ok(Boot::Neither),
        Err(e) => return Err(e),
    };
    // Checked: the sector numbers come from the file.
    let found = parts
        .iter()
        .find(|p| p.type_guid == gpt::ESP)
        .and_then(gpt::Partition::byte_range);
    Ok(match found {
        Some(esp) => Boot::Esp(esp),
        None if parts.iter().any(|p| p.type_guid == gpt::BIOS_BOOT) => Boot::Bios,
        None => Boot::Neither,
    })
}
