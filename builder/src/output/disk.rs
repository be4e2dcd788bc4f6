//! UEFI disk images: a GPT disk with
//!
//! 1. an EFI system partition (FAT32) holding the UKI at
//!    `EFI/BOOT/BOOTX64.EFI` or `BOOTAA64.EFI`, the path firmware boots
//!    without any boot entry;
//! 2. root A: the root filesystem as squashfs followed by its dm-verity
//!    hash area, the root hash and the partition's GUID on the UKI's
//!    command line;
//! 3. root B, empty, for the next update (UEFI disks; `slots.rs`);
//! 4. data, empty, formatted and grown by the init on first boot.
//!
//! Every GUID and the FAT volume id are derived from the content, so the
//! same inputs give the same disk. The squashfs and the hash tree are written in
//! place at the root partition's offset; the UKI, which must carry the root
//! hash, is built after them; the partition table comes last.

use std::fs::File;

use cairn_boot::{fat, gpt, iso9660, qcow2, verity};
use sha2::{Digest as _, Sha256};

use super::atomic::{AtomicFile, AtomicImage};
use super::window::Window;
use super::{OutputError, Request, Written, bios, bootfs, esp, plan, rootfs, slots, uki};
use crate::arch::Arch;

const MIB: u64 = 1 << 20;
const SECTOR: u64 = 512;
/// Bytes a UKI may need beyond its parts: PE headers and section alignment.
const UKI_SLACK: u64 = 256 * 1024;

fn round_up(n: u64, to: u64) -> u64 {
    n.div_ceil(to) * to
}

pub(super) fn image_err<E: std::error::Error + Send + Sync + 'static>(
    what: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(E) -> OutputError {
    let path = path.to_path_buf();
    move |source| OutputError::Image {
        what,
        path,
        source: Box::new(source),
    }
}

/// The files firmware boots from an ESP without a boot entry: x86_64's,
/// then arm64's.
pub const BOOT_FILES: [&str; 2] = ["EFI/BOOT/BOOTX64.EFI", "EFI/BOOT/BOOTAA64.EFI"];

/// The file name firmware boots from the ESP on `arch`.
pub fn boot_file(arch: Arch) -> &'static str {
    match arch {
        Arch::Amd64 => BOOT_FILES[0],
        Arch::Arm64 => BOOT_FILES[1],
    }
}

/// The dm-verity salt: derived from the tree the squashfs is written from
/// (every path, owner, mode and content digest), so rebuilds get the same
/// salt without hashing the whole image a second time.
fn tree_salt(tree: &crate::fstree::Tree) -> [u8; 32] {
    use crate::fstree::Kind;
    let mut h = Sha256::new();
    h.update(b"cairn verity salt v1\0");
    for (path, e, xattrs) in tree.iter_with_xattrs() {
        let kind = match &e.kind {
            Kind::Dir => "d".to_string(),
            Kind::File(id) => format!("f{}", id.sha256),
            Kind::Symlink(t) => format!("l{t}"),
            Kind::CharDevice(a, b) => format!("c{a}:{b}"),
            Kind::BlockDevice(a, b) => format!("b{a}:{b}"),
            Kind::Fifo => "p".to_string(),
        };
        h.update(format!("{path}\0{:o} {} {} {kind}\0", e.mode, e.uid, e.gid).as_bytes());
        for (k, v) in xattrs.into_iter().flatten() {
            h.update(k.as_bytes());
            h.update((v.len() as u64).to_le_bytes());
            h.update(v);
        }
    }
    h.finalize().into()
}

/// A root image written: the squashfs, then its dm-verity hash area.
#[derive(Debug, Clone)]
pub struct RootImage {
    /// Bytes from the squashfs's start to the hash area's end.
    pub size: u64,
    pub params: verity::Params,
}

