//! One OCI bundle per `onboot`, `onshutdown` and `services` entry:
//! `/containers/onboot/000-NAME/`, `/containers/services/NAME/`, ... with
//! `config.json`, `runtime.json` and the image unpacked at `rootfs/`.

use std::collections::BTreeMap;
use std::io::Read;

use super::layers::{read_image, unpack};
use super::spec::{Context, build};
use super::{AssembleError, Inputs, UsedImage, lookup, put_bytes, put_dir};
use crate::config::{Image, parse_image_label};
use crate::fstree::{Kind, Tree};

const LABEL: &str = "org.mobyproject.config";

/// LinuxKit gives every container an id, from 100 in config order, that
/// `uid`/`gid` (of containers and of `files:`) may name.
pub fn container_ids(config: &crate::config::Config) -> BTreeMap<String, u32> {
    let mut ids = BTreeMap::new();
    for (n, c) in config
        .onboot
        .iter()
        .chain(&config.onshutdown)
        .chain(&config.services)
        .enumerate()
    {
        if let Some(name) = &c.name {
            ids.insert(name.clone(), 100 + n as u32);
        }
    }
    ids
}

pub fn add_all(
    inputs: &Inputs,
    tree: &mut Tree,
    used: &mut Vec<UsedImage>,
) -> Result<(), AssembleError> {
    let config = inputs.config;
    let ids = container_ids(config);
    let volumes: BTreeMap<String, bool> = config
        .volumes
        .iter()
        .filter_map(|v| Some((v.name.clone()?, v.readonly.unwrap_or(false))))
        .collect();
    for (section, list) in [
        ("onboot", &config.onboot),
        ("onshutdown", &config.onshutdown),
        ("services", &config.services),
    ] {
        for (i, c) in list.iter().enumerate() {
            let name = c.name.clone().unwrap_or_default();
            let dir = match section {
                "services" => format!("containers/services/{name}"),
                _ => format!("containers/{section}/{i:03}-{name}"),
            };
            let where_ = format!("{section}[{i}]");
            let image = c.image.clone().unwrap_or_default();
            let digest = lookup(inputs, &where_, &image)?;
            let parts = read_image(inputs.store, &image, &digest)?;
            let rootfs = format!("{dir}/rootfs");
            put_dir(tree, &dir, 0o755)?;
            put_dir(tree, &rootfs, 0o755)?;
            unpack(inputs.store, &parts, tree, &rootfs)?;
            let image_config = parts.config.config().as_ref();
            let label = match image_config
                .and_then(|c| c.labels().as_ref())
                .and_then(|l| l.get(LABEL))
                .filter(|t| !t.trim().is_empty())
            {
                Some(text) => {
                    parse_image_label(&image, text).map_err(|source| AssembleError::Label {
                        image: image.clone(),
                        source: Box::new(source),
                    })?
                }
                None => Image::default(),
            };
            let users = accounts(tree, &format!("{rootfs}/etc/passwd"));
            let groups = accounts(tree, &format!("{rootfs}/etc/group"));
            let image_digest = digest.to_string();
            let ctx = Context {
                image_config,
                container_ids: &ids,
                users: &users,
                groups: &groups,
                volumes: &volumes,
                is_service: section == "services",
                image_digest: &image_digest,
            };
            let bundle = build(c, &label, &ctx).map_err(|message| AssembleError::Container {
                section: where_.clone(),
                name: name.clone(),
                message,
            })?;
            put_bytes(
                tree,
                &format!("{dir}/config.json"),
                &bundle.config_json,
                0o644,
            )?;
            put_bytes(
                tree,
                &format!("{dir}/runtime.json"),
                &bundle.runtime_json,
                0o644,
            )?;
            used.push(UsedImage {
                section: where_,
                image,
                digest,
            });
        }
    }
    Ok(())
}

/// Names to ids from a passwd or group file in the tree (missing: none).
fn accounts(tree: &Tree, path: &str) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    let Some(entry) = tree.get(path) else {
        return out;
    };
    let Kind::File(id) = &entry.kind else {
        return out;
    };
    let mut text = String::new();
    let Ok(file) = tree.contents().open(id) else {
        return out;
    };
    if file.take(1 << 20).read_to_string(&mut text).is_err() {
        return out;
    }
    for line in text.lines() {
        let mut fields = line.split(':');
        if let (Some(name), Some(_), Some(num)) = (fields.next(), fields.next(), fields.next())
            && let Ok(num) = num.parse()
        {
            out.entry(name.to_string()).or_insert(num);
        }
    }
    out
}
