//! From a build.yml and the inputs it names to a signed-ready multi-arch
//! image in the store. Per architecture, in this order: unpack the pinned
//! .debs (in lock order, later files replace earlier ones), `drop` (defaults
//! included), add `files` and `crates` (so the defaults never remove what
//! build.yml adds on purpose), `move`, `pack`, `keep`, then the ELF check.
//! Then one layer, config and manifest per architecture and an index.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::deb::{self, DebEntry, DebError, EntryKind};
use super::elf::{self, ElfError, Problem};
use super::image::{self, Descriptor};
use super::layer::{self, LayerError};
use super::spec::{ArchPlan, BuildSpec, FileSource};
use crate::arch::Arch;
use crate::assemble::package_check;
use crate::exit::{Classify, ErrorClass};
use crate::fstree::content::Contents;
use crate::fstree::tree::{Entry, Kind, Tree, TreeError};
use crate::oci::{Digest, ImageRef, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot assemble the {arch} tree of package {name}")]
    Tree {
        name: String,
        arch: &'static str,
        #[source]
        source: TreeError,
    },
    #[error("cannot unpack a Debian package into the {arch} tree of {name}")]
    Deb {
        name: String,
        arch: &'static str,
        #[source]
        source: DebError,
    },
    #[error("cannot read {} for package {name}; check `files:` in build.yml", path.display())]
    Source {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create a temporary folder for the tree of package {name}")]
    Temp {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the {arch} image of package {name} is not self-contained; add the missing packages to `debian.packages` (or stop excluding them), or list foreign files under `foreignElf`:\n  {}",
        problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n  ")
    )]
    NotSelfContained {
        name: String,
        arch: &'static str,
        problems: Vec<Problem>,
    },
    #[error("cannot check the ELF files of package {name}")]
    Elf {
        name: String,
        #[source]
        source: ElfError,
    },
    #[error(
        "the {arch} image of package {name} does not make a container as `cairn build` would: {message}; fix `label:` or `config:` in build.yml"
    )]
    Container {
        name: String,
        arch: &'static str,
        message: String,
    },
    #[error("cannot write package {name} into the image store")]
    Layer {
        name: String,
        #[source]
        source: LayerError,
    },
    #[error("package name {name:?} does not make an image name")]
    Name {
        name: String,
        #[source]
        source: crate::oci::ReferenceError,
    },
    #[error("cannot write package {name} into the image store")]
    Store {
        name: String,
        #[source]
        source: StoreError,
    },
}

impl Classify for BuildError {
    fn class(&self) -> ErrorClass {
        match self {
            BuildError::Tree { source, .. } => source.class(),
            BuildError::Deb { source, .. } => source.class(),
            BuildError::Elf { source, .. } => source.class(),
            BuildError::Layer { source, .. } => source.class(),
            BuildError::Store { source, .. } => source.class(),
            BuildError::Temp { .. } => ErrorClass::Environment,
            BuildError::Source { .. }
            | BuildError::NotSelfContained { .. }
            | BuildError::Container { .. }
            | BuildError::Name { .. } => ErrorClass::User,
        }
    }
}

/// What goes into one architecture's tree besides build.yml itself.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Downloaded, verified .debs in lock order.
    pub debs: Vec<PathBuf>,
    /// Built crate binaries, in the order of the plan's `crates`.
    pub crates: Vec<PathBuf>,
}

/// Builds one architecture's tree and checks it.
pub fn assemble(
    spec: &BuildSpec,
    dir: &Path,
    arch: Arch,
    inputs: &Inputs,
    mtime: u64,
) -> Result<Tree, BuildError> {
    let name = spec.name.clone();
    let plan: ArchPlan = spec.for_arch(arch);
    let tree_err = |source| BuildError::Tree {
        name: name.clone(),
        arch: arch.name(),
        source,
    };
    let contents = Contents::new(None).map_err(|source| BuildError::Temp {
        name: name.clone(),
        source,
    })?;
    let mut tree = Tree::new(contents);
    for deb in &inputs.debs {
        unpack(&mut tree, deb).map_err(|source| BuildError::Deb {
            name: name.clone(),
            arch: arch.name(),
            source,
        })?;
    }
    tree.drop_matching(&plan.drop);
    for file in &plan.files {
        add_file(&mut tree, dir, file).map_err(|e| match e {
            AddError::Tree(t) => tree_err(t),
            AddError::Io(path, source) => BuildError::Source {
                name: name.clone(),
                path,
                source,
            },
        })?;
    }
    for (spec_crate, binary) in plan.crates.iter().zip(&inputs.crates) {
        let mut f = File::open(binary).map_err(|source| BuildError::Source {
            name: name.clone(),
            path: binary.clone(),
            source,
        })?;
        tree.add_file(&spec_crate.path, &mut f, 0o755, 0, 0)
            .map_err(tree_err)?;
    }
    for m in &plan.moves {
        tree.move_one(&m.from, &m.to).map_err(tree_err)?;
    }
    for p in &plan.pack {
        tree.pack(&p.from, &p.to, mtime).map_err(tree_err)?;
    }
    if !plan.keep.is_empty() {
        tree.keep_only(&plan.keep);
    }
    let problems =
        elf::check(&tree, arch, &plan.foreign_elf).map_err(|source| BuildError::Elf {
            name: name.clone(),
            source,
        })?;
    if !problems.is_empty() {
        return Err(BuildError::NotSelfContained {
            name,
            arch: arch.name(),
            problems,
        });
    }
    check_container(spec, arch, &tree)?;
    Ok(tree)
}

