//! Which of `cairn build`'s outputs `cairn run qemu TARGET` boots.
//!
//! The rule: a TARGET that is a file is booted as what its contents say
//! (GPT disk, qcow2 disk, UKI or ISO). Otherwise TARGET is a NAME prefix
//! and the first output that exists wins, in this order: NAME-kernel (with
//! NAME-initrd.img and NAME-cmdline), NAME-efi.raw, NAME-efi.qcow2,
//! NAME.efi, NAME-efi.iso, NAME-bios.raw, NAME-bios.qcow2, NAME-bios.iso,
//! NAME-rpi3.img, NAME-rpi4.img, then LinuxKit's names: NAME-efi.img, NAME-bios.img, NAME.qcow2, NAME.iso. kernel+initrd comes first because it boots fastest and was the
//! only output before disks; boot a disk built beside it by naming its file.

use std::path::{Path, PathBuf};

use super::RunError;
use super::image::{self, Kind};

/// A bootable output found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// NAME-kernel, NAME-initrd.img and NAME-cmdline (their existence is
    /// checked when they are read).
    Kernel {
        kernel: PathBuf,
        initrd: PathBuf,
        cmdline: PathBuf,
        /// NAME-squashfs.img of `-f kernel+squashfs`, when it is there:
        /// attached read-only as the first disk.
        squashfs: Option<PathBuf>,
    },
    /// A disk image or UKI file.
    File { path: PathBuf, kind: Kind },
}

/// `name` with `suffix` appended to its last component.
pub fn sibling(name: &Path, suffix: &str) -> PathBuf {
    let mut s = name.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// The candidates for a NAME, in the order they are tried.
pub fn candidates(name: &Path) -> Vec<PathBuf> {
    [
        "-kernel",
        "-efi.raw",
        "-efi.qcow2",
        ".efi",
        "-efi.iso",
        "-bios.raw",
        "-bios.qcow2",
        "-bios.iso",
        "-rpi3.img",
        "-rpi4.img",
        // LinuxKit's names for raw-efi, raw-bios, qcow2-bios and iso-bios,
        // so its outputs (or cairn's renamed to them) boot by NAME too.
        "-efi.img",
        "-bios.img",
        ".qcow2",
        ".iso",
    ]
    .iter()
    .map(|suffix| sibling(name, suffix))
    .collect()
}

/// Finds what `target` names; see the module documentation for the rule.
pub fn resolve(target: &Path) -> Result<Target, RunError> {
    if target.is_file() {
        let kind = image::sniff(target)?;
        return Ok(Target::File {
            path: target.to_path_buf(),
            kind,
        });
    }
    let tried = candidates(target);
    let Some((index, found)) = tried.iter().enumerate().find(|(_, p)| p.is_file()) else {
        return Err(RunError::NothingToBoot {
            target: target.to_path_buf(),
            tried,
        });
    };
    if index == 0 {
        let squashfs = sibling(target, "-squashfs.img");
        return Ok(Target::Kernel {
            kernel: found.clone(),
            initrd: sibling(target, "-initrd.img"),
            cmdline: sibling(target, "-cmdline"),
            squashfs: squashfs.exists().then_some(squashfs),
        });
    }
    let kind = image::sniff(found)?;
    Ok(Target::File {
        path: found.clone(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpt_header_only() -> Vec<u8> {
        let mut disk = vec![0u8; 1024];
        disk[512..520].copy_from_slice(b"EFI PART");
        disk
    }

    #[test]
    fn a_name_prefers_the_kernel_triple_over_a_disk_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let name = dir.path().join("sys");
        std::fs::write(sibling(&name, "-efi.raw"), gpt_header_only()).unwrap();
        std::fs::write(sibling(&name, "-kernel"), b"k").unwrap();
        assert!(matches!(resolve(&name), Ok(Target::Kernel { .. })));
    }

    #[test]
    fn a_name_with_only_a_raw_disk_boots_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let name = dir.path().join("sys");
        std::fs::write(sibling(&name, "-efi.raw"), gpt_header_only()).unwrap();
        assert_eq!(
            resolve(&name).unwrap(),
            Target::File {
                path: sibling(&name, "-efi.raw"),
                kind: Kind::RawDisk
            }
        );
    }

    #[test]
    fn a_name_finds_a_disk_under_linuxkits_name_after_cairns() {
        let dir = tempfile::tempdir().unwrap();
        let name = dir.path().join("sys");
        std::fs::write(sibling(&name, "-bios.img"), gpt_header_only()).unwrap();
        assert_eq!(
            resolve(&name).unwrap(),
            Target::File {
                path: sibling(&name, "-bios.img"),
                kind: Kind::RawDisk
            }
        );
        std::fs::write(sibling(&name, "-bios.raw"), gpt_header_only()).unwrap();
        assert!(matches!(
            resolve(&name).unwrap(),
            Target::File { path, .. } if path == sibling(&name, "-bios.raw")
        ));
    }

    #[test]
    fn a_file_is_booted_as_its_contents_say_whatever_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.qcow2");
        std::fs::write(&path, gpt_header_only()).unwrap();
        assert!(matches!(
            resolve(&path),
            Ok(Target::File {
                kind: Kind::RawDisk,
                ..
            })
        ));
    }

    #[test]
    fn nothing_found_lists_every_path_looked_for() {
        let dir = tempfile::tempdir().unwrap();
        let name = dir.path().join("sys");
        let text = resolve(&name).unwrap_err().to_string();
        for suffix in [
            "sys-kernel",
            "sys-efi.raw",
            "sys-efi.qcow2",
            "sys.efi",
            "sys-bios.iso",
            "sys-efi.img",
            "sys.iso",
        ] {
            assert!(text.contains(suffix), "{suffix} missing from: {text}");
        }
    }
}
