//! Block devices as `/sys/class/block` describes them: the name behind a
//! device number, a partition's disk, a disk's partitions, what a
//! device-mapper device is built on and what holds a device. The root is
//! a parameter, so tests build a fake tree in a temporary folder.

use std::collections::BTreeSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A device number, `MAJOR:MINOR` as sysfs and mountinfo write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevId {
    pub major: u32,
    pub minor: u32,
}

impl FromStr for DevId {
    type Err = ();

    fn from_str(s: &str) -> Result<DevId, ()> {
        let (major, minor) = s.trim().split_once(':').ok_or(())?;
        Ok(DevId {
            major: major.parse().map_err(|_| ())?,
            minor: minor.parse().map_err(|_| ())?,
        })
    }
}

impl fmt::Display for DevId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// How deep device-mapper stacks are followed (dm-crypt on LVM on RAID...).
const MAX_DEPTH: usize = 16;

/// `/sys` or a fake of it.
#[derive(Debug, Clone)]
pub struct Sysfs {
    root: PathBuf,
}

impl Sysfs {
    pub fn new(root: impl Into<PathBuf>) -> Sysfs {
        Sysfs { root: root.into() }
    }

    /// The folder that lists every block device.
    pub fn class_dir(&self) -> PathBuf {
        self.root.join("class/block")
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.class_dir().join(name)
    }

    /// The names of every block device and partition.
    pub fn names(&self) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(self.class_dir())? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    pub fn exists(&self, name: &str) -> bool {
        !name.is_empty() && !name.contains('/') && self.dir(name).exists()
    }

