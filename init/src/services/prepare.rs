//! Applies a bundle's runtime.json around the creation of its container, as
//! LinuxKit's init does: before it is created, the writable overlay (cairn's),
//! `mounts`, `mkdir` and `cgroups`; once its process exists and before it
//! starts, `interfaces` and `bindNS`. A failing step fails that container.

use std::io;

use rustix::mount::MountFlags;

use crate::log::log;
use crate::mounts::mount_bind_aware;
use crate::services::runtime::{self, Interface, RW_DIR, Runtime, RuntimeMount};
use crate::sys::{Console, Files, Mount, NewLink, Sys};

/// Where cgroup v2 is mounted (boot.rs); `cgroups` are directories below.
pub const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// A runtime step that failed; the message starts with the step's key.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    #[error("runtime.json: {path} is not valid ({source}); rebuild the image with this cairn")]
    Invalid {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("mounts: cannot create the mount point {path}: {source}")]
    MountPoint {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "mounts: cannot mount {from} on {target} ({fstype}): {source}; check the runtime mounts of the YAML or image label"
    )]
    Mount {
        from: String,
        target: String,
        fstype: String,
        #[source]
        source: io::Error,
    },
    #[error("mkdir: cannot create {path}: {source}")]
    Mkdir {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(
        "cgroups: {name:?} is not a path below {CGROUP_ROOT}; use names such as \"podruntime/x\""
    )]
    CgroupName { name: String },
    #[error("cgroups: cannot create {path}: {source}; is cgroup v2 mounted?")]
    Cgroup {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("interfaces: entry {index} has no name; name each interface")]
    NoName { index: usize },
    #[error("interfaces: the veth {name} needs a peer (its end in the root namespace)")]
    NoPeer { name: String },
    #[error("interfaces: cannot create {name} ({kind}): {source}")]
    Create {
        name: String,
        kind: String,
        #[source]
        source: io::Error,
    },
    #[error("interfaces: cannot move {name} into the network namespace of pid {pid}: {source}")]
    Move {
        name: String,
        pid: u32,
        #[source]
        source: io::Error,
    },
    #[error("bindNS: cannot bind the {kind} namespace of pid {pid} at {path}: {source}")]
    Bind {
        kind: &'static str,
        pid: u32,
        path: String,
        #[source]
        source: io::Error,
    },
}

/// Reads `BUNDLE/runtime.json`; a missing file means all defaults.
pub fn load(sys: &mut impl Sys, bundle: &str) -> Result<Runtime, PrepareError> {
    let path = format!("{bundle}/runtime.json");
    match sys.read_file(&path) {
        Err(_) => Ok(Runtime::default()),
        Ok(text) => {
            serde_json::from_str(&text).map_err(|source| PrepareError::Invalid { path, source })
        }
    }
}

/// Before the container is created. `who` names it in log lines
/// (`onboot NAME`, `service NAME`), `name` is its directory name.
pub fn filesystem(
    sys: &mut impl Sys,
    who: &str,
    name: &str,
    bundle: &str,
    runtime: &Runtime,
) -> Result<(), PrepareError> {
    // First, so that mounts into the rootfs land on the overlay, not under it.
    if !readonly(sys, runtime, bundle) {
        overlay(sys, who, name, bundle);
    }
    // Mounts before mkdir, as LinuxKit: a directory can be made in a mount.
    for m in &runtime.mounts {
        mount(sys, who, bundle, m)?;
    }
    for dir in &runtime.mkdir {
        let path = absolute(bundle, dir);
        sys.mkdir(&path)
            .map_err(|source| PrepareError::Mkdir { path, source })?;
    }
    for cgroup in &runtime.cgroups {
        let path = cgroup_path(cgroup)?;
        sys.mkdir(&path)
            .map_err(|source| PrepareError::Cgroup { path, source })?;
    }
    Ok(())
}

/// After the container's process `pid` exists, before it runs.
pub fn process(
    sys: &mut impl Sys,
    who: &str,
    pid: u32,
    runtime: &Runtime,
) -> Result<(), PrepareError> {
    for (index, iface) in runtime.interfaces.iter().enumerate() {
        interface(sys, who, pid, index, iface)?;
    }
    for (kind, path) in runtime.bind_ns.binds() {
        sys.bind_namespace(pid, kind, path)
            .map_err(|source| PrepareError::Bind {
                kind,
                pid,
                path: path.to_string(),
                source,
            })?;
        log(
            sys,
            &format!("{who}: its {kind} namespace is bound at {path}"),
        );
    }
    Ok(())
}

