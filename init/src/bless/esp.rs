//! Marking the booted UKI good on the ESP: the ESP of the verified root's
//! disk is mounted, the entry's counted file renamed to its name without a
//! counter, the rename made durable, and the ESP unmounted again.

use std::io;

use cairn_boot::gpt::ESP;
use rustix::mount::MountFlags;

use super::efivar::{EntryName, UKI_DIR};
use crate::disk::DM_NAME;
use crate::disk::find;
use crate::disk::root_disk::{self, RootDiskError};
use crate::log::log;
use crate::sys::{Console, Files, Mount};

/// Where the ESP is mounted while the entry is renamed.
pub const ESP_MOUNT: &str = "/run/cairn/esp";
/// How many of the directory's names an error lists.
const NAMES_SHOWN: usize = 8;

/// Why the entry was not marked good; the console line says `boot: cannot
/// mark STEM good: `, this, and that systemd-boot goes on counting.
#[derive(Debug, thiserror::Error)]
pub enum BlessError {
    #[error(
        "the root is not a verified disk (no device-mapper device {DM_NAME}), so its ESP \
         is unknown"
    )]
    NotVerified,
    #[error(transparent)]
    Disk(#[from] RootDiskError),
    #[error("/dev/{disk} has no EFI system partition in its GPT")]
    NoEsp { disk: String },
    #[error(
        "the GPT of /dev/{disk} has the ESP in slot {slot}, but the kernel shows no such \
         partition"
    )]
    NotInKernel { disk: String, slot: u32 },
    #[error(
        "cannot mount the ESP {dev} (vfat) on {ESP_MOUNT}: {source}; the kernel's vfat \
         module (and the nls_cp437 and nls_ascii modules it loads) may be missing from \
         the image"
    )]
    Mount {
        dev: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot list {UKI_DIR} on the ESP {dev}: {source}")]
    List {
        dev: String,
        #[source]
        source: io::Error,
    },
    #[error("no file {stem}+TRIES[-DONE].efi in {UKI_DIR} on the ESP {dev} (it holds {names})")]
    NotFound {
        stem: String,
        dev: String,
        names: String,
    },
    #[error(
        "{UKI_DIR} on the ESP {dev} holds several counted files of {stem} ({names}); none \
         is renamed"
    )]
    Several {
        stem: String,
        dev: String,
        names: String,
    },
    #[error("cannot rename {UKI_DIR}/{from} to {to} on the ESP {dev}: {source}")]
    Rename {
        from: String,
        to: String,
        dev: String,
        #[source]
        source: io::Error,
    },
    #[error("renamed {UKI_DIR}/{from} to {to} on the ESP {dev}, but cannot sync it: {source}")]
    Sync {
        from: String,
        to: String,
        dev: String,
        #[source]
        source: io::Error,
    },
}

/// What was found on the ESP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blessed {
    /// The counted file `from` now has the blessed name.
    Renamed { from: String },
    /// The blessed name was there already (blessed on an earlier boot).
    Before,
}

/// Renames the counted file of `entry` on the root disk's ESP.
pub fn bless(sys: &mut (impl Files + Console), entry: &EntryName) -> Result<Blessed, BlessError> {
    let dev = esp_device(sys)?;
    if let Err(source) = sys.mkdir(ESP_MOUNT) {
        return Err(BlessError::Mount { dev, source });
    }
    let m = Mount {
        source: &dev,
        target: ESP_MOUNT,
        fstype: "vfat",
        flags: MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        data: "",
        required: false,
    };
    if let Err(source) = sys.mount(&m) {
        return Err(BlessError::Mount { dev, source });
    }
    let result = rename_counted(sys, &dev, entry);
    if let Err(e) = sys.unmount(ESP_MOUNT) {
        log(
            sys,
            &format!("warning: boot: cannot unmount the ESP from {ESP_MOUNT}: {e}"),
        );
    }
    result
}

/// `/dev/vda1`: the ESP on the verified root's disk.
fn esp_device(sys: &mut impl Files) -> Result<String, BlessError> {
    let dm = root_disk::verified_root(sys).ok_or(BlessError::NotVerified)?;
    let found = root_disk::find(sys, &dm)?;
    let Some(esp) = found.table.parts.iter().find(|p| p.type_guid == ESP) else {
        return Err(BlessError::NoEsp { disk: found.disk });
    };
    let Some(part) = find::partition_named(sys, &found.disk, esp.slot) else {
        return Err(BlessError::NotInKernel {
            disk: found.disk,
            slot: esp.slot,
        });
    };
    Ok(format!("/dev/{}", part.name))
}

/// In the mounted ESP's `EFI/Linux`: the one counted file with `entry`'s
/// stem renamed to the stem alone, unless that name exists already. The
/// loader's variable may name the file before this boot's rename (`+3`
/// while the file is `+2-1`), so only the stem is compared.
fn rename_counted(
    sys: &mut impl Files,
    dev: &str,
    entry: &EntryName,
) -> Result<Blessed, BlessError> {
    let dir = format!("{ESP_MOUNT}/{UKI_DIR}");
    let names = sys.list_dir(&dir).map_err(|source| BlessError::List {
        dev: dev.into(),
        source,
    })?;
    let to = entry.blessed();
    // FAT names compare without case.
    if names.iter().any(|n| n.eq_ignore_ascii_case(&to)) {
        return Ok(Blessed::Before);
    }
    let counted: Vec<&String> = names
        .iter()
        .filter(|n| {
            EntryName::parse(n).is_some_and(|e| e.stem == entry.stem && e.counter.is_some())
        })
        .collect();
    let from = match counted.as_slice() {
        [one] => (*one).clone(),
        [] => {
            return Err(BlessError::NotFound {
                stem: entry.stem.clone(),
                dev: dev.into(),
                names: shown(names.iter()),
            });
        }
        several => {
            return Err(BlessError::Several {
                stem: entry.stem.clone(),
                dev: dev.into(),
                names: shown(several.iter().copied()),
            });
        }
    };
    let (from_path, to_path) = (format!("{dir}/{from}"), format!("{dir}/{to}"));
    if let Err(source) = sys.rename(&from_path, &to_path) {
        return Err(BlessError::Rename {
            from,
            to,
            dev: dev.into(),
            source,
        });
    }
    // The file, then the directory that holds the renamed entry.
    if let Err(source) = sys.sync_path(&to_path).and_then(|()| sys.sync_path(&dir)) {
        return Err(BlessError::Sync {
            from,
            to,
            dev: dev.into(),
            source,
        });
    }
    Ok(Blessed::Renamed { from })
}

/// `a.efi, b.efi` (the first few), or `nothing`.
fn shown<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        return "nothing".into();
    }
    let mut text = names
        .iter()
        .take(NAMES_SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > NAMES_SHOWN {
        text.push_str(&format!(" and {} more", names.len() - NAMES_SHOWN));
    }
    text
}
