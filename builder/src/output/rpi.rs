//! Raspberry Pi SD-card images (`-f rpi`): `NAME-rpi3.img` or
//! `NAME-rpi4.img`, an MBR disk (the Pi 3 boot ROM reads nothing else)
//! with
//!
//! 1. a FAT32 boot partition (type 0x0C) with the VideoCore firmware, a
//!    generated `config.txt`, `cmdline.txt`, the kernel (`vmlinuz`), the
//!    small initramfs (the init and the modules, the board's included) and
//!    the board's device trees;
//! 2. the root: the same squashfs and dm-verity hash area as a UEFI disk's,
//!    found by the init through the MBR PARTUUID on the command line.
//!
//! The Pi has no UEFI: the firmware loads the kernel straight from the
//! FAT, and nothing measures it. The chain of trust starts at the command
//! line, which pins the root hash (see docs/security.md). The disk
//! signature and the FAT volume id come from the content, so rebuilds give
//! the same bytes.

use std::fs::File;
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::path::Path;

use cairn_boot::mbr::{self, PartUuid};
use cairn_boot::{fat, verity};
use sha2::{Digest as _, Sha256};

use super::atomic::AtomicImage;
use super::disk::image_err;
use super::window::Window;
use super::{OutputError, Request, Written, bootfs, disk, rpi_sign};
use crate::assemble::rpi::RpiBoot;

const MIB: u64 = 1 << 20;
/// The kernel, initramfs and command line files config.txt names.
pub const KERNEL: &str = "vmlinuz";
pub const INITRD: &str = "initrd.img";
pub const CMDLINE: &str = "cmdline.txt";
pub const CONFIG: &str = "config.txt";
/// What the Pi 4 bootloader loads in secure-boot mode instead.
pub const BOOT_IMG: &str = "boot.img";
pub const BOOT_SIG: &str = "boot.sig";
/// The measurement plan (the UKI's `.cairn` section on UEFI disks), for
/// `cairn pcr predict`: what the init will extend into PCR 15.
pub const PLAN: &str = "cairn-plan.txt";
/// Where the firmware looks for `dtoverlay=` files.
pub const OVERLAYS: &str = "overlays";

/// What a written card holds, for tests and `cairn pcr predict`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardInfo {
    pub size: u64,
    pub root_hash: String,
    pub root_partuuid: String,
    pub cmdline: String,
}

/// The card's file name for `board`.
pub fn file_name(name: &str, rpi: &RpiBoot) -> String {
    format!("{name}-{}.img", rpi.board.name())
}

/// `-f rpi`: NAME-rpi3.img or NAME-rpi4.img.
pub fn write(req: &Request, progress: &(dyn Fn(u64) + Sync)) -> Result<Written, OutputError> {
    let rpi = req.rpi.ok_or(OutputError::NoBoard)?;
    let out = AtomicImage::create(req.dir, &file_name(req.name, rpi))?;
    let path = out.path().to_path_buf();
    let info = write_card(req, rpi, out.file(), &path, progress)?;
    out.commit(info.size)
}

/// config.txt: what cairn must set, then the user's lines. The firmware
/// reads it top to bottom, so the user's conditional sections come last
/// and cannot hide cairn's settings.
pub fn config_txt(rpi: &RpiBoot) -> String {
    let mut text = format!(
        "# Written by `cairn build -f rpi` for the {board}. Rebuild the card to change it:\n\
         # the kernel, its initramfs and cmdline.txt are what the card's trust rests on.\n\
         [all]\n\
         arm_64bit=1\n\
         upstream_kernel=1\n\
         enable_uart=1\n\
         disable_splash=1\n\
         kernel={KERNEL}\n\
         initramfs {INITRD} followkernel\n\
         cmdline={CMDLINE}\n",
        board = rpi.board.name()
    );
    if !rpi.config.is_empty() {
        text.push_str("# From rpi.config:\n");
        for line in &rpi.config {
            text.push_str(line.trim());
            text.push('\n');
        }
    }
    text
}

