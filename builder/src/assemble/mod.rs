//! Assembly: a verified [`Plan`] (a config and the images it names, pinned,
//! checked and trusted) becomes the system's root filesystem, laid out as `docs/rootfs-layout.md`
//! describes: the `init` images at `/`, one OCI bundle per container, the
//! kernel modules the system needs, `files`, `volumes` and the defaults the
//! init and runc rely on. Contents stay on disk under `work`; the same inputs
//! always give the same tree.

mod bundle;
mod command;
mod files;
mod kernel;
mod layers;
pub mod loader;
mod modinfo;
pub mod package_check;
mod rootfs;
pub mod rpi;
mod runtime;
mod spec;
mod spec_mounts;

use std::io;
use std::path::{Path, PathBuf};

use crate::config::{Config, LoadError};
use crate::exit::{Classify, ErrorClass};
use crate::fstree::{ContentId, Contents, Tree, TreeError};
use crate::oci::{Digest, Store, StoreError};
use crate::plan::Plan;

pub use crate::arch::Arch;
pub use kernel::default_modules;

/// Everything assembly reads, taken from the plan.
#[derive(Debug)]
struct Inputs<'a> {
    config: &'a Config,
    store: &'a Store,
    arch: Arch,
    plan: &'a Plan,
}

impl Inputs<'_> {
    /// The one way assembly reads an image: by the reference the config
    /// writes, through the digest the plan pinned.
    fn open(&self, section: &str, image: &str) -> Result<Opened, AssembleError> {
        let digest = self.plan.platform_digest(image).cloned().ok_or_else(|| {
            AssembleError::NotResolved {
                section: section.to_string(),
                image: image.to_string(),
            }
        })?;
        let parts = layers::read_image(self.store, image, &digest)?;
        Ok(Opened {
            parts,
            used: UsedImage {
                section: section.to_string(),
                image: image.to_string(),
                digest,
            },
        })
    }
}

/// An image read from the store, and the record of its use.
struct Opened {
    parts: layers::ImageParts,
    used: UsedImage,
}

/// The assembled system.
#[derive(Debug)]
pub struct System {
    pub rootfs: Tree,
    pub kernel: Option<KernelParts>,
    /// The UEFI stub and systemd-boot, kept beside the tree like the kernel.
    pub stub: Option<loader::Stub>,
    /// The BIOS loader, kept beside the tree like the kernel.
    pub syslinux: Option<loader::Syslinux>,
    /// A Raspberry Pi card's firmware and device trees.
    pub rpi: Option<rpi::RpiBoot>,
    /// Every image used, in config order (kernel, init, onboot, onshutdown,
    /// services, volumes).
    pub images: Vec<UsedImage>,
}

/// The kernel to boot, with its file kept in `rootfs.contents()` (not in
/// the tree: the kernel is not part of the root filesystem).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelParts {
    pub kernel: ContentId,
    pub cmdline: String,
    /// From `lib/modules/<version>/` in the modules tarball; empty without one.
    pub version: String,
    /// Other files of the kernel image a format asked for (device trees),
    /// by their path in the image.
    pub files: std::collections::BTreeMap<String, ContentId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedImage {
    /// `kernel`, `init[0]`, `onboot[1]`, `services[0]`, `volumes[0]`, ...
    pub section: String,
    /// The reference as written in the config.
    pub image: String,
    pub digest: Digest,
}

#[derive(Debug, thiserror::Error)]
pub enum AssembleError {
    #[error("cannot create the temporary build folder in {}", work.display())]
    Work {
        work: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{section}: image {image} was not resolved before assembly; run `cairn build` so every image is pinned"
    )]
    NotResolved { section: String, image: String },
    #[error("cannot read image {image} from the store")]
    Store {
        image: String,
        #[source]
        source: Box<StoreError>,
    },
    #[error(
        "image {image}: {digest} is not a platform image manifest; pass the manifest for the target platform"
    )]
    NotPlatformManifest { image: String, digest: Digest },
    #[error("image {image}: its config blob is not a valid OCI image config")]
    BadConfig {
        image: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("image {image}: cannot read layer {layer} from the store")]
    LayerRead {
        image: String,
        layer: Digest,
        #[source]
        source: io::Error,
    },
    #[error(
        "image {image}: layer {layer} is malformed or over cairn's limits (its compression or tar stream cannot be read as it is); the image must be rebuilt"
    )]
    LayerMalformed {
        image: String,
        layer: Digest,
        #[source]
        source: io::Error,
    },
    #[error(
        "image {image}: layer {layer} has digest {actual} in the store; remove the store's copy and pull again"
    )]
    LayerDigest {
        image: String,
        layer: Digest,
        actual: Digest,
    },
    #[error(
        "image {image}: layer {layer}: entry {path:?} is refused because {why}; the image must be rebuilt without it"
    )]
    Escapes {
        image: String,
        layer: Digest,
        path: String,
        why: &'static str,
    },
    #[error("image {image}: layer {layer}: cannot place entry {path:?}")]
    LayerEntry {
        image: String,
        layer: Digest,
        path: String,
        #[source]
        source: Box<TreeError>,
    },
    #[error("image {image}: its org.mobyproject.config label is invalid")]
    Label {
        image: String,
        #[source]
        source: Box<LoadError>,
    },
    #[error("{section} ({name}): {message}")]
    Container {
        section: String,
        name: String,
        message: String,
    },
    #[error("files[{index}] ({path}): {message}")]
    File {
        index: usize,
        path: String,
        message: String,
    },
    #[error("files[{index}]: cannot read source {}; check the path (it is relative to the directory of the first config file), or mark the entry `optional: true`", source_path.display())]
    FileSource {
        index: usize,
        source_path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("rpi.overlays[{index}] ({path}): {message}")]
    Overlay {
        index: usize,
        path: String,
        message: String,
    },
    #[error("{location}: data ({mount}): {message}")]
    Data {
        location: String,
        mount: String,
        message: String,
    },
    #[error("volumes ({name}): {message}")]
    Volume { name: String, message: String },
    #[error("cannot place {path:?} in the root filesystem")]
    Place {
        path: String,
        #[source]
        source: Box<TreeError>,
    },
    #[error("cannot store {what} in the temporary build folder")]
    Content {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("kernel image {image}: {message}")]
    Kernel { image: String, message: String },
    #[error("kernel image {image}: cannot read its modules tarball {tar}")]
    KernelTar {
        image: String,
        tar: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "kernel.modules: module {module:?} is not in kernel {version} ({image}); check the name against its modules.dep (`-` and `_` are the same)"
    )]
    UnknownModule {
        module: String,
        version: String,
        image: String,
    },
}

