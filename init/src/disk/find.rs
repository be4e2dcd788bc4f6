//! Finding the root partition of a disk boot: every whole disk's GPT is
//! read and the partition with the wanted unique GUID is looked up by
//! number in sysfs, polled until the drivers have probed the disks. The
//! sysfs walks and the table read serve the data partition too (`data/`).

use std::io;
use std::time::Duration;

use crate::disk::args::RootAt;
use cairn_boot::mbr::{self, PartUuid};

use crate::disk::gpt_scan::{self, Guid, ScanError, Table};
use crate::disk::{DiskError, POLL};
use crate::log::log;
use crate::sys::{Console, Files};

/// How long the root partition may take to appear (driver probing).
pub const ROOT_WAIT: Duration = Duration::from_secs(10);

pub const SYS_BLOCK: &str = "/sys/class/block";

/// A partition (the root, the data partition) as the kernel knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Its name in /sys/class/block and /dev (`vda2`, `nvme0n1p2`).
    pub name: String,
    /// `major:minor`, as the device-mapper table takes it.
    pub dev: String,
}

/// Polls the block devices until one holds the root.
pub fn wait_for_root(
    sys: &mut (impl Files + Console),
    root: &RootAt,
) -> Result<Partition, DiskError> {
    let start = sys.uptime();
    let mut said = false;
    loop {
        let (found, seen) = scan(sys, root);
        if let Some(p) = found {
            return Ok(p);
        }
        if sys.uptime().saturating_sub(start) >= ROOT_WAIT {
            return Err(DiskError::RootNotFound {
                root: *root,
                secs: ROOT_WAIT.as_secs(),
                seen: if seen.is_empty() {
                    "no block devices".into()
                } else {
                    seen.join("; ")
                },
            });
        }
        if !said {
            log(
                sys,
                &format!(
                    "waiting up to {} s for a disk with {root}",
                    ROOT_WAIT.as_secs()
                ),
            );
            said = true;
        }
        sys.sleep(POLL);
    }
}

/// Looks at every whole disk once; returns the partition and, for the
/// error message, what each disk held.
fn scan(sys: &mut (impl Files + Console), root: &RootAt) -> (Option<Partition>, Vec<String>) {
    let mut seen = Vec::new();
    for disk in sys.list_dir(SYS_BLOCK).unwrap_or_default() {
        let base = format!("{SYS_BLOCK}/{disk}");
        if sys.exists(&format!("{base}/partition")) {
            continue;
        }
        let size = sys.read_file(&format!("{base}/size")).unwrap_or_default();
        if size.trim() == "0" {
            continue;
        }
        let found = match root {
            RootAt::Partuuid(p) => number_on_disk(sys, &disk, p),
            RootAt::Mbr(p) => mbr_number(sys, &disk, p),
            RootAt::WholeDisk => {
                let mut magic = [0u8; 4];
                match read_exact(sys, &format!("/dev/{disk}"), 0, &mut magic) {
                    Ok(()) if &magic == b"hsqs" => match whole(sys, &disk) {
                        Some(p) => return (Some(p), seen),
                        None => seen.push(format!("{disk}: no dev number in sysfs")),
                    },
                    Ok(()) => seen.push(format!("{disk}: no squashfs at its start")),
                    Err(e) => seen.push(format!("{disk}: {e}")),
                }
                continue;
            }
        };
        match found {
            Ok(Some(number)) => match partition_named(sys, &disk, number) {
                Some(p) => return (Some(p), seen),
                None => seen.push(format!(
                    "{disk}: partition {number} matches but the kernel shows no such partition yet"
                )),
            },
            Ok(None) => seen.push(format!("{disk}: {} without it", table_name(root))),
            Err(e) => seen.push(format!("{disk}: {e}")),
        }
    }
    (None, seen)
}

fn number_on_disk(
    sys: &mut impl Files,
    disk: &str,
    partuuid: &Guid,
) -> Result<Option<u32>, ScanError> {
    let table = read_gpt(sys, disk)?;
    Ok(table
        .parts
        .iter()
        .find(|p| p.unique_guid == *partuuid)
        .map(|p| p.slot))
}

