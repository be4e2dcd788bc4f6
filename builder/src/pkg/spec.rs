//! `pkg/<name>/build.yml`: what goes into a package. Parsed with the config
//! loader (unknown keys and wrong types as `FILE:LINE:COL` with a
//! suggestion); checks of meaning run while deserializing, so they too are
//! reported at the value they concern.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer};

use crate::config::{self, Diagnostics, LoadError, Location, Pos};
use crate::fstree::glob::Glob;

/// Paths dropped from every package unless `dropDefaults: false`:
/// documentation, manuals, translations and dpkg's own state, which a
/// system without a package manager never reads.
pub const DEFAULT_DROP: &[&str] = &[
    "usr/share/doc",
    "usr/share/doc-base",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "usr/share/lintian",
    "usr/share/bug",
    "usr/share/bash-completion",
    "usr/share/zsh",
    "usr/share/fish",
    "usr/share/menu",
    "var/lib/dpkg",
    "var/cache",
    "var/log",
    "etc/cron.daily",
    "etc/logrotate.d",
];

pub use crate::arch::Arch;

/// A whole build.yml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct BuildSpec {
    #[serde(deserialize_with = "de_name")]
    pub name: String,
    pub archs: Vec<Arch>,
    #[serde(default = "yes")]
    pub drop_defaults: bool,
    pub config: ImageConfig,
    #[serde(deserialize_with = "de_label")]
    pub label: Option<Label>,
    /// Additions for one architecture, appended to the common parts.
    pub arch: BTreeMap<Arch, Parts>,
    pub debian: Debian,
    pub files: Vec<FileSpec>,
    pub crates: Vec<CrateSpec>,
    #[serde(deserialize_with = "de_globs")]
    pub drop: Vec<Glob>,
    #[serde(deserialize_with = "de_globs")]
    pub keep: Vec<Glob>,
    #[serde(rename = "move")]
    pub moves: Vec<Move>,
    pub pack: Vec<Pack>,
    #[serde(deserialize_with = "de_globs")]
    pub foreign_elf: Vec<Glob>,
}

fn yes() -> bool {
    true
}

/// What may differ per architecture (same keys as at the top level).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Parts {
    pub debian: Debian,
    pub files: Vec<FileSpec>,
    pub crates: Vec<CrateSpec>,
    #[serde(deserialize_with = "de_globs")]
    pub drop: Vec<Glob>,
    #[serde(deserialize_with = "de_globs")]
    pub keep: Vec<Glob>,
    #[serde(rename = "move")]
    pub moves: Vec<Move>,
    pub pack: Vec<Pack>,
    #[serde(deserialize_with = "de_globs")]
    pub foreign_elf: Vec<Glob>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Debian {
    pub packages: Vec<String>,
    pub exclude: Vec<String>,
    pub components: Vec<String>,
}

/// The image config: how the container starts by default.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: Option<String>,
}

