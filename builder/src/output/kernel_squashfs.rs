//! `-f kernel+squashfs` (LinuxKit's name): NAME-kernel, NAME-initrd.img,
//! NAME-cmdline and NAME-squashfs.img. The squashfs image is a disk's root
//! partition on its own (the squashfs, then its dm-verity hash area), to be
//! attached as a disk; the initrd is a disk image's small one (the init
//! and the modules); the command line says `cairn.root=disk` with the root
//! hash, so the init verifies the image before anything runs from it.
//! LinuxKit's kernel mounts its squashfs with `root=/dev/sda` unverified.

use std::io::Write as _;

use super::atomic::{AtomicFile, AtomicImage};
use super::disk::write_root;
use super::{OutputError, Request, Written, bootfs};

pub fn write(req: &Request, progress: &(dyn Fn(u64) + Sync)) -> Result<Vec<Written>, OutputError> {
    let kernel = req.kernel.ok_or(OutputError::NoKernel)?;
    let image = AtomicImage::create(req.dir, &format!("{}-squashfs.img", req.name))?;
    let path = image.path().to_path_buf();
    let root = write_root(req, image.file(), 0, &path, progress)?;
    let cmdline = format!(
        "{} cairn.root=disk {}",
        kernel.cmdline.trim(),
        root.params.cmdline()
    )
    .trim()
    .to_string();

    let mut out = Vec::with_capacity(4);
    out.push(super::write_kernel_file(req, &kernel)?);
    let initramfs = bootfs::initramfs(req.rootfs, req.mtime, req.compression)?;
    let mut file = AtomicFile::create(req.dir, &format!("{}-initrd.img", req.name))?;
    let fail = |path: &std::path::Path| {
        let path = path.to_path_buf();
        move |source| OutputError::Write { path, source }
    };
    file.write_all(&initramfs).map_err(fail(file.path()))?;
    out.push(file.commit()?);
    let mut file = AtomicFile::create(req.dir, &format!("{}-cmdline", req.name))?;
    file.write_all(cmdline.as_bytes())
        .map_err(fail(file.path()))?;
    out.push(file.commit()?);
    out.push(image.commit(root.size)?);
    Ok(out)
}
