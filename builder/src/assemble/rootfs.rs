//! What the root filesystem needs besides images and bundles: volumes, the
//! `/init` entry point, the files runc expects in the host root, and
//! `/etc/cairn/system.json` for the init.

use serde_json::json;

use super::layers::unpack;
use super::runtime::restart;
use super::{AssembleError, Inputs, UsedImage, put_bytes, put_dir};
use crate::config::{Config, Restart};
use crate::fstree::{Entry, Kind, Tree};

/// Each volume gets `/containers/volumes/NAME/lower` (the image's files, or
/// empty) and `merged`, where the init mounts it and binds point.
pub fn add_volumes(
    inputs: &Inputs,
    tree: &mut Tree,
    used: &mut Vec<UsedImage>,
) -> Result<(), AssembleError> {
    for (i, v) in inputs.config.volumes.iter().enumerate() {
        let name = v.name.clone().unwrap_or_default();
        let base = format!("containers/volumes/{name}");
        put_dir(tree, &base, 0o755)?;
        put_dir(tree, &format!("{base}/lower"), 0o755)?;
        put_dir(tree, &format!("{base}/merged"), 0o755)?;
        let Some(image) = &v.image else { continue };
        if v.format.as_deref().is_some_and(|f| f != "filesystem") {
            return Err(AssembleError::Volume {
                name,
                message: "format `oci` is not supported yet; use `format: filesystem`".into(),
            });
        }
        let section = format!("volumes[{i}]");
        let opened = inputs.open(&section, image)?;
        unpack(inputs.store, &opened.parts, tree, &format!("{base}/lower"))?;
        used.push(opened.used);
    }
    Ok(())
}

/// Defaults that `files:` and the images did not provide, and system.json.
pub fn finish(config: &Config, tree: &mut Tree) -> Result<(), AssembleError> {
    // `/var/run` is where LinuxKit-style labels bind the run directory from
    // (`/var/run:/run`), so it must exist as the usual link to `/run`.
    // `/etc/resolv.conf` points into /run, where the init creates it at boot
    // and dhcpcd's hook writes it, so name servers work on a read-only root.
    for (path, target) in [
        ("init", "sbin/init"),
        ("var/run", "../run"),
        ("etc/resolv.conf", "../run/resolv.conf"),
    ] {
        if tree.get(path).is_some() {
            continue;
        }
        tree.insert(
            path,
            Entry {
                kind: Kind::Symlink(target.into()),
                mode: 0o777,
                uid: 0,
                gid: 0,
            },
        )
        .map_err(|source| AssembleError::Place {
            path: format!("/{path}"),
            source: Box::new(source),
        })?;
    }
    // Mount points: on a disk the root is a read-only squashfs, where the
    // init cannot create them at boot.
    for (path, mode) in [
        ("dev", 0o755),
        ("proc", 0o555),
        ("sys", 0o555),
        ("run", 0o755),
        ("tmp", 0o1777),
        ("var", 0o755),
    ] {
        if tree.get(path).is_none() {
            super::put_dir(tree, path, mode)?;
        }
    }
    for (path, text) in [("etc/hostname", "cairn\n"), ("etc/hosts", "")] {
        if tree.get(path).is_none() {
            put_bytes(tree, path, text.as_bytes(), 0o644)?;
        }
    }
    let data = data_mount(config, tree)?;
    let services: Vec<&str> = config
        .services
        .iter()
        .filter_map(|s| s.name.as_deref())
        .collect();
    let volumes: Vec<_> = config
        .volumes
        .iter()
        .map(|v| json!({"name": v.name, "readonly": v.readonly.unwrap_or(false)}))
        .collect();
    let default = restart(&Restart::default()).unwrap_or_default();
    let mut system = json!({"restart": default, "services": services, "volumes": volumes});
    if let Some(mount) = data {
        system["data"] = json!({ "mount": mount });
    }
    let good_after = config.update.as_ref().map_or(
        crate::config::update::DEFAULT_GOOD_AFTER,
        crate::config::update::Update::good_after_secs,
    );
    system["good_after_secs"] = json!(good_after);
    let mut bytes = serde_json::to_vec_pretty(&system).unwrap_or_default();
    bytes.push(b'\n');
    put_bytes(tree, "etc/cairn/system.json", &bytes, 0o644)
}

/// The mke2fs the init formats the data partition with on first boot.
pub const MKE2FS: &str = "usr/sbin/mke2fs";

/// `data.mount`, with its folder made in the root and the formatter checked.
fn data_mount<'a>(config: &'a Config, tree: &mut Tree) -> Result<Option<&'a str>, AssembleError> {
    let Some(data) = &config.data else {
        return Ok(None);
    };
    let Some(mount) = data.mount_point() else {
        return Ok(None);
    };
    if tree.get(MKE2FS).is_none() {
        return Err(AssembleError::Data {
            location: data.location.to_string(),
            mount: mount.to_string(),
            message: format!(
                "the init formats the data partition with /{MKE2FS}, which no init image holds; \
                 add cairn/e2fsprogs:latest to `init`"
            ),
        });
    }
    let dir = mount.trim_start_matches('/');
    match tree.get(dir).map(|e| &e.kind) {
        None => put_dir(tree, dir, 0o755)?,
        Some(Kind::Dir) => {}
        Some(_) => {
            return Err(AssembleError::Data {
                location: data.location.to_string(),
                mount: mount.to_string(),
                message: "an image or `files:` puts something other than a folder there; \
                          mount the data partition elsewhere"
                    .into(),
            });
        }
    }
    Ok(Some(mount))
}
