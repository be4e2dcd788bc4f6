//! The `data` section (cairn only): a persistent data partition on disk
//! images. The disk carries it as its last partition, empty; on first boot
//! the init grows it to the end of the device, formats it ext4 and mounts
//! it where `mount` says, before any container runs. It survives every
//! update of the root slots.

use serde::Deserialize;

use super::diag::Location;
use crate::size::{SIZE_HELP, parse_size};

/// The partition's size in the image when `data.size` is not set: the init
/// grows it to the end of the disk anyway.
pub const DEFAULT_SIZE: u64 = 64 << 20;
/// The smallest data partition: an ext4 with a journal needs a few MiB.
pub const MIN_SIZE: u64 = 16 << 20;
/// Where nothing may be mounted over: the init's own mounts.
const RESERVED: [&str; 6] = ["/dev", "/proc", "/sys", "/run", "/tmp", "/containers"];

/// `data:` as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Data {
    /// Where the data partition is mounted, e.g. `/var/lib`.
    pub mount: Option<String>,
    /// The partition's size in the image (`256M`, `1G`); it grows to the
    /// end of the disk on first boot.
    pub size: Option<String>,
    #[serde(skip)]
    pub location: Location,
}

impl Data {
    /// The mount point, once the checker has accepted it.
    pub fn mount_point(&self) -> Option<&str> {
        self.mount.as_deref().filter(|m| mount_problem(m).is_none())
    }

    /// The partition's size in the image, in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.size
            .as_deref()
            .and_then(parse_size)
            .unwrap_or(DEFAULT_SIZE)
    }
}

/// What is wrong with `data.mount`, if anything.
pub fn mount_problem(path: &str) -> Option<String> {
    if !path.starts_with('/') || path.len() < 2 {
        return Some(format!(
            "{path:?} is not a mount point; give an absolute folder such as /var/lib"
        ));
    }
    if path.ends_with('/')
        || path.contains("//")
        || path.split('/').any(|c| c == "." || c == "..")
        || path.chars().any(char::is_control)
    {
        return Some(format!(
            "{path:?} is not a plain absolute path; write it like /var/lib"
        ));
    }
    RESERVED
        .iter()
        .find(|r| path == **r || path.starts_with(&format!("{r}/")))
        .map(|r| format!("{path:?} is under {r}, which the init mounts itself; pick another folder such as /var/lib"))
}

/// What is wrong with `data.size`, if anything.
pub fn size_problem(text: &str) -> Option<String> {
    match parse_size(text) {
        None => Some(format!("{text:?} is not a size; {SIZE_HELP}")),
        Some(n) if n < MIN_SIZE => Some(format!(
            "{text:?} is too small for the data partition; give at least {}M",
            MIN_SIZE >> 20
        )),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mount_point_must_be_a_plain_absolute_folder_outside_the_inits_mounts() {
        assert_eq!(mount_problem("/var/lib"), None);
        assert_eq!(mount_problem("/data"), None);
        for bad in [
            "var/lib",
            "/",
            "/var/lib/",
            "/var/../etc",
            "/run/x",
            "/proc",
            "/a//b",
        ] {
            assert!(mount_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn a_data_size_below_sixteen_mib_or_without_a_unit_it_knows_is_refused() {
        assert_eq!(size_problem("256M"), None);
        assert!(size_problem("8M").unwrap().contains("at least 16M"));
        assert!(size_problem("lots").unwrap().contains("not a size"));
        let d = Data {
            size: Some("1G".into()),
            ..Data::default()
        };
        assert_eq!(d.size_bytes(), 1 << 30);
        assert_eq!(Data::default().size_bytes(), DEFAULT_SIZE);
    }
}