/// The label and entrypoint must make a container the way `cairn build`
/// will make it.
fn check_container(spec: &BuildSpec, arch: Arch, tree: &Tree) -> Result<(), BuildError> {
    let fail = |message: String| BuildError::Container {
        name: spec.name.clone(),
        arch: arch.name(),
        message,
    };
    let label = match &spec.label {
        Some(l) => Some(
            crate::config::parse_image_label(&spec.name, &l.json)
                .map_err(|e| fail(e.to_string()))?,
        ),
        None => None,
    };
    let declared = package_check::Declared {
        entrypoint: &spec.config.entrypoint,
        cmd: &spec.config.cmd,
        env: &spec.config.env,
        working_dir: spec.config.working_dir.as_deref(),
    };
    package_check::check(tree, label.as_ref(), &declared).map_err(fail)
}

fn unpack(tree: &mut Tree, deb_path: &Path) -> Result<(), DebError> {
    deb::for_each_entry(deb_path, &mut |e: &DebEntry, r: &mut dyn Read| {
        let wrap = |source: TreeError| DebError::Entry {
            deb: deb_path.to_path_buf(),
            entry: e.path.clone(),
            source: Box::new(source),
        };
        let entry = |kind| Entry {
            kind,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
        };
        match &e.kind {
            EntryKind::File => tree.add_file(&e.path, r, e.mode, e.uid, e.gid),
            EntryKind::Hardlink(target) => tree.add_hardlink(&e.path, target, e.mode, e.uid, e.gid),
            EntryKind::Dir => tree.insert(&e.path, entry(Kind::Dir)),
            EntryKind::Symlink(t) => tree.insert(&e.path, entry(Kind::Symlink(t.clone()))),
            EntryKind::CharDevice(a, b) => tree.insert(&e.path, entry(Kind::CharDevice(*a, *b))),
            EntryKind::BlockDevice(a, b) => tree.insert(&e.path, entry(Kind::BlockDevice(*a, *b))),
            EntryKind::Fifo => tree.insert(&e.path, entry(Kind::Fifo)),
        }
        .map(|_| ())
        .map_err(wrap)
    })
}

enum AddError {
    Tree(TreeError),
    Io(PathBuf, std::io::Error),
}

fn add_file(tree: &mut Tree, dir: &Path, f: &super::spec::FileSpec) -> Result<(), AddError> {
    let entry = |kind, default_mode| Entry {
        kind,
        mode: f.mode.unwrap_or(default_mode),
        uid: f.uid,
        gid: f.gid,
    };
    let result = match &f.what {
        FileSource::Source(rel) => {
            let path = dir.join(rel);
            let io = |e| AddError::Io(path.clone(), e);
            // Followed on purpose: a link in the package folder may name a
            // build cache outside it (pkg/kernel-cairn/out).
            if std::fs::metadata(&path).map_err(io)?.is_dir() {
                return add_dir(tree, &path, &f.path, f);
            }
            let mut file = File::open(&path).map_err(io)?;
            // Git keeps the executable bit, so it is a stable default.
            let executable = file.metadata().map_err(io)?.permissions().mode() & 0o111 != 0;
            let default = if executable { 0o755 } else { 0o644 };
            tree.add_file(&f.path, &mut file, f.mode.unwrap_or(default), f.uid, f.gid)
        }
        FileSource::Contents(text) => tree.add_file(
            &f.path,
            &mut text.as_bytes(),
            f.mode.unwrap_or(0o644),
            f.uid,
            f.gid,
        ),
        FileSource::Directory => tree.insert(&f.path, entry(Kind::Dir, 0o755)),
        FileSource::Symlink(target) => {
            tree.insert(&f.path, entry(Kind::Symlink(target.clone()), 0o777))
        }
    };
    result.map(|_| ()).map_err(AddError::Tree)
}

