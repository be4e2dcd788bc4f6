//! A container's program must be in its image: a command naming a path the
//! image does not have would build, boot, and fail only on the device
//! (`exec: no such file or directory`). Checked on the bundle as built, so
//! the label, the YAML and the image's own entrypoint are all covered.

use serde_json::Value;

use crate::fstree::{Kind, Tree};

/// Checks `config.json`'s `process.args[0]` against the unpacked `rootfs`
/// (a tree directory): an absolute path must resolve to a file in it, a bare
/// name must be found on the container's `PATH`. A program at or below a
/// mount destination (a bind from the host, a volume) is not checked.
pub fn check(tree: &Tree, rootfs: &str, config_json: &[u8]) -> Result<(), String> {
    let Ok(spec) = serde_json::from_slice::<Value>(config_json) else {
        return Ok(());
    };
    let Some(program) = spec.pointer("/process/args/0").and_then(Value::as_str) else {
        return Ok(());
    };
    let mounted: Vec<&str> = spec
        .pointer("/mounts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.get("destination").and_then(Value::as_str))
        .collect();
    let candidates: Vec<String> = if program.contains('/') {
        if !program.starts_with('/') {
            // Relative to the working directory: rare, and not worth guessing.
            return Ok(());
        }
        vec![program.to_string()]
    } else {
        search_path(&spec)
            .split(':')
            .filter(|d| d.starts_with('/'))
            .map(|d| format!("{}/{program}", d.trim_end_matches('/')))
            .collect()
    };
    for c in &candidates {
        if mounted.iter().any(|m| under(c, m)) || is_program(tree, rootfs, c) {
            return Ok(());
        }
    }
    if let Some(target) = dangling(tree, rootfs, &candidates) {
        return Err(format!(
            "its command {program} is a symlink to {target}, which is not in the image; fix `command` (or the image's entrypoint)"
        ));
    }
    let base = program.rsplit('/').next().unwrap_or(program);
    let elsewhere = find_named(tree, rootfs, base);
    let hint = if elsewhere.is_empty() {
        String::new()
    } else {
        format!("; the image has {}", elsewhere.join(", "))
    };
    let place = if program.contains('/') {
        String::new()
    } else {
        format!(" on PATH {}", search_path(&spec))
    };
    Err(format!(
        "its command {program}{place} is not in the image{hint}; fix `command` (or the image's entrypoint)"
    ))
}

fn search_path(spec: &Value) -> String {
    spec.pointer("/process/env")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("")
        .to_string()
}

fn under(path: &str, mount: &str) -> bool {
    let mount = mount.trim_end_matches('/');
    mount.is_empty() || path == mount || path.starts_with(&format!("{mount}/"))
}

fn is_program(tree: &Tree, rootfs: &str, path: &str) -> bool {
    let Ok(resolved) = tree.resolve_under(rootfs, path) else {
        return false;
    };
    matches!(tree.get(&resolved).map(|e| &e.kind), Some(Kind::File(_)))
}

/// The target of the first candidate that is a symlink to nothing.
fn dangling(tree: &Tree, rootfs: &str, candidates: &[String]) -> Option<String> {
    let prefix = rootfs.trim_end_matches('/');
    candidates.iter().find_map(|c| {
        let path = format!("{prefix}{c}");
        match tree.get(path.trim_start_matches('/')).map(|e| &e.kind) {
            Some(Kind::Symlink(target)) => Some(target.clone()),
            _ => None,
        }
    })
}

/// Up to three paths in the image whose file name is `name`, as hints.
fn find_named(tree: &Tree, rootfs: &str, name: &str) -> Vec<String> {
    let prefix = match rootfs.trim_end_matches('/') {
        "" => String::new(),
        r => format!("{r}/"),
    };
    tree.iter()
        .filter_map(|(p, e)| {
            let inside = p.strip_prefix(&prefix)?;
            let file = inside.rsplit('/').next()?;
            let candidate = format!("/{inside}");
            let runnable = matches!(e.kind, Kind::File(_) | Kind::Symlink(_))
                && is_program(tree, rootfs, &candidate);
            (file == name && runnable).then_some(candidate)
        })
        .take(3)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::check;
    use crate::fstree::content::Contents;
    use crate::fstree::{Entry, Kind, Tree};

    fn tree() -> Tree {
        let mut t = Tree::new(Contents::new(None).unwrap());
        let r = "containers/services/x/rootfs";
        t.add_file(
            &format!("{r}/usr/sbin/dhcpcd"),
            &mut Cursor::new(b"elf"),
            0o755,
            0,
            0,
        )
        .unwrap();
        t.add_file(
            &format!("{r}/bin/busybox"),
            &mut Cursor::new(b"elf"),
            0o755,
            0,
            0,
        )
        .unwrap();
        let link = |target: &str| Entry {
            kind: Kind::Symlink(target.into()),
            mode: 0o777,
            uid: 0,
            gid: 0,
        };
        t.insert(&format!("{r}/bin/sh"), link("/bin/busybox"))
            .unwrap();
        t.insert(&format!("{r}/sbin"), link("usr/sbin")).unwrap();
        t
    }

    fn spec(args: &str, env: &str) -> Vec<u8> {
        format!(
            r#"{{"process": {{"args": [{args}], "env": [{env}]}}, "mounts": [{{"destination": "/host"}}]}}"#
        )
        .into_bytes()
    }

    const ROOT: &str = "containers/services/x/rootfs";

    #[test]
    fn a_command_missing_from_the_image_is_refused_with_where_it_is() {
        let err = check(&tree(), ROOT, &spec(r#""/usr/bin/dhcpcd""#, "")).unwrap_err();
        assert!(
            err.contains("/usr/bin/dhcpcd is not in the image; the image has /usr/sbin/dhcpcd"),
            "{err}"
        );
    }

    #[test]
    fn a_symlink_to_nothing_is_named_as_such() {
        let mut t = tree();
        let broken = Entry {
            kind: Kind::Symlink("busybox.static".into()),
            mode: 0o777,
            uid: 0,
            gid: 0,
        };
        t.insert(&format!("{ROOT}/bin/ash"), broken).unwrap();
        let err = check(&t, ROOT, &spec(r#""/bin/ash""#, "")).unwrap_err();
        assert!(
            err.contains("/bin/ash is a symlink to busybox.static, which is not"),
            "{err}"
        );
    }

    #[test]
    fn absolute_symlinks_are_followed_inside_the_rootfs() {
        check(&tree(), ROOT, &spec(r#""/bin/sh""#, "")).unwrap();
        check(&tree(), ROOT, &spec(r#""/sbin/dhcpcd""#, "")).unwrap();
    }

    #[test]
    fn a_bare_name_is_looked_up_on_the_containers_path() {
        check(
            &tree(),
            ROOT,
            &spec(r#""dhcpcd""#, r#""PATH=/bin:/usr/sbin""#),
        )
        .unwrap();
        let err = check(&tree(), ROOT, &spec(r#""dhcpcd""#, r#""PATH=/bin""#)).unwrap_err();
        assert!(
            err.contains("dhcpcd on PATH /bin is not in the image"),
            "{err}"
        );
    }

    #[test]
    fn a_program_under_a_mount_is_left_to_the_device() {
        check(&tree(), ROOT, &spec(r#""/host/tool""#, "")).unwrap();
    }
}
