//! The mounts and namespaces of a container's runtime spec, as LinuxKit
//! makes them: Docker's default mounts (no /dev/shm, no /dev/mqueue), then
//! `tmpfs`, `binds` (volume names become the volume's mount point) and
//! `mounts`, each replacing what an earlier one put at the same destination,
//! sorted by destination so a parent is mounted before its children.

use std::collections::BTreeMap;

use oci_spec::runtime::{
    LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType, Mount, MountBuilder,
};

use crate::config::Image;

/// Where the init mounts a volume; binds naming the volume point here.
pub fn volume_dir(name: &str) -> String {
    format!("/containers/volumes/{name}/merged")
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn mount(dest: &str, typ: &str, source: &str, options: Vec<String>) -> Result<Mount, String> {
    MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options)
        .build()
        .map_err(|e| e.to_string())
}

pub fn mounts(
    yaml: &Image,
    label: &Image,
    readonly: bool,
    volumes: &BTreeMap<String, bool>,
) -> Result<Vec<Mount>, String> {
    let mut dev = strs(&["nosuid", "strictatime", "mode=755", "size=65536k"]);
    let mut sys = strs(&["nosuid", "noexec", "nodev"]);
    if readonly {
        dev.push("ro".into());
        sys.push("ro".into());
    }
    let mut out: BTreeMap<String, Mount> = BTreeMap::new();
    for (dest, typ, opts) in [
        (
            "/proc",
            "proc",
            strs(&["nosuid", "nodev", "noexec", "relatime"]),
        ),
        ("/dev", "tmpfs", dev),
        (
            "/dev/pts",
            "devpts",
            strs(&[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
            ]),
        ),
        ("/sys", "sysfs", sys),
        (
            "/sys/fs/cgroup",
            "cgroup",
            strs(&["nosuid", "noexec", "nodev", "relatime", "ro"]),
        ),
    ] {
        let source = if typ == "tmpfs" { "tmpfs" } else { typ };
        out.insert(dest.into(), mount(dest, typ, source, opts)?);
    }
    for t in yaml
        .tmpfs
        .as_ref()
        .or(label.tmpfs.as_ref())
        .into_iter()
        .flatten()
    {
        let parts: Vec<&str> = t.split(':').collect();
        if parts.len() > 2 {
            return Err(format!(
                "tmpfs {t:?} has more than one `:`; write `dest[:opt1,opt2]`"
            ));
        }
        let opts = parts
            .get(1)
            .map(|o| o.split(',').map(String::from).collect())
            .unwrap_or_default();
        out.insert(parts[0].into(), mount(parts[0], "tmpfs", "tmpfs", opts)?);
    }
    let binds = match &yaml.binds {
        Some(b) => b.clone(),
        None => {
            let mut b = label.binds.clone().unwrap_or_default();
            b.extend(yaml.binds_add.clone().unwrap_or_default());
            b
        }
    };
    for b in &binds {
        let parts: Vec<&str> = b.split(':').collect();
        if parts.len() < 2 || parts.len() > 3 {
            return Err(format!("bind {b:?} must be `src:dest[:opt1,opt2]`"));
        }
        let mut src = parts[0].to_string();
        if !src.starts_with('/') {
            let Some(ro) = volumes.get(&src) else {
                return Err(format!(
                    "bind {b:?} names volume {src:?}, which `volumes` does not define"
                ));
            };
            if *ro
                && parts
                    .get(2)
                    .is_none_or(|o| !o.split(',').any(|x| x == "ro"))
            {
                return Err(format!(
                    "bind {b:?}: volume {src:?} is read-only; add `:ro`"
                ));
            }
            src = volume_dir(&src);
        }
        let opts = match parts.get(2) {
            Some(o) => {
                let mut v: Vec<String> = o.split(',').map(String::from).collect();
                if !v.iter().any(|x| x == "rbind") {
                    v.push("rbind".into());
                }
                v
            }
            None => strs(&["rw", "rbind", "rshared"]),
        };
        out.insert(parts[1].into(), mount(parts[1], "bind", &src, opts)?);
    }
    for m in yaml
        .mounts
        .as_ref()
        .or(label.mounts.as_ref())
        .into_iter()
        .flatten()
    {
        let mut src = m.source.clone().unwrap_or_default();
        let mut dest = m.destination.clone().unwrap_or_default();
        let mut typ = m.kind.clone().unwrap_or_default();
        if typ.is_empty() && ["mqueue", "devpts", "proc", "sysfs", "cgroup"].contains(&src.as_str())
        {
            typ = src.clone();
        }
        if typ.is_empty() && dest == "/dev" {
            typ = "tmpfs".into();
        }
        if typ.is_empty() {
            return Err(format!("the mount at {dest:?} has no type"));
        }
        if src.is_empty() {
            src = typ.clone();
        }
        if dest.is_empty() {
            dest = match typ.as_str() {
                "proc" => "/proc",
                "devpts" => "/dev/pts",
                "sysfs" => "/sys",
                "cgroup" => "/sys/fs/cgroup",
                "mqueue" => "/dev/mqueue",
                _ => return Err(format!("the {typ} mount has no destination")),
            }
            .into();
        }
        if typ == "bind" && !src.starts_with('/') {
            let opts = m.options.clone().unwrap_or_default();
            match volumes.get(&src) {
                None => {
                    return Err(format!(
                        "the mount at {dest:?} names volume {src:?}, which `volumes` does not define"
                    ));
                }
                Some(true) if !opts.iter().any(|o| o == "ro") => {
                    return Err(format!(
                        "the mount at {dest:?}: volume {src:?} is read-only; add option `ro`"
                    ));
                }
                Some(_) => src = volume_dir(&src),
            }
        }
        let mut options = m.options.clone().unwrap_or_default();
        // A bind without `bind` or `rbind` in its options would reach mount(2)
        // as a file system called "bind"; LinuxKit users write it so.
        if typ == "bind" && !options.iter().any(|o| o == "bind" || o == "rbind") {
            options.push("rbind".into());
        }
        out.insert(dest.clone(), mount(&dest, &typ, &src, options)?);
    }
    for (dest, m) in &out {
        inside_proc(dest, m.typ().as_deref().unwrap_or(""))?;
    }
    Ok(out.into_values().collect())
}

