//! Config files: parse, validate and merge LinuxKit-style YAML.
//!
//! A file goes through three steps. [`yaml`] turns the text into a node tree
//! with positions, resolving anchors, aliases and `<<` merge keys under hard
//! limits. [`de`] deserializes the tree into the schema types with serde,
//! recording every unknown key and type mismatch instead of stopping at the
//! first. [`check`] then checks meaning: required fields, image references,
//! modes, exclusive fields. Several files are merged in order ([`merge`]) and
//! the merged result is checked once more (unique service names, a kernel
//! image). All problems are reported together, each as `FILE:LINE:COL`.
//!
//! # Why saphyr-parser
//!
//! cairn needs the line and column of every key and value, YAML 1.2 scalar
//! rules (so `yes` stays a string, as in LinuxKit's Go parser), and full
//! control over aliases so an alias bomb cannot exhaust memory. saphyr-parser
//! is a pure-Rust, maintained YAML 1.2 event parser from the yaml-rust2 line
//! that reports a span with every event and never builds a tree itself; cairn
//! builds its own tree from the events with a depth limit, a node budget that
//! is charged before an alias is copied, and duplicate-key detection. The
//! alternatives did not fit: serde_yaml is deprecated and unmaintained,
//! serde_yml has unsoundness advisories, and neither exposes positions for
//! every node nor lets the caller bound alias expansion.

mod access;
pub mod capability;
mod check;
pub mod data;
mod de;
mod diag;
mod image;
mod lenient;
mod merge;
mod node;
#[cfg(test)]
mod probe;
mod resources;
pub mod rpi;
mod scalar;
mod schema;
pub mod update;
mod yaml;

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::exit::{Classify, ErrorClass};

pub use check::{check_image_pattern, check_image_ref, version_problem};
pub use data::Data;
pub use diag::{Diagnostic, Diagnostics, Location, Pos};
pub use image::{Device, IdMapping, Image, Interface, Mount, Namespaces, Restart, Runtime};
pub use resources::{
    BlockIo, Cpu, DeviceCgroup, HugepageLimit, InterfacePriority, Memory, Network, Pids, Resources,
    ThrottleDevice, WeightDevice,
};
pub use rpi::Rpi;
pub use scalar::{Id, parse_mode};
pub use schema::{File, Kernel, KeySource, Trust, TrustKey, Volume};
pub use yaml::{MAX_DEPTH, MAX_FILE_SIZE, MAX_NODES};

use merge::Part;
use schema::RawConfig;

/// A validated config, merged from one or more files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub kernel: Option<Kernel>,
    pub init: Vec<String>,
    pub onboot: Vec<Image>,
    pub onshutdown: Vec<Image>,
    pub services: Vec<Image>,
    pub files: Vec<File>,
    pub volumes: Vec<Volume>,
    pub trust: Trust,
    /// cairn: the Raspberry Pi card settings (`-f rpi`).
    pub rpi: Option<Rpi>,
    /// cairn: the persistent data partition of disk images.
    pub data: Option<Data>,
    /// cairn: how a device takes updates.
    pub update: Option<update::Update>,
    /// cairn: this system's version, compared by updates (`1`, `2.3`).
    pub version: Option<String>,
    /// The files merged into this config, in order.
    pub sources: Vec<PathBuf>,
}

/// An image the build needs and where the config asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUse {
    /// `kernel`, `init[0]`, `onboot[1]`, `services[0]`, `volumes[0]`, ...
    pub section: String,
    /// The container or volume name (for `kernel` and `init`, a short name).
    pub name: String,
    /// The reference as written in the config.
    pub image: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("no config file given")]
    NoFiles,
    #[error("cannot read config file {}; check the path and its permissions", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{count} in {files}:\n{diags}", count = problems(.0), files = files_of(.0), diags = .0)]
    Invalid(Diagnostics),
}

fn problems(d: &Diagnostics) -> String {
    match d.len() {
        1 => "1 problem".into(),
        n => format!("{n} problems"),
    }
}