impl Classify for AssembleError {
    fn class(&self) -> ErrorClass {
        match self {
            AssembleError::Store { source, .. } => source.class(),
            AssembleError::Work { .. }
            | AssembleError::Content { .. }
            | AssembleError::LayerRead { .. } => ErrorClass::Environment,
            _ => ErrorClass::User,
        }
    }
}

/// Builds the root filesystem the plan describes, its contents under `work`.
pub fn assemble(plan: &Plan, work: &Path) -> Result<System, AssembleError> {
    let inputs = Inputs {
        config: plan.config(),
        store: plan.store(),
        arch: plan.arch(),
        plan,
    };
    let contents = Contents::new(Some(work)).map_err(|source| AssembleError::Work {
        work: work.to_path_buf(),
        source,
    })?;
    let mut tree = Tree::new(contents);
    let mut used = Vec::new();
    let config = inputs.config;
    for (i, image) in config.init.iter().enumerate() {
        let opened = inputs.open(&format!("init[{i}]"), image)?;
        layers::unpack(inputs.store, &opened.parts, &mut tree, "")?;
        used.push(opened.used);
    }
    let mut kernel = None;
    if let Some(k) = &config.kernel
        && let Some(image) = &k.image
    {
        let opened = inputs.open("kernel", image)?;
        let board = plan.rpi().map(|r| r.board);
        let files = board.map(rpi::kernel_files).unwrap_or_default();
        // The data partition is ext4, a module in Debian's kernel.
        let mut modules: Vec<&str> = board.map_or(&[][..], |b| b.modules()).to_vec();
        if config.data.is_some() {
            modules.push("ext4");
        }
        // A UEFI system reads systemd-boot's variables (efivarfs) and, to
        // bless a new slot, renames its UKI on the ESP (vfat, with the
        // kernel's default code page and character set).
        if plan.stub().is_some() {
            modules.extend(["efivarfs", "vfat", "nls_cp437", "nls_ascii"]);
        }
        let extras = kernel::Extras {
            modules: &modules,
            files: &files,
        };
        kernel = Some(kernel::add(
            inputs.store,
            inputs.arch,
            k,
            extras,
            &opened.parts,
            &mut tree,
        )?);
        used.insert(0, opened.used);
    }
    bundle::add_all(&inputs, &mut tree, &mut used)?;
    rootfs::add_volumes(&inputs, &mut tree, &mut used)?;
    files::add(config, &mut tree)?;
    rootfs::finish(config, &mut tree)?;
    let stub = match plan.stub() {
        Some(image) => Some(loader::add_stub(&inputs, image, &tree, &mut used)?),
        None => None,
    };
    let syslinux = match plan.syslinux() {
        Some(image) => Some(loader::add_syslinux(&inputs, image, &tree, &mut used)?),
        None => None,
    };
    let rpi = match plan.rpi() {
        Some(target) => Some(rpi::add(
            &inputs,
            target,
            kernel.as_ref(),
            &tree,
            &mut used,
        )?),
        None => None,
    };
    Ok(System {
        rootfs: tree,
        kernel,
        stub,
        syslinux,
        rpi,
        images: used,
    })
}

/// Adds a small file, e.g. a generated config.
fn put_bytes(tree: &mut Tree, path: &str, bytes: &[u8], mode: u32) -> Result<(), AssembleError> {
    let mut r = bytes;
    tree.add_file(path, &mut r, mode, 0, 0)
        .map_err(|source| AssembleError::Place {
            path: path.to_string(),
            source: Box::new(source),
        })?;
    Ok(())
}

fn put_dir(tree: &mut Tree, path: &str, mode: u32) -> Result<(), AssembleError> {
    tree.insert(path, crate::fstree::Entry::dir(mode))
        .map_err(|source| AssembleError::Place {
            path: path.to_string(),
            source: Box::new(source),
        })?;
    Ok(())
}
