//! Writing a built system out in the format asked for: the root filesystem
//! as a tar or a squashfs, LinuxKit's kernel+initrd triple (`NAME-kernel`,
//! `NAME-initrd.img`, `NAME-cmdline`), a unified kernel image, or a UEFI
//! disk (GPT, FAT32 ESP with the UKI, squashfs root under dm-verity) as raw
//! or qcow2. Every file is written under a temporary name in the output
//! folder and renamed when complete, so the same inputs give the same bytes
//! and a failed build leaves nothing behind.

pub mod atomic;
pub mod bios;
pub mod bootfs;
pub mod compress;
pub mod disk;
pub mod esp;
pub mod initrd;
pub mod inspect;
pub mod iso;
pub mod kernel_squashfs;
pub mod plan;
pub mod rootfs;
pub mod rpi;
pub mod rpi_sign;
pub mod slots;
pub mod uki;
pub mod update;
pub mod walk;
pub mod window;

use std::io;
use std::path::{Path, PathBuf};

use cairn_boot::cpio::CpioError;

pub use self::atomic::AtomicFile;
pub use self::compress::Compression;
use crate::exit::{Classify, ErrorClass};
use crate::fstree::{ContentId, Tree};

/// The output formats `cairn build -f` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The root filesystem as a tar archive (NAME.tar).
    Tar,
    /// NAME-kernel, NAME-initrd.img (the root filesystem as a compressed
    /// newc cpio) and NAME-cmdline, as LinuxKit writes them.
    #[value(name = "kernel+initrd")]
    KernelInitrd,
    /// The root filesystem as a compressed squashfs (NAME.squashfs).
    Squashfs,
    /// NAME-kernel, NAME-initrd.img (the init and modules only),
    /// NAME-cmdline and NAME-squashfs.img: the root as a dm-verity
    /// protected squashfs image to attach as a disk, as LinuxKit names them.
    #[value(name = "kernel+squashfs")]
    KernelSquashfs,
    /// A unified kernel image (NAME.efi): systemd-stub with the kernel, the
    /// whole root filesystem as its initrd, and the command line; boots from
    /// UEFI firmware alone.
    Uki,
    /// A UEFI disk image (NAME-efi.raw): GPT, an EFI system partition with
    /// the UKI, and the root filesystem as a dm-verity protected squashfs.
    #[value(name = "raw-efi")]
    RawEfi,
    /// The same disk as qcow2 (NAME-efi.qcow2).
    #[value(name = "qcow2-efi")]
    Qcow2Efi,
    /// A hybrid ISO image (NAME-efi.iso) that UEFI firmware boots from a
    /// CD, virtual media or a USB stick: an EFI system partition holding a
    /// UKI with the whole root filesystem.
    #[value(name = "iso-efi")]
    IsoEfi,
    /// A hybrid ISO image (NAME-bios.iso) that a PC BIOS boots from a CD,
    /// virtual media or a USB stick: ISOLINUX with the kernel and the whole
    /// root filesystem as its initrd.
    #[value(name = "iso-bios")]
    IsoBios,
    /// A PC BIOS disk image (NAME-bios.raw): GPT, ISOLINUX with the kernel
    /// and the small initrd in a BIOS boot partition, and the root
    /// filesystem as a dm-verity protected squashfs.
    #[value(name = "raw-bios")]
    RawBios,
    /// The same disk as qcow2 (NAME-bios.qcow2).
    #[value(name = "qcow2-bios")]
    Qcow2Bios,
    /// A Raspberry Pi SD card (NAME-rpi3.img or NAME-rpi4.img, for the
    /// board in `rpi.board`): MBR, a FAT boot partition with the firmware,
    /// config.txt, the kernel and a small initramfs, and the root
    /// filesystem as a dm-verity protected squashfs. arm64 only.
    Rpi,
    /// The pieces of one root slot for `cairn update`: NAME.update.root
    /// (the verified squashfs), NAME.update.efi (its UKI) and
    /// NAME.update.json (version, arch, sizes and digests).
    Update,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Tar => "tar",
            Format::KernelInitrd => "kernel+initrd",
            Format::Squashfs => "squashfs",
            Format::KernelSquashfs => "kernel+squashfs",
            Format::Uki => "uki",
            Format::RawEfi => "raw-efi",
            Format::Qcow2Efi => "qcow2-efi",
            Format::IsoEfi => "iso-efi",
            Format::IsoBios => "iso-bios",
            Format::RawBios => "raw-bios",
            Format::Qcow2Bios => "qcow2-bios",
            Format::Rpi => "rpi",
            Format::Update => "update",
        }
    }

    /// Whether the format is built on the BIOS loader (`kernel.syslinux`).
    pub fn needs_syslinux(self) -> bool {
        matches!(self, Format::IsoBios | Format::RawBios | Format::Qcow2Bios)
    }

    /// Whether the format is built on the UEFI stub (`kernel.stub`).
    pub fn needs_stub(self) -> bool {
        matches!(
            self,
            Format::Uki | Format::RawEfi | Format::Qcow2Efi | Format::IsoEfi | Format::Update
        )
    }
}

