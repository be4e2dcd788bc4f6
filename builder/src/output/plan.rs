//! The measurement plan of a system: what cairn-init will extend into
//! PCR 15 when it boots this root filesystem, worked out from the same files
//! the init reads (each bundle's `config.json` and the `imageDigest` of its
//! `runtime.json`). It travels in the UKI's `.cairn` section so that
//! `cairn pcr predict` can forecast the PCR from the image alone.

use cairn_boot::measure::{self, Container, Event};

use super::OutputError;
use crate::fstree::{Kind, Tree};

const STAGES: [&str; 3] = ["onboot", "services", "onshutdown"];

/// Every container bundle of `tree`, as the init measures it.
pub fn containers(tree: &Tree) -> Result<Vec<Container>, OutputError> {
    let mut out = Vec::new();
    for (path, entry) in tree.iter() {
        let Some((stage, name)) = bundle_config(path) else {
            continue;
        };
        let Kind::File(config) = &entry.kind else {
            continue;
        };
        let runtime = format!("containers/{stage}/{name}/runtime.json");
        let image = match tree.get(&runtime).map(|e| &e.kind) {
            Some(Kind::File(id)) => {
                let bytes = tree.contents().read_prefix(id, 1 << 20).map_err(|source| {
                    OutputError::Content {
                        path: runtime.clone(),
                        source,
                    }
                })?;
                image_digest(&bytes)
            }
            _ => None,
        };
        out.push(Container {
            stage: stage.to_string(),
            name: name.to_string(),
            image: image.unwrap_or_else(|| "unknown".to_string()),
            config: format!("sha256:{}", config.sha256),
        });
    }
    Ok(out)
}

/// The plan's event lines, in the order the init extends them.
pub fn plan_text(tree: &Tree) -> Result<String, OutputError> {
    let events: Vec<Event> = measure::plan(&containers(tree)?);
    Ok(measure::plan_text(&events))
}

/// `containers/STAGE/NAME/config.json` -> (STAGE, NAME).
fn bundle_config(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("containers/")?;
    let mut parts = rest.split('/');
    let (stage, name, file) = (parts.next()?, parts.next()?, parts.next()?);
    (parts.next().is_none() && file == "config.json" && STAGES.contains(&stage))
        .then_some((stage, name))
}

fn image_digest(runtime_json: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(runtime_json).ok()?;
    value.get("imageDigest")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fstree::Contents;

    fn add(tree: &mut Tree, path: &str, bytes: &[u8]) {
        tree.add_file(path, &mut &bytes[..], 0o644, 0, 0)
            .expect("add");
    }

    #[test]
    fn plan_lists_every_bundle_with_its_image_and_config_digest() {
        let mut tree = Tree::new(Contents::new(None).expect("contents"));
        add(
            &mut tree,
            "containers/services/getty/config.json",
            b"{\"a\":1}\n",
        );
        add(
            &mut tree,
            "containers/services/getty/runtime.json",
            br#"{"imageDigest":"sha256:abc"}"#,
        );
        add(&mut tree, "containers/onboot/000-dhcpcd/config.json", b"{}");
        add(
            &mut tree,
            "containers/services/getty/rootfs/config.json",
            b"not a bundle",
        );
        let text = plan_text(&tree).expect("plan");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(lines[0], "cairn:phase:enter-initrd");
        assert!(
            lines[1].starts_with("cairn:container:onboot/000-dhcpcd:image=unknown:config=sha256:"),
            "{text}"
        );
        assert!(
            lines[2].starts_with("cairn:container:services/getty:image=sha256:abc:config=sha256:"),
            "{text}"
        );
        assert_eq!(lines[3], "cairn:phase:leave-initrd");
        assert_eq!(lines[4], "cairn:phase:ready");
    }
}