/// Writes the root filesystem as squashfs at `offset` of `file` and its
/// dm-verity hash area right after it: the root of a disk and the
/// kernel+squashfs format's image alike.
pub fn write_root(
    req: &Request,
    file: &File,
    offset: u64,
    path: &std::path::Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<RootImage, OutputError> {
    let (_, squashfs_size) = rootfs::write_squashfs(
        Window::new(file, offset),
        req.rootfs,
        req.mtime,
        path,
        progress,
    )?;
    let mut hash_area = Window::new(file, offset + squashfs_size);
    let salt = tree_salt(req.rootfs);
    let params = verity::build_with_salt(file, offset, squashfs_size, &salt, &mut hash_area)
        .map_err(image_err("dm-verity hash tree", path))?;
    Ok(RootImage {
        size: squashfs_size + hash_area.written_end(),
        params,
    })
}

/// The unique GUID a root slot gets for the root with `params` (derived
/// from its root hash, so a UKI can name its slot before the slot is
/// written), and the command line that pins it: the kernel's own words,
/// then `cairn.root=PARTUUID=...`, the root hash and the verity geometry.
pub fn slot_cmdline(kernel_cmdline: &str, params: &verity::Params) -> (gpt::Guid, String) {
    let guid = gpt::guid_from(&[b"cairn root partition", &params.root_hash]);
    let cmdline = format!(
        "{} cairn.root=PARTUUID={guid} {}",
        kernel_cmdline.trim(),
        params.cmdline()
    )
    .trim()
    .to_string();
    (guid, cmdline)
}

/// What a written disk holds, for the build summary and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskInfo {
    pub size: u64,
    pub root_hash: String,
    pub root_partuuid: String,
    pub cmdline: String,
}

/// The firmware a disk boots from, which decides its first partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// An EFI system partition with the UKI.
    Uefi,
    /// A BIOS boot partition with ISOLINUX, the kernel and the small
    /// initrd, started by the hybrid MBR code in the protective MBR.
    Bios,
}

/// What the first partition needs before the root hash is known.
enum Boot<'a> {
    Uefi {
        plan: String,
        manager: &'a crate::fstree::ContentId,
    },
    Bios {
        loader: bios::Loader,
    },
}

