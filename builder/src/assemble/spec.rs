//! A container's OCI runtime spec (`config.json`) and `runtime.json`: the
//! image's `org.mobyproject.config` label merged with the YAML entry the way
//! LinuxKit does it (a field set in the YAML replaces the label's; the
//! `.add` forms add to it; command, env and cwd fall back to the image's
//! own config), with LinuxKit's default mounts and namespaces.

use std::collections::BTreeMap;

use oci_spec::image::Config as ImageConfig;
use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxDeviceBuilder, LinuxDeviceCgroup,
    LinuxDeviceType, LinuxIdMapping, LinuxIdMappingBuilder, LinuxResources, PosixRlimitBuilder,
    PosixRlimitType, ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};
use serde_json::{Value, json};

use super::runtime::runtime_json;
use super::spec_mounts::{mounts, namespaces};
use crate::config::capability::{ALL_CAPS, canonical};
use crate::config::{Id, IdMapping, Image};

pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What a spec is made from besides the YAML entry and the label.
pub struct Context<'a> {
    pub image_config: Option<&'a ImageConfig>,
    /// LinuxKit's ids for container names (100, 101, ... in config order).
    pub container_ids: &'a BTreeMap<String, u32>,
    /// Users and groups from the image's /etc/passwd and /etc/group.
    pub users: &'a BTreeMap<String, u32>,
    pub groups: &'a BTreeMap<String, u32>,
    /// Volume names to whether they are read-only.
    pub volumes: &'a BTreeMap<String, bool>,
    pub is_service: bool,
    /// The image's platform manifest digest, which the init measures.
    pub image_digest: &'a str,
}

/// The two JSON documents of a bundle, pretty-printed with sorted keys.
pub struct Bundle {
    pub config_json: Vec<u8>,
    pub runtime_json: Vec<u8>,
}

fn pick<T: Clone>(label: &Option<T>, yaml: &Option<T>) -> Option<T> {
    yaml.clone().or_else(|| label.clone())
}

/// Label values extended by the YAML's `.add` list, unless the YAML sets the
/// full list.
fn pick_add(
    label: &Option<Vec<String>>,
    add: &Option<Vec<String>>,
    yaml: &Option<Vec<String>>,
) -> Vec<String> {
    if let Some(y) = yaml {
        return y.clone();
    }
    let mut out = label.clone().unwrap_or_default();
    out.extend(add.clone().unwrap_or_default());
    out
}