/// The kernel of a system: its image (a content of the rootfs tree's
/// store, not an entry of the tree) and command line.
#[derive(Debug, Clone, Copy)]
pub struct Kernel<'a> {
    pub image: &'a ContentId,
    pub cmdline: &'a str,
    /// The kernel release (`uname -r`), empty when unknown.
    pub release: &'a str,
}

/// What to write, where.
#[derive(Debug)]
pub struct Request<'a> {
    pub rootfs: &'a Tree,
    pub kernel: Option<Kernel<'a>>,
    pub dir: &'a Path,
    pub name: &'a str,
    /// Every timestamp inside the outputs (SOURCE_DATE_EPOCH or 0).
    pub mtime: u64,
    pub compression: Compression,
    pub arch: crate::arch::Arch,
    /// The UEFI stub (a content of the tree's store) for UKI-based formats.
    pub stub: Option<&'a ContentId>,
    /// systemd-boot, which a UEFI disk's ESP starts to pick a root slot.
    pub boot_manager: Option<&'a ContentId>,
    /// This system's version (`version:`, `--version`): the UKI's
    /// IMAGE_VERSION and its file name on a disk's ESP.
    pub version: &'a str,
    /// The BIOS loader for the `-bios` formats.
    pub syslinux: Option<&'a crate::assemble::loader::Syslinux>,
    /// The firmware and device trees of a Raspberry Pi card.
    pub rpi: Option<&'a crate::assemble::rpi::RpiBoot>,
    /// The RSA-2048 key a Pi 4 card's boot.img is signed with (`--rpi-boot-key`).
    pub rpi_key: Option<&'a rsa::PrivateKey>,
    /// The sizes of a disk image's partitions.
    pub disk: slots::DiskSpec,
}

