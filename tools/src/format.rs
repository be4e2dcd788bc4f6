//! `format`, with LinuxKit's interface: `format [-label L] [-type
//! ext4|xfs|btrfs] [-partition dos|gpt] [-force] [-verbose] [DEVICE]`.
//! It puts one partition over the disk and a file system on it. A disk
//! that holds anything (a partition table, a file system) is left alone
//! unless `-force`; without DEVICE the first blank disk is taken. The
//! decisions are here, the device work in `src/bin/format.rs`.

use crate::table::Kind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub label: String,
    pub fs_type: String,
    pub partition: Kind,
    pub force: bool,
    pub verbose: bool,
    pub device: Option<String>,
}

pub const USAGE: &str = "usage: format [-label LABEL] [-type ext4|xfs|btrfs] [-partition dos|gpt] [-force] [-verbose] [DEVICE]";

/// Go's flag syntax, as LinuxKit's tools take it: `-x` or `--x`, values
/// as `-x v` or `-x=v`, flags before the one positional argument.
pub fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        label: String::new(),
        fs_type: "ext4".into(),
        partition: Kind::Dos,
        force: false,
        verbose: false,
        device: None,
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            if o.device.is_some() {
                return Err(format!("more than one device given ({arg}); {USAGE}"));
            }
            o.device = Some(arg.clone());
            continue;
        };
        if o.device.is_some() {
            return Err(format!("flag {arg} after the device; {USAGE}"));
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| rest.next().cloned())
                .ok_or_else(|| format!("flag -{name} needs a value; {USAGE}"))
        };
        match name {
            "label" => o.label = value()?,
            "type" => o.fs_type = value()?,
            "partition" => {
                o.partition = match value()?.as_str() {
                    "dos" => Kind::Dos,
                    "gpt" => Kind::Gpt,
                    other => return Err(format!("-partition {other}: use dos or gpt")),
                }
            }
            "force" => o.force = boolean(name, inline.as_deref())?,
            "verbose" => o.verbose = boolean(name, inline.as_deref())?,
            _ => return Err(format!("unknown flag {arg}; {USAGE}")),
        }
    }
    if o.label.len() > 16 {
        return Err(format!("-label {:?} is longer than 16 bytes", o.label));
    }
    Ok(o)
}

fn boolean(name: &str, value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(v) => Err(format!("-{name}={v}: use true or false")),
    }
}

/// Whole disks from /sys/block that may be formatted: not loop, RAM, CD,
/// floppy, device-mapper or RAID devices, and not read-only.
pub fn candidate(name: &str, read_only: bool) -> bool {
    const SKIP: [&str; 8] = ["loop", "nbd", "ram", "zram", "sr", "fd", "dm-", "md"];
    !read_only && !name.is_empty() && !SKIP.iter().any(|p| name.starts_with(p))
}

/// The first partition of a disk: `vda1`, `sda1`, but `nvme0n1p1`,
/// `mmcblk0p1` when the disk's name ends in a digit.
pub fn first_partition(device: &str) -> String {
    if device.ends_with(|c: char| c.is_ascii_digit()) {
        format!("{device}p1")
    } else {
        format!("{device}1")
    }
}

/// The mkfs command for a type, with LinuxKit's options.
pub fn mkfs(fs_type: &str, label: &str, partition: &str) -> Vec<String> {
    let mut argv: Vec<String> = match fs_type {
        "ext4" => vec!["mkfs.ext4".into(), "-q".into(), "-F".into()],
        "xfs" => vec!["mkfs.xfs".into(), "-q".into(), "-f".into()],
        "btrfs" => vec!["mkfs.btrfs".into(), "-q".into(), "-f".into()],
        other => vec![format!("mkfs.{other}")],
    };
    if !label.is_empty() {
        argv.extend(["-L".into(), label.into()]);
    }
    argv.push(partition.into());
    argv
}

#[cfg(test)]
mod tests {
    use super::{Kind, candidate, first_partition, mkfs, parse};

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn linuxkits_flags_are_read_in_both_go_forms() {
        let o = parse(&args(&[
            "-type",
            "xfs",
            "--label=DATA",
            "-force",
            "-partition",
            "gpt",
            "/dev/vdb",
        ]))
        .unwrap();
        assert_eq!(o.fs_type, "xfs");
        assert_eq!(o.label, "DATA");
        assert!(o.force);
        assert_eq!(o.partition, Kind::Gpt);
        assert_eq!(o.device.as_deref(), Some("/dev/vdb"));
        let o = parse(&args(&[])).unwrap();
        assert_eq!(
            (o.fs_type.as_str(), o.partition, o.force, o.device),
            ("ext4", Kind::Dos, false, None)
        );
    }

    #[test]
    fn bad_flags_say_what_is_wrong() {
        for (a, why) in [
            (vec!["-size", "1G"], "unknown flag -size"),
            (vec!["-partition", "apm"], "use dos or gpt"),
            (vec!["/dev/vda", "/dev/vdb"], "more than one device"),
            (vec!["/dev/vda", "-force"], "after the device"),
            (vec!["-label"], "needs a value"),
            (vec!["-force=maybe"], "true or false"),
        ] {
            let err = parse(&args(&a)).unwrap_err();
            assert!(err.contains(why), "{a:?}: {err}");
        }
    }

    #[test]
    fn only_real_writable_disks_are_candidates() {
        assert!(candidate("vda", false));
        assert!(candidate("nvme0n1", false));
        assert!(!candidate("vda", true));
        for n in ["loop0", "sr0", "ram1", "zram0", "dm-0", "md127", "nbd3"] {
            assert!(!candidate(n, false), "{n}");
        }
    }

    #[test]
    fn partition_names_follow_the_kernels_rule() {
        assert_eq!(first_partition("/dev/vda"), "/dev/vda1");
        assert_eq!(first_partition("/dev/nvme0n1"), "/dev/nvme0n1p1");
        assert_eq!(first_partition("/dev/mmcblk0"), "/dev/mmcblk0p1");
    }

    #[test]
    fn mkfs_takes_the_label() {
        assert_eq!(
            mkfs("ext4", "DATA", "/dev/vda1"),
            ["mkfs.ext4", "-q", "-F", "-L", "DATA", "/dev/vda1"]
        );
        assert_eq!(
            mkfs("btrfs", "", "/dev/vda1"),
            ["mkfs.btrfs", "-q", "-f", "/dev/vda1"]
        );
    }
}