pub fn build(yaml: &Image, label: &Image, ctx: &Context) -> Result<Bundle, String> {
    let cfg = ctx.image_config;
    let mut image_args: Vec<String> = cfg.and_then(|c| c.entrypoint().clone()).unwrap_or_default();
    image_args.extend(cfg.and_then(|c| c.cmd().clone()).unwrap_or_default());
    let args = pick(&label.command, &yaml.command).unwrap_or(image_args);
    if args.is_empty() {
        return Err("no command: set `command`, or use an image with an entrypoint or cmd".into());
    }
    let mut env = pick(&label.env, &yaml.env)
        .or_else(|| cfg.and_then(|c| c.env().clone()))
        .unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.push(DEFAULT_PATH.to_string());
    }
    let cwd = [
        yaml.cwd.clone(),
        label.cwd.clone(),
        cfg.and_then(|c| c.working_dir().clone()),
    ]
    .into_iter()
    .flatten()
    .find(|c| !c.is_empty())
    .unwrap_or_else(|| "/".into());
    let readonly = pick(&label.readonly, &yaml.readonly).unwrap_or(false);

    let (uid, gid, groups) = user(yaml, label, ctx)?;
    let caps = capability_list(pick_add(
        &label.capabilities,
        &yaml.capabilities_add,
        &yaml.capabilities,
    ))?;
    let ambient = capability_list(pick(&label.ambient, &yaml.ambient).unwrap_or_default())?;
    let mut bounding: Vec<String> = caps.iter().chain(&ambient).cloned().collect();
    bounding.sort();
    bounding.dedup();
    let capset = |names: &[String]| -> Result<oci_spec::runtime::Capabilities, String> {
        names
            .iter()
            .map(|n| {
                serde_json::from_value::<Capability>(json!(n))
                    .map_err(|_| format!("unknown capability {n}"))
            })
            .collect()
    };
    let capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(capset(&bounding)?)
        .effective(capset(&caps)?)
        .inheritable(capset(&bounding)?)
        .permitted(capset(&bounding)?)
        .ambient(capset(&ambient)?)
        .build()
        .map_err(|e| e.to_string())?;
    let mut process = ProcessBuilder::default()
        .terminal(false)
        .user(
            UserBuilder::default()
                .uid(uid)
                .gid(gid)
                .additional_gids(groups)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .args(args)
        .env(env)
        .cwd(cwd)
        .capabilities(capabilities)
        .rlimits(rlimits(
            &pick(&label.rlimits, &yaml.rlimits).unwrap_or_default(),
        )?)
        .no_new_privileges(pick(&label.no_new_privileges, &yaml.no_new_privileges).unwrap_or(false))
        .build()
        .map_err(|e| e.to_string())?;
    if let Some(adj) = pick(&label.oom_score_adj, &yaml.oom_score_adj) {
        process.set_oom_score_adj(Some(adj));
    }

    let (devices, device_rules) = devices(yaml, label)?;
    let mut resources: LinuxResources = match pick(&label.resources, &yaml.resources) {
        Some(r) => serde_json::to_value(&r)
            .and_then(serde_json::from_value)
            .map_err(|e| format!("resources: {e}"))?,
        None => LinuxResources::default(),
    };
    if !device_rules.is_empty() {
        let mut all = resources.devices().clone().unwrap_or_default();
        all.extend(device_rules);
        resources.set_devices(Some(all));
    }
    let mut linux = LinuxBuilder::default()
        .namespaces(namespaces(yaml, label))
        .resources(resources)
        .uid_mappings(id_mappings(&pick(&label.uid_mappings, &yaml.uid_mappings)))
        .gid_mappings(id_mappings(&pick(&label.gid_mappings, &yaml.gid_mappings)))
        .build()
        .map_err(|e| e.to_string())?;
    if !devices.is_empty() {
        linux.set_devices(Some(devices));
    }
    linux.set_sysctl(pick(&label.sysctl, &yaml.sysctl).map(|m| m.into_iter().collect()));
    linux.set_masked_paths(pick(&label.masked_paths, &yaml.masked_paths));
    linux.set_readonly_paths(pick(&label.readonly_paths, &yaml.readonly_paths));
    linux.set_rootfs_propagation(pick(&label.rootfs_propagation, &yaml.rootfs_propagation));
    linux.set_cgroups_path(pick(&label.cgroups_path, &yaml.cgroups_path).map(Into::into));

    let mut spec: Spec = SpecBuilder::default()
        .version("1.0.2")
        .process(process)
        .root(
            RootBuilder::default()
                .path("rootfs")
                .readonly(readonly)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .mounts(mounts(yaml, label, readonly, ctx.volumes)?)
        .linux(linux)
        .build()
        .map_err(|e| e.to_string())?;
    spec.set_hostname(pick(&label.hostname, &yaml.hostname).filter(|h| !h.is_empty()));
    spec.set_annotations(
        pick(&label.annotations, &yaml.annotations).map(|m| m.into_iter().collect()),
    );

    let mut value = serde_json::to_value(&spec).map_err(|e| e.to_string())?;
    sort_capabilities(&mut value);
    let mut runtime = runtime_json(yaml, label, readonly, ctx.is_service)?;
    runtime["imageDigest"] = Value::String(ctx.image_digest.to_string());
    Ok(Bundle {
        config_json: pretty(&value),
        runtime_json: pretty(&runtime),
    })
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Capability sets are hash sets in `oci-spec`: sort them so the same
/// inputs give the same bytes.
fn sort_capabilities(spec: &mut Value) {
    if let Some(Value::Object(caps)) = spec.pointer_mut("/process/capabilities") {
        for set in caps.values_mut() {
            if let Value::Array(items) = set {
                items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
    }
}

/// `all` and `none` as LinuxKit reads them; names are upper-cased and get a
/// `CAP_` prefix when it is missing.
fn capability_list(names: Vec<String>) -> Result<Vec<String>, String> {
    if let [one] = names.as_slice() {
        match one.to_lowercase().as_str() {
            "all" => return Ok(ALL_CAPS.iter().map(|s| s.to_string()).collect()),
            "none" => return Ok(Vec::new()),
            _ => {}
        }
    }
    names.into_iter().map(|n| canonical(&n)).collect()
}

fn resolve_id(
    id: &Id,
    ctx: &Context,
    names: &BTreeMap<String, u32>,
    what: &str,
) -> Result<u32, String> {
    match id {
        Id::Num(n) => Ok(*n),
        Id::Name(n) if n.is_empty() || n == "root" => Ok(0),
        Id::Name(n) => ctx
            .container_ids
            .get(n)
            .or_else(|| names.get(n))
            .copied()
            .ok_or_else(|| {
                format!(
                    "{what} {n:?} is neither a container name nor in the image's /etc/{}",
                    if what == "user" { "passwd" } else { "group" }
                )
            }),
    }
}

fn user(yaml: &Image, label: &Image, ctx: &Context) -> Result<(u32, u32, Vec<u32>), String> {
    let image_user = ctx
        .image_config
        .and_then(|c| c.user().clone())
        .filter(|u| !u.is_empty());
    let (img_uid, img_gid) = match &image_user {
        Some(u) => {
            let (user, group) = u
                .split_once(':')
                .map_or((u.as_str(), None), |(a, b)| (a, Some(b)));
            let as_id = |s: &str| {
                s.parse::<u32>()
                    .map(Id::Num)
                    .unwrap_or_else(|_| Id::Name(s.into()))
            };
            (Some(as_id(user)), group.map(as_id))
        }
        None => (None, None),
    };
    let uid = match pick(&label.uid, &yaml.uid).or(img_uid) {
        Some(id) => resolve_id(&id, ctx, ctx.users, "user")?,
        None => 0,
    };
    let gid = match pick(&label.gid, &yaml.gid).or(img_gid) {
        Some(id) => resolve_id(&id, ctx, ctx.groups, "group")?,
        None => 0,
    };
    let extra = pick(&label.additional_gids, &yaml.additional_gids)
        .unwrap_or_default()
        .iter()
        .map(|g| resolve_id(g, ctx, ctx.groups, "group"))
        .collect::<Result<_, _>>()?;
    Ok((uid, gid, extra))
}

fn rlimits(specs: &[String]) -> Result<Vec<oci_spec::runtime::PosixRlimit>, String> {
    specs
        .iter()
        .map(|s| {
            let parts: Vec<&str> = s.splitn(3, ',').map(str::trim).collect();
            let [name, soft, hard] = parts.as_slice() else {
                return Err(format!("rlimit {s:?} is not `name,soft,hard`"));
            };
            let mut name = name.to_uppercase();
            if !name.starts_with("RLIMIT_") {
                name = format!("RLIMIT_{name}");
            }
            let typ: PosixRlimitType = serde_json::from_value(json!(name))
                .map_err(|_| format!("rlimit {s:?}: unknown limit {name}"))?;
            let num = |v: &str| -> Result<u64, String> {
                if v.eq_ignore_ascii_case("unlimited") {
                    Ok(u64::MAX)
                } else {
                    v.parse()
                        .map_err(|_| format!("rlimit {s:?}: {v:?} is not a number"))
                }
            };
            PosixRlimitBuilder::default()
                .typ(typ)
                .soft(num(soft)?)
                .hard(num(hard)?)
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

type Devices = (Vec<oci_spec::runtime::LinuxDevice>, Vec<LinuxDeviceCgroup>);

fn devices(yaml: &Image, label: &Image) -> Result<Devices, String> {
    let mut nodes = Vec::new();
    let mut rules = Vec::new();
    for d in pick(&label.devices, &yaml.devices).unwrap_or_default() {
        let kind = d.kind.clone().unwrap_or_default();
        let typ: LinuxDeviceType = serde_json::from_value(json!(kind))
            .map_err(|_| format!("device type {kind:?} is not one of c, b, u, p"))?;
        let path = d.path.clone().unwrap_or_default();
        let mut rule = json!({"allow": true, "type": kind, "access": "rwm"});
        if path != "all" {
            let mode = crate::config::parse_mode(d.mode.as_deref().unwrap_or("0600"))?;
            let (major, minor) = (d.major.unwrap_or(0), d.minor.unwrap_or(0));
            nodes.push(
                LinuxDeviceBuilder::default()
                    .path(path)
                    .typ(typ)
                    .major(major)
                    .minor(minor)
                    .file_mode(mode)
                    .build()
                    .map_err(|e| e.to_string())?,
            );
            rule["major"] = json!(major);
            rule["minor"] = json!(minor);
        }
        rules.push(serde_json::from_value(rule).map_err(|e| e.to_string())?);
    }
    Ok((nodes, rules))
}

fn id_mappings(list: &Option<Vec<IdMapping>>) -> Vec<LinuxIdMapping> {
    list.iter()
        .flatten()
        .filter_map(|m| {
            LinuxIdMappingBuilder::default()
                .host_id(m.host_id.unwrap_or(0))
                .container_id(m.container_id.unwrap_or(0))
                .size(m.size.unwrap_or(0))
                .build()
                .ok()
        })
        .collect()
}