/// Writes the card for `req` into `file` (empty); returns what it holds.
pub fn write_card(
    req: &Request,
    rpi: &RpiBoot,
    file: &File,
    path: &Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<CardInfo, OutputError> {
    let kernel = req.kernel.ok_or(OutputError::NoKernel)?;
    let boot = BootFiles::read(req, rpi)?;
    // The boot partition is placed before the root hash is known: the
    // command line's root words have a fixed length.
    let cmdline_room = kernel.cmdline.len() as u64 + 512;
    let files_size = fat::partition_size(boot.bytes(cmdline_room), boot.count());
    let boot_size = match req.rpi_key {
        None => files_size,
        // boot.img (itself a FAT image) and boot.sig.
        Some(_) => fat::partition_size(files_size + 4096 + boot.plan.len() as u64, 3),
    }
    .div_ceil(MIB)
        * MIB;
    let boot_start = MIB;
    let root_start = boot_start + boot_size;

    let root = disk::write_root(req, file, root_start, path, progress)?;
    let root_size = root.size.div_ceil(MIB) * MIB;
    let partuuid = PartUuid {
        disk_signature: disk_signature(&root.params),
        number: 2,
    };
    let cmdline = format!(
        "{} cairn.root=PARTUUID={partuuid} {}",
        kernel.cmdline.trim(),
        root.params.cmdline()
    )
    .trim()
    .to_string();
    let mut partition = Window::new(file, boot_start);
    match req.rpi_key {
        None => boot
            .write_fat(&mut partition, boot_size, &cmdline)
            .map_err(image_err("boot partition", path))?,
        Some(key) => {
            let (mut image, sig) = boot.signed(files_size, &cmdline, key, req.mtime, path)?;
            let (mut sig, mut plan) = (sig.as_bytes(), boot.plan.as_bytes());
            let mut files = [
                fat::File {
                    path: BOOT_IMG,
                    size: files_size,
                    data: &mut image,
                },
                fat_file(BOOT_SIG, &mut sig),
                fat_file(PLAN, &mut plan),
            ];
            fat::write(
                &mut partition,
                boot_size,
                &boot.options(&cmdline),
                &mut files,
            )
            .map_err(image_err("boot partition", path))?;
        }
    }

    let entries = [
        mbr::Entry {
            number: 1,
            kind: mbr::FAT32_LBA,
            bootable: true,
            first_lba: lba(boot_start),
            sectors: lba(boot_size),
        },
        mbr::Entry {
            number: 2,
            kind: mbr::LINUX,
            bootable: false,
            first_lba: lba(root_start),
            sectors: lba(root_size),
        },
    ];
    // The table last: a card whose writing failed has no partitions.
    mbr::write_table(&mut Window::new(file, 0), partuuid.disk_signature, &entries)
        .map_err(image_err("partition table", path))?;
    Ok(CardInfo {
        size: root_start + root_size,
        root_hash: hex::encode(root.params.root_hash),
        root_partuuid: partuuid.to_string(),
        cmdline,
    })
}

/// What the firmware loads, read once; written into the boot partition or,
/// for a signed boot, into boot.img.
struct BootFiles<'a> {
    req: &'a Request<'a>,
    rpi: &'a RpiBoot,
    /// The firmware, then the device trees and the overlays, by their
    /// path on the boot partition.
    small: Vec<(String, Vec<u8>)>,
    config: String,
    initramfs: Vec<u8>,
    plan: String,
}

