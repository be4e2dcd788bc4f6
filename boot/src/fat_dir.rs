//! The directory tree of the files to write, with each entry's short (and
//! if needed long) name settled, and the directory clusters it encodes to.

use std::collections::{BTreeMap, BTreeSet};

use super::names;
use super::{FatError, Options, Result};

const ATTR_DIRECTORY: u8 = 0x10;
pub(super) const ATTR_ARCHIVE: u8 = 0x20;
const ATTR_VOLUME_ID: u8 = 0x08;
/// 1980-01-01, the first date FAT can record; every entry carries it.
const FAT_EPOCH_DATE: u16 = (1 << 5) | 1;
const ENTRY: u64 = 32;
/// FAT32 directories hold at most 65536 entries (2 MiB).
const MAX_DIR_ENTRIES: usize = 65536;
const NO_LABEL: &[u8; 11] = b"NO NAME    ";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// Index into the tree's directories.
    Dir(usize),
    /// Index into the caller's files.
    File(usize),
}

#[derive(Debug)]
pub struct Entry {
    pub name: String,
    pub short: [u8; 11],
    pub long: bool,
    pub node: Node,
}

#[derive(Debug)]
pub struct Dir {
    pub parent: usize,
    pub entries: Vec<Entry>,
}

/// Directories in tree order (the root first, each directory before its
/// subdirectories, siblings by upper-cased name), which is also the order
/// their clusters are allocated in.
#[derive(Debug)]
pub struct Tree {
    pub dirs: Vec<Dir>,
}

/// A directory while the tree is built: children by upper-cased name, so
/// names that differ only in case collide as they would on FAT.
struct Building {
    path: String,
    parent: usize,
    children: BTreeMap<String, (String, Node)>,
}

impl Tree {
    pub fn build(paths: &[&str]) -> Result<Tree> {
        let mut dirs = vec![Building {
            path: String::new(),
            parent: 0,
            children: BTreeMap::new(),
        }];
        for (index, &path) in paths.iter().enumerate() {
            let parts: Vec<&str> = path.split('/').collect();
            for part in &parts {
                names::check_long(path, part)?;
            }
            let mut at = 0;
            let mut walked = String::new();
            for (i, &part) in parts.iter().enumerate() {
                let key = part.to_uppercase();
                let last = i + 1 == parts.len();
                let child = dirs[at].children.get(&key).map(|(_, node)| *node);
                match (child, last) {
                    (Some(_), true) => {
                        return Err(FatError::Duplicate {
                            path: path.to_string(),
                        });
                    }
                    (Some(Node::File(_)), false) => {
                        return Err(FatError::ParentIsFile {
                            path: path.to_string(),
                            parent: format!("{walked}{part}"),
                        });
                    }
                    (Some(Node::Dir(d)), false) => at = d,
                    (None, true) => {
                        dirs[at]
                            .children
                            .insert(key, (part.to_string(), Node::File(index)));
                    }
                    (None, false) => {
                        let d = dirs.len();
                        dirs.push(Building {
                            path: format!("{walked}{part}"),
                            parent: at,
                            children: BTreeMap::new(),
                        });
                        dirs[at]
                            .children
                            .insert(key, (part.to_string(), Node::Dir(d)));
                        at = d;
                    }
                }
                walked.push_str(part);
                walked.push('/');
            }
        }
        Tree::settle(dirs)
    }

