//! A bundle's `runtime.json` (docs/rootfs-layout.md), applied in the host
//! before its container starts: directories, mounts, and the writable overlay
//! of a container whose rootfs is not read-only.

use rustix::mount::MountFlags;
use serde::Deserialize;

use crate::boot::log;
use crate::restart::PolicyJson;
use crate::sys::{Mount, Sys};

#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Runtime {
    #[serde(default)]
    pub mkdir: Vec<String>,
    #[serde(default)]
    pub mounts: Vec<RuntimeMount>,
    #[serde(default)]
    pub interfaces: Vec<serde_json::Value>,
    pub bind_ns: Option<serde_json::Value>,
    pub namespace: Option<String>,
    pub readonly: Option<bool>,
    pub restart: Option<PolicyJson>,
}

#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
pub struct RuntimeMount {
    #[serde(default, rename = "type")]
    pub fstype: String,
    #[serde(default)]
    pub source: String,
    pub destination: String,
    #[serde(default)]
    pub options: Vec<String>,
}

/// Where the writable layers of containers live: /run is a tmpfs.
pub const RW_DIR: &str = "/run/cairn/containers";

/// `mount -o` options: the flags mount(2) takes, and the rest as data.
pub fn parse_options(options: &[String]) -> (MountFlags, String) {
    let mut flags = MountFlags::empty();
    let mut data = Vec::new();
    for o in options {
        let (set, clear) = match o.as_str() {
            "ro" => (MountFlags::RDONLY, MountFlags::empty()),
            "rw" => (MountFlags::empty(), MountFlags::RDONLY),
            "nosuid" => (MountFlags::NOSUID, MountFlags::empty()),
            "suid" => (MountFlags::empty(), MountFlags::NOSUID),
            "nodev" => (MountFlags::NODEV, MountFlags::empty()),
            "dev" => (MountFlags::empty(), MountFlags::NODEV),
            "noexec" => (MountFlags::NOEXEC, MountFlags::empty()),
            "exec" => (MountFlags::empty(), MountFlags::NOEXEC),
            "bind" => (MountFlags::BIND, MountFlags::empty()),
            "rbind" => (MountFlags::BIND.union(MountFlags::REC), MountFlags::empty()),
            "noatime" => (MountFlags::NOATIME, MountFlags::empty()),
            "nodiratime" => (MountFlags::NODIRATIME, MountFlags::empty()),
            "relatime" => (MountFlags::RELATIME, MountFlags::empty()),
            "strictatime" => (MountFlags::STRICTATIME, MountFlags::empty()),
            "sync" => (MountFlags::SYNCHRONOUS, MountFlags::empty()),
            "dirsync" => (MountFlags::DIRSYNC, MountFlags::empty()),
            // Propagation is runc's business inside the container.
            "private" | "rprivate" | "shared" | "rshared" | "slave" | "rslave" | "defaults" => {
                continue;
            }
            other => {
                data.push(other);
                continue;
            }
        };
        flags = flags.union(set).difference(clear);
    }
    (flags, data.join(","))
}

/// Reads `BUNDLE/runtime.json` (missing: all defaults) and applies it.
/// Failures are logged: the container may still run without them.
pub fn prepare(sys: &mut impl Sys, name: &str, bundle: &str) -> Runtime {
    let path = format!("{bundle}/runtime.json");
    let runtime = match sys.read_file(&path) {
        Err(_) => Runtime::default(),
        Ok(text) => match serde_json::from_str::<Runtime>(&text) {
            Ok(r) => r,
            Err(e) => {
                log(
                    sys,
                    &format!("warning: {path} is not valid ({e}); using the defaults"),
                );
                Runtime::default()
            }
        },
    };
    for dir in &runtime.mkdir {
        if let Err(e) = sys.mkdir(dir) {
            log(sys, &format!("warning: {name}: cannot create {dir}: {e}"));
        }
    }
    for m in &runtime.mounts {
        mount(sys, name, m);
    }
    // The builder always writes these keys; only non-empty values ask for something.
    let bind_ns = runtime
        .bind_ns
        .as_ref()
        .is_some_and(|v| v.as_object().is_none_or(|o| !o.is_empty()));
    let namespace = runtime.namespace.as_deref().is_some_and(|n| !n.is_empty());
    if !runtime.interfaces.is_empty() || bind_ns || namespace {
        log(
            sys,
            &format!(
                "warning: {name}: runtime interfaces, bindNS and namespace are not supported yet; ignored"
            ),
        );
    }
    if !readonly(sys, &runtime, bundle) {
        overlay(sys, name, bundle);
    }
    runtime
}

fn mount(sys: &mut impl Sys, name: &str, m: &RuntimeMount) {
    let (flags, data) = parse_options(&m.options);
    if let Err(e) = sys.mkdir(&m.destination) {
        log(
            sys,
            &format!("warning: {name}: cannot create {}: {e}", m.destination),
        );
    }
    let mount = Mount {
        source: &m.source,
        target: &m.destination,
        fstype: &m.fstype,
        flags,
        data: &data,
        required: false,
    };
    let mut result = sys.mount(&mount);
    // mount(2) ignores MS_RDONLY on a new bind mount: it takes a remount.
    if result.is_ok() && flags.contains(MountFlags::BIND.union(MountFlags::RDONLY)) {
        let remount = Mount {
            flags: flags.union(MountFlags::from_bits_retain(REMOUNT)),
            ..mount
        };
        result = sys.mount(&remount);
    }
    match result {
        Ok(()) => log(
            sys,
            &format!("{name}: mounted {} ({})", m.destination, m.fstype),
        ),
        Err(e) => log(
            sys,
            &format!(
                "warning: {name}: cannot mount {} on {} ({}): {e}",
                m.source, m.destination, m.fstype
            ),
        ),
    }
}

const REMOUNT: u32 = 32;

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
/// above, so the container writes to RAM and the image stays as built.
fn overlay(sys: &mut impl Sys, name: &str, bundle: &str) {
    let dir = format!("{RW_DIR}/{name}");
    let (upper, work) = (format!("{dir}/upper"), format!("{dir}/work"));
    for d in [&upper, &work] {
        if let Err(e) = sys.mkdir(d) {
            log(sys, &format!("warning: {name}: cannot create {d}: {e}"));
            return;
        }
    }
    let rootfs = format!("{bundle}/rootfs");
    let data = format!("lowerdir={rootfs},upperdir={upper},workdir={work}");
    let m = Mount {
        source: "overlay",
        target: &rootfs,
        fstype: "overlay",
        flags: MountFlags::empty(),
        data: &data,
        required: false,
    };
    match sys.mount(&m) {
        Ok(()) => log(sys, &format!("{name}: writable overlay on {rootfs}")),
        Err(e) => log(
            sys,
            &format!(
                "warning: {name}: cannot mount a writable overlay on {rootfs} (is the overlay module listed in {}?): {e}; its root stays as built",
                crate::stage1::MODULE_LIST
            ),
        ),
    }
}
