//! Linux capability names, as LinuxKit's YAML and labels write them:
//! shared by validation (a misspelt name is an error at its line, with a
//! suggestion) and by the bundles a build writes.

/// Every capability runc and Linux 6.1 know, for `capabilities: [all]`.
pub const ALL_CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// `CAP_NAME` for a name in any case, with or without the `CAP_` prefix.
pub fn canonical(name: &str) -> Result<String, String> {
    let up = name.to_uppercase();
    let full = if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    };
    if ALL_CAPS.contains(&full.as_str()) {
        return Ok(full);
    }
    let best = ALL_CAPS
        .iter()
        .map(|c| (strsim::jaro_winkler(&full, c), c))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    Err(match best {
        Some((score, c)) if score >= 0.9 => {
            format!("unknown capability {name:?}; did you mean `{c}`?")
        }
        _ => format!("unknown capability {name:?}; use names such as `CAP_NET_ADMIN`, or `all`"),
    })
}

/// Whether a list names capabilities the kernel has: `all` or `none` alone,
/// else each a known name. Returns the index and message of each problem.
pub fn problems(names: &[String]) -> Vec<(usize, String)> {
    if let [one] = names
        && ["all", "none"].contains(&one.to_lowercase().as_str())
    {
        return Vec::new();
    }
    names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| canonical(n).err().map(|m| (i, m)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{canonical, problems};

    #[test]
    fn a_misspelt_capability_gets_the_closest_name() {
        let err = canonical("CAP_NET_BIND_SERVCE").unwrap_err();
        assert!(err.contains("did you mean `CAP_NET_BIND_SERVICE`"), "{err}");
    }

    #[test]
    fn names_are_accepted_in_any_case_with_or_without_the_prefix() {
        assert_eq!(canonical("net_admin").unwrap(), "CAP_NET_ADMIN");
        assert_eq!(canonical("CAP_SYS_ADMIN").unwrap(), "CAP_SYS_ADMIN");
        assert!(problems(&["all".into()]).is_empty());
        assert_eq!(problems(&["CAP_CHOWN".into(), "bogus".into()])[0].0, 1);
    }
}
