//! An image's layers streamed into a [`Tree`] under a prefix: gzip, zstd or
//! plain tar, OCI whiteouts honoured, each layer re-hashed while it is read.
//! Entries that would land outside the image's root are refused: `..`, hard
//! links to outside or through symlinks, and paths that run through a
//! symlink the image itself placed (`a -> /etc`, then `a/passwd`).

use std::collections::HashSet;
use std::io::{self, Read};

use oci_spec::image::{Descriptor, ImageConfiguration};

use super::AssembleError;
use crate::fstree::{Entry, Kind, Tree, Xattrs};
use crate::oci::layer::{LayerError, with_layer};
use crate::oci::{Digest, Store, manifest::Manifest, store::descriptor_digest};

const WHITEOUT: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// An image's platform manifest, read from the store.
pub struct ImageParts {
    pub name: String,
    pub layers: Vec<Descriptor>,
    pub config: ImageConfiguration,
}

pub fn read_image(store: &Store, name: &str, digest: &Digest) -> Result<ImageParts, AssembleError> {
    let store_err = |source| AssembleError::Store {
        image: name.to_string(),
        source: Box::new(source),
    };
    let Manifest::Image(manifest) = store.read_manifest(digest).map_err(store_err)? else {
        return Err(AssembleError::NotPlatformManifest {
            image: name.to_string(),
            digest: digest.clone(),
        });
    };
    let config_digest = descriptor_digest(manifest.config());
    let bytes = store.read_blob(&config_digest).map_err(store_err)?;
    let config = serde_json::from_slice(&bytes).map_err(|source| AssembleError::BadConfig {
        image: name.to_string(),
        source,
    })?;
    Ok(ImageParts {
        name: name.to_string(),
        layers: manifest.layers().clone(),
        config,
    })
}

/// Unpacks every layer of `image` in order under `prefix` ("" for `/`).
pub fn unpack(
    store: &Store,
    image: &ImageParts,
    tree: &mut Tree,
    prefix: &str,
) -> Result<(), AssembleError> {
    for layer in &image.layers {
        let digest = descriptor_digest(layer);
        let mut ctx = Layer {
            image: &image.name,
            digest: &digest,
            prefix,
            added: HashSet::new(),
        };
        with_layer(store, &digest, |r| ctx.apply(r, tree))
            .map_err(|e| layer_error(&image.name, &digest, e))?
            .map_err(|e| e.into_error(&ctx))?;
    }
    Ok(())
}

/// An error reading layer `layer` of `image` from the store.
pub(super) fn layer_error(image: &str, layer: &Digest, e: LayerError) -> AssembleError {
    match e {
        LayerError::Open(source) => AssembleError::Store {
            image: image.to_string(),
            source: Box::new(source),
        },
        LayerError::Read(source) => read_error(image, layer, source),
        LayerError::Digest { actual } => AssembleError::LayerDigest {
            image: image.to_string(),
            layer: layer.clone(),
            actual,
        },
    }
}

/// A failed read of a layer: the store's (the machine's), or the layer's own
/// bytes, which passed their digest check and so are malformed as built.
fn read_error(image: &str, layer: &Digest, source: io::Error) -> AssembleError {
    let (image, layer) = (image.to_string(), layer.clone());
    if crate::oci::layer::is_disk_error(&source) {
        AssembleError::LayerRead {
            image,
            layer,
            source,
        }
    } else {
        AssembleError::LayerMalformed {
            image,
            layer,
            source,
        }
    }
}

/// What went wrong inside one layer, before the image and layer are known.
pub(super) enum LayerFail {
    Io(io::Error),
    Escapes {
        path: String,
        why: &'static str,
    },
    Tree {
        path: String,
        source: crate::fstree::TreeError,
    },
}

