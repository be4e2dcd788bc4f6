//! What a cairn disk holds, read for an update: its GPT (the two root slots
//! and the ESP) and the UKIs on the ESP in systemd-boot's order, each with
//! the slot its command line pins, its name (IMAGE_ID) and version.

use std::fs::File;
use std::path::{Path, PathBuf};

use cairn_boot::gpt::{self, Guid, Header, Partition};
use cairn_boot::{fat, uki, verity};

use super::UpdateError;
use crate::arch::Arch;
use crate::output::esp::{self, UKI_DIR};
use crate::output::window::Window;

/// The most UKIs an ESP may list before the disk is taken for something
/// other than a cairn disk.
const MAX_ENTRIES: usize = 16;
/// The largest UKI read back from an ESP.
const MAX_UKI: usize = 512 << 20;

/// A cairn disk as an update sees it.
#[derive(Debug)]
pub struct Disk {
    pub path: PathBuf,
    pub header: Header,
    pub parts: Vec<Partition>,
    pub arch: Arch,
    /// Offset and size of the ESP.
    pub esp: (u64, u64),
    /// The UKIs in boot order: the first is the one that boots.
    pub entries: Vec<Entry>,
    /// The ESP's free bytes and cluster size.
    pub esp_free: (u64, u64),
}

/// A UKI on the ESP.
#[derive(Debug, Clone)]
pub struct Entry {
    pub file: String,
    /// IMAGE_ID and IMAGE_VERSION from its os-release.
    pub name: String,
    pub version: String,
    /// The root slot its command line pins.
    pub partuuid: Option<Guid>,
    /// Whether systemd-boot still counts its tries, and whether none are left.
    pub counted: bool,
    pub spent: bool,
    pub size: u64,
}

/// Reads `path`'s table, root slots and UKIs.
pub fn read(path: &Path) -> Result<Disk, UpdateError> {
    let not_cairn = |why: String| UpdateError::NotACairnDisk {
        path: path.to_path_buf(),
        why,
    };
    let mut file = File::open(path).map_err(|source| UpdateError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let (header, parts) = gpt::read_table(&mut file, gpt::SECTOR)
        .map_err(|e| not_cairn(format!("its GPT cannot be read: {e}")))?;
    let slot = |n: u32| parts.iter().find(|p| p.slot == n);
    let arch = match (slot(2), slot(3)) {
        (Some(a), Some(b)) if a.type_guid == b.type_guid => Arch::from_root_type(a.type_guid),
        _ => None,
    }
    .ok_or_else(|| {
        not_cairn(
            "it has no two root slots (partitions 2 and 3); rebuild it with this cairn".into(),
        )
    })?;
    let esp_part = slot(1)
        .filter(|p| p.type_guid == gpt::ESP)
        .ok_or_else(|| not_cairn("partition 1 is no EFI system partition".into()))?;
    let esp =
        (esp_part.byte_range()).ok_or_else(|| not_cairn("its ESP lies outside the disk".into()))?;
    let window = || Window::new(&file, esp.0);
    let names = esp::list_ukis(&mut window())
        .map_err(|e| not_cairn(format!("its ESP has no readable {UKI_DIR}: {e}")))?;
    if names.len() > MAX_ENTRIES {
        return Err(not_cairn(format!("its ESP lists {} UKIs", names.len())));
    }
    let mut entries = Vec::new();
    for file_name in names {
        let bytes = esp::read_uki(&mut window(), &file_name)
            .map_err(|e| not_cairn(format!("{UKI_DIR}/{file_name} cannot be read: {e}")))?;
        if bytes.len() > MAX_UKI {
            return Err(not_cairn(format!(
                "{UKI_DIR}/{file_name} is too large for a UKI"
            )));
        }
        entries.push(Entry::from_uki(file_name, &bytes));
    }
    let esp_free = fat::free_space(&mut window())
        .map_err(|e| not_cairn(format!("its ESP cannot be read: {e}")))?;
    Ok(Disk {
        esp_free,
        path: path.to_path_buf(),
        header,
        parts,
        arch,
        esp,
        entries,
    })
}

impl Entry {
    /// What a UKI says about itself; a UKI that cannot be read is kept with
    /// empty fields, so it still counts (and can be replaced).
    pub fn from_uki(file: String, bytes: &[u8]) -> Entry {
        let parsed = esp::parse_entry(&file);
        let section = |name| {
            uki::read_section(bytes, name)
                .ok()
                .flatten()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default()
        };
        let osrel = section(".osrel");
        let field = |key: &str| {
            osrel
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(|v| v.trim_matches('"').to_string())
                .unwrap_or_default()
        };
        let cmdline = section(".cmdline");
        let partuuid = cmdline
            .split_whitespace()
            .find_map(|w| w.strip_prefix("cairn.root=PARTUUID="))
            .and_then(|g| g.parse().ok());
        Entry {
            name: field("IMAGE_ID"),
            version: field("IMAGE_VERSION"),
            partuuid,
            counted: parsed.as_ref().is_some_and(|p| p.tries_left.is_some()),
            spent: parsed.as_ref().is_some_and(|p| p.tries_left == Some(0)),
            size: bytes.len() as u64,
            file,
        }
    }
}

/// The dm-verity parameters a UKI's command line pins.
pub fn verity_params(uki_bytes: &[u8]) -> Option<verity::Params> {
    let cmdline = uki::read_section(uki_bytes, ".cmdline").ok().flatten()?;
    verity::Params::from_cmdline(&String::from_utf8_lossy(cmdline)).ok()
}
