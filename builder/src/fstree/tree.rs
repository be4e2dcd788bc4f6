//! The filesystem tree of a package being built: normalized relative paths
//! (no leading `/`) in parents-first order, each with its kind, mode and
//! owner. File contents live on disk in [`Contents`].
//!
//! Later entries replace earlier ones, as when packages are unpacked in
//! order. A parent path that is a symlink in the tree is followed inside the
//! tree (as dpkg does on a merged-/usr system), so nothing is ever written
//! outside the root; `..` in a path being added is refused.

use cairn_boot::path::{is_under, parent_of};
use std::collections::BTreeMap;
use std::io::{self, Read};

use super::content::{ContentId, Contents};
use super::glob::Glob;
use crate::exit::{Classify, ErrorClass};

/// How many symlinks one lookup may follow, as Linux allows.
const MAX_HOPS: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File(ContentId),
    Symlink(String),
    CharDevice(u32, u32),
    BlockDevice(u32, u32),
    Fifo,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    /// Permission bits, including setuid/setgid/sticky.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl Entry {
    pub fn dir(mode: u32) -> Entry {
        Entry {
            kind: Kind::Dir,
            mode,
            uid: 0,
            gid: 0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("path {path:?} leaves the package root; write it without `..`")]
    Escapes { path: String },
    #[error("cannot add {path:?}: {parent:?} is not a directory in the package tree")]
    NotADirectory { path: String, parent: String },
    #[error("path {path:?} runs through more than {MAX_HOPS} symlinks (a loop?)")]
    SymlinkLoop { path: String },
    #[error("hard link {path:?} points to {target:?}, which is not a file in the package tree")]
    BadHardlink { path: String, target: String },
    #[error("`{pattern}` must match exactly one path in the package tree, but matches {found}")]
    NotOneMatch { pattern: String, found: String },
    #[error("cannot pack {path:?}: it is not a directory in the package tree")]
    PackMissing { path: String },
    #[error("cannot store the contents of {path:?} in the temporary build folder")]
    Content {
        path: String,
        #[source]
        source: io::Error,
    },
}

impl Classify for TreeError {
    fn class(&self) -> ErrorClass {
        match self {
            TreeError::Content { .. } => ErrorClass::Environment,
            _ => ErrorClass::User,
        }
    }
}

type Result<T> = std::result::Result<T, TreeError>;

/// A tree path compared component by component, so that a directory sorts
/// right before its own children (`a`, `a/b`, `a.b`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct TreePath(String);

impl Ord for TreePath {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.split('/').cmp(other.0.split('/'))
    }
}

impl PartialOrd for TreePath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Normalizes a path given by a package or build.yml: strips `/` and `./`
/// prefixes and empty components; refuses `..`. The root itself is "".
pub fn normalize(path: &str) -> Result<String> {
    cairn_boot::path::normalize(path).ok_or_else(|| TreeError::Escapes {
        path: path.to_string(),
    })
}

#[derive(Debug)]
pub struct Tree {
    entries: BTreeMap<TreePath, Entry>,
    contents: Contents,
    /// Extended attributes, kept beside the entries so that the many
    /// entries without any stay small (see `tree_edit.rs`).
    xattrs: BTreeMap<TreePath, Xattrs>,
}

/// Extended attributes of one entry: name (`security.capability`) -> value.
pub type Xattrs = BTreeMap<String, Vec<u8>>;

impl Tree {
    pub fn new(contents: Contents) -> Tree {
        Tree {
            entries: BTreeMap::new(),
            contents,
            xattrs: BTreeMap::new(),
        }
    }

