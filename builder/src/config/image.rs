//! Container entries (`onboot`, `onshutdown`, `services`): LinuxKit's image
//! specification. Every field is optional so that unset fields can fall back
//! to the image's `org.mobyproject.config` label, which uses the same shape.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::diag::Location;
use super::resources::Resources;
use super::scalar::{Id, opt_text};

/// One container of `onboot`, `onshutdown` or `services`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Image {
    pub name: Option<String>,
    pub image: Option<String>,
    pub capabilities: Option<Vec<String>>,
    #[serde(rename = "capabilities.add")]
    pub capabilities_add: Option<Vec<String>>,
    pub ambient: Option<Vec<String>>,
    pub mounts: Option<Vec<Mount>>,
    pub binds: Option<Vec<String>>,
    #[serde(rename = "binds.add")]
    pub binds_add: Option<Vec<String>>,
    pub devices: Option<Vec<Device>>,
    pub tmpfs: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    pub env: Option<Vec<String>>,
    pub cwd: Option<String>,
    pub net: Option<String>,
    pub pid: Option<String>,
    pub ipc: Option<String>,
    pub uts: Option<String>,
    pub userns: Option<String>,
    pub hostname: Option<String>,
    pub readonly: Option<bool>,
    pub masked_paths: Option<Vec<String>>,
    pub readonly_paths: Option<Vec<String>>,
    pub uid: Option<Id>,
    pub gid: Option<Id>,
    pub additional_gids: Option<Vec<Id>>,
    pub no_new_privileges: Option<bool>,
    pub oom_score_adj: Option<i32>,
    pub rootfs_propagation: Option<String>,
    pub cgroups_path: Option<String>,
    pub resources: Option<Resources>,
    pub sysctl: Option<BTreeMap<String, String>>,
    /// `name,soft,hard`, e.g. `nofile,1024,4096`; `unlimited` is allowed.
    pub rlimits: Option<Vec<String>>,
    pub uid_mappings: Option<Vec<IdMapping>>,
    pub gid_mappings: Option<Vec<IdMapping>>,
    pub annotations: Option<BTreeMap<String, String>>,
    pub runtime: Option<Runtime>,
    /// cairn: how a service is restarted when it exits.
    pub restart: Option<Restart>,
    /// Where the entry starts in its config file.
    #[serde(skip)]
    pub location: Location,
}

/// A mount in the OCI runtime spec shape (LinuxKit spells the id mapping
/// keys in lower case here).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Mount {
    pub destination: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub source: Option<String>,
    pub options: Option<Vec<String>>,
    pub uidmappings: Option<Vec<IdMapping>>,
    pub gidmappings: Option<Vec<IdMapping>>,
}

/// A device node made available to the container.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Device {
    /// A device path, or `all` for every device of `type`.
    pub path: Option<String>,
    /// `c` (character), `b` (block), `u` or `p`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    /// Octal permission text such as `0666`.
    #[serde(deserialize_with = "opt_text")]
    pub mode: Option<String>,
}

/// A user namespace id range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct IdMapping {
    #[serde(rename = "hostID")]
    pub host_id: Option<u32>,
    #[serde(rename = "containerID")]
    pub container_id: Option<u32>,
    pub size: Option<u32>,
}

/// Actions taken when the container starts, outside the OCI spec.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Runtime {
    pub cgroups: Option<Vec<String>>,
    pub mounts: Option<Vec<Mount>>,
    pub mkdir: Option<Vec<String>>,
    pub interfaces: Option<Vec<Interface>>,
    #[serde(rename = "bindNS")]
    pub bind_ns: Option<Namespaces>,
    pub namespace: Option<String>,
}

/// A network interface moved into (or created in) the container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Interface {
    pub name: Option<String>,
    pub add: Option<String>,
    pub peer: Option<String>,
    pub create_in_root: Option<bool>,
}

/// Paths where the container's namespaces are bound for later containers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Namespaces {
    pub cgroup: Option<String>,
    pub ipc: Option<String>,
    pub mnt: Option<String>,
    pub net: Option<String>,
    pub pid: Option<String>,
    pub user: Option<String>,
    pub uts: Option<String>,
}

/// cairn: when and how fast the init restarts a service that exited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Restart {
    /// `always` (default), `on-failure` (only after a non-zero exit) or `never`.
    pub policy: Option<String>,
    /// Delay before the first restart, doubled after each quick exit.
    pub initial_delay_ms: Option<u64>,
    /// Longest delay between restarts.
    pub max_delay_ms: Option<u64>,
}
