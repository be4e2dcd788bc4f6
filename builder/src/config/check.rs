//! Checks one file's meaning after its shape is known: required fields,
//! image references, modes, mutually exclusive `files` fields, names.

use std::str::FromStr;

use super::diag::{Diagnostics, Location, Pos};
use super::image::Image;
use super::node::{Kind, Node};
use super::scalar::parse_mode;
use super::schema::{File, RawConfig, RawTrust, Volume};
use crate::oci::ImageRef;

/// A step of a key path.
#[derive(Debug, Clone, Copy)]
enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}
use Seg::{Index as I, Key as K};

struct Checker<'a> {
    file: &'a std::path::Path,
    root: &'a Node,
    diags: &'a mut Diagnostics,
}

fn path_text(segs: &[Seg<'_>]) -> String {
    let mut out = String::new();
    for s in segs {
        match s {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The position of the node at `segs`, or of its nearest existing ancestor.
fn pos_at(root: &Node, segs: &[Seg<'_>]) -> Pos {
    let mut node = root;
    for seg in segs {
        let next = match (seg, &node.kind) {
            (Seg::Key(k), Kind::Map(entries)) => entries
                .iter()
                .find(|(key, _)| key.text == *k)
                .map(|(_, v)| v),
            (Seg::Index(i), Kind::Seq(items)) => items.get(*i),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    node.pos
}

impl Checker<'_> {
    /// Records a problem unless deserializing already reported one at the
    /// same key (its neutral stand-in value would only repeat the complaint).
    fn report(&mut self, segs: &[Seg<'_>], message: impl Into<String>) {
        let path = path_text(segs);
        if self.reported(&path) {
            return;
        }
        let pos = pos_at(self.root, segs);
        self.diags
            .push(Location::new(self.file, pos), path, message);
    }

    fn reported(&self, path: &str) -> bool {
        self.diags
            .iter()
            .any(|d| d.path == path && d.location.file == self.file)
    }

    fn location(&self, segs: &[Seg<'_>]) -> Location {
        Location::new(self.file, pos_at(self.root, segs))
    }

    fn image_ref(&mut self, segs: &[Seg<'_>], text: &str) {
        if let Err(message) = check_image_ref(text) {
            self.report(segs, message);
        }
    }

    fn container(&mut self, section: &str, i: usize, img: &Image) {
        let at = [K(section), I(i)];
        match img.name.as_deref() {
            _ if self.reported(&format!("{section}[{i}].name")) => {}
            None | Some("") => self.report(
                &at,
                "`name` is missing; every container needs a unique name",
            ),
            Some(name) => {
                if let Err(m) = check_name(name) {
                    self.report(&[K(section), I(i), K("name")], m);
                }
            }
        }
        match img.image.as_deref() {
            _ if self.reported(&format!("{section}[{i}].image")) => {}
            None | Some("") => self.report(
                &at,
                "`image` is missing; name the image to run, e.g. `image: cairn/getty:latest`",
            ),
            Some(r) => self.image_ref(&[K(section), I(i), K("image")], r),
        }
        for (j, dev) in img.devices.iter().flatten().enumerate() {
            if let Some(mode) = &dev.mode
                && let Err(m) = parse_mode(mode)
            {
                self.report(&[K(section), I(i), K("devices"), I(j), K("mode")], m);
            }
        }
        for (key, list) in [
            ("capabilities", &img.capabilities),
            ("capabilities.add", &img.capabilities_add),
            ("ambient", &img.ambient),
        ] {
            for (j, m) in super::capability::problems(list.as_deref().unwrap_or_default()) {
                self.report(&[K(section), I(i), K(key), I(j)], m);
            }
        }
        for (j, rl) in img.rlimits.iter().flatten().enumerate() {
            if let Err(m) = check_rlimit(rl) {
                self.report(&[K(section), I(i), K("rlimits"), I(j)], m);
            }
        }
    }

    fn file(&mut self, i: usize, f: &File) {
        let at = |k| [K("files"), I(i), K(k)];
        match f.path.as_deref() {
            _ if self.reported(&format!("files[{i}].path")) => {}
            None | Some("") => self.report(
                &[K("files"), I(i)],
                "`path` is missing; say where the file goes, e.g. `path: etc/motd`",
            ),
            Some(p) if p.split('/').any(|c| c == "..") => self.report(
                &at("path"),
                format!("path {p:?} contains `..`; give the path inside the image without it"),
            ),
            Some(_) => {}
        }
        let mut kinds: Vec<&str> = Vec::new();
        if f.directory == Some(true) {
            kinds.push("directory");
        }
        for (key, set) in [
            ("symlink", f.symlink.is_some()),
            ("contents", f.contents.is_some()),
            ("source", f.source.is_some()),
            ("metadata", f.metadata.is_some()),
        ] {
            if set {
                kinds.push(key);
            }
        }
        match kinds.as_slice() {
            [] => self.report(&[K("files"), I(i)], "says nothing about what to create; set one of `contents`, `source`, `metadata`, `symlink` or `directory: true`"),
            [_] => {}
            [first, rest @ ..] => {
                for other in rest {
                    self.report(&at(other), format!("`{first}` and `{other}` cannot be used together; keep one"));
                }
            }
        }
        if let Some(md) = f.metadata.as_deref()
            && md != "yaml"
            && md != "json"
        {
            self.report(
                &at("metadata"),
                format!("metadata {md:?} is not supported; use `yaml` or `json`"),
            );
        }
        if let Some(mode) = &f.mode
            && let Err(m) = parse_mode(mode)
        {
            self.report(&at("mode"), m);
        }
    }

    fn volume(&mut self, i: usize, v: &Volume) {
        match v.name.as_deref() {
            None | Some("") => self.report(
                &[K("volumes"), I(i)],
                "`name` is missing; every volume needs a unique name",
            ),
            Some(n)
                if !n.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
                }) =>
            {
                self.report(
                    &[K("volumes"), I(i), K("name")],
                    format!(
                        "volume name {n:?} may only contain lowercase letters, digits, `-` and `_`"
                    ),
                )
            }
            Some(_) => {}
        }
        if let Some(r) = v.image.as_deref() {
            self.image_ref(&[K("volumes"), I(i), K("image")], r);
        }
        match v.format.as_deref() {
            None | Some("oci") | Some("filesystem") => {}
            Some(f) => self.report(
                &[K("volumes"), I(i), K("format")],
                format!("format {f:?} is not supported; use `filesystem` or `oci`"),
            ),
        }
        if v.format.is_some() && v.image.is_none() {
            self.report(
                &[K("volumes"), I(i), K("format")],
                "`format` needs an `image` to lay out",
            );
        }
    }

    fn rpi(&mut self, r: &super::rpi::Rpi) {
        if let Some(board) = &r.board
            && let Err(e) = board.parse::<crate::arch::Board>()
        {
            self.report(&[K("rpi"), K("board")], e);
        }
        if let Some(image) = &r.firmware {
            self.image_ref(&[K("rpi"), K("firmware")], image);
        }
        for (i, line) in r.config.iter().enumerate() {
            if let Some(problem) = super::rpi::config_line_problem(line) {
                self.report(&[K("rpi"), K("config"), I(i)], problem);
            }
        }
        for (i, path) in r.overlays.iter().enumerate() {
            if let Some(problem) = super::rpi::overlay_problem(path) {
                self.report(&[K("rpi"), K("overlays"), I(i)], problem);
            }
        }
    }

    fn data(&mut self, d: &super::data::Data) {
        match &d.mount {
            None => self.report(
                &[K("data")],
                "`data` needs `mount`, the folder the data partition is mounted on (e.g. /var/lib)",
            ),
            Some(m) => {
                if let Some(problem) = super::data::mount_problem(m) {
                    self.report(&[K("data"), K("mount")], problem);
                }
            }
        }
        if let Some(problem) = d.size.as_deref().and_then(super::data::size_problem) {
            self.report(&[K("data"), K("size")], problem);
        }
    }

    fn trust(&mut self, t: &RawTrust) {
        for (i, k) in t.keys.iter().enumerate() {
            let at = [K("trust"), K("keys"), I(i)];
            let development = k.development == Some(true);
            let given = usize::from(k.path.is_some())
                + usize::from(k.pem.is_some())
                + usize::from(development);
            match (&k.path, &k.pem) {
                _ if given > 1 => self.report(
                    &at,
                    "`path`, `pem` and `development` each name a key; keep one",
                ),
                _ if k.development == Some(false) && given == 0 => self.report(
                    &[K("trust"), K("keys"), I(i), K("development")],
                    "`development: false` names no key; give `path` or `pem`, or remove the entry",
                ),
                _ if given == 0 => self.report(
                    &at,
                    "a key needs `path` (a PEM file), `pem` (the PEM text) or `development: true` (the key `cairn pkg build` signs with by default)",
                ),
                (Some(p), None) if p.is_empty() => {
                    self.report(&[K("trust"), K("keys"), I(i), K("path")], "`path` is empty")
                }
                (None, Some(pem)) if !pem.trim_start().starts_with("-----BEGIN ") => self.report(
                    &[K("trust"), K("keys"), I(i), K("pem")],
                    "`pem` must hold a PEM public key (-----BEGIN PUBLIC KEY-----)",
                ),
                _ => {}
            }
            for (j, pat) in k.images.iter().enumerate() {
                if let Err(e) = check_image_pattern(pat) {
                    self.report(&[K("trust"), K("keys"), I(i), K("images"), I(j)], e);
                }
            }
        }
        for (j, pat) in t.allow_unsigned.iter().enumerate() {
            if let Err(e) = check_image_pattern(pat) {
                self.report(&[K("trust"), K("allow_unsigned"), I(j)], e);
            }
        }
    }
}

/// Checks one parsed file and records where each entry starts.
pub(crate) fn check_file(
    file: &std::path::Path,
    root: &Node,
    cfg: &mut RawConfig,
    diags: &mut Diagnostics,
) {
    let mut c = Checker { file, root, diags };
    if let Some(k) = &mut cfg.kernel {
        k_location(&c, k);
        if let Some(r) = k.image.clone() {
            c.image_ref(&[K("kernel"), K("image")], &r);
        }
        if let Some(r) = k.stub.clone() {
            c.image_ref(&[K("kernel"), K("stub")], &r);
        }
        if let Some(r) = k.syslinux.clone() {
            c.image_ref(&[K("kernel"), K("syslinux")], &r);
        }
        if let Some(line) = &k.cmdline
            && let Some(bad) = line
                .chars()
                .find(|c| c.is_control() && !matches!(c, '\t' | '\n'))
        {
            // The kernel reads its command line as a C string: a NUL cuts it
            // short, and other control bytes have no place in it.
            c.report(
                &[K("kernel"), K("cmdline")],
                format!(
                    "the command line holds the control character {:?}; remove it",
                    bad
                ),
            );
        }
    }
    for (i, r) in cfg.init.iter().enumerate() {
        c.image_ref(&[K("init"), I(i)], r);
    }
    for section in ["onboot", "onshutdown", "services"] {
        let list = match section {
            "onboot" => &mut cfg.onboot,
            "onshutdown" => &mut cfg.onshutdown,
            _ => &mut cfg.services,
        };
        for (i, img) in list.iter_mut().enumerate() {
            img.location = c.location(&[K(section), I(i)]);
            c.container(section, i, img);
        }
    }
    for (i, f) in cfg.files.iter_mut().enumerate() {
        f.location = c.location(&[K("files"), I(i)]);
        c.file(i, f);
    }
    for (i, v) in cfg.volumes.iter_mut().enumerate() {
        v.location = c.location(&[K("volumes"), I(i)]);
        c.volume(i, v);
    }
    if let Some(t) = &cfg.trust {
        c.trust(t);
    }
    if let Some(r) = &mut cfg.rpi {
        r.location = c.location(&[K("rpi")]);
        c.rpi(r);
    }
    if let Some(problem) = cfg.version.as_deref().and_then(version_problem) {
        c.report(&[K("version")], problem);
    }
    if let Some(u) = &mut cfg.update {
        u.location = c.location(&[K("update")]);
        if let Some(problem) = u.good_after.and_then(super::update::good_after_problem) {
            c.report(&[K("update"), K("good_after")], problem);
        }
    }
    if let Some(d) = &mut cfg.data {
        d.location = c.location(&[K("data")]);
        c.data(d);
    }
}

fn k_location(c: &Checker<'_>, k: &mut super::schema::Kernel) {
    k.location = c.location(&[K("kernel")]);
}

/// Why `text` cannot be a system version, if it cannot: numbers joined by
/// dots (`3`, `2.10`, `2026.12.7`), which updates compare number by number.
pub fn version_problem(text: &str) -> Option<String> {
    let ok = !text.is_empty()
        && text.len() <= 32
        && text
            .split('.')
            .all(|n| !n.is_empty() && n.len() <= 9 && n.bytes().all(|b| b.is_ascii_digit()));
    (!ok).then(|| {
        format!(
            "{text:?} is not a version; write numbers joined by dots, such as 3 or 2026.12.7 \
             (each at most 9 digits, 32 characters in all)"
        )
    })
}

/// Why `pattern` cannot be a trust pattern over image names, if it cannot.
pub fn check_image_pattern(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() || pattern.contains(char::is_whitespace) {
        return Err(format!("{pattern:?} is not an image pattern"));
    }
    Ok(())
}

/// Why `text` cannot name an image, if it cannot.
pub fn check_image_ref(text: &str) -> Result<(), String> {
    if text.starts_with('@') {
        return Err(format!(
            "{text:?} is a LinuxKit template; cairn does not expand templates, \
             build the package with `cairn pkg build` and name its image here"
        ));
    }
    ImageRef::from_str(text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Container names become directory names and containerd ids.
fn check_name(name: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !ok_chars || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!(
            "name {name:?} must start with a letter or digit and contain only letters, digits, `-`, `_` and `.`"
        ));
    }
    Ok(())
}

fn check_rlimit(text: &str) -> Result<(), String> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    // LinuxKit compares limits case-insensitively (`Unlimited`, `UNLIMITED`).
    let limit_ok = |s: &str| s.eq_ignore_ascii_case("unlimited") || s.parse::<u64>().is_ok();
    match parts.as_slice() {
        [name, soft, hard] if !name.is_empty() && limit_ok(soft) && limit_ok(hard) => Ok(()),
        _ => Err(format!(
            "rlimit {text:?} must look like `name,soft,hard`, e.g. `nofile,1024,4096` (limits may be `unlimited`)"
        )),
    }
}
