//! The kernel: its file (kept beside the tree, not in it) and, of its
//! modules tarball, only the modules the system needs: the modules of
//! `kernel-configs/required.txt` for the target arch (those the kernel has
//! as modules) plus `kernel.modules`, each with its `modules.dep` closure.
//! The tarball is decompressed once into a temporary file and read there,
//! so its hundreds of MB are never unpacked.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Seek, SeekFrom};

use super::layers::{ImageParts, layer_error};
use super::{Arch, AssembleError, KernelParts, put_bytes};
use crate::config::Kernel;
use crate::fstree::{ContentId, Tree};
use crate::kernel::RequiredList;
use crate::oci::layer::with_layer;
use crate::oci::{Store, store::descriptor_digest};

/// The module names loaded by default on `arch`, in the order of the list.
pub fn default_modules(arch: Arch) -> Vec<String> {
    let Ok(list) = RequiredList::builtin() else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for r in list.for_arch(arch.oci_name()) {
        if let Some(m) = &r.module
            && !out.contains(m)
        {
            out.push(m.clone());
        }
    }
    out
}

/// Module names compare with `-` and `_` as the same character.
fn canon(name: &str) -> String {
    name.replace('-', "_")
}

fn module_name(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    canon(base.split(".ko").next().unwrap_or(base))
}

/// What a board adds to the kernel: modules loaded when the kernel has
/// them, and files of the kernel image kept beside the tree (device trees).
#[derive(Debug, Default, Clone, Copy)]
pub struct Extras<'a> {
    pub modules: &'a [&'a str],
    pub files: &'a [String],
}

pub fn add(
    store: &Store,
    arch: Arch,
    k: &Kernel,
    extras: Extras<'_>,
    parts: &ImageParts,
    tree: &mut Tree,
) -> Result<KernelParts, AssembleError> {
    let image = parts.name.as_str();
    let binary = k
        .binary
        .clone()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "kernel".into());
    let tar_name = match k.tar.as_deref() {
        None => Some("kernel.tar".to_string()),
        Some("") | Some("none") => None,
        Some(t) => Some(t.to_string()),
    };
    let fail = |message: String| AssembleError::Kernel {
        image: image.to_string(),
        message,
    };
    let mut modules_tar =
        tempfile::tempfile_in(tree.contents().root()).map_err(|source| AssembleError::Content {
            what: "the kernel's modules tarball".into(),
            source,
        })?;
    let Extracted {
        kernel,
        found_tar,
        files,
    } = extract(
        store,
        parts,
        tree,
        &binary,
        tar_name.as_deref(),
        extras.files,
        &mut modules_tar,
    )?;
    let kernel = kernel.ok_or_else(|| {
        fail(format!(
            "it holds no `{binary}`; set `kernel.binary` to the kernel's file name"
        ))
    })?;
    let mut version = String::new();
    if let Some(tar) = &tar_name {
        if !found_tar {
            return Err(fail(format!(
                "it holds no `{tar}`; set `kernel.tar` (or `none` for no modules)"
            )));
        }
        let tar_err = |source| AssembleError::KernelTar {
            image: image.to_string(),
            tar: tar.clone(),
            source,
        };
        let index = index_modules(&mut modules_tar).map_err(tar_err)?;
        version = index.version.clone();
        let mut wanted = default_modules(arch);
        let explicit: Vec<String> = k.modules.clone().unwrap_or_default();
        for m in &explicit {
            if !index.deps.contains_key(&canon(m)) && !index.builtin.contains(&canon(m)) {
                return Err(AssembleError::UnknownModule {
                    module: m.clone(),
                    version: version.clone(),
                    image: image.to_string(),
                });
            }
        }
        wanted.extend(explicit);
        wanted.extend(
            (extras.modules.iter())
                .filter(|m| index.deps.contains_key(&canon(m)))
                .map(|m| m.to_string()),
        );
        let order = load_order(&index, &wanted);
        copy_modules(tree, &mut modules_tar, &index, &order).map_err(|e| match e {
            CopyFail::Io(source) => tar_err(source),
            CopyFail::Place(e) => e,
        })?;
    }
    Ok(KernelParts {
        kernel,
        cmdline: k.cmdline.clone().unwrap_or_default(),
        version,
        files,
    })
}

