//! `-f iso-efi`: NAME-efi.iso, a hybrid ISO image that UEFI firmware boots
//! from a CD, a BMC's virtual media or (written to it) a USB stick. It
//! holds one FAT EFI system partition with the UKI at the removable-media
//! path; the UKI carries the whole root filesystem as its initrd, as the
//! `uki` format does, so there is no root partition to verify: the
//! firmware measures (and, with Secure Boot, checks) the UKI as a whole.

use cairn_boot::{fat, iso9660};
use sha2::{Digest as _, Sha256};

use super::atomic::AtomicImage;
use super::disk::write_esp;
use super::{OutputError, Request, Written, uki};

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
    let layout = iso9660::Layout::new(fat::partition_size(image.len() as u64, 1));
    let meta = iso9660::Meta {
        volume_id: req.name,
        mtime: req.mtime,
        disk_signature: u32::from_le_bytes([hash[4], hash[5], hash[6], hash[7]]),
    };
    iso9660::write(&mut out.file(), &layout, &meta).map_err(fail("ISO 9660 volume"))?;
    write_esp(
        out.file(),
        layout.esp_offset,
        layout.esp_size,
        req.arch,
        &image,
        &path,
    )?;
    out.commit(layout.size)
}
