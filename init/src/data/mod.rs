//! The persistent data partition (system.json's `data`): on a disk cairn
//! built, the partition of type linux-data named "data" on the root's disk,
//! zero-filled in the image. Before the first container and containerd run
//! (their state lives below the mount point), it is grown to the end of a
//! larger disk (`grow.rs`), formatted ext4 while still blank, and mounted.
//!
//! Nothing here stops the boot: a failure is one line on the console and
//! the mount point stays what the root gives it (RAM under /var). A
//! partition holding anything but ext4 or zeros is never formatted: it may
//! be someone's data.

use std::io;

use cairn_boot::gpt::{self, LINUX_DATA};
use rustix::mount::MountFlags;

mod grow;

use crate::disk::DM_NAME;
use crate::disk::find;
use crate::disk::gpt_scan::Table;
use crate::disk::root_disk::{self, RootDisk, RootDiskError, verified_root};
use crate::log::log;
use crate::services::system::{self, Data};
use crate::sys::{BlockDevices, Console, Files, Mount, Processes, Status};

/// Debian's e2fsprogs, put into the root by an init image.
pub const MKE2FS: &str = "/usr/sbin/mke2fs";
pub const LABEL: &str = "cairn-data";
/// The partition's GPT name, as the builder writes it.
pub const NAME: &str = "data";

/// ext4's superblock sits at byte 1024; its magic 56 bytes in.
const EXT4_MAGIC_AT: usize = 1080;
const EXT4_MAGIC: [u8; 2] = 0xef53u16.to_le_bytes();
/// How much of the partition must be zeros for it to count as blank: the
/// image writes zeros, and every filesystem keeps its marks in the first MiB.
const BLANK_BYTES: u64 = 1 << 20;
const MIB: u64 = 1 << 20;

/// Why the data partition is not mounted; the console line is `data: `,
/// this, and where the mount point stays.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(transparent)]
    Disk(#[from] RootDiskError),
    #[error(
        "/dev/{disk} has no partition of type linux-data named {NAME:?}; \
         rebuild the disk with this cairn to have one"
    )]
    NoEntry { disk: String },
    #[error(
        "the GPT of /dev/{disk} names the root's partition (slot {slot}) as the data \
         partition; the table is damaged or foreign, so it is left alone"
    )]
    IsRoot { disk: String, slot: u32 },
    #[error(
        "the GPT of /dev/{disk} has the data partition in slot {slot}, but the kernel \
         shows no such partition (its partition messages above say why)"
    )]
    NotInKernel { disk: String, slot: u32 },
    #[error("cannot read {dev}: {source}")]
    Read {
        dev: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "{dev} holds an unknown filesystem (not ext4, and its first MiB is not blank), \
         so it is left alone and never formatted; to have it formatted, zero its first MiB"
    )]
    Unknown { dev: String },
    #[error(
        "cannot format {dev}: {MKE2FS} is missing; add cairn/e2fsprogs:latest to the \
         config's init images"
    )]
    NoMke2fs { dev: String },
    #[error("cannot run {MKE2FS} for {dev}: {source}")]
    Mke2fsRun {
        dev: String,
        #[source]
        source: io::Error,
    },
    #[error("{MKE2FS} failed on {dev} with exit status {status} (its messages are above)")]
    Mke2fsStatus { dev: String, status: Status },
    #[error(
        "cannot mount {dev} (ext4) on {target}: {source}; the directory must exist in \
         the root image, and the kernel's message above says more"
    )]
    Mount {
        dev: String,
        target: String,
        #[source]
        source: io::Error,
    },
}

/// Where the data partition is, found from the verified root.
#[derive(Debug)]
struct Found {
    /// The whole disk, as sysfs names it (`vda`).
    disk: String,
    /// The kernel's partition (`vda4`).
    part: find::Partition,
    /// Its GPT entry.
    entry: gpt::Partition,
    table: Table,
}

/// Grows, formats and mounts the data partition when system.json asks for
/// one; says why not when it cannot.
pub fn mount(sys: &mut (impl Files + Console + Processes + BlockDevices), data: Option<&Data>) {
    let Some(data) = data else {
        return;
    };
    let Some(target) = mount_point(&data.mount) else {
        log(
            sys,
            &format!(
                "data: the mount point {:?} in {} is not an absolute path; the data \
                 partition is not used (rebuild the image with this cairn)",
                data.mount,
                system::PATH
            ),
        );
        return;
    };
    let Some(dm) = verified_root(sys) else {
        log(
            sys,
            &format!(
                "data: the root is not a verified disk (no device-mapper device {DM_NAME}); \
                 {target} stays in RAM"
            ),
        );
        return;
    };
    match prepare(sys, &dm, &target) {
        Ok((dev, bytes)) => log(
            sys,
            &format!(
                "data: {dev} (ext4, {} MiB) mounted on {target}",
                bytes / MIB
            ),
        ),
        Err(e) => log(sys, &format!("data: {e}; {target} stays in RAM")),
    }
}