/// A folder source with its subtree: folders 0755 (the top one `mode` when
/// given), files 0755 or 0644 by their executable bit, symlinks as they are;
/// `uid`/`gid` for all. Entries are added in sorted order.
fn add_dir(
    tree: &mut Tree,
    src: &Path,
    at: &str,
    f: &super::spec::FileSpec,
) -> Result<(), AddError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e| AddError::Io(p, e)
    };
    let entry = |kind, mode| Entry {
        kind,
        mode,
        uid: f.uid,
        gid: f.gid,
    };
    let top = at == f.path;
    let mode = if top { f.mode.unwrap_or(0o755) } else { 0o755 };
    tree.insert(at, entry(Kind::Dir, mode))
        .map_err(AddError::Tree)?;
    let mut names = std::fs::read_dir(src)
        .map_err(io(src))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(io(src))?;
    names.sort();
    for name in names {
        let from = src.join(&name);
        let odd = |what: &str| {
            AddError::Io(
                from.clone(),
                std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string()),
            )
        };
        let Some(name) = name.to_str() else {
            return Err(odd("the name is not UTF-8"));
        };
        let to = format!("{at}/{name}");
        let meta = std::fs::symlink_metadata(&from).map_err(io(&from))?;
        let kind = meta.file_type();
        if kind.is_dir() {
            add_dir(tree, &from, &to, f)?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(&from).map_err(io(&from))?;
            let Some(target) = target.to_str() else {
                return Err(odd("the symlink target is not UTF-8"));
            };
            tree.insert(&to, entry(Kind::Symlink(target.to_string()), 0o777))
                .map_err(AddError::Tree)?;
        } else if kind.is_file() {
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            };
            let mut file = File::open(&from).map_err(io(&from))?;
            tree.add_file(&to, &mut file, mode, f.uid, f.gid)
                .map_err(AddError::Tree)?;
        } else {
            return Err(odd("not a file, folder or symlink"));
        }
    }
    Ok(())
}

/// A package written into the store.
#[derive(Debug, Clone)]
pub struct Built {
    /// `cairn/<name>` as a reference (store names are normalized from it).
    pub image: ImageRef,
    pub digest: Digest,
    /// `<first 12 hex of the index digest>`.
    pub tag: String,
}

/// Writes one architecture's tree as a layer, config and manifest; the
/// tree can be dropped afterwards.
pub fn write_arch(
    store: &Store,
    spec: &BuildSpec,
    arch: Arch,
    tree: &Tree,
    mtime: u64,
) -> Result<(Descriptor, u64), BuildError> {
    let layer = layer::write_layer(store, tree, mtime).map_err(|source| BuildError::Layer {
        name: spec.name.clone(),
        source,
    })?;
    let created = image::rfc3339(mtime);
    let manifest = image::write_image(
        store,
        arch,
        &layer,
        &spec.config,
        spec.label.as_ref(),
        &created,
    )
    .map_err(|source| BuildError::Store {
        name: spec.name.clone(),
        source,
    })?;
    Ok((manifest, layer.size))
}

/// Writes the index over the architectures' manifests and names it
/// `cairn/<name>:<content tag>` and `cairn/<name>:latest`.
pub fn finish(
    store: &Store,
    spec: &BuildSpec,
    manifests: &[Descriptor],
) -> Result<Built, BuildError> {
    let name = spec.name.clone();
    let store_err = |source| BuildError::Store {
        name: name.clone(),
        source,
    };
    let index = image::write_index(store, manifests).map_err(store_err)?;
    let tag = index.digest.hex()[..12].to_string();
    let image: ImageRef = format!("cairn/{name}")
        .parse()
        .map_err(|source| BuildError::Name {
            name: name.clone(),
            source,
        })?;
    let descriptor = crate::oci::manifest::descriptor(
        oci_spec::image::MediaType::ImageIndex,
        &index.digest,
        index.size,
    );
    for t in [tag.as_str(), "latest"] {
        store
            .set_name(&image.with_tag(t).store_name(), &descriptor)
            .map_err(store_err)?;
    }
    Ok(Built {
        image,
        digest: index.digest,
        tag,
    })
}
