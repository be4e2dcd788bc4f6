//! The top level of a config file: `kernel`, `init`, the container lists,
//! `files`, `volumes`, `trust`, `rpi` and `data`.

use std::path::PathBuf;

use serde::Deserialize;

use super::diag::Location;
use super::image::Image;
use super::scalar::{Id, opt_text};

/// One config file as written (before trust keys are resolved and files merged).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct RawConfig {
    pub kernel: Option<Kernel>,
    pub init: Vec<String>,
    pub onboot: Vec<Image>,
    pub onshutdown: Vec<Image>,
    pub services: Vec<Image>,
    pub files: Vec<File>,
    pub volumes: Vec<Volume>,
    pub trust: Option<RawTrust>,
    pub rpi: Option<super::rpi::Rpi>,
    pub data: Option<super::data::Data>,
    pub update: Option<super::update::Update>,
    #[serde(deserialize_with = "opt_text")]
    pub version: Option<String>,
}

/// The kernel image and how to boot it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Kernel {
    pub image: Option<String>,
    pub cmdline: Option<String>,
    /// Name of the kernel file inside the image (default `kernel`).
    pub binary: Option<String>,
    /// Name of the modules tarball inside the image (default `kernel.tar`;
    /// empty or `none` for no tarball).
    pub tar: Option<String>,
    /// Name of a CPU microcode cpio inside the image, prepended to the initrd.
    pub ucode: Option<String>,
    /// cairn: kernel modules to add to the default set, by name (`-` and
    /// `_` are the same), each with the modules it depends on.
    pub modules: Option<Vec<String>>,
    /// cairn: the image holding the UEFI stub that UKIs and disk images are
    /// built on (default `cairn/systemd-stub:latest`, used only by those formats).
    pub stub: Option<String>,
    /// cairn: the image holding the BIOS boot loader of the `-bios` formats
    /// (default `cairn/syslinux:latest`, used only by those formats).
    pub syslinux: Option<String>,
    /// Where the (last) `kernel` section starts.
    #[serde(skip)]
    pub location: Location,
}

/// An entry of `files`: a file, directory or symlink added to the root filesystem.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct File {
    pub path: Option<String>,
    pub directory: Option<bool>,
    pub symlink: Option<String>,
    pub contents: Option<String>,
    /// A file on the build machine (`~/` is the home directory).
    pub source: Option<String>,
    /// `yaml` or `json`: the config itself, written into the image.
    pub metadata: Option<String>,
    /// Skip the entry when `source` cannot be read.
    pub optional: Option<bool>,
    /// Octal permission text, default `0600` (`0700` for directories).
    #[serde(deserialize_with = "opt_text")]
    pub mode: Option<String>,
    pub uid: Option<Id>,
    pub gid: Option<Id>,
    #[serde(skip)]
    pub location: Location,
}

/// A named volume that containers can bind.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Volume {
    pub name: Option<String>,
    pub image: Option<String>,
    pub readonly: Option<bool>,
    /// `filesystem` (default with an image) or `oci`.
    pub format: Option<String>,
    /// Platforms kept for `format: oci`, e.g. `linux/amd64`.
    pub platforms: Option<Vec<String>>,
    #[serde(skip)]
    pub location: Location,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct RawTrust {
    pub org: Vec<String>,
    pub image: Vec<String>,
    pub keys: Vec<RawTrustKey>,
    pub allow_unsigned: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct RawTrustKey {
    pub name: Option<String>,
    pub path: Option<String>,
    pub pem: Option<String>,
    pub development: Option<bool>,
    pub images: Vec<String>,
}

/// The trust policy: which images must be signed, and by which keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trust {
    /// LinuxKit: organisations whose images must be signed.
    pub org: Vec<String>,
    /// LinuxKit: repositories that must be signed (any tag).
    pub image: Vec<String>,
    /// cairn: ed25519 public keys and the images each one signs.
    pub keys: Vec<TrustKey>,
    /// cairn: patterns of images that may be used without a signature. Every
    /// other image must be covered by a key (or `org`/`image`).
    pub allow_unsigned: Vec<String>,
}

/// A public key allowed to sign the images matching `images`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustKey {
    pub name: Option<String>,
    pub source: KeySource,
    /// Glob patterns over image names, e.g. `cairn/*`.
    pub images: Vec<String>,
}

/// Where a public key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A PEM file; absolute, or relative to the current directory (the loader
    /// already joined it to the config file's directory).
    Path(PathBuf),
    /// The PEM text itself.
    Pem(String),
    /// The development key `cairn pkg build` signs with when given no
    /// `--key` (`$XDG_CONFIG_HOME/cairn/dev.pub`), wherever it is on this
    /// machine.
    Development,
}
