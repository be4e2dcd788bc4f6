//! Volumes (docs/rootfs-layout.md): before the first container runs, each
//! volume's `merged` directory is mounted, so every container that binds the
//! volume sees the same mount. A writable volume is an overlay of its image's
//! files (`lower`, empty for a blank volume) with its changes on the `/run`
//! tmpfs; a read-only volume is a bind of `lower` made read-only in the
//! kernel, so no container can write it whatever its bind options say.

use rustix::mount::MountFlags;
use serde::Deserialize;

use crate::log::log;
use crate::mounts::mount_bind_aware;
use crate::sys::{Console, Files, Mount};

pub const DIR: &str = "/containers/volumes";
/// Where the writable layers of volumes live: /run is a tmpfs.
pub const RW_DIR: &str = "/run/cairn/volumes";

/// One entry of system.json's `volumes`.
#[derive(Debug, Default, Clone, Deserialize, PartialEq, Eq)]
pub struct Volume {
    pub name: String,
    #[serde(default)]
    pub readonly: bool,
}

/// Mounts every volume; a volume that cannot be mounted is reported and the
/// boot goes on (the containers that bind it then see an empty directory).
pub fn mount_all(sys: &mut (impl Files + Console), volumes: &[Volume]) {
    for v in volumes {
        if !usable_name(&v.name) {
            log(
                sys,
                &format!(
                    "warning: volume {:?} has no usable name; skipped (rebuild the image with this cairn)",
                    v.name
                ),
            );
            continue;
        }
        let result = if v.readonly {
            read_only(sys, &v.name)
        } else {
            writable(sys, &v.name)
        };
        match result {
            Ok(how) => log(sys, &format!("volume {}: {how}", v.name)),
            Err(e) => log(
                sys,
                &format!(
                    "warning: volume {}: {e}; containers binding it see an empty directory",
                    v.name
                ),
            ),
        }
    }
}

/// Names the builder accepts: no path separators, nothing hidden.
fn usable_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn read_only(sys: &mut (impl Files + Console), name: &str) -> Result<&'static str, String> {
    let (lower, merged) = (
        format!("{DIR}/{name}/lower"),
        format!("{DIR}/{name}/merged"),
    );
    let bind = Mount {
        source: &lower,
        target: &merged,
        fstype: "",
        flags: MountFlags::BIND.union(MountFlags::RDONLY),
        data: "",
        required: false,
    };
    mount_bind_aware(sys, &bind)
        .map_err(|e| format!("cannot mount {lower} read-only on {merged}: {e}"))?;
    Ok("mounted read-only")
}

fn writable(sys: &mut (impl Files + Console), name: &str) -> Result<&'static str, String> {
    let (lower, merged) = (
        format!("{DIR}/{name}/lower"),
        format!("{DIR}/{name}/merged"),
    );
    crate::services::prepare::writable_overlay(sys, &lower, &merged, &format!("{RW_DIR}/{name}"))?;
    Ok("mounted writable (changes kept in RAM until shutdown)")
}

#[cfg(test)]
mod tests {
    use rustix::io::Errno;
    use rustix::mount::MountFlags;

    use super::{Volume, mount_all};
    use crate::fake::Fake;

    fn volume(name: &str, readonly: bool) -> Volume {
        Volume {
            name: name.into(),
            readonly,
        }
    }

    #[test]
    fn a_writable_volume_is_an_overlay_of_its_files_with_changes_on_run() {
        let mut sys = Fake::new();
        mount_all(&mut sys, &[volume("data", false)]);
        let upper = "/run/cairn/volumes/data/upper";
        let work = "/run/cairn/volumes/data/work";
        assert_eq!(
            sys.calls,
            [
                format!("mkdir {upper}"),
                format!("mkdir {work}"),
                format!(
                    "mount overlay /containers/volumes/data/merged lowerdir=/containers/volumes/data/lower,upperdir={upper},workdir={work}"
                ),
            ]
        );
        assert!(sys.logged("volume data: mounted writable"));
    }

    #[test]
    fn a_read_only_volume_is_bound_then_remounted_read_only() {
        let mut sys = Fake::new();
        mount_all(&mut sys, &[volume("conf", true)]);
        let merged = "/containers/volumes/conf/merged";
        let flags: Vec<MountFlags> = sys
            .mount_flags
            .iter()
            .filter(|(t, _)| t == merged)
            .map(|(_, f)| *f)
            .collect();
        assert_eq!(flags.len(), 2, "{:#?}", sys.calls);
        assert!(flags[0].contains(MountFlags::BIND));
        assert_eq!(flags[0].bits() & 32, 0, "the first mount is the bind");
        assert!(flags[1].contains(MountFlags::BIND | MountFlags::RDONLY));
        assert_eq!(flags[1].bits() & 32, 32, "the second mount is a remount");
        assert!(sys.logged("volume conf: mounted read-only"));
    }

    #[test]
    fn a_volume_that_cannot_be_made_read_only_is_unmounted_and_reported() {
        let mut sys = Fake::new();
        sys.failing_remounts
            .insert("/containers/volumes/conf/merged".into());
        mount_all(&mut sys, &[volume("conf", true), volume("next", false)]);
        assert!(
            sys.calls
                .contains(&"umount /containers/volumes/conf/merged".to_string()),
            "{:#?}",
            sys.calls
        );
        assert!(sys.logged("warning: volume conf: cannot mount"));
        assert!(
            sys.logged("volume next: mounted writable"),
            "{:#?}",
            sys.lines
        );
    }

    #[test]
    fn a_failing_overlay_is_a_warning_and_later_volumes_still_mount() {
        let mut sys = Fake::new();
        sys.failing_mounts
            .insert("/containers/volumes/a/merged".into(), Errno::NODEV);
        mount_all(&mut sys, &[volume("a", false), volume("b", true)]);
        assert!(sys.logged("warning: volume a: cannot mount a writable overlay"));
        assert!(sys.logged("volume b: mounted read-only"));
    }

    #[test]
    fn a_volume_name_with_a_path_in_it_is_never_mounted() {
        let mut sys = Fake::new();
        mount_all(&mut sys, &[volume("../../etc", false), volume("", true)]);
        assert!(sys.calls.is_empty(), "{:#?}", sys.calls);
        assert!(sys.logged("has no usable name"));
    }

    #[test]
    fn volumes_are_mounted_before_the_first_onboot_container() {
        let mut sys = Fake::with_signals(&[crate::sys::Signal::Usr2]);
        sys.dirs
            .insert("/containers/onboot".into(), vec!["000-first".into()]);
        sys.files.insert(
            "/etc/cairn/system.json".into(),
            r#"{"restart": {}, "services": [], "volumes": [{"name": "data", "readonly": false}]}"#
                .into(),
        );
        crate::boot::run(&mut sys);
        let mount = sys
            .calls
            .iter()
            .position(|c| c.starts_with("mount overlay /containers/volumes/data/merged"));
        let create = sys.calls.iter().position(|c| c.contains("runc create"));
        assert!(
            matches!((mount, create), (Some(m), Some(c)) if m < c),
            "{:#?}",
            sys.calls
        );
    }
}