/// One file written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("the config has no kernel image; add a `kernel:` section or build `-f tar`")]
    NoKernel,
    #[error("cannot create {path:?}; does the output folder exist and is it writable?")]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {path:?}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the contents of {path:?} from the build's temporary folder")]
    Content {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot put {path:?} into the initramfs")]
    Cpio {
        path: String,
        #[source]
        source: CpioError,
    },
    #[error("timestamp {mtime} does not fit a cpio header (before 2106); lower SOURCE_DATE_EPOCH")]
    Mtime { mtime: u64 },
    #[error(
        "no UEFI stub for the {format} format; add `cairn/systemd-stub` to the store (`cairn pkg build pkg/systemd-stub`) or set `kernel.stub`"
    )]
    NoStub { format: &'static str },
    #[error(
        "no BIOS boot loader for the {format} format; add `cairn/syslinux` to the store (`cairn pkg build pkg/syslinux`) or set `kernel.syslinux`"
    )]
    NoSyslinux { format: &'static str },
    #[error(
        "--disk-size {} is too small: the boot partition, the root slots and the smallest data partition need at least {}M",
        crate::oci::human_bytes(*size), need >> 20
    )]
    DiskTooSmall { size: u64, need: u64 },
    #[error("-f rpi needs a board: add `rpi: {{board: rpi3}}` (or rpi4) to the config")]
    NoBoard,
    #[error(
        "the stub image has no {file}; `kernel.stub` must name an image with Debian's systemd-boot-efi stub for {arch}"
    )]
    StubMissing { file: String, arch: &'static str },
    #[error("cannot write the {what} of {}", path.display())]
    Image {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl Classify for OutputError {
    fn class(&self) -> ErrorClass {
        match self {
            OutputError::NoKernel
            | OutputError::Mtime { .. }
            | OutputError::NoStub { .. }
            | OutputError::NoSyslinux { .. }
            | OutputError::NoBoard
            | OutputError::DiskTooSmall { .. }
            | OutputError::StubMissing { .. } => ErrorClass::User,
            OutputError::Image { .. } => ErrorClass::Environment,
            OutputError::Cpio {
                source: CpioError::Io { .. },
                ..
            } => ErrorClass::Environment,
            OutputError::Cpio { .. } => ErrorClass::User,
            OutputError::Create { .. }
            | OutputError::Write { .. }
            | OutputError::Content { .. } => ErrorClass::Environment,
        }
    }
}

/// The bytes one format will write, for a progress bar.
pub fn total_bytes(req: &Request) -> u64 {
    let files: u64 = req
        .rootfs
        .iter()
        .filter_map(|(_, e)| match &e.kind {
            crate::fstree::Kind::File(id) => Some(id.size),
            _ => None,
        })
        .sum();
    files + req.kernel.map_or(0, |k| k.image.size)
}

/// Writes `format`'s files; returns them in a fixed order.
pub fn write(
    req: &Request,
    format: Format,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Written>, OutputError> {
    match format {
        Format::Tar => Ok(vec![write_tar(req, progress)?]),
        Format::KernelInitrd => write_kernel_initrd(req, progress),
        Format::Squashfs => Ok(vec![rootfs::write_squashfs_file(req, progress)?]),
        Format::KernelSquashfs => kernel_squashfs::write(req, progress),
        Format::Uki => Ok(vec![uki::write_standalone(req, progress)?]),
        Format::RawEfi => Ok(vec![disk::write_raw(req, progress)?]),
        Format::Qcow2Efi => Ok(vec![disk::write_qcow2(req, progress)?]),
        Format::IsoEfi => Ok(vec![iso::write_efi(req, progress)?]),
        Format::IsoBios => Ok(vec![iso::write_bios(req, progress)?]),
        Format::RawBios => Ok(vec![disk::write_raw_bios(req, progress)?]),
        Format::Qcow2Bios => Ok(vec![disk::write_qcow2_bios(req, progress)?]),
        Format::Rpi => Ok(vec![rpi::write(req, progress)?]),
        Format::Update => update::write(req, progress),
    }
}

fn write_tar(req: &Request, progress: &(dyn Fn(u64) + Sync)) -> Result<Written, OutputError> {
    let mut file = AtomicFile::create(req.dir, &format!("{}.tar", req.name))?;
    let path = file.path().to_path_buf();
    crate::fstree::tar::write_tar(
        &mut file,
        req.rootfs.iter(),
        req.rootfs.contents(),
        req.mtime,
    )
    .map_err(|source| OutputError::Write { path, source })?;
    progress(total_bytes(req));
    file.commit()
}

/// A content of the tree's store (the kernel, a boot loader), read whole.
fn read_content(req: &Request, id: &ContentId, what: &str) -> Result<Vec<u8>, OutputError> {
    let mut bytes = Vec::new();
    req.rootfs
        .contents()
        .open(id)
        .and_then(|mut f| io::Read::read_to_end(&mut f, &mut bytes))
        .map_err(|source| OutputError::Content {
            path: what.to_string(),
            source,
        })?;
    Ok(bytes)
}

/// The kernel image, to stream.
fn open_kernel(req: &Request, kernel: &Kernel) -> Result<std::fs::File, OutputError> {
    req.rootfs
        .contents()
        .open(kernel.image)
        .map_err(|source| OutputError::Content {
            path: "kernel".to_string(),
            source,
        })
}

/// NAME-kernel: the kernel image as the kernel image holds it.
fn write_kernel_file(req: &Request, kernel: &Kernel) -> Result<Written, OutputError> {
    let mut file = AtomicFile::create(req.dir, &format!("{}-kernel", req.name))?;
    let mut image = open_kernel(req, kernel)?;
    io::copy(&mut image, &mut file).map_err(|source| OutputError::Write {
        path: file.path().to_path_buf(),
        source,
    })?;
    file.commit()
}

fn write_kernel_initrd(
    req: &Request,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<Written>, OutputError> {
    let kernel = req.kernel.ok_or(OutputError::NoKernel)?;
    let mut out = Vec::with_capacity(3);
    let fail = |path: &Path| {
        let path = path.to_path_buf();
        move |source| OutputError::Write { path, source }
    };
    out.push(write_kernel_file(req, &kernel)?);
    progress(kernel.image.size);

    let file = AtomicFile::create(req.dir, &format!("{}-initrd.img", req.name))?;
    let path = file.path().to_path_buf();
    let file = compress::compress(file, req.compression, &path, |w| {
        initrd::write_cpio(w, req.rootfs, req.mtime, progress)
    })?;
    out.push(file.commit()?);

    let mut file = AtomicFile::create(req.dir, &format!("{}-cmdline", req.name))?;
    io::Write::write_all(&mut file, kernel.cmdline.as_bytes()).map_err(fail(file.path()))?;
    out.push(file.commit()?);
    Ok(out)
}

#[cfg(test)]
mod tests;
