//! Hybrid ISO images, booted from a CD, a BMC's virtual media or (written
//! to it) a USB stick. Both carry the whole root filesystem as an initrd,
//! so there is no root partition to verify.
//!
//! - `-f iso-efi` (NAME-efi.iso): one FAT EFI system partition with the UKI
//!   at the removable-media path; the firmware measures (and, with Secure
//!   Boot, checks) the UKI as a whole.
//! - `-f iso-bios` (NAME-bios.iso): ISOLINUX with the kernel and the root
//!   as its initrd, for a PC BIOS (see `bios.rs`).

use cairn_boot::{fat, iso9660};
use sha2::{Digest as _, Sha256};

use super::atomic::AtomicImage;
use super::bios::{self, Loader, Placement};
use super::esp;
use super::{OutputError, Request, Written, compress, initrd, uki};

pub fn write_efi(req: &Request, progress: &(dyn Fn(u64) + Sync)) -> Result<Written, OutputError> {
    let image = uki::whole_root(req, "iso-efi", progress)?;
    let out = AtomicImage::create(req.dir, &format!("{}-efi.iso", req.name))?;
    let path = out.path().to_path_buf();
    let fail = |what: &'static str| {
        let path = path.clone();
        move |source: std::io::Error| OutputError::Image {
            what,
            path,
            source: Box::new(source),
        }
    };
    let hash: [u8; 32] = Sha256::digest(&image).into();
    let files = [iso9660::File {
        path: "EFI.IMG",
        size: fat::partition_size(image.len() as u64, 1),
    }];
    let layout =
        iso9660::Layout::new(&files, None, Some(0), None).map_err(fail("ISO 9660 volume"))?;
    let meta = iso9660::Meta {
        volume_id: req.name,
        mtime: req.mtime,
    };
    let system = iso9660::SystemArea::Mbr {
        disk_signature: u32::from_le_bytes([hash[4], hash[5], hash[6], hash[7]]),
        bios_code: None,
    };
    iso9660::write(&mut out.file(), &layout, &meta, &system).map_err(fail("ISO 9660 volume"))?;
    let esp = &layout.files[0];
    esp::write_single(out.file(), esp.offset, esp.size, req.arch, &image, &path)?;
    out.commit(layout.size)
}

pub fn write_bios(req: &Request, progress: &(dyn Fn(u64) + Sync)) -> Result<Written, OutputError> {
    let kernel = req.kernel.ok_or(OutputError::NoKernel)?;
    let loader = Loader::read(req, "iso-bios")?;
    let initrd = compress::compress(Vec::new(), req.compression, &req.dir.join(req.name), |w| {
        initrd::write_cpio(w, req.rootfs, req.mtime, progress)
    })?;
    let out = AtomicImage::create(req.dir, &format!("{}-bios.iso", req.name))?;
    let path = out.path().to_path_buf();
    let hash: [u8; 32] = Sha256::digest(&initrd).into();
    let at = Placement {
        data_start: None,
        disk_signature: Some(u32::from_le_bytes([hash[0], hash[1], hash[2], hash[3]])),
    };
    let layout = bios::write_volume(
        req,
        &loader,
        out.file(),
        &path,
        kernel.cmdline,
        &initrd,
        &at,
    )?;
    out.commit(layout.size)
}