    pub fn contents(&self) -> &Contents {
        &self.contents
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry, parents before children.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries.iter().map(|(k, v)| (k.0.as_str(), v))
    }

    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(&TreePath(normalize(path).ok()?))
    }

    /// Adds a file with the contents `r` yields.
    pub fn add_file(
        &mut self,
        path: &str,
        r: &mut dyn Read,
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<String> {
        let id = self.contents.add(r).map_err(|source| TreeError::Content {
            path: path.to_string(),
            source,
        })?;
        self.insert(
            path,
            Entry {
                kind: Kind::File(id),
                mode,
                uid,
                gid,
            },
        )
    }

    /// Adds a hard link as a second file with the same contents: layers are
    /// written in sorted order, where the link may come before its target.
    pub fn add_hardlink(
        &mut self,
        path: &str,
        target: &str,
        mode: u32,
        uid: u32,
        gid: u32,
    ) -> Result<String> {
        let bad = || TreeError::BadHardlink {
            path: path.to_string(),
            target: target.to_string(),
        };
        let resolved = self.resolve(target).map_err(|_| bad())?;
        let Some(Entry {
            kind: Kind::File(id),
            ..
        }) = self.entries.get(&TreePath(resolved))
        else {
            return Err(bad());
        };
        let kind = Kind::File(id.clone());
        self.insert(
            path,
            Entry {
                kind,
                mode,
                uid,
                gid,
            },
        )
    }

    /// Adds or replaces an entry and returns the path it landed at (parent
    /// symlinks followed). Missing parents become directories 0755 root:root.
    /// A directory over an existing directory only changes its metadata; over
    /// a symlink it keeps the symlink, as dpkg does for merged /usr.
    pub fn insert(&mut self, path: &str, entry: Entry) -> Result<String> {
        let norm = normalize(path)?;
        if norm.is_empty() {
            return Ok(norm);
        }
        let (parent, name) = norm.rsplit_once('/').unwrap_or(("", norm.as_str()));
        let parent = self.ensure_dir(parent, &norm)?;
        let target = if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}/{name}")
        };
        let key = TreePath(target.clone());
        if !matches!(
            (self.entries.get(&key).map(|e| &e.kind), &entry.kind),
            (Some(Kind::Symlink(_)), Kind::Dir)
        ) {
            self.xattrs.remove(&key);
        }
        match (self.entries.get(&key).map(|e| &e.kind), &entry.kind) {
            (Some(Kind::Symlink(_)), Kind::Dir) => {}
            (Some(Kind::Dir), Kind::Dir) => {
                self.entries.insert(key, entry);
            }
            (Some(Kind::Dir), _) => {
                self.remove_subtree(&target);
                self.entries.insert(key, entry);
            }
            _ => {
                self.entries.insert(key, entry);
            }
        }
        Ok(target)
    }

    /// Makes sure `dir` exists as a directory (following symlinks) and
    /// returns its resolved path.
    fn ensure_dir(&mut self, dir: &str, for_path: &str) -> Result<String> {
        if dir.is_empty() {
            return Ok(String::new());
        }
        let resolved = self.resolve(dir)?;
        // Every symlink on the way is followed, so the part of `resolved`
        // that exists is real folders, and below the first missing one
        // nothing exists: walk up to the deepest that exists, then create
        // the rest top down. A loop, not recursion, for deep paths.
        let mut missing = Vec::new();
        let mut at = resolved.as_str();
        loop {
            match self.entries.get(&TreePath(at.to_string())) {
                Some(Entry {
                    kind: Kind::Dir, ..
                }) => break,
                Some(_) => {
                    return Err(TreeError::NotADirectory {
                        path: for_path.to_string(),
                        parent: dir.to_string(),
                    });
                }
                None => {
                    missing.push(at.len());
                    if at.is_empty() || !at.contains('/') {
                        break;
                    }
                    at = parent_of(at);
                }
            }
        }
        for len in missing.into_iter().rev() {
            self.entries
                .insert(TreePath(resolved[..len].to_string()), Entry::dir(0o755));
        }
        Ok(resolved)
    }

    /// The path `path` refers to with every symlink on the way followed
    /// inside the tree; `..` stops at the root as in a chroot. The result
    /// may not exist.
    pub fn resolve(&self, path: &str) -> Result<String> {
        self.resolve_under("", path)
    }

    /// [`Tree::resolve`] with `root` (a directory of the tree, such as a
    /// container's rootfs) as the root: absolute symlinks and `..` stay
    /// below it.
    pub fn resolve_under(&self, root: &str, path: &str) -> Result<String> {
        let base: Vec<String> = root
            .split('/')
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        // `here` is the path so far and `ends` where each of its
        // components ends, so a step costs its own component only.
        let mut here = String::new();
        let mut ends: Vec<usize> = Vec::new();
        let push = |here: &mut String, ends: &mut Vec<usize>, c: &str| {
            if !here.is_empty() {
                here.push('/');
            }
            here.push_str(c);
            ends.push(here.len());
        };
        let pop = |here: &mut String, ends: &mut Vec<usize>| {
            ends.pop();
            here.truncate(ends.last().copied().unwrap_or(0));
        };
        for c in &base {
            push(&mut here, &mut ends, c);
        }
        let mut todo: Vec<String> = path.split('/').rev().map(str::to_string).collect();
        let mut hops = 0;
        while let Some(c) = todo.pop() {
            match c.as_str() {
                "" | "." => continue,
                ".." => {
                    if ends.len() > base.len() {
                        pop(&mut here, &mut ends);
                    }
                    continue;
                }
                _ => push(&mut here, &mut ends, &c),
            }
            if let Some(Entry {
                kind: Kind::Symlink(target),
                ..
            }) = self.entries.get(&TreePath(here.clone()))
            {
                hops += 1;
                if hops > MAX_HOPS {
                    return Err(TreeError::SymlinkLoop {
                        path: path.to_string(),
                    });
                }
                pop(&mut here, &mut ends);
                if target.starts_with('/') {
                    while ends.len() > base.len() {
                        pop(&mut here, &mut ends);
                    }
                }
                todo.extend(target.split('/').rev().map(str::to_string));
            }
        }
        Ok(here)
    }

    fn remove_subtree(&mut self, dir: &str) {
        self.entries.retain(|k, _| !is_under(&k.0, dir));
        self.xattrs.retain(|k, _| !is_under(&k.0, dir));
    }

    /// Forgets the attributes of entries that are gone.
    fn prune_xattrs(&mut self) {
        let entries = &self.entries;
        self.xattrs.retain(|k, _| entries.contains_key(k));
    }

    /// Removes every entry a pattern covers (the entry and its subtree).
    pub fn drop_matching(&mut self, globs: &[Glob]) -> usize {
        let before = self.entries.len();
        self.entries
            .retain(|k, _| !globs.iter().any(|g| g.covers(&k.0)));
        self.prune_xattrs();
        before - self.entries.len()
    }

    /// Keeps only what a pattern covers and the directories leading to it.
    pub fn keep_only(&mut self, globs: &[Glob]) {
        let kept: Vec<String> = self
            .entries
            .keys()
            .filter(|k| globs.iter().any(|g| g.covers(&k.0)))
            .map(|k| k.0.clone())
            .collect();
        self.entries.retain(|k, _| {
            globs.iter().any(|g| g.covers(&k.0)) || kept.iter().any(|p| is_under(p, &k.0))
        });
        self.prune_xattrs();
    }

    /// Moves the one entry `from` matches, with its subtree, to `to`.
    pub fn move_one(&mut self, from: &Glob, to: &str) -> Result<()> {
        let found: Vec<String> = self
            .entries
            .keys()
            .filter(|k| from.matches(&k.0))
            .map(|k| k.0.clone())
            .collect();
        let [source] = found.as_slice() else {
            let found = match found.len() {
                0 => "nothing".to_string(),
                _ => found.join(", "),
            };
            return Err(TreeError::NotOneMatch {
                pattern: from.to_string(),
                found,
            });
        };
        let to = normalize(to)?;
        let moved: Vec<(String, Entry)> = self
            .entries
            .iter()
            .filter(|(k, _)| k.0 == *source || is_under(&k.0, source))
            .map(|(k, v)| (format!("{to}{}", &k.0[source.len()..]), v.clone()))
            .collect();
        self.entries.remove(&TreePath(source.clone()));
        self.xattrs.remove(&TreePath(source.clone()));
        self.remove_subtree(source);
        for (path, entry) in moved {
            self.insert(&path, entry)?;
        }
        Ok(())
    }

    /// Replaces the directory `from` and its subtree by an uncompressed tar
    /// of them at `to`; paths inside keep their place from the root, so the
    /// tar unpacks over `/`.
    pub fn pack(&mut self, from: &str, to: &str, mtime: u64) -> Result<()> {
        let from = normalize(from)?;
        if !matches!(
            self.get(&from),
            Some(Entry {
                kind: Kind::Dir,
                ..
            })
        ) {
            return Err(TreeError::PackMissing { path: from });
        }
        let mut ancestors = Vec::new();
        let mut p = parent_of(&from);
        while !p.is_empty() {
            ancestors.push(p.to_string());
            p = parent_of(p);
        }
        ancestors.reverse();
        let selected: Vec<(&str, &Entry)> = self
            .iter()
            .filter(|(k, _)| ancestors.iter().any(|a| a == k) || *k == from || is_under(k, &from))
            .collect();
        let contents = &self.contents;
        let id = contents
            .add_with(|file| {
                super::tar::write_tar(
                    &mut io::BufWriter::new(file),
                    selected.into_iter(),
                    contents,
                    mtime,
                )
            })
            .map_err(|source| TreeError::Content {
                path: to.to_string(),
                source,
            })?;
        self.entries.remove(&TreePath(from.clone()));
        self.xattrs.remove(&TreePath(from.clone()));
        self.remove_subtree(&from);
        self.insert(
            to,
            Entry {
                kind: Kind::File(id),
                mode: 0o644,
                uid: 0,
                gid: 0,
            },
        )?;
        Ok(())
    }
}

#[path = "tree_edit.rs"]
mod edit;

#[cfg(test)]
#[path = "tree_tests.rs"]
mod tests;
