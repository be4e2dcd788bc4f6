//! A bundle's `runtime.json` (docs/rootfs-layout.md): LinuxKit's `runtime`
//! section plus cairn's `readonly` and `restart`. `prepare.rs` applies it.

use rustix::mount::MountFlags;
use serde::{Deserialize, Deserializer};

use crate::services::restart::PolicyJson;

#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Runtime {
    #[serde(default, deserialize_with = "or_default")]
    pub cgroups: Vec<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub mkdir: Vec<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub mounts: Vec<RuntimeMount>,
    #[serde(default, deserialize_with = "or_default")]
    pub interfaces: Vec<Interface>,
    #[serde(default, rename = "bindNS", deserialize_with = "or_default")]
    pub bind_ns: BindNs,
    /// The containerd namespace of a service; empty: cairn's.
    #[serde(default, deserialize_with = "or_default")]
    pub namespace: String,
    pub readonly: Option<bool>,
    pub restart: Option<PolicyJson>,
}

#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
pub struct RuntimeMount {
    #[serde(default, rename = "type", deserialize_with = "or_default")]
    pub fstype: String,
    #[serde(default, deserialize_with = "or_default")]
    pub source: String,
    #[serde(default, deserialize_with = "or_default")]
    pub destination: String,
    #[serde(default, deserialize_with = "or_default")]
    pub options: Vec<String>,
}

/// One entry of `interfaces`; the builder writes `null` for unset fields.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Interface {
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    /// The kind of interface to create (`veth`, `wireguard`, ...); empty:
    /// move the existing interface `name`.
    #[serde(default, deserialize_with = "or_default")]
    pub add: String,
    /// The end of a veth pair that stays in the root namespace.
    #[serde(default, deserialize_with = "or_default")]
    pub peer: String,
    #[serde(default, deserialize_with = "or_default")]
    pub create_in_root: bool,
}

/// Where the container's namespaces are bound (`bindNS`), by kind.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
pub struct BindNs {
    #[serde(default, deserialize_with = "or_default")]
    pub cgroup: String,
    #[serde(default, deserialize_with = "or_default")]
    pub ipc: String,
    #[serde(default, deserialize_with = "or_default")]
    pub mnt: String,
    #[serde(default, deserialize_with = "or_default")]
    pub net: String,
    #[serde(default, deserialize_with = "or_default")]
    pub pid: String,
    #[serde(default, deserialize_with = "or_default")]
    pub user: String,
    #[serde(default, deserialize_with = "or_default")]
    pub uts: String,
}

impl BindNs {
    /// The kinds to bind and their paths, in LinuxKit's order; `kind` is the
    /// name of the file in `/proc/PID/ns/`.
    pub fn binds(&self) -> Vec<(&'static str, &str)> {
        [
            ("cgroup", &self.cgroup),
            ("ipc", &self.ipc),
            ("mnt", &self.mnt),
            ("net", &self.net),
            ("pid", &self.pid),
            ("user", &self.user),
            ("uts", &self.uts),
        ]
        .into_iter()
        .filter(|(_, path)| !path.is_empty())
        .map(|(kind, path)| (kind, path.as_str()))
        .collect()
    }
}

/// A missing key and `null` both mean the default.
fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
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
            "atime" => (MountFlags::empty(), MountFlags::NOATIME),
            "nodiratime" => (MountFlags::NODIRATIME, MountFlags::empty()),
            "diratime" => (MountFlags::empty(), MountFlags::NODIRATIME),
            "relatime" => (MountFlags::RELATIME, MountFlags::empty()),
            "norelatime" => (MountFlags::empty(), MountFlags::RELATIME),
            "strictatime" => (MountFlags::STRICTATIME, MountFlags::empty()),
            "nostrictatime" => (MountFlags::empty(), MountFlags::STRICTATIME),
            "sync" => (MountFlags::SYNCHRONOUS, MountFlags::empty()),
            "async" => (MountFlags::empty(), MountFlags::SYNCHRONOUS),
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
