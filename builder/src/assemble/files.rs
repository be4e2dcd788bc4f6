//! `files:` as LinuxKit defines them: each entry makes one file, directory or
//! symlink; missing leading directories are created with the entry's owner
//! and its mode with the search bits added. cairn differs in two ways: a
//! relative `source` is read from the directory of the config file that
//! names it (LinuxKit reads it from the current directory), and leading
//! directories that already exist keep their owner and mode.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use super::AssembleError;
use crate::config::{Config, File, Id, parse_mode};
use crate::fstree::{Entry, Kind, Tree, normalize};

pub fn add(config: &Config, tree: &mut Tree) -> Result<(), AssembleError> {
    let ids = super::bundle::container_ids(config);
    for (index, f) in config.files.iter().enumerate() {
        add_one(config, tree, index, f, &ids)?;
    }
    Ok(())
}

fn add_one(
    config: &Config,
    tree: &mut Tree,
    index: usize,
    f: &File,
    ids: &BTreeMap<String, u32>,
) -> Result<(), AssembleError> {
    let raw = f.path.clone().unwrap_or_default();
    let fail = |message: String| AssembleError::File {
        index,
        path: raw.clone(),
        message,
    };
    let path = normalize(&raw).map_err(|e| fail(e.to_string()))?;
    if path.is_empty() {
        return Err(fail("the path names the root; name a file".into()));
    }
    let directory = f.directory.unwrap_or(false);
    let mode = match &f.mode {
        Some(m) => parse_mode(m).map_err(fail)?,
        None if directory => 0o700,
        None => 0o600,
    };
    let id = |v: &Option<Id>| -> Result<u32, AssembleError> {
        match v {
            None => Ok(0),
            Some(Id::Num(n)) => Ok(*n),
            Some(Id::Name(n)) if n.is_empty() || n == "root" => Ok(0),
            Some(Id::Name(n)) => ids.get(n).copied().ok_or_else(|| {
                fail(format!(
                    "owner {n:?} is not the name of a container; use a number"
                ))
            }),
        }
    };
    let (uid, gid) = (id(&f.uid)?, id(&f.gid)?);
    let contents: Option<Body> = if directory || f.symlink.is_some() {
        None
    } else if let Some(text) = &f.contents {
        Some(Body::Bytes(text.clone().into_bytes()))
    } else if let Some(source) = &f.source {
        let source_path = source_path(source, &f.location.file);
        match open_source(&source_path) {
            Ok(file) => Some(Body::File(file)),
            Err(e) if f.optional.unwrap_or(false) && e.kind() == io::ErrorKind::NotFound => {
                return Ok(());
            }
            Err(e) => {
                return Err(AssembleError::FileSource {
                    index,
                    source_path,
                    source: e,
                });
            }
        }
    } else if let Some(kind) = &f.metadata {
        Some(Body::Bytes(metadata(config, kind).map_err(fail)?))
    } else {
        return Err(fail(
            "give one of contents, source, metadata, symlink or directory".into(),
        ));
    };

    // Leading directories: the search bit for every class that has any bit.
    let mut dir_mode = mode;
    for (any, search) in [(0o700, 0o100), (0o070, 0o010), (0o007, 0o001)] {
        if dir_mode & any != 0 {
            dir_mode |= search;
        }
    }
    let mut here = String::new();
    for c in path
        .split('/')
        .collect::<Vec<_>>()
        .split_last()
        .map(|(_, d)| d.to_vec())
        .unwrap_or_default()
    {
        here = if here.is_empty() {
            c.to_string()
        } else {
            format!("{here}/{c}")
        };
        let resolved = tree.resolve(&here).map_err(|e| fail(e.to_string()))?;
        if tree.get(&resolved).is_none() {
            let entry = Entry {
                kind: Kind::Dir,
                mode: dir_mode & 0o7777,
                uid,
                gid,
            };
            tree.insert(&here, entry).map_err(|e| fail(e.to_string()))?;
        }
    }
    let entry = |kind| Entry {
        kind,
        mode,
        uid,
        gid,
    };
    let placed = if directory {
        tree.insert(&path, entry(Kind::Dir))
    } else if let Some(target) = &f.symlink {
        tree.insert(&path, entry(Kind::Symlink(target.clone())))
    } else {
        match contents {
            Some(Body::File(mut file)) => tree.add_file(&path, &mut file, mode, uid, gid),
            Some(Body::Bytes(bytes)) => tree.add_file(&path, &mut bytes.as_slice(), mode, uid, gid),
            None => tree.add_file(&path, &mut io::empty(), mode, uid, gid),
        }
    };
    placed.map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// A file's contents: in memory, or a host file streamed into the tree.
enum Body {
    Bytes(Vec<u8>),
    File(std::fs::File),
}

/// Opens a `source:` that must be a regular file. A FIFO would block the
/// build and a device (`/dev/zero`) never ends, so both are refused before
/// anything is read; a regular file of any size is streamed.
pub(super) fn open_source(path: &Path) -> io::Result<std::fs::File> {
    let not_regular = |kind: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("it is {kind}, not a regular file"),
        )
    };
    let kind = |t: std::fs::FileType| {
        use std::os::unix::fs::FileTypeExt;
        if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else if t.is_socket() {
            "a socket"
        } else {
            "not a file"
        }
    };
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(kind(meta.file_type())));
    }
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(kind(meta.file_type())));
    }
    Ok(file)
}

/// `~/` is the home directory; a relative path is relative to the directory
/// of the config file.
fn source_path(source: &str, config_file: &Path) -> PathBuf {
    if let Some(rest) = source.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    let p = PathBuf::from(source);
    if p.is_absolute() {
        return p;
    }
    config_file.parent().map_or(p.clone(), |d| d.join(&p))
}

/// The config itself, for `metadata: yaml|json`. It needs a single config
/// file: merging the documents of several would make a file no tool reads.
fn metadata(config: &Config, kind: &str) -> Result<Vec<u8>, String> {
    let [file] = config.sources.as_slice() else {
        return Err("`metadata` needs a build from a single config file".into());
    };
    match kind {
        "yaml" => std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display())),
        "json" => {
            let doc = crate::config::document_json(file).map_err(|e| e.to_string())?;
            let mut out = serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?;
            out.push(b'\n');
            Ok(out)
        }
        other => Err(format!("metadata {other:?} is not `yaml` or `json`")),
    }
}