/// Streams the image's layers once: the kernel into the tree's contents,
/// the modules tarball into `tar_out`.
fn extract(
    store: &Store,
    parts: &ImageParts,
    tree: &Tree,
    binary: &str,
    tar_name: Option<&str>,
    extra_files: &[String],
    tar_out: &mut std::fs::File,
) -> Result<Extracted, AssembleError> {
    let mut kernel = None;
    let mut found_tar = false;
    let mut files = BTreeMap::new();
    for layer in &parts.layers {
        let digest = descriptor_digest(layer);
        let read_err = |source| AssembleError::LayerRead {
            image: parts.name.clone(),
            layer: digest.clone(),
            source,
        };
        let scan = |reader: &mut dyn Read| -> io::Result<()> {
            let mut archive = tar::Archive::new(reader);
            for entry in archive.entries()? {
                let mut entry = entry?;
                let path = entry_path(&entry);
                if path == binary {
                    kernel = Some(tree.contents().add(&mut entry)?);
                } else if Some(path.as_str()) == tar_name {
                    tar_out.set_len(0)?;
                    tar_out.seek(SeekFrom::Start(0))?;
                    io::copy(&mut entry, tar_out)?;
                    found_tar = true;
                } else if extra_files.contains(&path)
                    && entry.header().entry_type() == tar::EntryType::Regular
                {
                    files.insert(path, tree.contents().add(&mut entry)?);
                }
            }
            Ok(())
        };
        with_layer(store, &digest, scan)
            .map_err(|e| layer_error(&parts.name, &digest, e))?
            .map_err(read_err)?;
    }
    Ok(Extracted {
        kernel,
        found_tar,
        files,
    })
}

/// What one pass over the kernel image's layers found.
struct Extracted {
    kernel: Option<ContentId>,
    found_tar: bool,
    /// The extra files asked for, by path.
    files: BTreeMap<String, ContentId>,
}

/// A tar entry's path relative to the image root (`./` and `/` dropped).
fn entry_path<R: Read>(entry: &tar::Entry<'_, R>) -> String {
    String::from_utf8_lossy(&entry.path_bytes())
        .trim_start_matches("./")
        .trim_start_matches('/')
        .to_string()
}

/// Where each module file sits in the tarball, and what it needs.
struct ModuleIndex {
    version: String,
    /// Module name -> (path relative to lib/modules/VERSION, its deps' paths).
    deps: BTreeMap<String, (String, Vec<String>)>,
    builtin: BTreeSet<String>,
    /// Path relative to lib/modules/VERSION -> (offset, size) in the tarball.
    files: BTreeMap<String, (u64, u64)>,
}

fn index_modules(tar_file: &mut std::fs::File) -> io::Result<ModuleIndex> {
    tar_file.seek(SeekFrom::Start(0))?;
    let mut archive = tar::Archive::new(io::BufReader::new(&mut *tar_file));
    let mut files = BTreeMap::new();
    let mut versions = BTreeSet::new();
    let mut dep_text = String::new();
    let mut builtin_text = String::new();
    // Module name -> (path, names it depends on), for when there is no modules.dep.
    let mut modinfo: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    // Alias -> the module that provides it.
    let mut aliases: BTreeMap<String, String> = BTreeMap::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry_path(&entry);
        let Some(rest) = path.strip_prefix("lib/modules/") else {
            continue;
        };
        let Some((ver, rel)) = rest.split_once('/') else {
            continue;
        };
        if rel.is_empty() || entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        versions.insert(ver.to_string());
        match rel {
            "modules.dep" => {
                entry.read_to_string(&mut dep_text)?;
            }
            "modules.builtin" => {
                entry.read_to_string(&mut builtin_text)?;
            }
            _ => {
                let at = (entry.raw_file_position(), entry.size());
                if rel.ends_with(".ko") {
                    let mut ko = Vec::with_capacity(usize::try_from(at.1).unwrap_or(0));
                    entry.read_to_end(&mut ko)?;
                    if let Some(info) = super::modinfo::read(&ko) {
                        // A generic implementation loads on any CPU; an
                        // accelerated one (crc32c-intel) may not under emulation.
                        let this = module_name(rel);
                        for alias in &info.aliases {
                            let slot = aliases.entry(canon(alias)).or_insert_with(|| this.clone());
                            if this.ends_with("_generic") {
                                *slot = this.clone();
                            }
                        }
                        let mut needs = info.depends;
                        needs.extend(info.pre);
                        modinfo.insert(module_name(rel), (rel.to_string(), needs));
                    }
                }
                files.insert(rel.to_string(), at);
            }
        }
    }
    if versions.len() > 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "it holds modules for several kernels ({}); keep one",
                versions.into_iter().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let mut deps = BTreeMap::new();
    for line in dep_text.lines() {
        let Some((module, needs)) = line.split_once(':') else {
            continue;
        };
        let needs = needs.split_whitespace().map(String::from).collect();
        deps.insert(module_name(module), (module.to_string(), needs));
    }
    if dep_text.trim().is_empty() {
        // Soft dependencies may name an alias (`crc32c`): point them at a module.
        for (_, needs) in modinfo.values_mut() {
            for n in needs.iter_mut() {
                if let Some(m) = aliases.get(&canon(n)) {
                    *n = m.clone();
                }
            }
        }
        deps = deps_from_modinfo(&modinfo);
    }
    let builtin = builtin_text.lines().map(module_name).collect();
    Ok(ModuleIndex {
        version: versions.into_iter().next().unwrap_or_default(),
        deps,
        builtin,
        files,
    })
}