fn files_of(d: &Diagnostics) -> String {
    let mut files: Vec<String> = Vec::new();
    for diag in d.iter() {
        let f = diag.location.file.display().to_string();
        if !files.contains(&f) {
            files.push(f);
        }
    }
    files.join(", ")
}

impl Classify for LoadError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }
}

/// Reads, validates and merges config files in order.
pub fn load(paths: &[PathBuf]) -> Result<Config, LoadError> {
    if paths.is_empty() {
        return Err(LoadError::NoFiles);
    }
    let mut texts = Vec::with_capacity(paths.len());
    for path in paths {
        texts.push(read(path)?);
    }
    let inputs: Vec<(&Path, &[u8])> = paths
        .iter()
        .zip(&texts)
        .map(|(p, t)| (p.as_path(), t.as_slice()))
        .collect();
    load_bytes(&inputs)
}

/// Validates one config given as text; `file` is the name used in messages
/// and the directory trust key paths are relative to.
pub fn parse(file: &Path, text: &str) -> Result<Config, LoadError> {
    load_bytes(&[(file, text.as_bytes())])
}

fn load_bytes(inputs: &[(&Path, &[u8])]) -> Result<Config, LoadError> {
    let mut diags = Diagnostics::default();
    let mut parts = Vec::new();
    for (file, bytes) in inputs {
        if let Some(raw) = parse_file(file, bytes, &mut diags) {
            parts.push(Part { file, raw });
        }
    }
    // Cross-file checks need every file; with one missing they would mislead.
    if parts.len() == inputs.len() {
        let cfg = merge::merge(parts, &mut diags);
        if diags.is_empty() {
            return Ok(cfg);
        }
    }
    diags.sort_within_files();
    Err(LoadError::Invalid(diags))
}

fn parse_file(file: &Path, bytes: &[u8], diags: &mut Diagnostics) -> Option<RawConfig> {
    let fail = |diags: &mut Diagnostics, e: yaml::YamlError| {
        diags.push(Location::new(file, e.pos), "", e.message);
    };
    if bytes.len() as u64 > MAX_FILE_SIZE {
        let message = format!("the file is larger than {} MiB", MAX_FILE_SIZE >> 20);
        fail(
            diags,
            yaml::YamlError {
                pos: Pos::START,
                message,
            },
        );
        return None;
    }
    let text = match yaml::decode(bytes) {
        Ok(t) => t,
        Err(e) => {
            fail(diags, e);
            return None;
        }
    };
    let root = match parse_lenient(file, text) {
        Ok(root) => root,
        Err(e) => {
            fail(diags, e);
            return None;
        }
    };
    if !matches!(root.kind, node::Kind::Map(_)) {
        let message = format!(
            "expected a mapping of sections (`kernel:`, `services:`, ...), found {}",
            root.kind.describe()
        );
        fail(
            diags,
            yaml::YamlError {
                pos: root.pos,
                message,
            },
        );
        return None;
    }
    let ctx = de::Ctx::new(file);
    let raw: Option<RawConfig> = de::from_node(&root, &ctx);
    diags.extend(ctx.into_diagnostics());
    let mut raw = raw?;
    check::check_file(file, &root, &mut raw, diags);
    Some(raw)
}

