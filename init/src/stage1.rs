//! What the init does before anything else runs: leave the initramfs, for
//! the verified root partition of a disk boot (`disk.rs`) or else for a
//! tmpfs (runc's pivot_root cannot work on the initramfs), load the kernel
//! modules the image lists (`modules.rs`), and bring up the loopback
//! interface.

use rustix::mount::MountFlags;

use crate::disk::args::DiskArgs;
use crate::disk::{self, DiskError};
use crate::fatal::Fatal;
use crate::log::log;
use crate::mounts::{MOUNTS, mount_one};
use crate::sys::{Mount, Sys};

/// Why stage 1 cannot go on.
#[derive(Debug)]
pub enum Failure {
    Fatal(Fatal),
    /// A disk boot failed: the root is missing or not verified.
    Disk(DiskError),
}

impl From<Fatal> for Failure {
    fn from(fatal: Fatal) -> Failure {
        Failure::Fatal(fatal)
    }
}

/// Where the new root is mounted while the files move into it.
pub const NEW_ROOT: &str = "/.cairn-root";

const STAGE1_MOUNTS: &[Mount<'static>] = &[
    Mount {
        source: "proc",
        target: "/proc",
        fstype: "proc",
        flags: MountFlags::NOSUID
            .union(MountFlags::NODEV)
            .union(MountFlags::NOEXEC),
        data: "",
        required: true,
    },
    Mount {
        source: "devtmpfs",
        target: "/dev",
        fstype: "devtmpfs",
        flags: MountFlags::NOSUID,
        data: "mode=0755",
        required: true,
    },
];

const NEW_ROOT_MOUNT: Mount<'static> = Mount {
    source: "tmpfs",
    target: NEW_ROOT,
    fstype: "tmpfs",
    flags: MountFlags::empty(),
    // The files move one at a time, so the tmpfs never holds more than the
    // initramfs did; 100% lets it grow to what RAM allows.
    data: "size=100%,mode=0755",
    required: true,
};

/// When `/` is the initramfs, switches to the verified root partition when
/// the command line names one (`cairn.root=`), else moves every file to a
/// tmpfs, and executes the init again from there (it returns only on
/// failure). On any other root it returns the mount points that are
/// mounted already (by this step or by stage 1 before the switch), which
/// stay as they are.
pub fn switch_if_initramfs(sys: &mut impl Sys) -> Result<Vec<&'static str>, Failure> {
    for m in STAGE1_MOUNTS {
        mount_one(sys, m)?;
        if m.target == "/dev"
            && let Err(e) = sys.attach_console()
        {
            log(sys, &format!("warning: cannot open /dev/console: {e}"));
        }
    }
    let fstype = sys.root_fstype().map_err(|source| Fatal {
        what: "cannot read the root filesystem type from /proc/self/mountinfo".into(),
        source,
    })?;
    if fstype != "rootfs" {
        log(sys, &format!("root filesystem is {fstype}"));
        return Ok(mounted_already(sys));
    }
    let cmdline = sys.read_file("/proc/cmdline").unwrap_or_default();
    match DiskArgs::from_cmdline(&cmdline) {
        None => {}
        Some(Ok(args)) => return Err(Failure::Disk(disk::boot(sys, &args))),
        Some(Err(e)) => return Err(Failure::Disk(e.into())),
    }
    log(
        sys,
        "running from the initramfs: moving the root to a tmpfs",
    );
    mount_one(sys, &NEW_ROOT_MOUNT)?;
    let moved = sys.move_root(NEW_ROOT).map_err(|source| Fatal {
        what: format!("cannot move the initramfs into {NEW_ROOT}"),
        source,
    })?;
    log(
        sys,
        &format!("moved {moved} entries; switching root and starting again"),
    );
    let source = sys.switch_root(NEW_ROOT);
    Err(Failure::Fatal(Fatal {
        what: format!("cannot switch the root to {NEW_ROOT}"),
        source,
    }))
}

/// Stage 1's mounts and those of [`MOUNTS`] that /proc/self/mountinfo
/// lists: a disk boot hands over `/run` with the measurement log in it.
fn mounted_already(sys: &mut impl Sys) -> Vec<&'static str> {
    let mut mounted: Vec<&'static str> = STAGE1_MOUNTS.iter().map(|m| m.target).collect();
    let info = sys.read_file("/proc/self/mountinfo").unwrap_or_default();
    let points = mount_points(&info);
    let kept: Vec<&'static str> = MOUNTS
        .iter()
        .map(|m| m.target)
        .filter(|t| !mounted.contains(t) && points.contains(t))
        .collect();
    if !kept.is_empty() {
        log(sys, &format!("kept mounted: {}", kept.join(" ")));
    }
    mounted.extend(kept);
    mounted
}

/// The mount points of mountinfo's text (field 5 of each line).
pub fn mount_points(mountinfo: &str) -> Vec<&str> {
    mountinfo
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .collect()
}

pub fn loopback(sys: &mut impl Sys) {
    match sys.loopback_up() {
        Ok(()) => log(sys, "lo is up"),
        Err(e) => log(sys, &format!("warning: cannot bring up lo: {e}")),
    }
}
