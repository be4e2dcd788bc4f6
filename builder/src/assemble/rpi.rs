//! The boot files of a Raspberry Pi card, kept beside the tree like the
//! kernel: the VideoCore firmware of `rpi.firmware` (Debian's
//! raspi-firmware as packaged by `pkg/rpi-firmware`) and the board's
//! device trees, taken from the kernel image's `dtbs/` folder so they
//! always match the kernel they describe.

use std::collections::BTreeMap;

use super::loader::copy_files;
use super::{AssembleError, Inputs, KernelParts, UsedImage};
use crate::arch::Board;
use crate::fstree::{ContentId, Tree};
use crate::plan::RpiTarget;

/// Where the firmware files sit in the firmware image.
const FIRMWARE_DIR: &str = "boot";
/// Where the device trees sit in the kernel image.
const DTBS_DIR: &str = "dtbs";

/// What the card's boot partition holds besides the kernel and initramfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpiBoot {
    pub board: Board,
    /// File name on the boot partition, content.
    pub firmware: Vec<(String, ContentId)>,
    /// File name on the boot partition (`bcm2837-rpi-3-b.dtb`), content.
    pub device_trees: Vec<(String, ContentId)>,
    /// The user's config.txt lines (`rpi.config`).
    pub config: Vec<String>,
    /// Overlays from `rpi.overlays`: file name (`tpm-slb9670.dtbo`), content.
    pub overlays: Vec<(String, ContentId)>,
}

/// The kernel image files to keep for `board`: its device trees.
pub fn kernel_files(board: Board) -> Vec<String> {
    (board.device_trees().iter())
        .map(|d| format!("{DTBS_DIR}/{d}"))
        .collect()
}

pub(super) fn add(
    inputs: &Inputs,
    target: &RpiTarget,
    kernel: Option<&KernelParts>,
    tree: &Tree,
    used: &mut Vec<UsedImage>,
) -> Result<RpiBoot, AssembleError> {
    let board = target.board;
    let paths: Vec<String> = (board.firmware().iter())
        .map(|f| format!("{FIRMWARE_DIR}/{f}"))
        .collect();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let hint = format!(
        "`rpi.firmware` must name an image with Debian's raspi-firmware files for the {} \
         (cairn/rpi-firmware, from `cairn pkg build pkg/rpi-firmware`)",
        board.name()
    );
    let contents = copy_files(
        inputs,
        "rpi.firmware",
        &target.firmware,
        &paths,
        &hint,
        tree,
        used,
    )?;
    let firmware = (board.firmware().iter().map(|f| f.to_string()))
        .zip(contents)
        .collect();
    let empty = BTreeMap::new();
    let found = kernel.map_or(&empty, |k| &k.files);
    let device_trees = device_trees(board, found).map_err(|dtb| {
        let image = (inputs.config.kernel.as_ref())
            .and_then(|k| k.image.clone())
            .unwrap_or_default();
        AssembleError::Kernel {
            image,
            message: format!(
                "has no /{DTBS_DIR}/{dtb}, the device tree of the {}; a Raspberry Pi card needs \
                 a kernel image with its device trees under /{DTBS_DIR} (Debian's arm64 kernel, \
                 cairn/kernel, has them)",
                board.name()
            ),
        }
    })?;
    let rpi = inputs.config.rpi.as_ref();
    Ok(RpiBoot {
        board,
        firmware,
        device_trees,
        config: rpi.map(|r| r.config.clone()).unwrap_or_default(),
        overlays: overlays(rpi.map_or(&[], |r| r.overlays.as_slice()), tree)?,
    })
}

/// The overlay files of `rpi.overlays`, read from the build machine; two
/// with one file name would overwrite each other on the card.
fn overlays(paths: &[String], tree: &Tree) -> Result<Vec<(String, ContentId)>, AssembleError> {
    let mut out: Vec<(String, ContentId)> = Vec::new();
    for (i, path) in paths.iter().enumerate() {
        let fail = |message: String| AssembleError::Overlay {
            index: i,
            path: path.clone(),
            message,
        };
        let name = path.rsplit('/').next().unwrap_or(path).to_string();
        if out.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
            return Err(fail(format!("another overlay is also named {name}")));
        }
        let mut file = super::files::open_source(std::path::Path::new(path))
            .map_err(|e| fail(format!("cannot read it: {e}")))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        if size > crate::config::rpi::MAX_OVERLAY {
            return Err(fail(format!(
                "it is {size} bytes; an overlay is a few KiB (at most 1 MiB)"
            )));
        }
        let id = tree
            .contents()
            .add(&mut file)
            .map_err(|e| fail(format!("cannot store it: {e}")))?;
        out.push((name, id));
    }
    Ok(out)
}

/// The board's device trees found in the kernel image, by file name; the
/// board's own must be there (its path is the error), the others are kept
/// when the kernel has them.
fn device_trees(
    board: Board,
    found: &BTreeMap<String, ContentId>,
) -> Result<Vec<(String, ContentId)>, &'static str> {
    let mut out = Vec::new();
    for (i, dtb) in board.device_trees().iter().enumerate() {
        match found.get(&format!("{DTBS_DIR}/{dtb}")) {
            Some(id) => {
                let name = dtb.rsplit('/').next().unwrap_or(dtb);
                out.push((name.to_string(), id.clone()));
            }
            None if i == 0 => return Err(dtb),
            None => {}
        }
    }
    Ok(out)
}
