//! Unified kernel images: the UEFI stub with the kernel, an initrd, the
//! command line, os-release and the kernel release as PE sections, one file
//! the firmware starts and measures. `-f uki` carries the whole root
//! filesystem as its initrd; a disk's UKI carries only the early init
//! (`bootfs`) and the measurement plan (`.cairn`).

use cairn_boot::uki::{self, Sections};

use super::atomic::AtomicFile;
use super::{Kernel, OutputError, Request, Written, compress, initrd};

/// The stub, kernel and kernel release of a request, or why not.
fn parts<'a>(
    req: &'a Request,
    format: &'static str,
) -> Result<(Vec<u8>, Vec<u8>, Kernel<'a>), OutputError> {
    let kernel = req.kernel.ok_or(OutputError::NoKernel)?;
    let stub_id = req.stub.ok_or(OutputError::NoStub { format })?;
    Ok((
        super::read_content(req, stub_id, "stub")?,
        super::read_content(req, kernel.image, "kernel")?,
        kernel,
    ))
}

/// The `.osrel` section: who this system is. systemd-boot sorts UKIs by
/// IMAGE_ID, then IMAGE_VERSION (newest first), so the version decides
/// which slot boots.
pub fn os_release(name: &str, version: &str) -> String {
    format!(
        "ID=cairn\nNAME=cairn\nPRETTY_NAME=\"cairn ({name} {version})\"\nVERSION_ID={}\n\
         IMAGE_ID={name}\nIMAGE_VERSION={version}\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// Builds a UKI for `req` with `cmdline`, `initrd` and extra sections.
pub fn build(
    req: &Request,
    format: &'static str,
    cmdline: &str,
    initrd: &[u8],
    extra: &[(&str, &[u8])],
) -> Result<Vec<u8>, OutputError> {
    let (stub, linux, kernel) = parts(req, format)?;
    let osrel = os_release(req.name, req.version);
    let sections = Sections {
        osrel: osrel.as_bytes(),
        cmdline: cmdline.as_bytes(),
        linux: &linux,
        initrd,
        uname: (!kernel.release.is_empty()).then_some(kernel.release.as_bytes()),
        extra,
    };
    uki::build(&stub, &sections).map_err(|source| OutputError::Image {
        what: "unified kernel image",
        path: req.dir.join(req.name),
        source: Box::new(source),
    })
}

/// A UKI whose initrd is the whole root filesystem: it boots from UEFI
/// firmware with nothing else (`-f uki`, and the ESP of `-f iso-efi`).
pub fn whole_root(
    req: &Request,
    format: &'static str,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<u8>, OutputError> {
    let kernel = req.kernel.ok_or(OutputError::NoKernel)?;
    let initrd = compress::compress(Vec::new(), req.compression, &req.dir.join(req.name), |w| {
        initrd::write_cpio(w, req.rootfs, req.mtime, progress)
    })?;
    build(req, format, kernel.cmdline, &initrd, &[])
}

/// `-f uki`: NAME.efi with the whole root filesystem as its initrd.
pub fn write_standalone(
    req: &Request,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Written, OutputError> {
    let name = format!("{}.efi", req.name);
    let path = req.dir.join(&name);
    let image = whole_root(req, "uki", progress)?;
    let mut file = AtomicFile::create(req.dir, &name)?;
    std::io::Write::write_all(&mut file, &image)
        .map_err(|source| OutputError::Write { path, source })?;
    file.commit()
}