/// The GPT of the whole disk `disk` (`vda`), read at its logical sector
/// size; a torn primary falls back to the backup at the disk's end.
pub fn read_gpt(sys: &mut impl Files, disk: &str) -> Result<Table, ScanError> {
    let sector = logical_sector(sys, disk);
    let disk_sectors = disk_bytes(sys, disk).map(|b| b / sector);
    let path = format!("/dev/{disk}");
    let mut read_at = |offset: u64, buf: &mut [u8]| read_exact(sys, &path, offset, buf);
    gpt_scan::read_table(&mut read_at, sector, disk_sectors)
}

fn logical_sector(sys: &mut impl Files, disk: &str) -> u64 {
    sys.read_file(&format!("{SYS_BLOCK}/{disk}/queue/logical_block_size"))
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| (512..=4096).contains(s))
        .unwrap_or(512)
}

/// A block device's size in bytes: sysfs counts 512-byte units whatever
/// the logical sector size.
pub fn disk_bytes(sys: &mut impl Files, name: &str) -> Option<u64> {
    sys.read_file(&format!("{SYS_BLOCK}/{name}/size"))
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?
        .checked_mul(512)
}

/// The whole disk a partition (`vda2`) belongs to: the entry of
/// /sys/class/block with a child of that name.
pub fn disk_of(sys: &mut impl Files, partition: &str) -> Option<String> {
    let disks = sys.list_dir(SYS_BLOCK).ok()?;
    disks.into_iter().find(|disk| {
        disk != partition
            && sys
                .list_dir(&format!("{SYS_BLOCK}/{disk}"))
                .is_ok_and(|children| children.iter().any(|c| c == partition))
    })
}

fn table_name(root: &RootAt) -> &'static str {
    match root {
        RootAt::Mbr(_) => "MBR",
        _ => "GPT",
    }
}

/// The partition number on `disk` when its MBR has `wanted`'s disk
/// signature and a used entry with its number.
fn mbr_number(
    sys: &mut (impl Files + Console),
    disk: &str,
    wanted: &PartUuid,
) -> Result<Option<u32>, ScanError> {
    let mut sector = [0u8; 512];
    read_exact(sys, &format!("/dev/{disk}"), 0, &mut sector).map_err(|source| ScanError::Read {
        what: "MBR",
        offset: 0,
        source,
    })?;
    let table = match mbr::parse(&sector) {
        Ok(t) if !t.is_protective() => t,
        _ => return Ok(None),
    };
    Ok((table.disk_signature == wanted.disk_signature
        && table.entries.iter().any(|e| e.number == wanted.number))
    .then_some(u32::from(wanted.number)))
}

pub fn read_exact(sys: &mut impl Files, path: &str, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        let n = sys.read_at(path, offset + done as u64, &mut buf[done..])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        done += n;
    }
    Ok(())
}

/// A whole disk as the root device.
fn whole(sys: &mut (impl Files + Console), disk: &str) -> Option<Partition> {
    let dev = sys.read_file(&format!("{SYS_BLOCK}/{disk}/dev")).ok()?;
    Some(Partition {
        name: disk.to_string(),
        dev: dev.trim().to_string(),
    })
}

/// Partition `number` of `disk` as sysfs names it: `vda2`, `nvme0n1p2`,
/// `mmcblk0p2` (the suffix rules differ, so it is looked up, not built).
pub fn partition_named(sys: &mut impl Files, disk: &str, number: u32) -> Option<Partition> {
    let base = format!("{SYS_BLOCK}/{disk}");
    for child in sys.list_dir(&base).ok()? {
        let Ok(n) = sys.read_file(&format!("{base}/{child}/partition")) else {
            continue;
        };
        if n.trim().parse::<u32>().ok() != Some(number) {
            continue;
        }
        let dev = sys.read_file(&format!("{SYS_BLOCK}/{child}/dev")).ok()?;
        return Some(Partition {
            name: child,
            dev: dev.trim().to_string(),
        });
    }
    None
}
