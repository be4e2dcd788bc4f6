//! The boot loaders an output format is built on, taken from images of
//! their own and kept beside the tree, like the kernel, not in the root
//! filesystem: the UEFI stub a UKI is built on (`kernel.stub`, Debian's
//! systemd-boot-efi as packaged by `pkg/systemd-stub`) and the BIOS loader
//! of the `-bios` formats (`kernel.syslinux`, Debian's ISOLINUX as
//! packaged by `pkg/syslinux`).

use super::layers::unpack;
use super::{Arch, AssembleError, Inputs, UsedImage};
use crate::fstree::{ContentId, Contents, Kind, Tree};

/// The image used when `kernel.stub` is not set.
pub const DEFAULT_STUB: &str = "cairn/systemd-stub:latest";
/// Where Debian's package puts systemd-boot for `arch`.
pub fn boot_manager_path(arch: Arch) -> &'static str {
    match arch {
        Arch::Amd64 => "usr/lib/systemd/boot/efi/systemd-bootx64.efi",
        Arch::Arm64 => "usr/lib/systemd/boot/efi/systemd-bootaa64.efi",
    }
}

/// The UEFI stub and the boot manager, kept in the tree's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stub {
    pub stub: ContentId,
    /// systemd-boot, which a disk's ESP boots first to pick a slot.
    pub boot_manager: ContentId,
}

/// The image used when `kernel.syslinux` is not set.
pub const DEFAULT_SYSLINUX: &str = "cairn/syslinux:latest";

/// Where Debian's package puts the stub for `arch`.
pub fn stub_path(arch: Arch) -> &'static str {
    match arch {
        Arch::Amd64 => "usr/lib/systemd/boot/efi/linuxx64.efi.stub",
        Arch::Arm64 => "usr/lib/systemd/boot/efi/linuxaa64.efi.stub",
    }
}

/// Where Debian's isolinux and syslinux-common put ISOLINUX, the hybrid
/// MBR code and the core module ISOLINUX loads.
pub const SYSLINUX_PATHS: [&str; 3] = [
    "usr/lib/ISOLINUX/isolinux.bin",
    "usr/lib/ISOLINUX/isohdpfx.bin",
    "usr/lib/syslinux/modules/bios/ldlinux.c32",
];

/// The BIOS loader's files, kept in the tree's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syslinux {
    pub isolinux: ContentId,
    pub hybrid_mbr: ContentId,
    pub ldlinux: ContentId,
}

/// The stub and boot manager of `image` for the target architecture.
pub(super) fn add_stub(
    inputs: &Inputs,
    image: &str,
    tree: &Tree,
    used: &mut Vec<UsedImage>,
) -> Result<Stub, AssembleError> {
    let hint = format!(
        "`kernel.stub` must name an image with Debian's systemd-boot-efi files (the stub and \
         systemd-boot) for {}",
        inputs.arch.oci_name()
    );
    let [stub, boot_manager] = copy_out(
        inputs,
        "kernel.stub",
        image,
        [stub_path(inputs.arch), boot_manager_path(inputs.arch)],
        &hint,
        tree,
        used,
    )?;
    Ok(Stub { stub, boot_manager })
}

/// The BIOS loader of `image`; BIOS is x86 only.
pub(super) fn add_syslinux(
    inputs: &Inputs,
    image: &str,
    tree: &Tree,
    used: &mut Vec<UsedImage>,
) -> Result<Syslinux, AssembleError> {
    if inputs.arch != Arch::Amd64 {
        return Err(AssembleError::Kernel {
            image: image.to_string(),
            message: format!(
                "is a PC BIOS boot loader; {} machines boot UEFI: build raw-efi, qcow2-efi or iso-efi",
                inputs.arch.oci_name()
            ),
        });
    }
    let hint =
        "`kernel.syslinux` must name an image with Debian's isolinux and syslinux-common files";
    let [isolinux, hybrid_mbr, ldlinux] = copy_out(
        inputs,
        "kernel.syslinux",
        image,
        SYSLINUX_PATHS,
        hint,
        tree,
        used,
    )?;
    Ok(Syslinux {
        isolinux,
        hybrid_mbr,
        ldlinux,
    })
}

/// Unpacks `image` aside and copies `paths` into `tree`'s contents.
fn copy_out<const N: usize>(
    inputs: &Inputs,
    section: &str,
    image: &str,
    paths: [&str; N],
    hint: &str,
    tree: &Tree,
    used: &mut Vec<UsedImage>,
) -> Result<[ContentId; N], AssembleError> {
    let out = copy_files(inputs, section, image, &paths, hint, tree, used)?;
    Ok(out
        .try_into()
        .unwrap_or_else(|_| unreachable!("one content per path")))
}

/// Unpacks `image` aside and copies `paths` into `tree`'s contents, in order.
pub(super) fn copy_files(
    inputs: &Inputs,
    section: &str,
    image: &str,
    paths: &[&str],
    hint: &str,
    tree: &Tree,
    used: &mut Vec<UsedImage>,
) -> Result<Vec<ContentId>, AssembleError> {
    let opened = inputs.open(section, image)?;
    let parts = &opened.parts;
    let scratch =
        Contents::new(Some(tree.contents().root())).map_err(|source| AssembleError::Content {
            what: format!("the {section} image"),
            source,
        })?;
    let mut aside = Tree::new(scratch);
    unpack(inputs.store, parts, &mut aside, "")?;
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let found = aside
            .resolve(path)
            .ok()
            .and_then(|real| aside.get(&real).cloned());
        let Some(crate::fstree::Entry {
            kind: Kind::File(id),
            ..
        }) = found
        else {
            return Err(AssembleError::Kernel {
                image: image.to_string(),
                message: format!("has no /{path}; {hint}"),
            });
        };
        let content = |source| AssembleError::Content {
            what: format!("/{path} of {image}"),
            source,
        };
        let mut file = aside.contents().open(&id).map_err(content)?;
        out.push(tree.contents().add(&mut file).map_err(content)?);
    }
    used.push(opened.used);
    Ok(out)
}
