//! The device to write to: what it is (its model, size and serial from
//! sysfs), and whether anything uses it — a mounted partition, swap, a
//! device-mapper device built on it, or the running system's root.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::FlashError;
use super::identity;
use super::mounts::{self, Mount};
use super::sysfs::{DevId, Sysfs};

/// Where the facts about this machine come from; tests point it at fakes.
#[derive(Debug, Clone)]
pub struct Host {
    pub sys: PathBuf,
    pub mountinfo: PathBuf,
    pub swaps: PathBuf,
}

impl Host {
    /// The running system.
    pub fn system() -> Host {
        Host {
            sys: "/sys".into(),
            mountinfo: "/proc/self/mountinfo".into(),
            swaps: "/proc/swaps".into(),
        }
    }
}

/// What kind of file the target is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A block device: its sysfs name and number.
    Block { name: String, dev: DevId },
    /// A character device (only with --force; its size is unknown).
    Char,
    /// A regular file (only with --force): written in place, extended as
    /// needed, never truncated.
    File,
    /// No file yet (only with --force): created as a regular file.
    New,
}

/// The target, inspected but not yet opened for writing.
#[derive(Debug, Clone)]
pub struct Target {
    pub path: PathBuf,
    pub kind: Kind,
    /// Its size now, where one can tell (seeking to its end).
    pub size: Option<u64>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub removable: bool,
    /// (device, inode) of a file or (number, 0) of a device, to tell the
    /// image from it.
    pub(super) id: Option<(u64, u64)>,
}

impl Target {
    /// One line for people: "/dev/sdb: SanDisk Ultra, 31.9 GB (29.7 GiB), serial 4C53, removable".
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match &self.kind {
            Kind::Block { .. } => {
                parts.push(self.model.clone().unwrap_or_else(|| "model unknown".into()));
            }
            Kind::Char => parts.push("character device".into()),
            Kind::File => parts.push("regular file".into()),
            Kind::New => parts.push("regular file, to be created".into()),
        }
        match (self.size, &self.kind) {
            (_, Kind::New) => {}
            (Some(size), _) => parts.push(super::human(size)),
            (None, _) => parts.push("size unknown".into()),
        }
        if let Kind::Block { .. } = self.kind {
            parts.push(match &self.serial {
                Some(s) => format!("serial {s}"),
                None => "serial unknown".into(),
            });
        }
        if self.removable {
            parts.push("removable".into());
        }
        format!("{}: {}", self.path.display(), parts.join(", "))
    }
}

/// Looks at `path` and refuses what must not be written: a folder, anything
/// but a block device without `force`, and a block device that is in use or
/// holds the running system.
pub fn inspect(path: &Path, force: bool, host: &Host) -> Result<Target, FlashError> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound && force => {
            return Ok(Target {
                path: path.to_path_buf(),
                kind: Kind::New,
                size: Some(0),
                model: None,
                serial: None,
                removable: false,
                id: None,
            });
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(FlashError::TargetMissing {
                path: path.to_path_buf(),
                source: e,
            });
        }
        Err(e) => return Err(open_error(path, e)),
    };
    let file_type = meta.file_type();
    // The same identity as `Image` keeps: a device by its number.
    let id = Some(if file_type.is_block_device() {
        (meta.rdev(), 0)
    } else {
        (meta.dev(), meta.ino())
    });
    let plain = |kind, size| Target {
        path: path.to_path_buf(),
        kind,
        size,
        model: None,
        serial: None,
        removable: false,
        id,
    };
    if file_type.is_dir() {
        return Err(FlashError::Folder {
            path: path.to_path_buf(),
        });
    }
    if !file_type.is_block_device() {
        let kind = if file_type.is_file() {
            "a regular file"
        } else if file_type.is_char_device() {
            "a character device"
        } else {
            "a pipe or a socket"
        };
        if !force {
            return Err(FlashError::NotABlockDevice {
                path: path.to_path_buf(),
                kind,
            });
        }
        return Ok(if file_type.is_file() {
            plain(Kind::File, Some(meta.len()))
        } else {
            plain(Kind::Char, None)
        });
    }
    block(path, meta.rdev(), id, host)
}

