//! Merging several files the way LinuxKit's `AppendConfig` does: kernel
//! fields set in a later file replace earlier ones; every list (`init`,
//! `onboot`, `onshutdown`, `services`, `files`, `volumes`, and the trust
//! lists, `rpi.config`) is appended in file order; `rpi.board` and
//! `rpi.firmware` set later replace earlier ones.

use std::collections::HashMap;
use std::path::Path;

use super::diag::{Diagnostics, Location};
use super::schema::{KeySource, RawConfig, Trust, TrustKey};
use super::{Config, ImageUse};

/// One checked file, ready to merge.
#[derive(Debug)]
pub(crate) struct Part<'a> {
    pub file: &'a Path,
    pub raw: RawConfig,
}

/// Merges checked files in order and checks what only the whole set can show.
pub(crate) fn merge(parts: Vec<Part<'_>>, diags: &mut Diagnostics) -> Config {
    let mut cfg = Config::default();
    let mut services: HashMap<String, Location> = HashMap::new();
    let mut volumes: HashMap<String, Location> = HashMap::new();
    for Part { file, raw } in parts {
        cfg.sources.push(file.to_path_buf());
        if let Some(k) = raw.kernel {
            let cur = cfg.kernel.get_or_insert_with(Default::default);
            // As in LinuxKit, an empty string leaves the earlier value, except
            // for `tar`, where "" means "no modules tarball".
            for (dst, src) in [
                (&mut cur.image, k.image),
                (&mut cur.cmdline, k.cmdline),
                (&mut cur.binary, k.binary),
                (&mut cur.ucode, k.ucode),
                (&mut cur.stub, k.stub),
                (&mut cur.syslinux, k.syslinux),
            ] {
                if src.as_deref().is_some_and(|v| !v.is_empty()) {
                    *dst = src;
                }
            }
            if k.tar.is_some() {
                cur.tar = k.tar;
            }
            if let Some(more) = k.modules {
                cur.modules.get_or_insert_with(Vec::new).extend(more);
            }
            cur.location = k.location;
        }
        for (j, svc) in raw.services.iter().enumerate() {
            if let Some(name) = svc.name.as_deref() {
                unique(
                    &mut services,
                    name,
                    &svc.location,
                    &format!("services[{j}].name"),
                    "service",
                    diags,
                );
            }
        }
        for (j, vol) in raw.volumes.iter().enumerate() {
            if let Some(name) = vol.name.as_deref() {
                unique(
                    &mut volumes,
                    name,
                    &vol.location,
                    &format!("volumes[{j}].name"),
                    "volume",
                    diags,
                );
            }
        }
        cfg.init.extend(raw.init);
        cfg.onboot.extend(raw.onboot);
        cfg.onshutdown.extend(raw.onshutdown);
        cfg.services.extend(raw.services);
        cfg.files.extend(raw.files);
        cfg.volumes.extend(raw.volumes);
        if let Some(r) = raw.rpi {
            let cur = cfg.rpi.get_or_insert_with(Default::default);
            for (dst, src) in [(&mut cur.board, r.board), (&mut cur.firmware, r.firmware)] {
                if src.as_deref().is_some_and(|v| !v.is_empty()) {
                    *dst = src;
                }
            }
            cur.config.extend(r.config);
            // Overlay paths stay relative to the file that names them.
            let dir = file.parent().unwrap_or(Path::new(""));
            cur.overlays.extend(
                r.overlays
                    .into_iter()
                    .map(|p| dir.join(p).display().to_string()),
            );
            cur.location = r.location;
        }
        if let Some(u) = raw.update {
            let cur = cfg.update.get_or_insert_with(Default::default);
            if u.good_after.is_some() {
                cur.good_after = u.good_after;
            }
            cur.location = u.location;
        }
        if raw.version.is_some() {
            cfg.version = raw.version;
        }
        if let Some(d) = raw.data {
            let cur = cfg.data.get_or_insert_with(Default::default);
            for (dst, src) in [(&mut cur.mount, d.mount), (&mut cur.size, d.size)] {
                if src.is_some() {
                    *dst = src;
                }
            }
            cur.location = d.location;
        }
        if let Some(t) = raw.trust {
            let dir = file.parent().unwrap_or(Path::new(""));
            append_trust(&mut cfg.trust, t, dir);
        }
    }
    cfg
}

fn unique(
    seen: &mut HashMap<String, Location>,
    name: &str,
    at: &Location,
    path: &str,
    what: &str,
    diags: &mut Diagnostics,
) {
    if let Some(first) = seen.get(name) {
        diags.push(
            at.clone(),
            path,
            format!("duplicate {what} name `{name}` (first used at {first}); {what} names must be unique"),
        );
    } else {
        seen.insert(name.to_string(), at.clone());
    }
}

fn append_trust(trust: &mut Trust, raw: super::schema::RawTrust, dir: &Path) {
    trust.org.extend(raw.org);
    trust.image.extend(raw.image);
    trust.allow_unsigned.extend(raw.allow_unsigned);
    for k in raw.keys {
        let source = match (k.path, k.pem, k.development) {
            (Some(p), _, _) => KeySource::Path(dir.join(p)),
            (None, Some(pem), _) => KeySource::Pem(pem),
            (None, None, Some(true)) => KeySource::Development,
            // Refused by the per-file check already.
            _ => continue,
        };
        trust.keys.push(TrustKey {
            name: k.name,
            source,
            images: k.images,
        });
    }
}

/// The short name of an image reference: `cairn/runc:latest` -> `runc`.
fn short_name(reference: &str) -> String {
    let no_digest = reference.split('@').next().unwrap_or(reference);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last).to_string()
}

impl Config {
    /// Every image the build needs, in build order. A Pi card's firmware
    /// (`rpi.firmware`, arm64 only) is added by the plan for `-f rpi`
    /// alone, so other formats neither pull nor check it.
    pub fn images(&self) -> Vec<ImageUse> {
        let mut out = Vec::new();
        let mut push = |section: String, name: String, image: &str| {
            out.push(ImageUse {
                section,
                name,
                image: image.to_string(),
            })
        };
        if let Some(image) = self.kernel.as_ref().and_then(|k| k.image.as_deref()) {
            push("kernel".into(), "kernel".into(), image);
        }
        if let Some(stub) = self.kernel.as_ref().and_then(|k| k.stub.as_deref()) {
            push("kernel.stub".into(), "stub".into(), stub);
        }
        if let Some(loader) = self.kernel.as_ref().and_then(|k| k.syslinux.as_deref()) {
            push("kernel.syslinux".into(), "syslinux".into(), loader);
        }
        for (i, image) in self.init.iter().enumerate() {
            push(format!("init[{i}]"), short_name(image), image);
        }
        for (section, list) in [
            ("onboot", &self.onboot),
            ("onshutdown", &self.onshutdown),
            ("services", &self.services),
        ] {
            for (i, c) in list.iter().enumerate() {
                if let Some(image) = c.image.as_deref() {
                    let name = c.name.clone().unwrap_or_else(|| short_name(image));
                    push(format!("{section}[{i}]"), name, image);
                }
            }
        }
        for (i, v) in self.volumes.iter().enumerate() {
            if let Some(image) = v.image.as_deref() {
                push(
                    format!("volumes[{i}]"),
                    v.name.clone().unwrap_or_default(),
                    image,
                );
            }
        }
        out
    }
}
