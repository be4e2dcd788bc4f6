//! `mountie`, LinuxKit's mount helper: `mountie [-label L | -uuid U |
//! -device D] [DEVICE] DIR` creates DIR and mounts a disk there: the device
//! named, the one whose file system has that label or UUID, or else the
//! first partition that holds a file system and is not mounted yet.
//! The choice is here; `src/bin/mountie.rs` looks at the devices.

use crate::probe::FileSystem;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    Device(String),
    Label(String),
    Uuid(String),
    FirstFree,
}

pub const USAGE: &str = "usage: mountie [-label LABEL | -uuid UUID | -device DEVICE] [DEVICE] DIR";

pub fn parse(args: &[String]) -> Result<(Want, String), String> {
    let mut want = Want::FirstFree;
    let mut positional = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let Some(flag) = arg.strip_prefix("--").or_else(|| arg.strip_prefix('-')) else {
            positional.push(arg.clone());
            continue;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        let value = inline
            .or_else(|| rest.next().cloned())
            .ok_or_else(|| format!("flag -{name} needs a value; {USAGE}"))?;
        want = match name {
            "label" => Want::Label(value),
            "uuid" => Want::Uuid(value.to_lowercase()),
            "device" => Want::Device(value),
            _ => return Err(format!("unknown flag {arg}; {USAGE}")),
        };
    }
    match positional.as_slice() {
        [dir] => Ok((want, dir.clone())),
        [device, dir] => Ok((Want::Device(device.clone()), dir.clone())),
        [] => Err(format!("no mount point given; {USAGE}")),
        _ => Err(format!("too many arguments; {USAGE}")),
    }
}

/// A block device as the chooser sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub device: String,
    pub partition: bool,
    pub fs: Option<FileSystem>,
    pub mounted: bool,
}

/// The device to mount among `seen` (in name order), or None.
pub fn choose<'a>(want: &Want, seen: &'a [Seen]) -> Option<&'a Seen> {
    seen.iter().find(|s| match want {
        Want::Device(d) => &s.device == d,
        Want::Label(l) => s.fs.as_ref().is_some_and(|f| &f.label == l),
        Want::Uuid(u) => {
            s.fs.as_ref()
                .is_some_and(|f| f.uuid.eq_ignore_ascii_case(u))
        }
        Want::FirstFree => s.partition && s.fs.is_some() && !s.mounted,
    })
}

#[cfg(test)]
mod tests {
    use super::{Seen, Want, choose, parse};
    use crate::probe::FileSystem;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn seen(device: &str, partition: bool, label: Option<&str>, mounted: bool) -> Seen {
        Seen {
            device: device.into(),
            partition,
            fs: label.map(|l| FileSystem {
                kind: "ext4",
                label: l.into(),
                uuid: format!("uuid-of-{device}"),
            }),
            mounted,
        }
    }

    #[test]
    fn linuxkits_forms_are_read() {
        assert_eq!(
            parse(&args(&["/var/lib/docker"])).unwrap(),
            (Want::FirstFree, "/var/lib/docker".into())
        );
        assert_eq!(
            parse(&args(&["-label", "DATA", "/d"])).unwrap(),
            (Want::Label("DATA".into()), "/d".into())
        );
        assert_eq!(
            parse(&args(&["--device=/dev/vdb1", "/d"])).unwrap().0,
            Want::Device("/dev/vdb1".into())
        );
        assert_eq!(
            parse(&args(&["/dev/vdb1", "/d"])).unwrap().0,
            Want::Device("/dev/vdb1".into())
        );
        assert!(parse(&args(&[])).unwrap_err().contains("no mount point"));
        assert!(
            parse(&args(&["-size", "1", "/d"]))
                .unwrap_err()
                .contains("unknown flag")
        );
    }

    #[test]
    fn the_first_free_partition_with_a_file_system_is_chosen() {
        let devices = [
            seen("/dev/vda", false, Some("WHOLE"), false),
            seen("/dev/vda1", true, Some("BOOT"), true),
            seen("/dev/vda2", true, None, false),
            seen("/dev/vdb1", true, Some("DATA"), false),
        ];
        assert_eq!(
            choose(&Want::FirstFree, &devices).unwrap().device,
            "/dev/vdb1"
        );
        assert_eq!(
            choose(&Want::Label("WHOLE".into()), &devices)
                .unwrap()
                .device,
            "/dev/vda"
        );
        assert_eq!(
            choose(&Want::Uuid("UUID-OF-/DEV/VDB1".into()), &devices)
                .unwrap()
                .device,
            "/dev/vdb1"
        );
        assert!(choose(&Want::Label("NONE".into()), &devices).is_none());
    }
}
