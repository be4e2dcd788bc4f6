//! Stage 1 of a disk boot: from the initramfs of a UKI, find the root
//! partition by its PARTUUID, put dm-verity over it, read it once end to
//! end so a corrupted block stops the boot before any container runs, mount
//! its squashfs, measure the containers into PCR 15, and switch to it.

use std::io;
use std::time::Duration;

use cairn_boot::measure::{Event, PCR, Phase};
use rustix::mount::MountFlags;

pub mod args;
pub mod dm;
pub mod find;
pub mod gpt_scan;
pub mod root_disk;

use crate::log::log;
use crate::measure_boot::{self, BundleError, Measurer};
use crate::modules;
use crate::sys::{Mount, Shutdown, Sys};
use args::{ArgsError, BLOCK, DiskArgs, RootAt};
use find::{Partition, wait_for_root};

/// Where the verified root is mounted before it becomes `/`.
pub const SYSROOT: &str = "/sysroot";
/// The device-mapper name of the verified root.
pub const DM_NAME: &str = "cairn-root";

/// How long devtmpfs may take to create `/dev/dm-N`.
const NODE_WAIT: Duration = Duration::from_secs(2);
pub const POLL: Duration = Duration::from_millis(100);
/// The verification read size.
const CHUNK: usize = 1 << 20;
const MIB: u64 = 1 << 20;

const HIDDEN: MountFlags = MountFlags::NOSUID.union(MountFlags::NODEV);