impl<'a> BootFiles<'a> {
    fn read(req: &'a Request<'a>, rpi: &'a RpiBoot) -> Result<BootFiles<'a>, OutputError> {
        let overlays = (rpi.overlays.iter()).map(|(name, id)| (format!("{OVERLAYS}/{name}"), id));
        let small = (rpi.firmware.iter())
            .chain(&rpi.device_trees)
            .map(|(name, id)| (name.clone(), id))
            .chain(overlays)
            .map(|(path, id)| {
                let bytes = super::read_content(req, id, &path)?;
                Ok((path, bytes))
            })
            .collect::<Result<_, OutputError>>()?;
        Ok(BootFiles {
            req,
            rpi,
            small,
            config: config_txt(rpi),
            initramfs: bootfs::initramfs(req.rootfs, req.mtime, req.compression)?,
            plan: super::plan::plan_text(req.rootfs)?,
        })
    }

    fn count(&self) -> usize {
        self.small.len() + 5
    }

    fn bytes(&self, cmdline_room: u64) -> u64 {
        (self.small.iter().map(|(_, b)| b.len() as u64)).sum::<u64>()
            + self.req.kernel.map_or(0, |k| k.image.size)
            + self.initramfs.len() as u64
            + self.config.len() as u64
            + self.plan.len() as u64
            + cmdline_room
    }

    /// The volume id comes from what the files pin, so rebuilds match.
    fn options(&self, cmdline: &str) -> fat::Options {
        let seed = Sha256::digest([cmdline.as_bytes(), &self.initramfs].concat());
        fat::Options {
            volume_id: u32::from_le_bytes([seed[0], seed[1], seed[2], seed[3]]),
            label: *b"BOOT       ",
        }
    }

    /// A FAT volume of `size` bytes at the start of `out` with every file.
    fn write_fat(
        &self,
        out: &mut (impl io::Write + io::Seek),
        size: u64,
        cmdline: &str,
    ) -> Result<(), BootWriteError> {
        let kernel = self.req.kernel.ok_or(OutputError::NoKernel)?;
        let mut image = super::open_kernel(self.req, &kernel)?;
        let cmdline_file = format!("{cmdline}\n");
        let mut readers: Vec<&[u8]> = self.small.iter().map(|(_, b)| b.as_slice()).collect();
        let mut texts: [&[u8]; 4] = [
            self.config.as_bytes(),
            cmdline_file.as_bytes(),
            &self.initramfs,
            self.plan.as_bytes(),
        ];
        let [config_r, cmdline_r, initrd_r, plan_r] = &mut texts;
        let (firmware_r, dtb_r) = readers.split_at_mut(self.rpi.firmware.len());
        let mut files: Vec<fat::File> = Vec::with_capacity(self.count());
        for ((name, _), data) in self.small.iter().zip(firmware_r.iter_mut()) {
            files.push(fat_file(name, data));
        }
        files.push(fat_file(CONFIG, config_r));
        files.push(fat_file(CMDLINE, cmdline_r));
        files.push(fat::File {
            path: KERNEL,
            size: kernel.image.size,
            data: &mut image,
        });
        files.push(fat_file(INITRD, initrd_r));
        files.push(fat_file(PLAN, plan_r));
        let rest = &self.small[self.rpi.firmware.len()..];
        for ((name, _), data) in rest.iter().zip(dtb_r.iter_mut()) {
            files.push(fat_file(name, data));
        }
        fat::write(out, size, &self.options(cmdline), &mut files)?;
        Ok(())
    }

    /// boot.img (every file, in a temporary file beside the outputs) and
    /// its boot.sig, for the Pi 4 bootloader's secure-boot mode.
    fn signed(
        &self,
        size: u64,
        cmdline: &str,
        key: &rsa::PrivateKey,
        mtime: u64,
        path: &Path,
    ) -> Result<(File, String), OutputError> {
        let fail = |source| OutputError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut image = tempfile::tempfile_in(self.req.dir).map_err(fail)?;
        self.write_fat(&mut image, size, cmdline)
            .map_err(image_err("boot.img", path))?;
        image.set_len(size).map_err(fail)?;
        image.seek(SeekFrom::Start(0)).map_err(fail)?;
        let mut hasher = Sha256::new();
        io::copy(&mut (&image).take(size), &mut hasher).map_err(fail)?;
        image.seek(SeekFrom::Start(0)).map_err(fail)?;
        let sig =
            rpi_sign::boot_sig_for_digest(hasher.finalize().into(), key, mtime).map_err(|e| {
                OutputError::Image {
                    what: "boot.sig",
                    path: path.to_path_buf(),
                    source: Box::new(e),
                }
            })?;
        Ok((image, sig))
    }
}

/// Why a boot FAT could not be written: its files or the volume.
#[derive(Debug, thiserror::Error)]
enum BootWriteError {
    #[error(transparent)]
    Files(#[from] OutputError),
    #[error(transparent)]
    Fat(#[from] fat::FatError),
}

fn fat_file<'a>(path: &'a str, data: &'a mut &[u8]) -> fat::File<'a> {
    fat::File {
        path,
        size: data.len() as u64,
        data,
    }
}

/// Sectors, for MBR fields: a card image is far below MBR's 2 TiB.
fn lba(bytes: u64) -> u32 {
    u32::try_from(bytes / mbr::SECTOR).unwrap_or(u32::MAX)
}

/// A disk signature from the root hash: the same root gives the same
/// signature, and two different cards in one reader almost never share one.
fn disk_signature(params: &verity::Params) -> u32 {
    let h = Sha256::digest([b"cairn rpi card".as_slice(), &params.root_hash].concat());
    match u32::from_le_bytes([h[0], h[1], h[2], h[3]]) {
        0 => 1,
        s => s,
    }
}
