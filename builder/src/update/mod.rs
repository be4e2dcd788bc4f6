//! `cairn update UPDATE DISK`: puts an update (`cairn build -f update`) into
//! the inactive root slot of a cairn disk, offline: an image file or a
//! device that is not running. Everything is checked before the first
//! write: the pieces against their manifest, the system's name and the
//! architecture against the disk's, the version against every version on
//! the ESP (an older or equal one is refused, so an update cannot roll a
//! device back), and the UKI's pinned root against the manifest.
//!
//! The writes run in the order that keeps the disk bootable at every
//! moment (`apply.rs`): the inactive slot's old UKI leaves the ESP first,
//! then the root is written and checked, then the slot gets its new GUID,
//! and the new UKI arrives last, with systemd-boot's boot counter. The
//! running system's slot and UKI are never touched.

mod apply;
mod bundle;
mod disk;

use std::io;
use std::path::{Path, PathBuf};

use cairn_boot::gpt::{Guid, Partition};

use crate::exit::{Classify, ErrorClass};
use crate::output::esp;
pub use apply::Applied;
pub use bundle::Bundle;
pub use disk::Disk;

/// systemd-boot's tries for a new version before it goes back.
pub const DEFAULT_TRIES: u32 = 3;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {what} of {}", path.display())]
    Write {
        what: String,
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{}: {why}", path.display())]
    Manifest { path: PathBuf, why: String },
    #[error("{}: {why}; the update is damaged or was changed, fetch it again", path.display())]
    Piece { path: PathBuf, why: String },
    #[error("{} is not a cairn disk with root slots: {why}", path.display())]
    NotACairnDisk { path: PathBuf, why: String },
    #[error("{}: {why}; the disk was not changed", path.display())]
    Refused { path: PathBuf, why: String },
    #[error(
        "{}: the root written to slot {slot} reads back differently ({why}); the slot is left \
         without a UKI, so nothing boots it, and the running system is untouched",
        path.display()
    )]
    Verify {
        path: PathBuf,
        slot: u32,
        why: String,
    },
}

impl Classify for UpdateError {
    fn class(&self) -> ErrorClass {
        match self {
            UpdateError::Read { .. } | UpdateError::Write { .. } | UpdateError::Verify { .. } => {
                ErrorClass::Environment
            }
            _ => ErrorClass::User,
        }
    }
}

/// An update checked against a disk, ready to be written.
#[derive(Debug)]
pub struct Plan {
    bundle: Bundle,
    disk: Disk,
    /// The good UKI that boots now, its slot, and the slot the update goes to.
    running: String,
    active: u32,
    target: u32,
    /// The ESP files that go first: the target slot's old UKI and spent ones.
    stale: Vec<String>,
    /// The new UKI's file name, with its boot counter.
    file: String,
    new_guid: Guid,
}

impl Plan {
    pub fn active_slot(&self) -> u32 {
        self.active
    }
    pub fn target_slot(&self) -> u32 {
        self.target
    }
    pub fn running(&self) -> &str {
        &self.running
    }
    pub fn version(&self) -> &str {
        &self.bundle.manifest.version
    }
    pub fn uki_file(&self) -> &str {
        &self.file
    }
    pub fn stale(&self) -> &[String] {
        &self.stale
    }
}