    /// A trimmed, non-empty attribute of a device (`size`, `device/model`).
    pub fn attr(&self, name: &str, rel: &str) -> Option<String> {
        let text = std::fs::read_to_string(self.dir(name).join(rel)).ok()?;
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_string())
    }

    pub fn dev(&self, name: &str) -> Option<DevId> {
        self.attr(name, "dev")?.parse().ok()
    }

    /// The device with number `dev`, if sysfs lists one.
    pub fn name_of(&self, dev: DevId) -> io::Result<Option<String>> {
        Ok(self
            .names()?
            .into_iter()
            .find(|name| self.dev(name) == Some(dev)))
    }

    /// The device a device-mapper name (`/dev/mapper/NAME`) stands for.
    pub fn dm_named(&self, dm_name: &str) -> Option<String> {
        self.names()
            .ok()?
            .into_iter()
            .find(|name| self.attr(name, "dm/name").as_deref() == Some(dm_name))
    }

    pub fn is_partition(&self, name: &str) -> bool {
        self.dir(name).join("partition").exists()
    }

    /// The disk a partition is on (its folder's parent), else `name` itself.
    pub fn disk_of(&self, name: &str) -> String {
        if !self.is_partition(name) {
            return name.to_string();
        }
        std::fs::canonicalize(self.dir(name))
            .ok()
            .and_then(|p| Some(p.parent()?.file_name()?.to_string_lossy().into_owned()))
            .unwrap_or_else(|| name.to_string())
    }

    /// The partitions of a disk: its subfolders that have a `partition` file.
    pub fn partitions(&self, disk: &str) -> Vec<String> {
        let mut parts: Vec<String> = std::fs::read_dir(self.dir(disk))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join("partition").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        parts.sort();
        parts
    }

    fn listed(&self, name: &str, folder: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir(name).join(folder))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// What a device-mapper or md device is built on.
    pub fn slaves(&self, name: &str) -> Vec<String> {
        self.listed(name, "slaves")
    }

    /// What is built on a device (device-mapper, md).
    pub fn holders(&self, name: &str) -> Vec<String> {
        self.listed(name, "holders")
    }

    /// The whole disks under a device: through device-mapper and md slaves,
    /// and from a partition to its disk.
    pub fn whole_disks(&self, name: &str) -> BTreeSet<String> {
        let mut disks = BTreeSet::new();
        self.collect_disks(name, 0, &mut disks);
        disks
    }

    fn collect_disks(&self, name: &str, depth: usize, disks: &mut BTreeSet<String>) {
        let slaves = self.slaves(name);
        if slaves.is_empty() || depth >= MAX_DEPTH {
            disks.insert(self.disk_of(name));
            return;
        }
        for slave in slaves {
            self.collect_disks(&slave, depth + 1, disks);
        }
    }

    /// The device a mount source or swap path such as `/dev/sdb1`,
    /// `/dev/mapper/root` or `/dev/disk/by-uuid/...` names, if sysfs knows it.
    pub fn device_of_path(&self, source: &str) -> Option<String> {
        if !source.starts_with("/dev/") {
            return None;
        }
        let real = std::fs::canonicalize(source).unwrap_or_else(|_| PathBuf::from(source));
        let name = Path::new(&real).file_name()?.to_string_lossy().into_owned();
        if self.exists(&name) {
            return Some(name);
        }
        let dm = source.strip_prefix("/dev/mapper/")?;
        self.dm_named(dm)
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! A fake `/sys` in a temporary folder: devices under `devices/`, with
    //! `class/block/NAME` links as the kernel makes them.

    use std::path::Path;

    pub fn device(root: &Path, path: &str, dev: &str) {
        let dir = root.join("devices").join(path);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("dev"), format!("{dev}\n")).unwrap();
        let name = Path::new(path).file_name().unwrap();
        let class = root.join("class/block");
        std::fs::create_dir_all(&class).unwrap();
        std::os::unix::fs::symlink(format!("../../devices/{path}"), class.join(name)).unwrap();
    }

    pub fn disk(root: &Path, name: &str, dev: &str) {
        device(root, &format!("pci/block/{name}"), dev);
    }

    pub fn partition(root: &Path, disk: &str, name: &str, dev: &str) {
        device(root, &format!("pci/block/{disk}/{name}"), dev);
        let dir = root.join(format!("devices/pci/block/{disk}/{name}"));
        std::fs::write(dir.join("partition"), "1\n").unwrap();
    }

    pub fn attr(root: &Path, name: &str, rel: &str, value: &str) {
        let file = root.join("class/block").join(name).join(rel);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, value).unwrap();
    }

    /// `upper` is built on `lower` (a device-mapper table).
    pub fn stack(root: &Path, upper: &str, lower: &str) {
        let class = root.join("class/block");
        std::fs::create_dir_all(class.join(upper).join("slaves")).unwrap();
        std::fs::write(class.join(upper).join("slaves").join(lower), "").unwrap();
        std::fs::create_dir_all(class.join(lower).join("holders")).unwrap();
        std::fs::write(class.join(lower).join("holders").join(upper), "").unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sys() -> (tempfile::TempDir, Sysfs) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fake::disk(root, "sda", "8:0");
        fake::partition(root, "sda", "sda1", "8:1");
        fake::partition(root, "sda", "sda2", "8:2");
        fake::disk(root, "sdb", "8:16");
        fake::disk(root, "nvme0n1", "259:0");
        fake::partition(root, "nvme0n1", "nvme0n1p1", "259:1");
        fake::device(root, "virtual/block/dm-0", "253:0");
        fake::device(root, "virtual/block/dm-1", "253:1");
        fake::attr(root, "dm-1", "dm/name", "vg-root\n");
        fake::stack(root, "dm-0", "sda2");
        fake::stack(root, "dm-1", "dm-0");
        fake::stack(root, "dm-1", "nvme0n1p1");
        let sys = Sysfs::new(root);
        (dir, sys)
    }

    #[test]
    fn a_device_number_is_found_by_its_name_and_back() {
        let (_dir, sys) = sys();
        assert_eq!(sys.dev("sda1"), Some(DevId { major: 8, minor: 1 }));
        assert_eq!(
            sys.name_of("8:16".parse().unwrap()).unwrap(),
            Some("sdb".into())
        );
        assert_eq!(sys.name_of("9:9".parse().unwrap()).unwrap(), None);
    }

    #[test]
    fn a_partition_leads_to_its_disk_and_a_disk_lists_its_partitions() {
        let (_dir, sys) = sys();
        assert_eq!(sys.disk_of("sda2"), "sda");
        assert_eq!(sys.disk_of("sdb"), "sdb");
        assert_eq!(sys.partitions("sda"), ["sda1", "sda2"]);
        assert!(sys.partitions("sdb").is_empty());
    }

    #[test]
    fn a_stack_of_device_mapper_devices_leads_to_every_disk_under_it() {
        let (_dir, sys) = sys();
        let disks: Vec<_> = sys.whole_disks("dm-1").into_iter().collect();
        assert_eq!(disks, ["nvme0n1", "sda"]);
        assert_eq!(sys.holders("sda2"), ["dm-0"]);
    }

    #[test]
    fn a_mapper_path_is_found_by_its_device_mapper_name() {
        let (_dir, sys) = sys();
        assert_eq!(
            sys.device_of_path("/dev/mapper/vg-root"),
            Some("dm-1".into())
        );
        assert_eq!(sys.device_of_path("overlay"), None);
    }
}
