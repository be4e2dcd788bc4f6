//! The Debian side of a package build: one lock file for all architectures
//! (`cairn pkg lock`), and the pinned .debs of each architecture fetched and
//! verified from it (`cairn pkg build`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::debian::{self, DebCache, DebianError, Lock, LockRequest, Sources};
use super::spec::BuildSpec;
use crate::arch::Arch;
use crate::exit::{Classify, ErrorClass};

#[derive(Debug, thiserror::Error)]
pub enum DebsError {
    #[error(
        "package {name} has no lock file {}; run `cairn pkg lock {}` to pin its Debian packages",
        path.display(), dir.display()
    )]
    NoLock {
        name: String,
        path: PathBuf,
        dir: PathBuf,
    },
    #[error(
        "{} does not match the Debian packages of {}/build.yml; run `cairn pkg lock {}` again",
        path.display(), dir.display(), dir.display()
    )]
    Stale { path: PathBuf, dir: PathBuf },
    #[error("{} pins nothing for {arch}; run `cairn pkg lock {}` again", path.display(), dir.display())]
    NoArch {
        path: PathBuf,
        dir: PathBuf,
        arch: &'static str,
    },
    #[error("cannot pin the Debian packages of {name}")]
    Lock {
        name: String,
        #[source]
        source: DebianError,
    },
    #[error("cannot get the pinned Debian packages of {name} for {arch}")]
    Fetch {
        name: String,
        arch: &'static str,
        #[source]
        source: DebianError,
    },
}

impl Classify for DebsError {
    fn class(&self) -> ErrorClass {
        match self {
            DebsError::Lock { source, .. } | DebsError::Fetch { source, .. } => source.class(),
            _ => ErrorClass::User,
        }
    }
}

fn lock_path(dir: &Path) -> PathBuf {
    dir.join("lock.yml")
}

fn request(spec: &BuildSpec, arch: Arch) -> LockRequest {
    let plan = spec.for_arch(arch).debian;
    LockRequest {
        packages: plan.packages,
        exclude: plan.exclude,
        archs: vec![arch.name().to_string()],
        components: plan.components,
    }
}

/// Everything the lock was made from, to notice a build.yml changed since.
fn union_request(spec: &BuildSpec) -> LockRequest {
    let mut all = LockRequest::default();
    for &arch in &spec.archs {
        let r = request(spec, arch);
        if r.packages.is_empty() {
            continue;
        }
        all.packages.extend(r.packages);
        all.exclude.extend(r.exclude);
        all.components.extend(r.components);
        all.archs.extend(r.archs);
    }
    for list in [
        &mut all.packages,
        &mut all.exclude,
        &mut all.components,
        &mut all.archs,
    ] {
        list.sort();
        list.dedup();
    }
    all
}

/// Whether the package takes anything from Debian at all.
pub fn uses_debian(spec: &BuildSpec) -> bool {
    spec.archs
        .iter()
        .any(|&a| !spec.for_arch(a).debian.packages.is_empty())
}

/// Resolves every architecture's closure and writes `dir/lock.yml`.
pub fn lock(spec: &BuildSpec, dir: &Path) -> Result<PathBuf, DebsError> {
    let err = |source| DebsError::Lock {
        name: spec.name.clone(),
        source,
    };
    let sources = Sources::discover().map_err(err)?;
    let union = union_request(spec);
    let mut lock = Lock {
        packages: union.packages,
        exclude: union.exclude,
        components: union.components,
        archs: BTreeMap::new(),
    };
    for &arch in &spec.archs {
        let req = request(spec, arch);
        if req.packages.is_empty() {
            continue;
        }
        let one = debian::lock(&sources, &req).map_err(err)?;
        lock.archs.extend(one.archs);
    }
    let path = lock_path(dir);
    lock.save(&path).map_err(err)?;
    Ok(path)
}

/// The verified .deb files of each architecture, in lock order.
pub fn debs_for(
    spec: &BuildSpec,
    dir: &Path,
    archs: &[Arch],
) -> Result<BTreeMap<Arch, Vec<PathBuf>>, DebsError> {
    let mut out = BTreeMap::new();
    if !uses_debian(spec) {
        return Ok(out);
    }
    let path = lock_path(dir);
    if !path.exists() {
        return Err(DebsError::NoLock {
            name: spec.name.clone(),
            path,
            dir: dir.to_path_buf(),
        });
    }
    let lock_err = |source| DebsError::Lock {
        name: spec.name.clone(),
        source,
    };
    let lock = Lock::load(&path).map_err(lock_err)?;
    if !lock.is_for(&union_request(spec)) {
        return Err(DebsError::Stale {
            path,
            dir: dir.to_path_buf(),
        });
    }
    let sources = Sources::discover().map_err(lock_err)?;
    let cache = DebCache::open(DebCache::default_root()).map_err(lock_err)?;
    for &arch in archs {
        if spec.for_arch(arch).debian.packages.is_empty() {
            continue;
        }
        let Some(pinned) = lock.archs.get(arch.name()) else {
            return Err(DebsError::NoArch {
                path,
                dir: dir.to_path_buf(),
                arch: arch.name(),
            });
        };
        let relock = format!("cairn pkg lock {}", dir.display());
        let files = debian::fetch_for(&sources, &cache, pinned, &relock).map_err(|source| {
            DebsError::Fetch {
                name: spec.name.clone(),
                arch: arch.name(),
                source,
            }
        })?;
        out.insert(arch, files);
    }
    Ok(out)
}