/// Parses YAML as LinuxKit's Go parser reads it (see `lenient.rs`): a
/// column-0 comment inside a block scalar is skipped with a warning, and
/// every position still names the line in the file.
fn parse_lenient(file: &Path, text: &str) -> Result<node::Node, yaml::YamlError> {
    let (text, dropped) = lenient::drop_block_scalar_comments(text);
    for line in &dropped {
        tracing::warn!(
            "{}:{line}:1: this comment at column 0 is inside a block scalar; it is skipped, as LinuxKit's YAML parser does (indent it to keep it in the text, or move it out of the scalar)",
            file.display()
        );
    }
    match yaml::parse(&text) {
        Ok(mut root) => {
            lenient::remap(&mut root, &dropped);
            Ok(root)
        }
        Err(mut e) => {
            e.pos.line = lenient::original_line(e.pos.line, &dropped);
            Err(e)
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    let err = |source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(err)?;
    let mut bytes = Vec::new();
    // One byte over the limit is enough to report "too large" without reading it all.
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    Ok(bytes)
}

/// Reads any YAML document (a package's `build.yml`, a `lock.yml`) into `T`
/// with the same loader as configs: bounded input, every unknown key and
/// wrong type reported as `FILE:LINE:COL`. Checks of meaning are the caller's.
pub fn load_document<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, LoadError> {
    parse_document(path, &read(path)?)
}

/// [`load_document`] on bytes already read; `file` names them in messages.
pub fn parse_document<T: serde::de::DeserializeOwned>(
    file: &Path,
    bytes: &[u8],
) -> Result<T, LoadError> {
    let mut diags = Diagnostics::default();
    let fail = |diags: &mut Diagnostics, e: yaml::YamlError| {
        diags.push(Location::new(file, e.pos), "", e.message);
    };
    if bytes.len() as u64 > MAX_FILE_SIZE {
        let message = format!("the file is larger than {} MiB", MAX_FILE_SIZE >> 20);
        fail(
            &mut diags,
            yaml::YamlError {
                pos: Pos::START,
                message,
            },
        );
        return Err(LoadError::Invalid(diags));
    }
    let root = match yaml::decode(bytes).and_then(|text| parse_lenient(file, text)) {
        Ok(root) => root,
        Err(e) => {
            fail(&mut diags, e);
            return Err(LoadError::Invalid(diags));
        }
    };
    let ctx = de::Ctx::new(file);
    let value: Option<T> = de::from_node(&root, &ctx);
    diags.extend(ctx.into_diagnostics());
    match value {
        Some(v) if diags.is_empty() => Ok(v),
        _ => {
            diags.sort_within_files();
            Err(LoadError::Invalid(diags))
        }
    }
}

/// Parses an `org.mobyproject.config` image label (JSON or YAML) into the
/// image fields it sets; `name` and `image` may not be set there.
pub fn parse_image_label(image: &str, text: &str) -> Result<Image, LoadError> {
    let file = PathBuf::from(format!("label of {image}"));
    let mut diags = Diagnostics::default();
    let root = match yaml::decode(text.as_bytes()).and_then(yaml::parse) {
        Ok(root) => root,
        Err(e) => {
            diags.push(Location::new(&file, e.pos), "", e.message);
            return Err(LoadError::Invalid(diags));
        }
    };
    let ctx = de::Ctx::new(&file);
    let img: Option<Image> = de::from_node(&root, &ctx);
    diags.extend(ctx.into_diagnostics());
    if let Some(img) = &img {
        for (key, set) in [("name", img.name.is_some()), ("image", img.image.is_some())] {
            if set {
                diags.push(
                    Location::new(&file, root.pos),
                    key,
                    "may not be set in an image label",
                );
            }
        }
    }
    match img {
        Some(img) if diags.is_empty() => Ok(img),
        _ => Err(LoadError::Invalid(diags)),
    }
}

/// A config file's document as JSON (for `files: metadata: json`): the
/// same tree the loader reads, aliases and merge keys expanded.
pub fn document_json(path: &Path) -> Result<serde_json::Value, LoadError> {
    let file = path.to_path_buf();
    let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
        path: file.clone(),
        source,
    })?;
    let root = yaml::decode(&bytes).and_then(yaml::parse).map_err(|e| {
        let mut diags = Diagnostics::default();
        diags.push(Location::new(&file, e.pos), "", e.message);
        LoadError::Invalid(diags)
    })?;
    Ok(to_json(&root))
}

fn to_json(n: &node::Node) -> serde_json::Value {
    use serde_json::Value;
    match &n.kind {
        node::Kind::Null => Value::Null,
        node::Kind::Bool(b) => Value::Bool(*b),
        node::Kind::Int { value, text } => i64::try_from(*value)
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.clone())),
        node::Kind::Float(text) => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(text.clone()), Value::Number),
        node::Kind::Str(s) => Value::String(s.clone()),
        node::Kind::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        node::Kind::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.text.clone(), to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests;