impl LayerFail {
    fn into_error(self, l: &Layer<'_>) -> AssembleError {
        match self {
            LayerFail::Io(source) => read_error(l.image, l.digest, source),
            LayerFail::Escapes { path, why } => AssembleError::Escapes {
                image: l.image.to_string(),
                layer: l.digest.clone(),
                path,
                why,
            },
            LayerFail::Tree { path, source } => AssembleError::LayerEntry {
                image: l.image.to_string(),
                layer: l.digest.clone(),
                path,
                source: Box::new(source),
            },
        }
    }
}

struct Layer<'a> {
    image: &'a str,
    digest: &'a Digest,
    prefix: &'a str,
    /// Paths (under the prefix) this layer wrote: whiteouts in a layer only
    /// hide what lower layers put there.
    added: HashSet<String>,
}

impl Layer<'_> {
    fn apply(&mut self, r: &mut dyn Read, tree: &mut Tree) -> Result<(), LayerFail> {
        let mut archive = tar::Archive::new(r);
        for entry in archive.entries().map_err(LayerFail::Io)? {
            let mut entry = entry.map_err(LayerFail::Io)?;
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let rel = clean(&raw)?;
            if rel.is_empty() {
                continue;
            }
            let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel.as_str()));
            self.no_symlink_on_the_way(tree, &rel, dir)?;
            if name == OPAQUE {
                let dir = self.full(dir);
                let added = &self.added;
                tree.remove_under(&dir, |p| !added.contains(p));
                continue;
            }
            if let Some(hidden) = name.strip_prefix(WHITEOUT) {
                if hidden.is_empty() {
                    return Err(LayerFail::Escapes {
                        path: rel,
                        why: "it is a whiteout that names nothing (`.wh.`), which would delete the whole folder",
                    });
                }
                let target = self.full(&join(dir, hidden));
                if !self.added.contains(&target) {
                    tree.remove(&target);
                }
                continue;
            }
            let landed = self.add(tree, &rel, &mut entry)?;
            let mut p = landed.as_str();
            // A parent already recorded has its own parents recorded too, so
            // each path costs its new components only.
            while self.added.insert(p.to_string()) {
                match p.rsplit_once('/') {
                    Some((parent, _)) if parent.len() > self.prefix.len() => p = parent,
                    _ => break,
                }
            }
        }
        Ok(())
    }

    fn full(&self, rel: &str) -> String {
        join(self.prefix, rel)
    }

    /// Refuses a path whose parent directories include a symlink.
    fn no_symlink_on_the_way(&self, tree: &Tree, rel: &str, dir: &str) -> Result<(), LayerFail> {
        let mut here = self.full("");
        for c in dir.split('/').filter(|c| !c.is_empty()) {
            if !here.is_empty() {
                here.push('/');
            }
            here.push_str(c);
            if let Some(Entry {
                kind: Kind::Symlink(_),
                ..
            }) = tree.get(&here)
            {
                return Err(LayerFail::Escapes {
                    path: rel.to_string(),
                    why: "it runs through a symlink the image placed earlier",
                });
            }
        }
        Ok(())
    }

    fn add(
        &self,
        tree: &mut Tree,
        rel: &str,
        entry: &mut tar::Entry<'_, &mut dyn Read>,
    ) -> Result<String, LayerFail> {
        let h = entry.header();
        let mode = h.mode().map_err(LayerFail::Io)? & 0o7777;
        let bad_id = || LayerFail::Escapes {
            path: rel.to_string(),
            why: "its uid or gid is not a number that fits 32 bits",
        };
        // A value that does not fit is refused, never cut down: 2^32 must
        // not become uid 0. A blank header field reads as 0, as tar does.
        let id = |v: u64| u32::try_from(v).map_err(|_| bad_id());
        let (mut uid, mut gid) = (id(h.uid().unwrap_or(0))?, id(h.gid().unwrap_or(0))?);
        let kind_byte = h.entry_type();
        let link = entry
            .link_name_bytes()
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let dev = (
            h.device_major().ok().flatten().unwrap_or(0),
            h.device_minor().ok().flatten().unwrap_or(0),
        );
        let mut xattrs = Xattrs::new();
        if let Some(exts) = entry.pax_extensions().map_err(LayerFail::Io)? {
            for ext in exts {
                let ext = ext.map_err(LayerFail::Io)?;
                let Ok(key) = ext.key() else { continue };
                if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                    xattrs.insert(name.to_string(), ext.value_bytes().to_vec());
                } else if key == "uid" || key == "gid" {
                    let value = ext.value().ok().and_then(|v| v.parse::<u64>().ok());
                    let value = id(value.ok_or_else(bad_id)?)?;
                    if key == "uid" {
                        uid = value;
                    } else {
                        gid = value;
                    }
                }
            }
        }
        let path = self.full(rel);
        let tree_err = |source| LayerFail::Tree {
            path: rel.to_string(),
            source,
        };
        let make = |kind| Entry {
            kind,
            mode,
            uid,
            gid,
        };
        use tar::EntryType as T;
        let landed = match kind_byte {
            T::Regular | T::Continuous | T::GNUSparse => tree
                .add_file(&path, entry, mode, uid, gid)
                .map_err(tree_err)?,
            T::Directory => tree.insert(&path, make(Kind::Dir)).map_err(tree_err)?,
            T::Symlink => {
                let target = link.unwrap_or_default();
                tree.insert(&path, make(Kind::Symlink(target)))
                    .map_err(tree_err)?
            }
            T::Link => {
                let target = clean(&link.unwrap_or_default())?;
                let (tdir, _) = target.rsplit_once('/').unwrap_or(("", &target));
                self.no_symlink_on_the_way(tree, &target, tdir)?;
                let Some(found) = tree.get(&self.full(&target)).cloned() else {
                    return Err(LayerFail::Escapes {
                        path: rel.to_string(),
                        why: "it is a hard link to something the image does not hold",
                    });
                };
                if found.kind == Kind::Dir {
                    return Err(LayerFail::Escapes {
                        path: rel.to_string(),
                        why: "it is a hard link to a directory",
                    });
                }
                let xa = tree.xattrs(&self.full(&target)).cloned();
                let landed = tree.insert(&path, found).map_err(tree_err)?;
                if let Some(xa) = xa {
                    tree.set_xattrs(&landed, xa);
                }
                return Ok(landed);
            }
            T::Char => tree
                .insert(&path, make(Kind::CharDevice(dev.0, dev.1)))
                .map_err(tree_err)?,
            T::Block => tree
                .insert(&path, make(Kind::BlockDevice(dev.0, dev.1)))
                .map_err(tree_err)?,
            T::Fifo => tree.insert(&path, make(Kind::Fifo)).map_err(tree_err)?,
            // PAX/GNU metadata entries are folded into the next entry by the
            // reader; anything else has no place in a root filesystem.
            _ => return Ok(path),
        };
        if !xattrs.is_empty() {
            tree.set_xattrs(&landed, xattrs);
        }
        Ok(landed)
    }
}

/// Linux's PATH_MAX and NAME_MAX: no file system holds a longer path or
/// name, so a layer entry beyond them is refused before any work on it.
const PATH_MAX: usize = 4096;
const NAME_MAX: usize = 255;

/// A layer path without `/`, `./` and empty parts; `..` is refused, and so
/// are paths and names longer than Linux allows.
fn clean(raw: &str) -> Result<String, LayerFail> {
    let refuse = |why| {
        Err(LayerFail::Escapes {
            path: raw.chars().take(200).collect(),
            why,
        })
    };
    if raw.len() > PATH_MAX {
        return refuse("its path is longer than Linux allows (4096 bytes)");
    }
    let mut out: Vec<&str> = Vec::new();
    for c in raw.split('/') {
        if c.len() > NAME_MAX {
            return refuse("a name in its path is longer than Linux allows (255 bytes)");
        }
        match c {
            "" | "." => {}
            ".." => {
                return Err(LayerFail::Escapes {
                    path: raw.to_string(),
                    why: "it contains `..`",
                });
            }
            c => out.push(c),
        }
    }
    Ok(out.join("/"))
}

pub(super) fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}/{b}"),
    }
}
