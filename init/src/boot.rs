//! The boot sequence: from the initramfs move the root to a tmpfs and switch
//! to it, mount the system filesystems, set the hostname, load modules, bring
//! up `lo`, mount the data partition and the volumes, run the onboot
//! containers, start containerd and the services, then supervise (and mark
//! a boot the loader counts good once the services stayed up) until a
//! signal or a request asks to stop. Written against [`Sys`] only, so the
//! tests run it on the host against a recording fake.

use std::time::Duration;

use crate::fatal::Fatal;
use crate::log::log;
use crate::mounts::{MOUNTS, mount_one, share_root};
use crate::services::{self, oneshot, system, volumes};
use crate::signals::signal_stop;
use crate::sys::{Shutdown, Sys};
use crate::{bless, data, disk, measure_boot, modules, request, stage1};

/// The hostname when /etc/hostname is missing or unusable.
pub const DEFAULT_HOSTNAME: &str = "cairn";

/// The kernel's HOST_NAME_MAX.
const HOSTNAME_MAX: usize = 64;

/// Boots, supervises, and returns how the system must stop: as asked by a
/// signal or a request, or power off after a fatal error. The services are
/// stopped and the onshutdown containers have run when it returns.
pub fn run(sys: &mut impl Sys) -> Shutdown {
    log(sys, "starting");
    if let Err(e) = sys.disable_ctrl_alt_del() {
        log(
            sys,
            &format!("warning: Ctrl-Alt-Del stays a hard reboot: {e}"),
        );
    }
    let mounted = match stage1::switch_if_initramfs(sys) {
        Ok(mounted) => mounted,
        Err(stage1::Failure::Fatal(fatal)) => return fatal_stop(sys, &fatal),
        Err(stage1::Failure::Disk(e)) => return disk::fatal_stop(sys, &e),
    };
    if let Err(fatal) = setup(sys, &mounted) {
        return fatal_stop(sys, &fatal);
    }
    modules::load_modules(sys);
    bless::mount_efivars(sys);
    stage1::loopback(sys);
    if let Err(e) = sys.mkdir(request::DIR) {
        log(
            sys,
            &format!("warning: cannot create {}: {e}", request::DIR),
        );
    }
    share_root(sys);
    resolv_conf(sys);
    let system = system::load(sys);
    data::mount(sys, system.data.as_ref());
    volumes::mount_all(sys, &system.volumes);
    issue(sys);
    log(sys, "ready");
    let mut how = oneshot::run_all(sys, oneshot::ONBOOT);
    let mut services = services::Services::load(sys, &system);
    if how.is_none() {
        services.start_all(sys);
        measure_boot::ready(sys);
        let mut blessing = bless::Blessing::start(sys, system.good_after());
        how = Some(supervise(sys, &mut services, &mut blessing));
    }
    let how = how.unwrap_or(Shutdown::PowerOff);
    log(sys, &format!("{} requested", how.noun()));
    services.stop_all(sys);
    oneshot::run_all(sys, oneshot::ONSHUTDOWN);
    how
}

/// The banner, printed before the first container as LinuxKit's init does
/// (scripts and tests wait for its `Welcome to LinuxKit`).
pub const ISSUE: &str = "/etc/issue";
/// More than any banner needs; a huge file is cut, not printed whole.
const ISSUE_MAX: usize = 4096;

fn issue(sys: &mut impl Sys) {
    let Ok(text) = sys.read_file(ISSUE) else {
        return;
    };
    let mut end = text.len().min(ISSUE_MAX);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    for line in text[..end].lines() {
        sys.console(line);
    }
}

/// Where the builder's `/etc/resolv.conf` points: an empty file on the
/// `/run` tmpfs, for binds to find and dhcpcd's hook to fill in place.
pub const RESOLV_CONF: &str = "/run/resolv.conf";

fn resolv_conf(sys: &mut impl Sys) {
    if sys.exists(RESOLV_CONF) {
        return;
    }
    if let Err(e) = sys.write_file(RESOLV_CONF, "") {
        log(sys, &format!("warning: cannot create {RESOLV_CONF}: {e}"));
    }
}

fn fatal_stop(sys: &mut impl Sys, fatal: &Fatal) -> Shutdown {
    log(sys, &format!("fatal: {fatal}"));
    log(
        sys,
        "the system cannot run without it; check the kernel configuration (cairn kernel check)",
    );
    Shutdown::PowerOff
}