/// `modules.dep` worked out from each module's own list of the modules it
/// needs: the full closure per module, as depmod writes it, the module a
/// dependant needs last first.
fn deps_from_modinfo(
    modinfo: &BTreeMap<String, (String, Vec<String>)>,
) -> BTreeMap<String, (String, Vec<String>)> {
    let path_of = |name: &str| modinfo.get(&canon(name)).map(|(p, _)| p.clone());
    let mut deps = BTreeMap::new();
    for (name, (path, _)) in modinfo {
        // Depth-first: a module's own needs come after what they need, and
        // depmod's order is the reverse of the load order.
        let mut order: Vec<String> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(String, bool)> = modinfo
            .get(name)
            .map(|(_, d)| d.iter().map(|n| (canon(n), false)).collect())
            .unwrap_or_default();
        while let Some((dep, done)) = stack.pop() {
            if done {
                if let Some(p) = path_of(&dep) {
                    order.push(p);
                }
                continue;
            }
            if !seen.insert(dep.clone()) || &dep == name {
                continue;
            }
            stack.push((dep.clone(), true));
            if let Some((_, more)) = modinfo.get(&dep) {
                stack.extend(more.iter().map(|n| (canon(n), false)));
            }
        }
        order.reverse();
        deps.insert(name.clone(), (path.clone(), order));
    }
    deps
}

/// Module paths, dependencies before dependants, each once. Names the
/// kernel does not have as modules (built in, or absent) are skipped.
fn load_order(index: &ModuleIndex, wanted: &[String]) -> Vec<String> {
    fn visit(index: &ModuleIndex, path: &str, seen: &mut BTreeSet<String>, out: &mut Vec<String>) {
        if !seen.insert(path.to_string()) {
            return;
        }
        if let Some((_, needs)) = index.deps.get(&module_name(path)) {
            // depmod lists a module's needs so that the last one loads first.
            for dep in needs.iter().rev() {
                visit(index, dep, seen, out);
            }
        }
        out.push(path.to_string());
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for name in wanted {
        if let Some((path, _)) = index.deps.get(&canon(name)) {
            visit(index, path, &mut seen, &mut out);
        }
    }
    out
}

enum CopyFail {
    Io(io::Error),
    Place(AssembleError),
}

fn copy_modules(
    tree: &mut Tree,
    tar_file: &mut std::fs::File,
    index: &ModuleIndex,
    order: &[String],
) -> Result<(), CopyFail> {
    let base = format!("lib/modules/{}", index.version);
    let mut dep = String::new();
    for path in order {
        let Some(&(offset, size)) = index.files.get(path) else {
            return Err(CopyFail::Io(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("modules.dep names {path}, which the tarball does not hold"),
            )));
        };
        tar_file
            .seek(SeekFrom::Start(offset))
            .map_err(CopyFail::Io)?;
        let mut r = (&mut *tar_file).take(size);
        tree.add_file(&format!("{base}/{path}"), &mut r, 0o644, 0, 0)
            .map_err(|source| {
                CopyFail::Place(AssembleError::Place {
                    path: format!("/{base}/{path}"),
                    source: Box::new(source),
                })
            })?;
        let needs = index
            .deps
            .get(&module_name(path))
            .map(|(_, n)| n.join(" "))
            .unwrap_or_default();
        dep.push_str(&format!(
            "{path}:{}{needs}\n",
            if needs.is_empty() { "" } else { " " }
        ));
    }
    let list: String = order.iter().map(|p| format!("{p}\n")).collect();
    if !order.is_empty() {
        put_bytes(tree, &format!("{base}/modules.dep"), dep.as_bytes(), 0o644)
            .map_err(CopyFail::Place)?;
    }
    put_bytes(tree, "etc/cairn/modules", list.as_bytes(), 0o644).map_err(CopyFail::Place)
}

#[cfg(test)]
mod modinfo_tests {
    use super::*;

    #[test]
    fn modules_dep_from_modinfo_lists_the_closure_so_dependencies_load_first() {
        let mut m = BTreeMap::new();
        let entry =
            |p: &str, d: &[&str]| (p.to_string(), d.iter().map(|s| s.to_string()).collect());
        m.insert(
            "dm_verity".into(),
            entry("md/dm-verity.ko", &["dm-bufio", "dm-mod"]),
        );
        m.insert("dm_bufio".into(), entry("md/dm-bufio.ko", &["dm-mod"]));
        m.insert("dm_mod".into(), entry("md/dm-mod.ko", &[]));
        let deps = deps_from_modinfo(&m);
        let index = ModuleIndex {
            version: "6.1".into(),
            deps,
            builtin: BTreeSet::new(),
            files: BTreeMap::new(),
        };
        assert_eq!(
            load_order(&index, &["dm-verity".into()]),
            vec!["md/dm-mod.ko", "md/dm-bufio.ko", "md/dm-verity.ko"]
        );
    }
}