/// The `org.mobyproject.config` label, checked against LinuxKit's image
/// schema and kept as canonical JSON (sorted keys).
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub json: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawFile")]
pub struct FileSpec {
    pub path: String,
    pub what: FileSource,
    pub mode: Option<u32>,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FileSource {
    /// Relative to the package folder.
    Source(PathBuf),
    Contents(String),
    Directory,
    Symlink(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawFile {
    path: String,
    source: Option<String>,
    contents: Option<String>,
    directory: bool,
    symlink: Option<String>,
    mode: Option<String>,
    uid: u32,
    gid: u32,
}

impl TryFrom<RawFile> for FileSpec {
    type Error = String;
    fn try_from(raw: RawFile) -> Result<FileSpec, String> {
        let path = abs_path(&raw.path)?;
        let mut what = Vec::new();
        if let Some(s) = raw.source {
            if s.starts_with('/') || s.split('/').any(|c| c == "..") {
                return Err(format!(
                    "source {s:?} must be relative to the package folder and stay inside it"
                ));
            }
            what.push(FileSource::Source(PathBuf::from(s)));
        }
        if let Some(c) = raw.contents {
            what.push(FileSource::Contents(c));
        }
        if raw.directory {
            what.push(FileSource::Directory);
        }
        if let Some(t) = raw.symlink {
            what.push(FileSource::Symlink(t));
        }
        if what.len() != 1 {
            return Err(format!(
                "file {:?} needs exactly one of `source`, `contents`, `directory: true` or `symlink`",
                raw.path
            ));
        }
        let mode = raw.mode.as_deref().map(config::parse_mode).transpose()?;
        Ok(FileSpec {
            path,
            what: what.remove(0),
            mode,
            uid: raw.uid,
            gid: raw.gid,
        })
    }
}

/// A binary of a crate in this workspace, built static for the target.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawCrate")]
pub struct CrateSpec {
    pub package: String,
    pub bin: String,
    pub path: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawCrate {
    package: String,
    bin: Option<String>,
    path: String,
}

impl TryFrom<RawCrate> for CrateSpec {
    type Error = String;
    fn try_from(raw: RawCrate) -> Result<CrateSpec, String> {
        if raw.package.is_empty() {
            return Err("a crate needs `package`, the workspace member to build".into());
        }
        Ok(CrateSpec {
            bin: raw.bin.unwrap_or_else(|| raw.package.clone()),
            package: raw.package,
            path: abs_path(&raw.path)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawMove")]
pub struct Move {
    pub from: Glob,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawMove")]
pub struct Pack {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawMove {
    from: String,
    to: String,
}

impl TryFrom<RawMove> for Move {
    type Error = String;
    fn try_from(raw: RawMove) -> Result<Move, String> {
        Ok(Move {
            from: Glob::new(&raw.from)?,
            to: abs_path(&raw.to)?,
        })
    }
}

impl TryFrom<RawMove> for Pack {
    type Error = String;
    fn try_from(raw: RawMove) -> Result<Pack, String> {
        Ok(Pack {
            from: abs_path(&raw.from)?,
            to: abs_path(&raw.to)?,
        })
    }
}

/// A path in the package, normalized without the leading `/`.
fn abs_path(p: &str) -> Result<String, String> {
    match crate::fstree::tree::normalize(p) {
        Ok(n) if !n.is_empty() => Ok(n),
        Ok(_) => Err(format!("path {p:?} names the root; name a file or folder")),
        Err(e) => Err(e.to_string()),
    }
}

fn de_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    // Separators only between letters or digits, as image names require.
    let ok = name
        .split(['-', '_', '.'])
        .all(|part| !part.is_empty() && part.bytes().all(|b| alnum(&b)));
    if !ok {
        return Err(de::Error::custom(format!(
            "package name {name:?} must be lowercase letters and digits, with single `-`, `_` or `.` between them"
        )));
    }
    Ok(name)
}

fn de_globs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Glob>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts
        .iter()
        .map(|t| Glob::new(t).map_err(de::Error::custom))
        .collect()
}

fn de_label<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Label>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    if !value.is_object() {
        return Err(de::Error::custom(
            "the label must be a mapping of LinuxKit image keys (capabilities, binds, ...)",
        ));
    }
    let json = serde_json::to_string(&value).map_err(de::Error::custom)?;
    config::parse_image_label("this package", &json).map_err(|e| {
        de::Error::custom(format!(
            "the label is not a valid LinuxKit image config: {e}"
        ))
    })?;
    Ok(Some(Label { json }))
}

/// Everything one architecture's build needs, common and per-arch parts joined.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArchPlan {
    pub debian: Debian,
    pub files: Vec<FileSpec>,
    pub crates: Vec<CrateSpec>,
    pub drop: Vec<Glob>,
    pub keep: Vec<Glob>,
    pub moves: Vec<Move>,
    pub pack: Vec<Pack>,
    pub foreign_elf: Vec<Glob>,
}

impl BuildSpec {
    /// Reads and checks `dir/build.yml`.
    pub fn load(dir: &Path) -> Result<BuildSpec, LoadError> {
        let file = dir.join("build.yml");
        let mut spec: BuildSpec = config::load_document(&file)?;
        if spec.name.is_empty() {
            let mut diags = Diagnostics::default();
            let at = Location::new(&file, Pos::START);
            diags.push(
                at,
                "name",
                "missing; give the package a name, e.g. `name: runc`",
            );
            return Err(LoadError::Invalid(diags));
        }
        let mut diags = Diagnostics::default();
        let mut lists = vec![
            ("debian.packages".to_string(), &spec.debian.packages),
            ("debian.exclude".to_string(), &spec.debian.exclude),
        ];
        for (arch, extra) in &spec.arch {
            let arch = arch.name();
            lists.push((
                format!("arch.{arch}.debian.packages"),
                &extra.debian.packages,
            ));
            lists.push((format!("arch.{arch}.debian.exclude"), &extra.debian.exclude));
        }
        for (field, names) in lists {
            for (i, name) in names.iter().enumerate() {
                if let Err(message) = crate::pkg::debian::names::check_name(name, true) {
                    diags.push(
                        Location::new(&file, Pos::START),
                        format!("{field}[{i}]"),
                        message,
                    );
                }
            }
        }
        if !diags.is_empty() {
            return Err(LoadError::Invalid(diags));
        }
        if spec.archs.is_empty() {
            spec.archs = Arch::ALL.to_vec();
        }
        spec.archs.sort();
        spec.archs.dedup();
        Ok(spec)
    }

    pub fn for_arch(&self, arch: Arch) -> ArchPlan {
        let extra = self.arch.get(&arch).cloned().unwrap_or_default();
        let join = |a: &[String], b: Vec<String>| a.iter().cloned().chain(b).collect::<Vec<_>>();
        let components = match (
            extra.debian.components.is_empty(),
            self.debian.components.is_empty(),
        ) {
            (false, _) => extra.debian.components.clone(),
            (true, false) => self.debian.components.clone(),
            (true, true) => vec!["main".to_string()],
        };
        let mut drop: Vec<Glob> = match self.drop_defaults {
            true => DEFAULT_DROP
                .iter()
                .filter_map(|g| Glob::new(g).ok())
                .collect(),
            false => Vec::new(),
        };
        drop.extend(self.drop.iter().cloned().chain(extra.drop));
        ArchPlan {
            debian: Debian {
                packages: join(&self.debian.packages, extra.debian.packages),
                exclude: join(&self.debian.exclude, extra.debian.exclude),
                components,
            },
            files: self.files.iter().cloned().chain(extra.files).collect(),
            crates: self.crates.iter().cloned().chain(extra.crates).collect(),
            drop,
            keep: self.keep.iter().cloned().chain(extra.keep).collect(),
            moves: self.moves.iter().cloned().chain(extra.moves).collect(),
            pack: self.pack.iter().cloned().chain(extra.pack).collect(),
            foreign_elf: self
                .foreign_elf
                .iter()
                .cloned()
                .chain(extra.foreign_elf)
                .collect(),
        }
    }
}

#[cfg(test)]
#[path = "spec_tests.rs"]
mod tests;
