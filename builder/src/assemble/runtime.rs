//! A bundle's `runtime.json`: LinuxKit's `runtime` section (each field from
//! the YAML if set, else from the label) plus `readonly` and, for services,
//! cairn's restart policy with its defaults filled in.

use serde_json::{Value, json};

use crate::config::{Image, Restart};

fn pick<T: Clone>(label: &Option<T>, yaml: &Option<T>) -> Option<T> {
    yaml.clone().or_else(|| label.clone())
}

pub fn runtime_json(
    yaml: &Image,
    label: &Image,
    readonly: bool,
    is_service: bool,
) -> Result<Value, String> {
    let l = label.runtime.clone().unwrap_or_default();
    let y = yaml.runtime.clone().unwrap_or_default();
    let mounts: Vec<Value> = pick(&l.mounts, &y.mounts)
        .unwrap_or_default()
        .iter()
        .map(|m| {
            json!({"type": m.kind, "source": m.source, "destination": m.destination,
                   "options": m.options.clone().unwrap_or_default()})
        })
        .collect();
    let interfaces: Vec<Value> = pick(&l.interfaces, &y.interfaces)
        .unwrap_or_default()
        .iter()
        .map(|i| {
            json!({"name": i.name, "add": i.add, "peer": i.peer,
                   "createInRoot": i.create_in_root.unwrap_or(false)})
        })
        .collect();
    let (lb, yb) = (
        l.bind_ns.clone().unwrap_or_default(),
        y.bind_ns.clone().unwrap_or_default(),
    );
    let mut bind_ns = serde_json::Map::new();
    for (key, a, b) in [
        ("cgroup", &lb.cgroup, &yb.cgroup),
        ("ipc", &lb.ipc, &yb.ipc),
        ("mnt", &lb.mnt, &yb.mnt),
        ("net", &lb.net, &yb.net),
        ("pid", &lb.pid, &yb.pid),
        ("user", &lb.user, &yb.user),
        ("uts", &lb.uts, &yb.uts),
    ] {
        if let Some(p) = pick(a, b).filter(|p| !p.is_empty()) {
            bind_ns.insert(key.into(), json!(p));
        }
    }
    let mut out = json!({
        "cgroups": pick(&l.cgroups, &y.cgroups).unwrap_or_default(),
        "mounts": mounts,
        "mkdir": pick(&l.mkdir, &y.mkdir).unwrap_or_default(),
        "interfaces": interfaces,
        "bindNS": bind_ns,
        "namespace": pick(&l.namespace, &y.namespace).unwrap_or_default(),
        "readonly": readonly,
    });
    if is_service {
        out["restart"] = restart(&pick(&label.restart, &yaml.restart).unwrap_or_default())?;
    }
    Ok(out)
}

/// The restart policy of a service with cairn's defaults filled in.
pub fn restart(r: &Restart) -> Result<Value, String> {
    let policy = r.policy.clone().unwrap_or_else(|| "always".into());
    if !["always", "on-failure", "never"].contains(&policy.as_str()) {
        return Err(format!(
            "restart.policy {policy:?} is not one of always, on-failure, never"
        ));
    }
    let initial = r.initial_delay_ms.unwrap_or(1000);
    let max = r.max_delay_ms.unwrap_or(30_000).max(initial);
    Ok(json!({"policy": policy, "initialDelayMs": initial, "maxDelayMs": max}))
}
