//! UEFI firmware for disk and UKI boots: Debian's OVMF (x86_64) and AAVMF
//! (arm64). The code image is attached read-only; the variable store is
//! copied per boot so boot entries the firmware writes never leak into the
//! next boot or into the installed template.
//!
//! On arm64 `virt` both flash devices are 64 MiB and QEMU refuses smaller
//! images. Debian's AAVMF files already have that size; files from
//! elsewhere (`--firmware`) are padded in the per-boot copy.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::RunError;
use crate::arch::Arch;

/// The flash size QEMU's arm64 `virt` machine requires.
pub const VIRT_FLASH_SIZE: u64 = 64 << 20;

/// Where the firmware comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub code: PathBuf,
    /// The variable store template, copied per boot.
    pub vars: PathBuf,
    /// The Debian package that installs the default files.
    pub package: &'static str,
}

/// The firmware files ready for one boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firmware {
    /// Attached read-only.
    pub code: PathBuf,
    /// This boot's writable copy of the variable store.
    pub vars: PathBuf,
}

/// Debian's firmware for `arch`, with `code`/`vars` overriding either file.
pub fn source(arch: Arch, code: Option<&Path>, vars: Option<&Path>) -> Source {
    let (dir, default_code, default_vars, package) = match arch {
        Arch::Amd64 => (
            "/usr/share/OVMF",
            "OVMF_CODE_4M.fd",
            "OVMF_VARS_4M.fd",
            "ovmf",
        ),
        Arch::Arm64 => (
            "/usr/share/AAVMF",
            "AAVMF_CODE.fd",
            "AAVMF_VARS.fd",
            "qemu-efi-aarch64",
        ),
    };
    Source {
        code: code.map_or_else(|| Path::new(dir).join(default_code), Path::to_path_buf),
        vars: vars.map_or_else(|| Path::new(dir).join(default_vars), Path::to_path_buf),
        package,
    }
}

fn missing<'a>(path: &'a Path, package: &'static str) -> impl FnOnce(io::Error) -> RunError + 'a {
    move |source| RunError::NoFirmware {
        path: path.to_path_buf(),
        package,
        source,
    }
}

fn copy_failed(path: &Path) -> impl FnOnce(io::Error) -> RunError + '_ {
    move |source| RunError::WorkDir {
        path: path.to_path_buf(),
        source,
    }
}

/// Copies `from` to `to` as a writable file, at least `min_len` long (the
/// tail is a hole, so padding costs no disk).
fn writable_copy(from: &Path, to: &Path, min_len: u64) -> Result<(), RunError> {
    fs::copy(from, to).map_err(copy_failed(to))?;
    fs::set_permissions(to, fs::Permissions::from_mode(0o644)).map_err(copy_failed(to))?;
    let file = OpenOptions::new()
        .write(true)
        .open(to)
        .map_err(copy_failed(to))?;
    let len = file.metadata().map_err(copy_failed(to))?.len();
    if len < min_len {
        file.set_len(min_len).map_err(copy_failed(to))?;
    }
    Ok(())
}

/// Checks the firmware exists and makes this boot's copies in `work`.
pub fn prepare(arch: Arch, src: &Source, work: &Path) -> Result<Firmware, RunError> {
    let code_len = File::open(&src.code)
        .and_then(|f| f.metadata())
        .map_err(missing(&src.code, src.package))?
        .len();
    File::open(&src.vars).map_err(missing(&src.vars, src.package))?;
    let flash = match arch {
        Arch::Arm64 => VIRT_FLASH_SIZE,
        Arch::Amd64 => 0,
    };
    let code = if code_len < flash {
        let padded = work.join("firmware-code.fd");
        writable_copy(&src.code, &padded, flash)?;
        padded
    } else {
        src.code.clone()
    };
    let vars = work.join("firmware-vars.fd");
    writable_copy(&src.vars, &vars, flash)?;
    Ok(Firmware { code, vars })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_paths_and_packages_are_the_defaults() {
        let x86 = source(Arch::Amd64, None, None);
        assert_eq!(x86.code, Path::new("/usr/share/OVMF/OVMF_CODE_4M.fd"));
        assert_eq!(x86.vars, Path::new("/usr/share/OVMF/OVMF_VARS_4M.fd"));
        assert_eq!(x86.package, "ovmf");
        let arm = source(Arch::Arm64, Some(Path::new("/x/CODE.fd")), None);
        assert_eq!(arm.code, Path::new("/x/CODE.fd"));
        assert_eq!(arm.vars, Path::new("/usr/share/AAVMF/AAVMF_VARS.fd"));
        assert_eq!(arm.package, "qemu-efi-aarch64");
    }

    #[test]
    fn missing_firmware_names_the_file_and_the_package() {
        let work = tempfile::tempdir().unwrap();
        let src = source(Arch::Amd64, Some(&work.path().join("nope.fd")), None);
        let err = prepare(Arch::Amd64, &src, work.path()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("nope.fd") && text.contains("ovmf"), "{text}");
    }

    #[test]
    fn small_arm64_firmware_is_padded_to_the_virt_flash_size_in_the_copy() {
        let work = tempfile::tempdir().unwrap();
        let code = work.path().join("code.fd");
        let vars = work.path().join("vars.fd");
        fs::write(&code, [1u8; 4096]).unwrap();
        fs::write(&vars, [2u8; 4096]).unwrap();
        fs::set_permissions(&vars, fs::Permissions::from_mode(0o444)).unwrap();
        let src = source(Arch::Arm64, Some(&code), Some(&vars));
        let fw = prepare(Arch::Arm64, &src, work.path()).unwrap();
        assert_ne!(fw.code, code);
        for (copy, byte) in [(&fw.code, 1u8), (&fw.vars, 2u8)] {
            let bytes = fs::read(copy).unwrap();
            assert_eq!(bytes.len() as u64, VIRT_FLASH_SIZE);
            assert_eq!(bytes[0], byte);
            assert_eq!(bytes[4096], 0);
        }
        let mode = fs::metadata(&fw.vars).unwrap().permissions().mode();
        assert_eq!(mode & 0o200, 0o200, "the vars copy must be writable");
        assert_eq!(fs::read(&vars).unwrap(), [2u8; 4096], "template untouched");
    }

    #[test]
    fn x86_firmware_code_is_used_in_place_and_only_the_vars_are_copied() {
        let work = tempfile::tempdir().unwrap();
        let code = work.path().join("code.fd");
        let vars = work.path().join("vars.fd");
        fs::write(&code, [1u8; 4096]).unwrap();
        fs::write(&vars, [2u8; 4096]).unwrap();
        let src = source(Arch::Amd64, Some(&code), Some(&vars));
        let fw = prepare(Arch::Amd64, &src, work.path()).unwrap();
        assert_eq!(fw.code, code);
        assert_ne!(fw.vars, vars);
        assert_eq!(fs::read(&fw.vars).unwrap(), [2u8; 4096]);
    }
}