/// Why a disk boot cannot go on; each is fatal before any container runs.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error(transparent)]
    Args(#[from] ArgsError),
    #[error(
        "no disk has {root} after {secs} s (seen: {seen}); \
         check that the disk is attached and its driver is in /etc/cairn/modules"
    )]
    RootNotFound {
        root: RootAt,
        secs: u64,
        seen: String,
    },
    #[error(
        "cannot set up dm-verity device {DM_NAME} over {partition}: {source}; \
         the kernel's device-mapper message above says why"
    )]
    DeviceMapper {
        partition: String,
        #[source]
        source: io::Error,
    },
    #[error("the dm-verity device {path} did not appear within {} s", NODE_WAIT.as_secs())]
    NodeMissing { path: String },
    #[error("root partition failed verification at byte {offset} (dm-verity): {source}")]
    Verification {
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error(
        "root partition's verity device {path} ends at byte {end}, but cairn.verity says {expected}"
    )]
    Short {
        path: String,
        end: u64,
        expected: u64,
    },
    #[error("cannot create the mount point {target}: {source} (the root image must contain it)")]
    MountPoint {
        target: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot mount {source_dev} at {target} ({fstype}): {source}")]
    Mount {
        source_dev: String,
        target: String,
        fstype: &'static str,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("cannot switch the root to {SYSROOT}: {source}")]
    SwitchRoot {
        #[source]
        source: io::Error,
    },
}

/// Prints the fatal error the way the console contract says and stops.
pub fn fatal_stop(sys: &mut impl Sys, error: &DiskError) -> Shutdown {
    log(sys, &format!("FATAL: {error}; powering off"));
    Shutdown::PowerOff
}

/// Runs stage 1 of a disk boot with /proc and /dev mounted; returns only on
/// failure (on success the init runs again from the verified root).
pub fn boot(sys: &mut impl Sys, args: &DiskArgs) -> DiskError {
    match boot_steps(sys, args) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

fn boot_steps(sys: &mut impl Sys, args: &DiskArgs) -> Result<std::convert::Infallible, DiskError> {
    mount(
        sys,
        "sysfs",
        "/sys",
        "sysfs",
        HIDDEN.union(MountFlags::NOEXEC),
        "",
    )?;
    modules::load_modules(sys);
    let mut measurer = Measurer::open(sys);
    measurer.extend(sys, &Event::Phase(Phase::EnterInitrd));

    let root = wait_for_root(sys, &args.root)?;
    let how = match args.root {
        RootAt::Partuuid(g) => format!("PARTUUID {g}"),
        RootAt::Mbr(p) => format!("PARTUUID {p}"),
        RootAt::WholeDisk => "the whole disk".to_string(),
    };
    log(sys, &format!("root: /dev/{} ({how})", root.name));
    let node = verity_device(sys, args, &root)?;
    verify(sys, &node, args.data_bytes())?;

    mount(sys, &node, SYSROOT, "squashfs", MountFlags::RDONLY, "")?;
    for (dir, mode) in [("run", "0755"), ("tmp", "1777")] {
        let target = format!("{SYSROOT}/{dir}");
        mount(
            sys,
            "tmpfs",
            &target,
            "tmpfs",
            HIDDEN,
            &format!("mode={mode}"),
        )?;
    }
    writable_var(sys)?;

    let containers = measure_boot::containers(sys, SYSROOT)?;
    measure_boot::extend_plan(sys, &mut measurer, &containers);
    if let Err(e) = measurer.write(sys, SYSROOT) {
        log(
            sys,
            &format!("warning: cannot write {SYSROOT}{}: {e}", measure_boot::LOG),
        );
    }
    let summary = if measurer.tpm() {
        format!("tpm: PCR {PCR} extended with {} events", measurer.events())
    } else {
        format!("measured {} events (not in a TPM)", measurer.events())
    };
    log(sys, &summary);

    // The init mounts sysfs again in the new root; /proc and /dev are
    // detached by switch_root.
    if let Err(e) = sys.unmount("/sys") {
        log(sys, &format!("warning: cannot detach /sys: {e}"));
    }
    log(
        sys,
        &format!("switching root to {SYSROOT} and starting again"),
    );
    Err(DiskError::SwitchRoot {
        source: sys.switch_root(SYSROOT),
    })
}

/// `/var` is writable but keeps what the images put there (the
/// `/var/run -> ../run` link that LinuxKit-style binds of `/var/run` need,
/// packages' `/var/lib/...`): an overlay of the root's `/var` with its
/// changes on the `/run` tmpfs, which stage 2 keeps.
fn writable_var(sys: &mut impl Sys) -> Result<(), DiskError> {
    let upper = format!("{SYSROOT}/run/cairn/var/upper");
    let work = format!("{SYSROOT}/run/cairn/var/work");
    for dir in [&upper, &work] {
        sys.mkdir(dir).map_err(|source| DiskError::MountPoint {
            target: dir.clone(),
            source,
        })?;
    }
    let target = format!("{SYSROOT}/var");
    let data = format!("lowerdir={target},upperdir={upper},workdir={work}");
    mount(sys, "overlay", &target, "overlay", HIDDEN, &data)
}

fn mount(
    sys: &mut impl Sys,
    source: &str,
    target: &str,
    fstype: &'static str,
    flags: MountFlags,
    data: &str,
) -> Result<(), DiskError> {
    match sys.mkdir(target) {
        Err(e) if e.raw_os_error() != Some(rustix::io::Errno::EXIST.raw_os_error()) => {
            return Err(DiskError::MountPoint {
                target: target.into(),
                source: e,
            });
        }
        _ => {}
    }
    let m = Mount {
        source,
        target,
        fstype,
        flags,
        data,
        required: true,
    };
    match sys.mount(&m) {
        Ok(()) => {}
        // The kernel mounts sysfs itself in some configurations.
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::BUSY.raw_os_error()) => {}
        Err(e) => {
            return Err(DiskError::Mount {
                source_dev: source.into(),
                target: target.into(),
                fstype,
                source: e,
            });
        }
    }
    log(sys, &format!("mounted {target} ({fstype})"));
    Ok(())
}

/// Creates the verity device over the partition and waits for its node.
fn verity_device(
    sys: &mut impl Sys,
    args: &DiskArgs,
    root: &Partition,
) -> Result<String, DiskError> {
    let target = args.verity_target(&root.dev);
    let minor = sys
        .dm_create(DM_NAME, &target)
        .map_err(|source| DiskError::DeviceMapper {
            partition: format!("/dev/{} ({})", root.name, root.dev),
            source,
        })?;
    let node = format!("/dev/dm-{minor}");
    let start = sys.uptime();
    while !sys.exists(&node) {
        if sys.uptime().saturating_sub(start) >= NODE_WAIT {
            return Err(DiskError::NodeMissing { path: node });
        }
        sys.sleep(POLL);
    }
    log(
        sys,
        &format!(
            "verity: {node} ({DM_NAME}) over /dev/{}, root hash {}",
            root.name, args.roothash
        ),
    );
    Ok(node)
}

/// Reads the whole verity device once: dm-verity checks every block against
/// the root hash and fails the read of a corrupted one with EIO.
fn verify(sys: &mut impl Sys, node: &str, expected: u64) -> Result<(), DiskError> {
    let start = sys.uptime();
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0u64;
    loop {
        match sys.read_at(node, offset, &mut buf) {
            Ok(0) => break,
            Ok(n) => offset += n as u64,
            Err(source) => {
                let offset = first_bad_block(sys, node, offset);
                return Err(DiskError::Verification { offset, source });
            }
        }
    }
    if offset != expected {
        return Err(DiskError::Short {
            path: node.into(),
            end: offset,
            expected,
        });
    }
    let took = sys.uptime().saturating_sub(start);
    log(
        sys,
        &format!(
            "verity: root verified, {} MiB in {}.{} s",
            offset.div_ceil(MIB),
            took.as_secs(),
            took.subsec_millis() / 100
        ),
    );
    Ok(())
}

/// The offset of the first block of the chunk at `chunk` that fails alone,
/// so the console names the corrupted block; `chunk` when none does.
fn first_bad_block(sys: &mut impl Sys, node: &str, chunk: u64) -> u64 {
    let mut block = vec![0u8; BLOCK as usize];
    (chunk..chunk + CHUNK as u64)
        .step_by(BLOCK as usize)
        .find(|at| sys.read_at(node, *at, &mut block).is_err())
        .unwrap_or(chunk)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