/// The checks of a block device: the root's disk, anything using it, its
/// size; then its model and serial.
fn block(
    path: &Path,
    rdev: u64,
    id: Option<(u64, u64)>,
    host: &Host,
) -> Result<Target, FlashError> {
    let dev = DevId {
        major: rustix::fs::major(rdev),
        minor: rustix::fs::minor(rdev),
    };
    let sys = Sysfs::new(&host.sys);
    let inspect_err = |what: PathBuf| {
        move |source| FlashError::Inspect {
            path: path.to_path_buf(),
            what,
            source,
        }
    };
    let name = sys
        .name_of(dev)
        .map_err(inspect_err(sys.class_dir()))?
        .ok_or_else(|| {
            inspect_err(sys.class_dir())(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no block device {dev} listed"),
            ))
        })?;
    let mountinfo = read(&host.mountinfo).map_err(inspect_err(host.mountinfo.clone()))?;
    let mounts = mounts::parse_mountinfo(&mountinfo);
    // Without swap support the kernel has no /proc/swaps: nothing swaps.
    let swaps = read(&host.swaps)
        .map(|t| mounts::parse_swaps(&t))
        .unwrap_or_default();

    let root = root_disks(&mounts, &sys).map_err(inspect_err(sys.class_dir()))?;
    if let Some(disk) = sys.whole_disks(&name).intersection(&root).next() {
        return Err(FlashError::RootDisk {
            path: path.to_path_buf(),
            disk: format!("/dev/{disk}"),
        });
    }
    let uses = uses(&name, &mounts, &swaps, &sys);
    if !uses.is_empty() {
        return Err(FlashError::InUse {
            path: path.to_path_buf(),
            uses,
        });
    }

    let size = File::open(path)
        .and_then(|mut f| f.seek(SeekFrom::End(0)))
        .map_err(|e| open_error(path, e))?;
    let (model, serial) = identity::of(&sys, &name);
    Ok(Target {
        path: path.to_path_buf(),
        removable: sys.attr(&sys.disk_of(&name), "removable").as_deref() == Some("1"),
        kind: Kind::Block { name, dev },
        size: Some(size),
        model,
        serial,
        id,
    })
}

fn read(path: &Path) -> io::Result<String> {
    std::fs::read_to_string(path)
}

fn open_error(path: &Path, source: io::Error) -> FlashError {
    FlashError::TargetOpen {
        path: path.to_path_buf(),
        source,
    }
}

/// The disks under the running system's root file system (the last mount
/// on `/`): by its device number, else by the device its source names
/// (btrfs reports 0:N). Empty when the root is no block device (overlay,
/// tmpfs, NFS).
pub fn root_disks(mounts: &[Mount], sys: &Sysfs) -> io::Result<BTreeSet<String>> {
    let Some(root) = mounts.iter().rev().find(|m| m.mount_point == "/") else {
        return Ok(BTreeSet::new());
    };
    let name = match sys.name_of(root.dev)? {
        Some(name) => Some(name),
        None => sys.device_of_path(&root.source),
    };
    Ok(name.map(|n| sys.whole_disks(&n)).unwrap_or_default())
}