/// LinuxKit's rules: a `peer` implies a veth; a veth, and any interface
/// with `createInRoot`, is created in the root namespace and then moved
/// (a veth's peer stays); other kinds are created in the container's
/// namespace; no `add` moves an existing interface.
fn interface(
    sys: &mut impl Sys,
    who: &str,
    pid: u32,
    index: usize,
    iface: &Interface,
) -> Result<(), PrepareError> {
    let name = iface.name.as_str();
    if name.is_empty() {
        return Err(PrepareError::NoName { index });
    }
    let kind = match (iface.add.as_str(), iface.peer.is_empty()) {
        ("", false) => "veth",
        (kind, _) => kind,
    };
    let in_root = kind.is_empty() || kind == "veth" || iface.create_in_root;
    if !kind.is_empty() {
        if kind == "veth" && iface.peer.is_empty() {
            return Err(PrepareError::NoPeer { name: name.into() });
        }
        let link = NewLink {
            kind,
            name,
            peer: (kind == "veth").then_some(iface.peer.as_str()),
            netns_pid: (!in_root).then_some(pid),
        };
        sys.link_add(&link).map_err(|source| PrepareError::Create {
            name: name.into(),
            kind: kind.into(),
            source,
        })?;
        let peer = match link.peer {
            Some(p) => format!(", peer {p} in the root namespace"),
            None => String::new(),
        };
        log(
            sys,
            &format!("{who}: created interface {name} ({kind}{peer})"),
        );
    }
    if in_root {
        sys.link_move(name, pid)
            .map_err(|source| PrepareError::Move {
                name: name.into(),
                pid,
                source,
            })?;
        log(
            sys,
            &format!("{who}: moved interface {name} into its network namespace"),
        );
    }
    Ok(())
}

/// Relative paths are in the container's rootfs, as LinuxKit reads them.
fn absolute(bundle: &str, path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{bundle}/rootfs/{path}")
    }
}

fn cgroup_path(cgroup: &str) -> Result<String, PrepareError> {
    let rel = cgroup.trim_start_matches('/');
    if rel.is_empty() || rel.split('/').any(|c| c == ".." || c == ".") {
        return Err(PrepareError::CgroupName {
            name: cgroup.to_string(),
        });
    }
    Ok(format!("{CGROUP_ROOT}/{rel}"))
}

fn mount(
    sys: &mut impl Sys,
    who: &str,
    bundle: &str,
    m: &RuntimeMount,
) -> Result<(), PrepareError> {
    let target = absolute(bundle, &m.destination);
    sys.mkdir(&target)
        .map_err(|source| PrepareError::MountPoint {
            path: target.clone(),
            source,
        })?;
    // An overlay's upper and work directories must exist, as LinuxKit makes them.
    for o in &m.options {
        if let Some(dir) = o
            .strip_prefix("upperdir=")
            .or_else(|| o.strip_prefix("workdir="))
        {
            sys.mkdir(dir).map_err(|source| PrepareError::MountPoint {
                path: dir.to_string(),
                source,
            })?;
        }
    }
    let (mut flags, data) = runtime::parse_options(&m.options);
    // `type: bind` without `bind` or `rbind` among the options is still a bind.
    if m.fstype == "bind" && !flags.contains(MountFlags::BIND) {
        flags |= MountFlags::BIND | MountFlags::REC;
    }
    let mount = Mount {
        source: &m.source,
        target: &target,
        fstype: &m.fstype,
        flags,
        data: &data,
        required: false,
    };
    mount_bind_aware(sys, &mount).map_err(|source| PrepareError::Mount {
        from: m.source.clone(),
        target: target.clone(),
        fstype: m.fstype.clone(),
        source,
    })?;
    log(sys, &format!("{who}: mounted {target} ({})", m.fstype));
    Ok(())
}

/// runtime.json's `readonly`, else config.json's `root.readonly`, else
/// LinuxKit's default: writable.
fn readonly(sys: &mut impl Sys, runtime: &Runtime, bundle: &str) -> bool {
    if let Some(ro) = runtime.readonly {
        return ro;
    }
    sys.read_file(&format!("{bundle}/config.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| {
            v.pointer("/root/readonly")
                .and_then(serde_json::Value::as_bool)
        })
        .unwrap_or(false)
}

/// Mounts an overlay on `BUNDLE/rootfs`: the image below, a tmpfs directory
/// above, so the container writes to RAM and the image stays as built. A
/// failure is a warning: the container still runs, on its image as built.
fn overlay(sys: &mut impl Sys, who: &str, name: &str, bundle: &str) {
    let rootfs = format!("{bundle}/rootfs");
    match writable_overlay(sys, &rootfs, &rootfs, &format!("{RW_DIR}/{name}")) {
        Ok(()) => log(sys, &format!("{who}: writable overlay on {rootfs}")),
        Err(e) => log(
            sys,
            &format!("warning: {who}: {e}; its root stays as built"),
        ),
    }
}

/// Mounts at `target` an overlay of `lower` with its upper and work
/// directories in `rw` (on the /run tmpfs). The error says what failed.
pub fn writable_overlay(
    sys: &mut (impl Files + Console),
    lower: &str,
    target: &str,
    rw: &str,
) -> Result<(), String> {
    let (upper, work) = (format!("{rw}/upper"), format!("{rw}/work"));
    for d in [&upper, &work] {
        sys.mkdir(d)
            .map_err(|e| format!("cannot create {d}: {e}"))?;
    }
    let data = format!("lowerdir={lower},upperdir={upper},workdir={work}");
    let m = Mount {
        source: "overlay",
        target,
        fstype: "overlay",
        flags: MountFlags::empty(),
        data: &data,
        required: false,
    };
    sys.mount(&m).map_err(|e| {
        format!(
            "cannot mount a writable overlay on {target} (is the overlay module listed in {}?): {e}",
            crate::modules::MODULE_LIST
        )
    })
}

#[cfg(test)]
#[path = "prepare_tests.rs"]
mod tests;
