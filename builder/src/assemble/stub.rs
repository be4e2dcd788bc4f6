//! The UEFI stub a UKI is built on, taken from the `kernel.stub` image
//! (Debian's systemd-boot-efi as packaged by `pkg/systemd-stub`). It is kept
//! beside the tree, like the kernel, not in the root filesystem.

use super::layers::{read_image, unpack};
use super::{Arch, AssembleError, Inputs, UsedImage, lookup};
use crate::fstree::{ContentId, Contents, Kind, Tree};

/// The image used when `kernel.stub` is not set.
pub const DEFAULT_STUB: &str = "cairn/systemd-stub:latest";

/// Where Debian's package puts the stub for `arch`.
pub fn stub_path(arch: Arch) -> &'static str {
    match arch {
        Arch::Amd64 => "usr/lib/systemd/boot/efi/linuxx64.efi.stub",
        Arch::Arm64 => "usr/lib/systemd/boot/efi/linuxaa64.efi.stub",
    }
}

/// Unpacks `image` aside and copies its stub into `tree`'s contents.
pub fn add(
    inputs: &Inputs,
    image: &str,
    tree: &Tree,
    used: &mut Vec<UsedImage>,
) -> Result<ContentId, AssembleError> {
    let digest = lookup(inputs, "kernel.stub", image)?;
    let parts = read_image(inputs.store, image, &digest)?;
    let scratch =
        Contents::new(Some(tree.contents().root())).map_err(|source| AssembleError::Content {
            what: "the stub image".into(),
            source,
        })?;
    let mut aside = Tree::new(scratch);
    unpack(inputs.store, &parts, &mut aside, "")?;
    let path = stub_path(inputs.arch);
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
            message: format!(
                "has no /{path}; `kernel.stub` must name an image with Debian's systemd-boot-efi stub for {}",
                inputs.arch.oci_name()
            ),
        });
    };
    let mut file = aside
        .contents()
        .open(&id)
        .map_err(|source| AssembleError::Content {
            what: format!("the stub {path}"),
            source,
        })?;
    let stub = tree
        .contents()
        .add(&mut file)
        .map_err(|source| AssembleError::Content {
            what: format!("the stub {path}"),
            source,
        })?;
    used.push(UsedImage {
        section: "kernel.stub".into(),
        image: image.to_string(),
        digest,
    });
    Ok(stub)
}
