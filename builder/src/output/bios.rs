//! What a PC BIOS boots: an ISO 9660 volume with ISOLINUX (from
//! `kernel.syslinux`), its configuration, the kernel and an initrd. The
//! `iso-bios` image is that volume on its own; the `-bios` disks carry its
//! descriptors in front of the first partition and its files in a BIOS boot
//! partition. In both, syslinux's hybrid MBR code starts ISOLINUX from a
//! disk, and an El Torito entry starts it from a CD.
//!
//! A BIOS measures nothing cairn can predict, so these formats have no
//! measured boot; the dm-verity root of the disks is still checked by the
//! init against the root hash on ISOLINUX's command line.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::Path;

use cairn_boot::iso9660::{self, Layout, Meta, SystemArea};

use super::window::Window;
use super::{Kernel, OutputError, Request};

/// ISOLINUX looks for its configuration and ldlinux.c32 in its own folder.
const FILES: [&str; 5] = [
    "ISOLINUX/ISOLINUX.BIN",
    "ISOLINUX/LDLINUX.C32",
    "ISOLINUX/ISOLINUX.CFG",
    "KERNEL",
    "INITRD.IMG",
];

/// The BIOS loader's files, read from the tree's contents.
#[derive(Debug)]
pub struct Loader {
    pub isolinux: Vec<u8>,
    pub hybrid_mbr: Vec<u8>,
    pub ldlinux: Vec<u8>,
}

impl Loader {
    pub fn read(req: &Request, format: &'static str) -> Result<Loader, OutputError> {
        let loader = req.syslinux.ok_or(OutputError::NoSyslinux { format })?;
        let read = |id, what| super::read_content(req, id, what);
        Ok(Loader {
            isolinux: read(&loader.isolinux, "isolinux.bin")?,
            hybrid_mbr: read(&loader.hybrid_mbr, "isohdpfx.bin")?,
            ldlinux: read(&loader.ldlinux, "ldlinux.c32")?,
        })
    }
}

/// ISOLINUX's configuration: the serial console first (syslinux reads
/// `SERIAL` only as the first line), then one entry it boots at once.
pub fn config(cmdline: &str) -> String {
    format!(
        "SERIAL 0 115200\nDEFAULT cairn\nPROMPT 0\nTIMEOUT 0\nLABEL cairn\n  LINUX /KERNEL\n  INITRD /INITRD.IMG\n  APPEND {}\n",
        cmdline.trim()
    )
}

/// The bytes a volume's files take, for sizing a partition before the
/// command line is known: `cmdline_len` bounds it.
pub fn files_size(loader: &Loader, kernel: &Kernel, initrd: u64, cmdline_len: usize) -> u64 {
    let block = |n: u64| n.div_ceil(iso9660::BLOCK) * iso9660::BLOCK;
    block(loader.isolinux.len() as u64)
        + block(loader.ldlinux.len() as u64)
        + block(config(&"x".repeat(cmdline_len)).len() as u64)
        + block(kernel.image.size)
        + block(initrd)
}

/// How the volume sits in its file.
#[derive(Debug)]
pub struct Placement {
    /// Where its files start (a disk's BIOS boot partition), or right
    /// after its descriptors.
    pub data_start: Option<u64>,
    /// The MBR disk signature of an image of its own; `None` for a disk,
    /// whose protective MBR the partition table writes.
    pub disk_signature: Option<u32>,
}

/// Writes the volume with `cmdline` and `initrd` into `file`; returns its
/// layout.
pub fn write_volume(
    req: &Request,
    loader: &Loader,
    file: &File,
    path: &Path,
    cmdline: &str,
    initrd: &[u8],
    at: &Placement,
) -> Result<Layout, OutputError> {
    let kernel = req.kernel.ok_or(OutputError::NoKernel)?;
    let config = config(cmdline);
    let sizes = [
        loader.isolinux.len(),
        loader.ldlinux.len(),
        config.len(),
        kernel.image.size as usize,
        initrd.len(),
    ];
    let files: Vec<iso9660::File> = FILES
        .iter()
        .zip(sizes)
        .map(|(path, size)| iso9660::File {
            path,
            size: size as u64,
        })
        .collect();
    let fail = |what: &'static str| {
        let path = path.to_path_buf();
        move |source: io::Error| OutputError::Image {
            what,
            path,
            source: Box::new(source),
        }
    };
    let layout =
        Layout::new(&files, Some(0), None, at.data_start).map_err(fail("ISO 9660 volume"))?;
    let mut isolinux = loader.isolinux.clone();
    let block = layout.files[0].offset / iso9660::BLOCK;
    iso9660::patch_isolinux(&mut isolinux, block as u32).map_err(fail("ISOLINUX loader"))?;
    let meta = Meta {
        volume_id: req.name,
        mtime: req.mtime,
    };
    let system = match at.disk_signature {
        Some(disk_signature) => SystemArea::Mbr {
            disk_signature,
            bios_code: Some(&loader.hybrid_mbr),
        },
        None => SystemArea::Untouched,
    };
    iso9660::write(&mut Window::new(file, 0), &layout, &meta, &system)
        .map_err(fail("ISO 9660 volume"))?;
    let small: [&[u8]; 3] = [&isolinux, &loader.ldlinux, config.as_bytes()];
    for (bytes, placed) in small.iter().zip(&layout.files) {
        Window::new(file, placed.offset)
            .write_all(bytes)
            .map_err(fail("ISOLINUX files"))?;
    }
    let mut image = super::open_kernel(req, &kernel)?;
    io::copy(&mut image, &mut Window::new(file, layout.files[3].offset)).map_err(fail("kernel"))?;
    Window::new(file, layout.files[4].offset)
        .write_all(initrd)
        .map_err(fail("initrd"))?;
    Ok(layout)
}