/// `/var/lib/` -> `/var/lib`; None for a relative path, `/` or one with `..`.
fn mount_point(raw: &str) -> Option<String> {
    if !raw.starts_with('/') {
        return None;
    }
    let path = cairn_boot::path::normalize(raw).filter(|p| !p.is_empty())?;
    Some(format!("/{path}"))
}

/// Finds, grows, formats and mounts; returns the device and its size.
fn prepare(
    sys: &mut (impl Files + Console + Processes + BlockDevices),
    dm: &str,
    target: &str,
) -> Result<(String, u64), DataError> {
    let found = find_partition(sys, dm)?;
    let mut bytes = extent_bytes(&found.entry, found.table.sector);
    match grow::grow(sys, &found) {
        Ok(None) => {}
        Ok(Some(done)) => {
            if done.repaired {
                log(
                    sys,
                    &format!(
                        "data: rewrote the torn primary GPT of /dev/{} from its backup",
                        found.disk
                    ),
                );
            }
            if done.to > done.from {
                log(
                    sys,
                    &format!(
                        "data: grew {} from {} to {}",
                        found.part.name,
                        size(done.from),
                        size(done.to)
                    ),
                );
            }
            bytes = done.to;
        }
        // The partition is whole at its old size: use it as it is.
        Err(e) => log(sys, &format!("data: {e}")),
    }
    let dev = format!("/dev/{}", found.part.name);
    format_if_blank(sys, &dev, bytes)?;
    let m = Mount {
        source: &dev,
        target,
        fstype: "ext4",
        flags: MountFlags::NOSUID | MountFlags::NODEV,
        data: "",
        required: false,
    };
    sys.mount(&m).map_err(|source| DataError::Mount {
        dev: dev.clone(),
        target: target.into(),
        source,
    })?;
    Ok((dev, bytes))
}

/// The data partition on the disk of the root partition under `dm`.
fn find_partition(sys: &mut impl Files, dm: &str) -> Result<Found, DataError> {
    let found = root_disk::find(sys, dm)?;
    let root_slot = found.root_slot(sys);
    let RootDisk { disk, table, .. } = found;
    let Some(entry) = table
        .parts
        .iter()
        .find(|p| p.type_guid == LINUX_DATA && p.name == NAME)
        .cloned()
    else {
        return Err(DataError::NoEntry { disk });
    };
    if root_slot == Some(entry.slot) {
        return Err(DataError::IsRoot {
            disk,
            slot: entry.slot,
        });
    }
    let Some(part) = find::partition_named(sys, &disk, entry.slot) else {
        return Err(DataError::NotInKernel {
            disk,
            slot: entry.slot,
        });
    };
    Ok(Found {
        disk,
        part,
        entry,
        table,
    })
}

fn format_if_blank(
    sys: &mut (impl Files + Console + Processes),
    dev: &str,
    bytes: u64,
) -> Result<(), DataError> {
    let len = usize::try_from(bytes.min(BLANK_BYTES)).unwrap_or(0);
    let mut start = vec![0u8; len];
    find::read_exact(sys, dev, 0, &mut start).map_err(|source| DataError::Read {
        dev: dev.into(),
        source,
    })?;
    if start.get(EXT4_MAGIC_AT..EXT4_MAGIC_AT + 2) == Some(&EXT4_MAGIC[..]) {
        return Ok(());
    }
    if start.iter().any(|&b| b != 0) {
        return Err(DataError::Unknown { dev: dev.into() });
    }
    if !sys.exists(MKE2FS) {
        return Err(DataError::NoMke2fs { dev: dev.into() });
    }
    log(
        sys,
        &format!("data: formatting blank {dev} ({}) as ext4", size(bytes)),
    );
    match sys.run(&[MKE2FS, "-t", "ext4", "-q", "-L", LABEL, dev]) {
        Ok(Status::Code(0)) => Ok(()),
        Ok(status) => Err(DataError::Mke2fsStatus {
            dev: dev.into(),
            status,
        }),
        Err(source) => Err(DataError::Mke2fsRun {
            dev: dev.into(),
            source,
        }),
    }
}

/// A partition's size in bytes, with its table's sector size.
fn extent_bytes(entry: &gpt::Partition, sector: u64) -> u64 {
    // parse_entries keeps first <= last; a hostile table may span all of u64.
    (entry.last_lba - entry.first_lba)
        .saturating_add(1)
        .saturating_mul(sector)
}

/// `16 MiB`, `3.9 GiB`: MiB below a GiB, else GiB to a tenth (cut, not rounded).
fn size(bytes: u64) -> String {
    const GIB: u128 = 1 << 30;
    if bytes < 1 << 30 {
        return format!("{} MiB", bytes / MIB);
    }
    let tenths = u128::from(bytes) * 10 / GIB;
    format!("{}.{} GiB", tenths / 10, tenths % 10)
}

#[cfg(test)]
#[path = "tests.rs"]
pub(crate) mod tests;