/// The files below /proc that runc lets a container mount over (those
/// lxcfs emulates); any other mount inside /proc it refuses at start.
const RUNC_PROC_MOUNTS: [&str; 10] = [
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

/// Refuses at build time what runc would refuse at boot.
fn inside_proc(dest: &str, typ: &str) -> Result<(), String> {
    let dest = dest.trim_end_matches('/');
    if dest == "/proc" {
        return match typ {
            "proc" => Ok(()),
            _ => Err(format!(
                "the mount at /proc is of type {typ:?}; runc mounts only a proc filesystem there"
            )),
        };
    }
    if dest.starts_with("/proc/") && !RUNC_PROC_MOUNTS.contains(&dest) {
        return Err(format!(
            "the mount at {dest:?} is inside /proc, which runc refuses (\"cannot be mounted because it is inside /proc\"); a container sees its own /proc, so drop the mount"
        ));
    }
    Ok(())
}

fn ns(typ: LinuxNamespaceType, path: &str) -> Option<LinuxNamespace> {
    let mut b = LinuxNamespaceBuilder::default().typ(typ);
    if !path.is_empty() {
        b = b.path(path);
    }
    b.build().ok()
}

/// net, ipc, uts and user default to the host's; pid (unless `host`) and
/// mount are always new. No cgroup namespace, as LinuxKit: a container sees
/// the host's cgroup hierarchy (read-only unless it binds it), so the
/// directories of `runtime.cgroups` are visible in it.
pub fn namespaces(yaml: &Image, label: &Image) -> Vec<LinuxNamespace> {
    let value = |l: &Option<String>, y: &Option<String>, default: &str| {
        [y, l]
            .into_iter()
            .flatten()
            .find(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| default.to_string())
    };
    let mut out = Vec::new();
    for (typ, l, y, default) in [
        (LinuxNamespaceType::Network, &label.net, &yaml.net, "root"),
        (LinuxNamespaceType::Ipc, &label.ipc, &yaml.ipc, "root"),
        (LinuxNamespaceType::Uts, &label.uts, &yaml.uts, "root"),
        (LinuxNamespaceType::Pid, &label.pid, &yaml.pid, "new"),
        (
            LinuxNamespaceType::User,
            &label.userns,
            &yaml.userns,
            "root",
        ),
    ] {
        let v = value(l, y, default);
        if v == "host" || v == "root" {
            continue;
        }
        let path = if v == "new" || v == "none" {
            ""
        } else {
            v.as_str()
        };
        out.extend(ns(typ, path));
    }
    out.extend(ns(LinuxNamespaceType::Mount, ""));
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::mounts;
    use crate::config::Image;

    fn binds(list: &[&str]) -> Image {
        Image {
            binds: Some(list.iter().map(|s| s.to_string()).collect()),
            ..Image::default()
        }
    }

    #[test]
    fn a_bind_inside_proc_is_refused_as_runc_would_at_boot() {
        let err = mounts(
            &Image::default(),
            &binds(&["/proc/sys:/proc/sys"]),
            false,
            &BTreeMap::new(),
        )
        .unwrap_err();
        assert!(err.contains("\"/proc/sys\" is inside /proc"), "{err}");
    }

    #[test]
    fn the_proc_files_lxcfs_emulates_may_be_bound() {
        let label = binds(&["/var/lib/lxcfs/proc/meminfo:/proc/meminfo"]);
        mounts(&Image::default(), &label, false, &BTreeMap::new()).unwrap();
    }

    #[test]
    fn a_bind_mount_without_options_binds_recursively() {
        let yaml = Image {
            mounts: Some(vec![crate::config::Mount {
                kind: Some("bind".into()),
                source: Some("/var/data".into()),
                destination: Some("/data".into()),
                ..Default::default()
            }]),
            ..Image::default()
        };
        let m = mounts(&yaml, &Image::default(), false, &BTreeMap::new()).unwrap();
        let data = m
            .iter()
            .find(|m| m.destination().to_str() == Some("/data"))
            .unwrap();
        assert_eq!(data.options().clone().unwrap(), ["rbind"].map(String::from));
    }

    #[test]
    fn a_bind_option_list_is_one_entry() {
        let label = binds(&["/var:/var:rshared,rbind"]);
        let m = mounts(&Image::default(), &label, false, &BTreeMap::new()).unwrap();
        let var = m
            .iter()
            .find(|m| m.destination().to_str() == Some("/var"))
            .unwrap();
        assert_eq!(
            var.options().clone().unwrap(),
            ["rshared", "rbind"].map(String::from)
        );
    }
}