    /// Renumbers the directories in tree order and gives every entry its
    /// short name.
    fn settle(dirs: Vec<Building>) -> Result<Tree> {
        let mut order = Vec::with_capacity(dirs.len());
        let mut stack = vec![0usize];
        while let Some(d) = stack.pop() {
            order.push(d);
            let subdirs = dirs[d]
                .children
                .values()
                .filter_map(|(_, node)| match node {
                    Node::Dir(s) => Some(*s),
                    Node::File(_) => None,
                });
            let subdirs: Vec<usize> = subdirs.collect();
            stack.extend(subdirs.into_iter().rev());
        }
        let mut new_index = vec![0usize; dirs.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let mut out = Vec::with_capacity(dirs.len());
        for &old in &order {
            let b = &dirs[old];
            let renumber = |node: Node| match node {
                Node::Dir(d) => Node::Dir(new_index[d]),
                file => file,
            };
            let entries = short_names(b.children.values().map(|(n, node)| (n, renumber(*node))));
            // The root's label entry or a subdirectory's `.` and `..`.
            let fixed = if old == 0 { 1 } else { 2 };
            let slots: usize = fixed
                + entries
                    .iter()
                    .map(|e| names::entry_count(&e.name))
                    .sum::<usize>();
            if slots > MAX_DIR_ENTRIES {
                return Err(FatError::DirectoryFull {
                    path: b.path.clone(),
                });
            }
            out.push(Dir {
                parent: new_index[b.parent],
                entries,
            });
        }
        Ok(Tree { dirs: out })
    }

    /// How many clusters each directory takes (at least one).
    pub fn cluster_counts(&self, opts: &Options, cluster: u64) -> Vec<u64> {
        (0..self.dirs.len())
            .map(|d| (self.slots(d, opts) * ENTRY).div_ceil(cluster).max(1))
            .collect()
    }

    fn slots(&self, d: usize, opts: &Options) -> u64 {
        let fixed = match (d, &opts.label == NO_LABEL) {
            (0, true) => 0,
            (0, false) => 1,
            _ => 2,
        };
        let named: usize = self.dirs[d]
            .entries
            .iter()
            .map(|e| names::entry_count(&e.name))
            .sum();
        fixed + named as u64
    }

    /// Directory `d`'s clusters, zero-padded. `dir_starts` holds every
    /// directory's first cluster, `files` each file's first cluster and size.
    pub fn encode_dir(
        &self,
        d: usize,
        opts: &Options,
        dir_starts: &[u64],
        files: &[(u64, u64)],
        cluster: u64,
    ) -> Vec<u8> {
        let dir = &self.dirs[d];
        let mut out = Vec::new();
        if d == 0 {
            if &opts.label != NO_LABEL {
                out.extend(short_entry(&opts.label, ATTR_VOLUME_ID, 0, 0));
            }
        } else {
            out.extend(short_entry(
                b".          ",
                ATTR_DIRECTORY,
                dir_starts[d],
                0,
            ));
            // FAT32 records the root as cluster 0 here, not as cluster 2.
            let parent = if dir.parent == 0 {
                0
            } else {
                dir_starts[dir.parent]
            };
            out.extend(short_entry(b"..         ", ATTR_DIRECTORY, parent, 0));
        }
        for e in &dir.entries {
            if e.long {
                for part in names::long_entries(&e.name, &e.short) {
                    out.extend(part);
                }
            }
            let short = match e.node {
                Node::Dir(s) => short_entry(&e.short, ATTR_DIRECTORY, dir_starts[s], 0),
                Node::File(f) => {
                    let (start, size) = files[f];
                    short_entry(&e.short, ATTR_ARCHIVE, start, size as u32)
                }
            };
            out.extend(short);
        }
        let len = (out.len() as u64).div_ceil(cluster).max(1) * cluster;
        out.resize(len as usize, 0);
        out
    }
}

/// Short names for one directory's entries: upper-case 8.3 names stand for
/// themselves; every other name gets a `BASE~N.EXT` alias that no other
/// entry in the directory has, and long name entries.
fn short_names<'a>(children: impl Iterator<Item = (&'a String, Node)>) -> Vec<Entry> {
    let children: Vec<(&String, Node)> = children.collect();
    let mut used: BTreeSet<[u8; 11]> = children
        .iter()
        .filter_map(|(name, _)| names::plain_short(name))
        .collect();
    children
        .into_iter()
        .map(|(name, node)| {
            let (short, long) = names::short_name(name, |s| used.contains(s));
            if long {
                used.insert(short);
            }
            Entry {
                name: name.clone(),
                short,
                long,
                node,
            }
        })
        .collect()
}

pub(super) fn short_entry(name: &[u8; 11], attr: u8, cluster: u64, size: u32) -> [u8; 32] {
    let mut e = [0u8; 32];
    e[..11].copy_from_slice(name);
    e[11] = attr;
    let date = FAT_EPOCH_DATE.to_le_bytes();
    // Creation, last access and last write dates; all times stay 00:00.
    for at in [16, 18, 24] {
        e[at..at + 2].copy_from_slice(&date);
    }
    let cluster = cluster as u32;
    e[20..22].copy_from_slice(&((cluster >> 16) as u16).to_le_bytes());
    e[26..28].copy_from_slice(&(cluster as u16).to_le_bytes());
    e[28..32].copy_from_slice(&size.to_le_bytes());
    e
}