/// Mounts the system filesystems but those `mounted` already, and sets the
/// hostname.
pub fn setup(sys: &mut impl Sys, mounted: &[&str]) -> Result<(), Fatal> {
    for m in MOUNTS.iter().filter(|m| !mounted.contains(&m.target)) {
        match mount_one(sys, m) {
            Ok(()) => {}
            Err(fatal) if m.required => return Err(fatal),
            Err(e) => log(sys, &format!("warning: {e}; continuing without it")),
        }
        if m.target == "/dev"
            && let Err(e) = sys.attach_console()
        {
            log(sys, &format!("warning: cannot open /dev/console: {e}"));
        }
    }
    let name = hostname(sys.read_file("/etc/hostname").ok().as_deref());
    if let Err(source) = sys.set_hostname(&name) {
        return Err(Fatal {
            what: format!("cannot set the hostname to {name:?}"),
            source,
        });
    }
    log(sys, &format!("hostname {name}"));
    Ok(())
}

/// The first line of /etc/hostname when it is a usable name, else the default.
pub fn hostname(file: Option<&str>) -> String {
    let line = file.and_then(|t| t.lines().next()).unwrap_or("").trim();
    let usable = !line.is_empty()
        && line.len() <= HOSTNAME_MAX
        && line
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if usable { line } else { DEFAULT_HOSTNAME }.to_string()
}

/// Reaps zombies, restarts services, watches for requests and blesses the
/// boot once the services stayed up, until a signal or a request asks the
/// system to stop.
pub fn supervise(
    sys: &mut impl Sys,
    services: &mut services::Services,
    blessing: &mut bless::Blessing,
) -> Shutdown {
    loop {
        if let Some(how) = services.pending.take() {
            return how;
        }
        let timeout = services.next_wakeup(sys.uptime());
        if let Some(signal) = sys.wait_signal(Some(timeout)) {
            if let Some(how) = signal_stop(signal) {
                // Children that exited just before the signal are reaped all the same.
                reap_all(sys, services);
                return how;
            }
            reap_all(sys, services);
        }
        if let Some(how) = request::take(sys) {
            return how;
        }
        services.tick(sys);
        blessing.check(sys, services.all_up_since());
    }
}

/// Reaps every child that has exited.
pub fn reap_all(sys: &mut impl Sys, services: &mut services::Services) {
    while let Some(exited) = sys.reap() {
        if services.reaped(sys, &exited) {
            continue;
        }
        let how = match exited.code {
            Some(code) => format!("exit code {code}"),
            None => "killed by a signal".to_string(),
        };
        log(sys, &format!("reaped process {} ({how})", exited.pid));
    }
}

/// Sends every other process SIGTERM then SIGKILL, syncs, unmounts and stops
/// the system. Returns only when the kernel refused both `how` and, as a
/// fallback, halting.
pub fn stop(sys: &mut impl Sys, how: Shutdown) {
    log(sys, "stopping every remaining process");
    let _ = sys.kill(-1, rustix::process::Signal::TERM.as_raw());
    wait_for_children(sys, KILL_GRACE);
    let _ = sys.kill(-1, rustix::process::Signal::KILL.as_raw());
    wait_for_children(sys, Duration::from_millis(200));
    log(sys, &format!("syncing, unmounting and {}", how.verb()));
    sys.sync();
    sys.unmount_all();
    sys.sync();
    let err = sys.reboot(how);
    log(sys, &format!("{} failed: {err}", how.verb()));
    if how != Shutdown::Halt {
        let err = sys.reboot(Shutdown::Halt);
        log(sys, &format!("halting failed: {err}"));
    }
}

/// How long the last processes get between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(1);

/// Reaps children for up to `limit`, returning early when none is left.
fn wait_for_children(sys: &mut impl Sys, limit: Duration) {
    let end = sys.uptime() + limit;
    loop {
        while let Some(_exited) = sys.reap() {}
        if !sys.has_children() {
            return;
        }
        let now = sys.uptime();
        if now >= end {
            return;
        }
        sys.wait_signal(Some(end - now));
    }
}

#[cfg(test)]
#[path = "boot_tests.rs"]
mod tests;