/// Checks the update `manifest` against `disk_path`; writes nothing.
pub fn prepare(manifest: &Path, disk_path: &Path, tries: u32) -> Result<Plan, UpdateError> {
    // A device must not be in use: mounted, held, or the running system's.
    crate::flash::inspect_target(disk_path, true, &crate::flash::Host::system()).map_err(|e| {
        UpdateError::Refused {
            path: disk_path.to_path_buf(),
            why: format!("{e}; `cairn update` works offline, on a disk that is not running"),
        }
    })?;
    let bundle = bundle::open(manifest)?;
    let disk = disk::read(disk_path)?;
    let refuse = |why: String| UpdateError::Refused {
        path: disk_path.to_path_buf(),
        why,
    };
    let m = &bundle.manifest;
    if bundle.arch != disk.arch {
        return Err(refuse(format!(
            "the update is for {}, the disk is {}",
            m.arch,
            disk.arch.oci_name()
        )));
    }
    // A version still on trial may yet fall back to the good one: the slot
    // of the good one must not be overwritten until the trial is decided.
    if let Some(trial) = disk.entries.iter().find(|e| e.counted && !e.spent) {
        return Err(refuse(format!(
            "{} is still on trial (systemd-boot counts its tries); boot the disk until it is              marked good or falls back, then update",
            trial.file
        )));
    }
    let running = disk
        .entries
        .iter()
        .find(|e| !e.counted)
        .ok_or_else(|| refuse("no good UKI on its ESP can boot".into()))?
        .clone();
    if running.name != m.name {
        return Err(refuse(format!(
            "the update is for system {:?}, the disk runs {:?} ({})",
            m.name, running.name, running.file
        )));
    }
    if let Some(newer) = (disk.entries.iter())
        .find(|e| esp::compare_versions(&m.version, &e.version) != std::cmp::Ordering::Greater)
    {
        return Err(refuse(format!(
            "the update's version {} is not newer than {} ({}); build it with a higher `version:`",
            m.version, newer.version, newer.file
        )));
    }
    let params = disk::verity_params(&bundle.uki)
        .ok_or_else(|| refuse("the update's UKI pins no verified root".into()))?;
    let new_guid: Guid = (m.root.partuuid.parse()).map_err(|_| {
        refuse(format!(
            "the manifest's partuuid {:?} is no GUID",
            m.root.partuuid
        ))
    })?;
    let pinned = disk::Entry::from_uki(String::new(), &bundle.uki).partuuid;
    if hex::encode(params.root_hash) != m.root.root_hash || pinned != Some(new_guid) {
        return Err(refuse(
            "the update's UKI pins another root than its manifest names".into(),
        ));
    }
    let slot_of = |guid: Option<Guid>| {
        disk.parts
            .iter()
            .find(|p| (p.slot == 2 || p.slot == 3) && Some(p.unique_guid) == guid)
            .map(|p| p.slot)
    };
    let active = slot_of(running.partuuid).ok_or_else(|| {
        refuse(format!(
            "{} pins a root slot this disk does not have",
            running.file
        ))
    })?;
    let target = if active == 2 { 3 } else { 2 };
    let target_part = disk.parts.iter().find(|p| p.slot == target);
    let (_, room) = target_part
        .and_then(Partition::byte_range)
        .unwrap_or((0, 0));
    if m.root.size > room {
        return Err(refuse(format!(
            "the update's root ({} bytes) does not fit slot {target} ({room} bytes); the disk \
             needs rebuilding with larger slots",
            m.root.size
        )));
    }
    let old_guid = target_part.map(|p| p.unique_guid);
    let stale: Vec<String> = (disk.entries.iter())
        .filter(|e| e.spent || e.partuuid == old_guid || e.partuuid == Some(new_guid))
        .filter(|e| e.file != running.file)
        .map(|e| e.file.clone())
        .collect();
    // The new UKI must fit once the stale ones are gone: checked here, not
    // found out after the root is written.
    let (free, cluster) = disk.esp_free;
    let whole = |bytes: u64| bytes.div_ceil(cluster.max(1)) * cluster.max(1);
    let freed: u64 = (disk.entries.iter())
        .filter(|e| stale.contains(&e.file))
        .map(|e| whole(e.size))
        .sum();
    // One more cluster for the folder, should its entries need it.
    let need = whole(bundle.uki.len() as u64) + cluster;
    if free + freed < need {
        return Err(refuse(format!(
            "its ESP has {} bytes free once the old UKI is gone, the update's UKI needs {need}; \
             the disk needs rebuilding with this version",
            free + freed
        )));
    }
    let file = format!("cairn-{}+{tries}.efi", m.version);
    Ok(Plan {
        running: running.file.clone(),
        bundle,
        disk,
        active,
        target,
        stale,
        file,
        new_guid,
    })
}
