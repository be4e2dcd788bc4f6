//! `lock.yml`: the dependency closure of a package for each architecture,
//! every .deb pinned by pool path, size and sha256. Written by hand in a
//! fixed layout so diffs stay small and reviewable; read back with the
//! strict config loader.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde::Deserialize;

use super::http::Http;
use super::index::{self, Index};
use super::release::Release;
use super::sources::Sources;
use super::{DebianError, parallel, resolve};

/// What to lock: Debian package names, names to cut from the closure, the
/// target architectures (`amd64`, `arm64`) and archive components (`main`,
/// `non-free-firmware`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockRequest {
    pub packages: Vec<String>,
    pub exclude: Vec<String>,
    pub archs: Vec<String>,
    pub components: Vec<String>,
}

/// One pinned .deb.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedDeb {
    pub name: String,
    pub version: String,
    /// The .deb's own architecture: the target's, or `all`.
    pub arch: String,
    pub suite: String,
    pub component: String,
    /// Pool path below the archive's base URL.
    pub filename: String,
    pub sha256: String,
    pub size: u64,
}

/// A lock file's content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// The request this lock was made from, so a stale lock can be noticed.
    #[serde(default)]
    pub packages: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub components: Vec<String>,
    /// Target architecture -> closure, sorted by name.
    pub archs: BTreeMap<String, Vec<LockedDeb>>,
}

/// Fetches and verifies the indexes, then resolves the closure for each
/// architecture.
pub fn lock(sources: &Sources, req: &LockRequest) -> Result<Lock, DebianError> {
    let http = Http::new()?;
    let pairs: Vec<_> = sources.suites().collect();
    let releases = parallel::map(&pairs, 4, |(archive, suite)| {
        Release::fetch(&http, archive, suite)
    })
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    for component in &req.components {
        if !releases.iter().any(|r| r.components.contains(component)) {
            let suites: Vec<&str> = releases.iter().map(|r| r.suite.as_str()).collect();
            return Err(DebianError::NoComponent {
                component: component.clone(),
                suites: suites.join(", "),
            });
        }
    }
    let cache = index::cache_dir();
    let mut jobs = Vec::new();
    for release in &releases {
        for component in &req.components {
            for arch in &req.archs {
                jobs.push((release, component.as_str(), arch.as_str()));
            }
        }
    }
    // Decompressing is CPU-bound; two at a time keeps a small machine usable.
    let indexes: Vec<Index> = parallel::map(&jobs, 2, |(release, component, arch)| {
        index::load(&http, release, component, arch, &cache)
    })
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?
    .into_iter()
    .flatten()
    .collect();
    let mut archs = BTreeMap::new();
    for arch in &req.archs {
        let debs = resolve::resolve(&indexes, arch, &req.packages, &req.exclude)?;
        archs.insert(arch.clone(), debs);
    }
    Ok(Lock {
        packages: req.packages.clone(),
        exclude: req.exclude.clone(),
        components: req.components.clone(),
        archs,
    })
}

impl Lock {
    /// Reads a lock file written by [`Lock::save`].
    pub fn load(path: &Path) -> Result<Lock, DebianError> {
        let lock: Lock =
            crate::config::load_document(path).map_err(|source| DebianError::LockRead {
                path: path.to_path_buf(),
                source: Box::new(source),
            })?;
        lock.check(path)?;
        Ok(lock)
    }

    /// Whether this lock was made from `req` (same packages, exclusions,
    /// components and architectures, in any order).
    pub fn is_for(&self, req: &LockRequest) -> bool {
        let same = |a: &[String], b: &[String]| {
            let (mut a, mut b) = (a.to_vec(), b.to_vec());
            a.sort();
            a.dedup();
            b.sort();
            b.dedup();
            a == b
        };
        let archs: Vec<String> = self.archs.keys().cloned().collect();
        same(&self.packages, &req.packages)
            && same(&self.exclude, &req.exclude)
            && same(&self.components, &req.components)
            && same(&archs, &req.archs)
    }

    fn check(&self, path: &Path) -> Result<(), DebianError> {
        let invalid = |reason: String| DebianError::LockInvalid {
            path: path.to_path_buf(),
            reason,
        };
        for name in self.packages.iter().chain(&self.exclude) {
            super::names::check_name(name, true).map_err(invalid)?;
        }
        for (arch, debs) in &self.archs {
            for d in debs {
                super::names::check_name(&d.name, false).map_err(&invalid)?;
                super::names::check_version(&d.version)
                    .map_err(|e| invalid(format!("{arch}: {}: {e}", d.name)))?;
                let hex = d.sha256.len() == 64 && d.sha256.bytes().all(|c| c.is_ascii_hexdigit());
                if !hex {
                    return Err(invalid(format!(
                        "{arch}: {} has a malformed sha256",
                        d.name
                    )));
                }
                let bad_path = d.filename.starts_with('/')
                    || d.filename
                        .split('/')
                        .any(|c| c.is_empty() || c == "." || c == "..");
                if bad_path || !d.filename.ends_with(".deb") {
                    return Err(invalid(format!("{arch}: {} has a bad filename", d.name)));
                }
                if d.arch != *arch && d.arch != "all" {
                    return Err(invalid(format!(
                        "{arch}: {} is built for {}",
                        d.name, d.arch
                    )));
                }
            }
        }
        Ok(())
    }

    /// The file's text: a fixed layout, every string quoted.
    pub fn to_yaml(&self) -> String {
        let mut s = String::from(
            "# Generated by `cairn pkg lock`; do not edit. Every .deb is pinned by sha256:\n\
             # `cairn pkg build` downloads exactly these files and refuses any other content.\n",
        );
        let list = |s: &mut String, key: &str, items: &[String]| {
            let _ = write!(s, "{key}: [");
            for (i, item) in items.iter().enumerate() {
                let sep = if i == 0 { "" } else { ", " };
                let _ = write!(s, "{sep}{}", quote(item));
            }
            s.push_str("]\n");
        };
        list(&mut s, "packages", &self.packages);
        list(&mut s, "exclude", &self.exclude);
        list(&mut s, "components", &self.components);
        s.push_str("archs:\n");
        for (arch, debs) in &self.archs {
            let _ = writeln!(s, "  {}:", quote(arch));
            if debs.is_empty() {
                s.truncate(s.len() - 1);
                s.push_str(" []\n");
            }
            for d in debs {
                let _ = writeln!(s, "    - name: {}", quote(&d.name));
                for (key, value) in [
                    ("version", &d.version),
                    ("arch", &d.arch),
                    ("suite", &d.suite),
                    ("component", &d.component),
                    ("filename", &d.filename),
                    ("sha256", &d.sha256),
                ] {
                    let _ = writeln!(s, "      {key}: {}", quote(value));
                }
                let _ = writeln!(s, "      size: {}", d.size);
            }
        }
        s
    }

    /// Writes the lock to `path` through a temporary file and a rename.
    pub fn save(&self, path: &Path) -> Result<(), DebianError> {
        let err = |source| DebianError::Write {
            path: path.to_path_buf(),
            source,
        };
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
        tmp.write_all(self.to_yaml().as_bytes()).map_err(err)?;
        tmp.as_file().sync_all().map_err(err)?;
        tmp.persist(path).map_err(|e| err(e.error))?;
        Ok(())
    }
}

/// A YAML double-quoted scalar.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests;