/// Writes the disk for `req` into `file` (empty); returns what it holds.
pub fn write_disk(
    req: &Request,
    firmware: Firmware,
    file: &File,
    path: &std::path::Path,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<DiskInfo, OutputError> {
    let kernel = req.kernel.ok_or(OutputError::NoKernel)?;
    let initramfs = bootfs::initramfs(req.rootfs, req.mtime, req.compression)?;
    // The boot files' size is known before the root hash is (the hash words
    // have a fixed length), so the first partition can be placed first.
    let cmdline_room = kernel.cmdline.len() + 512;
    let (boot, boot_bytes) = match firmware {
        Firmware::Uefi => {
            let stub = req.stub.ok_or(OutputError::NoStub { format: "raw-efi" })?;
            let manager = req
                .boot_manager
                .ok_or(OutputError::NoStub { format: "raw-efi" })?;
            let plan = plan::plan_text(req.rootfs)?;
            let uki_estimate = stub.size
                + kernel.image.size
                + initramfs.len() as u64
                + plan.len() as u64
                + cmdline_room as u64
                + UKI_SLACK;
            // Room for the UKI of the other slot, which an update writes
            // beside this one.
            let bytes = 2 * uki_estimate + esp::manager_bytes(manager.size);
            (Boot::Uefi { plan, manager }, fat::partition_size(bytes, 4))
        }
        Firmware::Bios => {
            let loader = bios::Loader::read(req, "raw-bios")?;
            let size = bios::files_size(&loader, &kernel, initramfs.len() as u64, cmdline_room);
            (Boot::Bios { loader }, size)
        }
    };
    let boot_start = MIB;
    let boot_size = round_up(boot_bytes, MIB);
    let root_start = boot_start + boot_size;

    let root = write_root(req, file, root_start, path, progress)?;
    let params = root.params;
    let root_hash = hex::encode(params.root_hash);
    let (root_guid, cmdline) = slot_cmdline(kernel.cmdline, &params);

    let (first, mbr_code) = match &boot {
        Boot::Uefi { plan, manager } => {
            let image = uki::build(
                req,
                "raw-efi",
                &cmdline,
                &initramfs,
                &[(".cairn", plan.as_bytes())],
            )?;
            let uki_hash: [u8; 32] = Sha256::digest(&image).into();
            let manager = super::read_content(req, manager, "boot manager")?;
            esp::write_slots(
                file,
                boot_start,
                boot_size,
                req.arch,
                &manager,
                &image,
                req.version,
                path,
            )?;
            let part = gpt::Partition {
                slot: 1,
                type_guid: gpt::ESP,
                unique_guid: gpt::guid_from(&[b"cairn esp", &uki_hash]),
                name: "esp".into(),
                first_lba: boot_start / SECTOR,
                last_lba: (boot_start + boot_size) / SECTOR - 1,
                attrs: 0,
            };
            (part, None)
        }
        Boot::Bios { loader } => {
            let at = bios::Placement {
                data_start: Some(boot_start),
                disk_signature: None,
            };
            let layout = bios::write_volume(req, loader, file, path, &cmdline, &initramfs, &at)?;
            let code = iso9660::hybrid_code(&loader.hybrid_mbr, &layout)
                .map_err(image_err("hybrid MBR code", path))?;
            debug_assert!(layout.size <= boot_start + boot_size);
            let seed = Sha256::digest([cmdline.as_bytes(), &initramfs].concat());
            let part = gpt::Partition {
                slot: 1,
                type_guid: gpt::BIOS_BOOT,
                unique_guid: gpt::guid_from(&[b"cairn bios boot", &seed]),
                name: "bios-boot".into(),
                first_lba: boot_start / SECTOR,
                last_lba: (boot_start + boot_size) / SECTOR - 1,
                attrs: gpt::ATTR_LEGACY_BIOS_BOOTABLE,
            };
            (part, Some(code))
        }
    };

    let ab = firmware == Firmware::Uefi;
    let tail = slots::place(
        &req.disk,
        ab,
        req.arch,
        root_start,
        root.size,
        root_guid,
        &params.root_hash,
    )?;
    let disk_size = tail.disk_size;
    let disk_guid = gpt::guid_from(&[b"cairn disk", &first.unique_guid.0, &params.root_hash]);
    let mut parts = vec![first];
    parts.extend(tail.parts);
    let mut whole = Window::new(file, 0);
    gpt::write_table(&mut whole, disk_guid, disk_size, &parts)
        .map_err(image_err("partition table", path))?;
    if let Some(code) = mbr_code {
        // The protective MBR keeps its partition entry; only the boot code
        // before the disk signature is the hybrid loader's.
        use std::io::Write as _;
        Window::new(file, 0)
            .write_all(&code)
            .map_err(|source| image_err("hybrid MBR code", path)(source))?;
    }
    Ok(DiskInfo {
        size: disk_size,
        root_hash,
        root_partuuid: root_guid.to_string(),
        cmdline,
    })
}

/// `-f raw-efi`: NAME-efi.raw.
pub fn write_raw(req: &Request, progress: &(dyn Fn(u64) + Sync)) -> Result<Written, OutputError> {
    write_raw_for(req, Firmware::Uefi, "efi", progress)
}

/// `-f raw-bios`: NAME-bios.raw.
pub fn write_raw_bios(
    req: &Request,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Written, OutputError> {
    write_raw_for(req, Firmware::Bios, "bios", progress)
}

/// `-f qcow2-efi`: NAME-efi.qcow2.
pub fn write_qcow2(req: &Request, progress: &(dyn Fn(u64) + Sync)) -> Result<Written, OutputError> {
    write_qcow2_for(req, Firmware::Uefi, "efi", progress)
}

/// `-f qcow2-bios`: NAME-bios.qcow2.
pub fn write_qcow2_bios(
    req: &Request,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Written, OutputError> {
    write_qcow2_for(req, Firmware::Bios, "bios", progress)
}

fn write_raw_for(
    req: &Request,
    firmware: Firmware,
    suffix: &str,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Written, OutputError> {
    let out = AtomicImage::create(req.dir, &format!("{}-{suffix}.raw", req.name))?;
    let path = out.path().to_path_buf();
    let info = write_disk(req, firmware, out.file(), &path, progress)?;
    out.commit(info.size)
}

/// A qcow2 disk, converted from a raw disk written aside.
fn write_qcow2_for(
    req: &Request,
    firmware: Firmware,
    suffix: &str,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Written, OutputError> {
    let raw = AtomicImage::create(req.dir, &format!("{}-{suffix}.raw", req.name))?;
    let raw_path = raw.path().to_path_buf();
    let info = write_disk(req, firmware, raw.file(), &raw_path, progress)?;
    raw.file()
        .set_len(info.size)
        .map_err(|source| OutputError::Write {
            path: raw_path.clone(),
            source,
        })?;
    let mut out = AtomicFile::create(req.dir, &format!("{}-{suffix}.qcow2", req.name))?;
    let path = out.path().to_path_buf();
    qcow2::write(raw.file(), info.size, &mut out).map_err(image_err("qcow2 image", &path))?;
    // The raw disk was only a step: dropping it removes the temporary file.
    drop(raw);
    out.commit()
}
