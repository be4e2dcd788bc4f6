//! The filesystems PID 1 mounts and how it mounts them: the system table,
//! one mount with its mount point, read-only binds that stay read-only, and
//! `/` made shared.

use std::io;

use rustix::io::Errno;
use rustix::mount::MountFlags;

use crate::fatal::Fatal;
use crate::log::log;
use crate::sys::{Console, Files, MS_REMOUNT, Mount};

const HIDDEN: MountFlags = MountFlags::NOSUID.union(MountFlags::NODEV);
const HIDDEN_NOEXEC: MountFlags = HIDDEN.union(MountFlags::NOEXEC);

/// What PID 1 mounts, in order: each target's parent is mounted before it.
pub const MOUNTS: &[Mount<'static>] = &[
    mount("proc", "/proc", "proc", HIDDEN_NOEXEC, "", true),
    mount("sysfs", "/sys", "sysfs", HIDDEN_NOEXEC, "", true),
    mount(
        "devtmpfs",
        "/dev",
        "devtmpfs",
        MountFlags::NOSUID,
        "mode=0755",
        true,
    ),
    // gid 5 is `tty` in Debian's base passwd; ptmxmode lets any user open a pty.
    mount(
        "devpts",
        "/dev/pts",
        "devpts",
        MountFlags::NOSUID.union(MountFlags::NOEXEC),
        "mode=0620,gid=5,ptmxmode=0666",
        false,
    ),
    mount("shm", "/dev/shm", "tmpfs", HIDDEN, "mode=1777", false),
    mount("tmpfs", "/run", "tmpfs", HIDDEN, "mode=0755", true),
    mount("tmpfs", "/tmp", "tmpfs", HIDDEN, "mode=1777", false),
    // Containers need cgroup v2, but a kernel without it should still boot far
    // enough to say so.
    mount(
        "cgroup2",
        "/sys/fs/cgroup",
        "cgroup2",
        HIDDEN_NOEXEC,
        "",
        false,
    ),
];

const fn mount(
    source: &'static str,
    target: &'static str,
    fstype: &'static str,
    flags: MountFlags,
    data: &'static str,
    required: bool,
) -> Mount<'static> {
    Mount {
        source,
        target,
        fstype,
        flags,
        data,
        required,
    }
}

pub fn mount_one(sys: &mut (impl Files + Console), m: &Mount<'_>) -> Result<(), Fatal> {
    let fail = |what: &str, source| Fatal {
        what: format!("cannot {what} {} ({})", m.target, m.fstype),
        source,
    };
    match sys.mkdir(m.target) {
        Err(e) if e.raw_os_error() != Some(Errno::EXIST.raw_os_error()) => {
            return Err(fail("create the mount point", e));
        }
        _ => {}
    }
    match sys.mount(m) {
        Ok(()) => {
            log(sys, &format!("mounted {} ({})", m.target, m.fstype));
            Ok(())
        }
        // The kernel mounts devtmpfs itself with CONFIG_DEVTMPFS_MOUNT.
        Err(e) if e.raw_os_error() == Some(Errno::BUSY.raw_os_error()) => {
            log(sys, &format!("{} was already mounted", m.target));
            Ok(())
        }
        Err(e) => Err(fail("mount", e)),
    }
}

/// Mounts `m`. mount(2) ignores MS_RDONLY on a new bind mount, so a
/// read-only bind is remounted read-only; when that fails the bind is
/// removed again, never left writable.
pub fn mount_bind_aware(sys: &mut impl Files, m: &Mount<'_>) -> io::Result<()> {
    sys.mount(m)?;
    if !m.flags.contains(MountFlags::BIND.union(MountFlags::RDONLY)) {
        return Ok(());
    }
    let remount = Mount {
        flags: m.flags.union(MountFlags::from_bits_retain(MS_REMOUNT)),
        ..*m
    };
    sys.mount(&remount).inspect_err(|_| {
        let _ = sys.unmount(m.target);
    })
}

/// mount(2)'s MS_SHARED and MS_REC, which rustix's MountFlags leaves out.
const MS_SHARED_REC: u32 = (1 << 20) | 16384;

/// Makes every mount shared, as LinuxKit's init does, so a mount a container
/// makes under an `rshared` bind (the mount package's `/var`) appears on the
/// host and in every other container.
pub fn share_root(sys: &mut (impl Files + Console)) {
    let m = Mount {
        source: "",
        target: "/",
        fstype: "",
        flags: MountFlags::from_bits_retain(MS_SHARED_REC),
        data: "",
        required: false,
    };
    if let Err(e) = sys.mount(&m) {
        log(
            sys,
            &format!("warning: cannot make / shared ({e}); mounts made by containers stay in them"),
        );
    }
}
