//! `cairn run`: boots a built system on this machine in QEMU: the
//! kernel+initrd output directly, disk images and UKIs through UEFI
//! firmware, optionally with a software TPM.

pub mod accel;
pub mod console;
pub mod extra_disk;
pub mod firmware;
pub mod gpt;
pub mod image;
pub mod qcow2;
pub mod qemu;
pub mod rpi;
pub mod swtpm;
pub mod target;
#[cfg(test)]
mod test_disks;

use std::io;
use std::path::{Path, PathBuf};

use crate::exit::{Classify, ErrorClass};

fn listed(paths: &[PathBuf]) -> String {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    names.join(", ")
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read {path:?}; build it first with `cairn build -f kernel+initrd`")]
    Missing {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "nothing to boot at {}: looked for {}; build one with `cairn build -f \
         kernel+initrd` (or raw-efi, qcow2-efi, uki, iso-efi), or name the file",
        shown(.target),
        listed(.tried)
    )]
    NothingToBoot {
        target: PathBuf,
        tried: Vec<PathBuf>,
    },
    #[error(
        "{path:?} is not a GPT disk image, a qcow2 image or an EFI application \
         (UKI); `cairn run qemu` boots those, or NAME for NAME-kernel"
    )]
    UnknownFile { path: PathBuf },
    #[error(
        "{path:?} is a bare kernel; pass the NAME it was built as, so \
         NAME-initrd.img and NAME-cmdline come with it"
    )]
    BareKernel { path: PathBuf },
    #[error("{path:?} looks like a Raspberry Pi card but cannot be booted: {why}")]
    BadCard { path: PathBuf, why: String },
    #[error(
        "a Raspberry Pi card boots on QEMU's raspi machines, which have no {what}; drop {flag}"
    )]
    CardOption {
        what: &'static str,
        flag: &'static str,
    },
    #[error("cannot read {path:?}; is it complete?")]
    Unreadable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path:?} is neither an x86_64 bzImage nor an arm64 Image; pass --arch if it is right")]
    UnknownKernel { path: PathBuf },
    #[error("cannot tell which architecture {path:?} is for ({why}); pass --arch")]
    UnknownArch { path: PathBuf, why: String },
    #[error("{path:?} is built for {found}, not {asked}")]
    WrongArch {
        path: PathBuf,
        found: &'static str,
        asked: &'static str,
    },
    #[error("`--disk {spec}`: {why}; write FILE[,size=4G][,format=raw|qcow2]")]
    BadDisk { spec: String, why: String },
    #[error("the disk {path:?} does not exist; give a size to create it empty: --disk {}", disk_hint(.path))]
    NoDisk { path: PathBuf },
    #[error("cannot create the disk {path:?}; check the folder and free space")]
    CreateDisk {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`--publish {spec}` is not HOST:GUEST with two port numbers (optionally /tcp or /udp)")]
    BadPublish { spec: String },
    #[error("cannot start {program}; install it (Debian: {package}) or run `make deps`")]
    NoQemu {
        program: String,
        package: &'static str,
        #[source]
        source: io::Error,
    },
    #[error(
        "cannot read the UEFI firmware {path:?}; install it (Debian: {package}) \
         or pass --firmware and --firmware-vars"
    )]
    NoFirmware {
        path: PathBuf,
        package: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cannot start swtpm for --tpm; install it (Debian: swtpm, swtpm-tools)")]
    NoSwtpm {
        #[source]
        source: io::Error,
    },
    #[error("swtpm did not start: {why}")]
    Swtpm { why: String },
    #[error("cannot write {path:?} for this boot; check the temporary directory (TMPDIR)")]
    WorkDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("lost QEMU's console output")]
    Console {
        #[source]
        source: io::Error,
    },
}

fn disk_hint(path: &Path) -> String {
    format!("{},size=1G", path.display())
}

impl Classify for RunError {
    fn class(&self) -> ErrorClass {
        match self {
            RunError::Missing { .. }
            | RunError::NothingToBoot { .. }
            | RunError::UnknownFile { .. }
            | RunError::BareKernel { .. }
            | RunError::Unreadable { .. }
            | RunError::UnknownKernel { .. }
            | RunError::UnknownArch { .. }
            | RunError::WrongArch { .. }
            | RunError::BadPublish { .. }
            | RunError::BadDisk { .. }
            | RunError::NoDisk { .. }
            | RunError::BadCard { .. }
            | RunError::CardOption { .. } => ErrorClass::User,
            RunError::NoQemu { .. }
            | RunError::NoFirmware { .. }
            | RunError::NoSwtpm { .. }
            | RunError::Swtpm { .. }
            | RunError::WorkDir { .. }
            | RunError::CreateDisk { .. }
            | RunError::Console { .. } => ErrorClass::Environment,
        }
    }
}