/// Everything that uses `name` or one of its partitions: mounts, swap and
/// device-mapper or md devices built on them, one phrase each.
pub fn uses(name: &str, mounts: &[Mount], swaps: &[String], sys: &Sysfs) -> Vec<String> {
    let mut devices = vec![name.to_string()];
    devices.extend(sys.partitions(name));
    let mut found = Vec::new();
    for device in &devices {
        let dev = sys.dev(device);
        for m in mounts {
            let by_number = Some(m.dev) == dev;
            if by_number || sys.device_of_path(&m.source).as_deref() == Some(device) {
                found.push(format!("/dev/{device} is mounted on {}", m.mount_point));
            }
        }
        for swap in swaps {
            if sys.device_of_path(swap).as_deref() == Some(device) {
                found.push(format!("/dev/{device} is used as swap"));
            }
        }
        for holder in sys.holders(device) {
            let named = sys
                .attr(&holder, "dm/name")
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            found.push(format!("/dev/{device} is held by /dev/{holder}{named}"));
        }
    }
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::super::sysfs::fake;
    use super::*;

    fn machine() -> (tempfile::TempDir, Sysfs) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fake::disk(root, "sda", "8:0");
        fake::partition(root, "sda", "sda1", "8:1");
        fake::partition(root, "sda", "sda2", "8:2");
        fake::disk(root, "sdb", "8:16");
        fake::partition(root, "sdb", "sdb1", "8:17");
        fake::disk(root, "mmcblk0", "179:0");
        fake::partition(root, "mmcblk0", "mmcblk0p1", "179:1");
        fake::device(root, "virtual/block/dm-0", "253:0");
        fake::attr(root, "dm-0", "dm/name", "cryptroot");
        fake::stack(root, "dm-0", "sda2");
        let sys = Sysfs::new(root);
        (dir, sys)
    }

    fn mount(dev: &str, at: &str, source: &str) -> Mount {
        Mount {
            dev: dev.parse().unwrap(),
            mount_point: at.into(),
            fstype: "ext4".into(),
            source: source.into(),
        }
    }

    #[test]
    fn a_root_on_an_encrypted_partition_is_traced_to_its_disk() {
        let (_dir, sys) = machine();
        let mounts = [
            mount("0:21", "/proc", "proc"),
            mount("253:0", "/", "/dev/mapper/cryptroot"),
        ];
        assert_eq!(
            root_disks(&mounts, &sys)
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            ["sda"]
        );
    }

    #[test]
    fn a_btrfs_root_with_an_anonymous_device_number_is_found_by_its_source() {
        let (_dir, sys) = machine();
        let mounts = [mount("0:45", "/", "/dev/mmcblk0p1")];
        assert_eq!(
            root_disks(&mounts, &sys)
                .unwrap()
                .into_iter()
                .collect::<Vec<_>>(),
            ["mmcblk0"]
        );
    }

    #[test]
    fn an_overlay_root_holds_no_disk() {
        let (_dir, sys) = machine();
        let mounts = [mount("0:50", "/", "overlay")];
        assert!(root_disks(&mounts, &sys).unwrap().is_empty());
    }

    #[test]
    fn a_mounted_partition_swap_and_a_holder_each_count_as_a_use() {
        let (_dir, sys) = machine();
        let mounts = [
            mount("8:17", "/media/card", "/dev/sdb1"),
            mount("253:0", "/", "/dev/mapper/cryptroot"),
        ];
        assert_eq!(
            uses("sdb", &mounts, &[], &sys),
            ["/dev/sdb1 is mounted on /media/card"]
        );
        assert_eq!(
            uses("mmcblk0", &[], &["/dev/mmcblk0p1".into()], &sys),
            ["/dev/mmcblk0p1 is used as swap"]
        );
        assert_eq!(
            uses("sda", &[], &[], &sys),
            ["/dev/sda2 is held by /dev/dm-0 (cryptroot)"]
        );
        assert!(uses("sdb", &[], &[], &sys).is_empty());
    }

    #[test]
    fn a_device_mounted_itself_counts_as_a_use() {
        let (_dir, sys) = machine();
        let mounts = [mount("8:16", "/mnt", "/dev/sdb")];
        assert_eq!(
            uses("sdb", &mounts, &[], &sys),
            ["/dev/sdb is mounted on /mnt"]
        );
    }
}
