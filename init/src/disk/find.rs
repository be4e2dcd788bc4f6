//! Finding the root partition of a disk boot: every whole disk's GPT is
//! read and the partition with the wanted unique GUID is looked up by
//! number in sysfs, polled until the drivers have probed the disks.

use std::io;
use std::time::Duration;

use crate::disk::args::RootAt;
use crate::disk::gpt_scan::{self, Guid, ScanError};
use crate::disk::{DiskError, POLL};
use crate::log::log;
use crate::sys::{Console, Files};

/// How long the root partition may take to appear (driver probing).
pub const ROOT_WAIT: Duration = Duration::from_secs(10);

const SYS_BLOCK: &str = "/sys/class/block";

/// The root partition as the kernel knows it.
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
        let partuuid = match root {
            RootAt::Partuuid(p) => p,
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
        match number_on_disk(sys, &disk, partuuid) {
            Ok(Some(number)) => match partition_named(sys, &disk, number) {
                Some(p) => return (Some(p), seen),
                None => seen.push(format!(
                    "{disk}: partition {number} matches but the kernel shows no such partition yet"
                )),
            },
            Ok(None) => seen.push(format!("{disk}: GPT without it")),
            Err(e) => seen.push(format!("{disk}: {e}")),
        }
    }
    (None, seen)
}

fn number_on_disk(
    sys: &mut (impl Files + Console),
    disk: &str,
    partuuid: &Guid,
) -> Result<Option<u32>, ScanError> {
    let sector = sys
        .read_file(&format!("{SYS_BLOCK}/{disk}/queue/logical_block_size"))
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|s| (512..=4096).contains(s))
        .unwrap_or(512);
    let path = format!("/dev/{disk}");
    let mut read_at = |offset: u64, buf: &mut [u8]| read_exact(sys, &path, offset, buf);
    gpt_scan::partition_number(&mut read_at, sector, partuuid)
}

fn read_exact(
    sys: &mut (impl Files + Console),
    path: &str,
    offset: u64,
    buf: &mut [u8],
) -> io::Result<()> {
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
fn partition_named(sys: &mut (impl Files + Console), disk: &str, number: u32) -> Option<Partition> {
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
