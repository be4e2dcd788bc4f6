//! One OCI bundle per `onboot`, `onshutdown` and `services` entry:
//! `/containers/onboot/000-NAME/`, `/containers/services/NAME/`, ... with
//! `config.json`, `runtime.json` and the image unpacked at `rootfs/`.

use std::collections::BTreeMap;
use std::io::Read;

use super::command;
use super::layers::unpack;
use super::spec::{Context, build};
use super::{AssembleError, Inputs, UsedImage, put_bytes, put_dir};
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

/// Where a container's bundle goes. Onboot and onshutdown bundles run in
/// lexical order, so their index is zero-padded to the width of the largest
/// one (at least three digits): `0999-x` sorts before `1000-y`.
pub fn bundle_dir(section: &str, index: usize, count: usize, name: &str) -> String {
    if section == "services" {
        return format!("containers/services/{name}");
    }
    let width = count.saturating_sub(1).to_string().len().max(3);
    format!("containers/{section}/{index:0width$}-{name}")
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
            let dir = bundle_dir(section, i, list.len(), &name);
            let where_ = format!("{section}[{i}]");
            let image = c.image.clone().unwrap_or_default();
            let opened = inputs.open(&where_, &image)?;
            let parts = &opened.parts;
            let digest = opened.used.digest.clone();
            let rootfs = format!("{dir}/rootfs");
            put_dir(tree, &dir, 0o755)?;
            put_dir(tree, &rootfs, 0o755)?;
            unpack(inputs.store, parts, tree, &rootfs)?;
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
            command::check(tree, &rootfs, &bundle.config_json).map_err(|message| {
                AssembleError::Container {
                    section: where_.clone(),
                    name: name.clone(),
                    message: format!("{message} ({image})"),
                }
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
            used.push(opened.used);
        }
    }
    Ok(())
}

/// Names to ids from a passwd or group file in the tree (missing: none).
pub(super) fn accounts(tree: &Tree, path: &str) -> BTreeMap<String, u32> {
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

#[cfg(test)]
mod tests {
    use super::bundle_dir;

    #[test]
    fn onboot_bundles_sort_in_config_order_past_a_thousand_entries() {
        let count = 1001;
        let dirs: Vec<String> = (0..count)
            .map(|i| bundle_dir("onboot", i, count, if i % 2 == 0 { "b" } else { "a" }))
            .collect();
        let mut sorted = dirs.clone();
        sorted.sort();
        assert_eq!(sorted, dirs);
        assert_eq!(dirs[999], "containers/onboot/0999-a");
        assert_eq!(dirs[1000], "containers/onboot/1000-b");
    }

    #[test]
    fn small_configs_keep_three_digit_bundle_names() {
        assert_eq!(
            bundle_dir("onshutdown", 7, 8, "x"),
            "containers/onshutdown/007-x"
        );
        assert_eq!(bundle_dir("services", 7, 8, "x"), "containers/services/x");
    }
}
