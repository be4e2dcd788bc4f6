//! What `cairn pkg build` asks of this stage: that a package's label and
//! entrypoint work exactly as `cairn build` will use them, so a package
//! whose label cannot make a container is never built. The same code turns
//! the label into a bundle here as in a real build, with no YAML entry.

use std::collections::BTreeMap;

use oci_spec::image::{Config as ImageConfig, ConfigBuilder};

use super::bundle::accounts;
use super::command;
use super::spec::{Context, build};
use crate::config::Image;
use crate::fstree::Tree;

/// The image config a package declares.
#[derive(Debug)]
pub struct Declared<'a> {
    pub entrypoint: &'a [String],
    pub cmd: &'a [String],
    pub env: &'a [String],
    pub working_dir: Option<&'a str>,
}

/// Builds the container a package makes by default from its `tree` (the
/// package's files at the tree's root): the label's spec must be valid and
/// its program must be in the tree. A package with neither a label nor an
/// entrypoint (a kernel, an init image) is not a container and passes.
pub fn check(tree: &Tree, label: Option<&Image>, declared: &Declared) -> Result<(), String> {
    let runs = label.is_some_and(|l| l.command.is_some())
        || !declared.entrypoint.is_empty()
        || !declared.cmd.is_empty();
    if label.is_none() && !runs {
        return Ok(());
    }
    let empty_label = Image::default();
    let label = label.unwrap_or(&empty_label);
    let config = image_config(declared)?;
    let users = accounts(tree, "etc/passwd");
    let groups = accounts(tree, "etc/group");
    let none = BTreeMap::new();
    let ctx = Context {
        image_config: Some(&config),
        container_ids: &none,
        users: &users,
        groups: &groups,
        volumes: &BTreeMap::new(),
        is_service: true,
        image_digest: "",
    };
    // A label-only package (its command comes from the YAML) still gets its
    // mounts, capabilities and devices checked, under a stand-in command.
    let yaml = if runs {
        Image::default()
    } else {
        Image {
            command: Some(vec!["/".into()]),
            ..Image::default()
        }
    };
    let bundle = build(&yaml, label, &ctx)?;
    if runs {
        command::check(tree, "", &bundle.config_json)?;
    }
    Ok(())
}

fn image_config(d: &Declared) -> Result<ImageConfig, String> {
    let mut b = ConfigBuilder::default()
        .entrypoint(d.entrypoint.to_vec())
        .cmd(d.cmd.to_vec())
        .env(d.env.to_vec());
    if let Some(w) = d.working_dir {
        b = b.working_dir(w);
    }
    b.build().map_err(|e| e.to_string())
}
