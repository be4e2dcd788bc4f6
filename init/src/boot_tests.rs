use rustix::io::Errno;

use super::*;
use crate::fake::Fake;
use crate::mounts::MOUNTS;
use crate::sys::{Exited, Signal};

#[test]
fn mounts_come_in_order_with_each_parent_before_its_children() {
    let mut sys = Fake::with_signals(&[Signal::Usr2]);
    run(&mut sys);
    let mounts = sys.calls_starting("mount ");
    assert_eq!(
        mounts,
        [
            "mount proc /proc ",
            "mount devtmpfs /dev mode=0755",
            "mount sysfs /sys ",
            "mount devpts /dev/pts mode=0620,gid=5,ptmxmode=0666",
            "mount tmpfs /dev/shm mode=1777",
            "mount tmpfs /run mode=0755",
            "mount tmpfs /tmp mode=1777",
            "mount cgroup2 /sys/fs/cgroup ",
            "mount  / ",
        ]
    );
}

#[test]
fn the_root_is_made_shared_recursively_before_any_container() {
    let mut sys = Fake::with_signals(&[Signal::Usr2]);
    sys.dirs
        .insert("/containers/onboot".into(), vec!["000-first".into()]);
    run(&mut sys);
    let flags: Vec<_> = sys.mount_flags.iter().filter(|(t, _)| t == "/").collect();
    assert_eq!(flags.len(), 1, "{:#?}", sys.calls);
    assert_eq!(flags[0].1.bits(), (1 << 20) | 16384, "MS_SHARED | MS_REC");
    let shared = sys.position("mount  / ");
    let create = sys.calls.iter().position(|c| c.contains("runc create"));
    assert!(matches!((shared, create), (Some(s), Some(c)) if s < c));
    assert!(sys.calls.contains(&"write /run/resolv.conf".to_string()));
}

#[test]
fn every_mount_point_is_created_just_before_its_mount() {
    let mut sys = Fake::with_signals(&[Signal::Usr2]);
    run(&mut sys);
    for m in MOUNTS {
        let mkdir = sys
            .calls
            .iter()
            .position(|c| *c == format!("mkdir {}", m.target));
        let mount = sys
            .calls
            .iter()
            .position(|c| c.starts_with(&format!("mount {} {} ", m.fstype, m.target)));
        let (Some(mkdir), Some(mount)) = (mkdir, mount) else {
            panic!("{} was not created and mounted: {:?}", m.target, sys.calls);
        };
        assert_eq!(mkdir + 1, mount, "{}", m.target);
    }
}

#[test]
fn the_console_is_attached_right_after_dev_is_mounted() {
    let mut sys = Fake::with_signals(&[Signal::Usr2]);
    run(&mut sys);
    let dev = sys
        .calls
        .iter()
        .position(|c| c.starts_with("mount devtmpfs"));
    let attach = sys.calls.iter().position(|c| c == "attach_console");
    assert_eq!(attach, dev.map(|d| d + 1));
}

#[test]
fn the_hostname_comes_from_etc_hostname_after_the_mounts() {
    let mut sys = Fake::with_signals(&[Signal::Usr2]);
    sys.files
        .insert("/etc/hostname".into(), "  edge-7.lab \nignored\n".into());
    run(&mut sys);
    let hostname = sys.calls.iter().position(|c| c.starts_with("hostname "));
    let last_mount = sys
        .calls
        .iter()
        .rposition(|c| c.starts_with("mount ") && c != "mount  / ");
    assert_eq!(sys.calls_starting("hostname "), ["hostname edge-7.lab"]);
    assert!(hostname > last_mount);
}

#[test]
fn the_hostname_defaults_to_cairn_when_the_file_is_missing_or_unusable() {
    assert_eq!(hostname(None), "cairn");
    assert_eq!(hostname(Some("")), "cairn");
    assert_eq!(hostname(Some("\nhost")), "cairn");
    assert_eq!(hostname(Some("has space")), "cairn");
    assert_eq!(hostname(Some(&"a".repeat(65))), "cairn");
    assert_eq!(hostname(Some(&"a".repeat(64))), "a".repeat(64));
}

#[test]
fn each_signal_stops_the_system_the_busybox_way() {
    for (signal, expected) in [
        (Signal::Term, Shutdown::Reboot),
        (Signal::Int, Shutdown::Reboot),
        (Signal::Usr1, Shutdown::Halt),
        (Signal::Usr2, Shutdown::PowerOff),
    ] {
        let mut sys = Fake::with_signals(&[signal]);
        assert_eq!(run(&mut sys), expected, "{signal:?}");
    }
}

#[test]
fn zombies_are_reaped_until_a_stop_signal_arrives() {
    let mut sys = Fake::with_signals(&[Signal::Child, Signal::Child, Signal::Term]);
    sys.zombies = [
        Exited {
            pid: 10,
            code: Some(0),
        },
        Exited {
            pid: 11,
            code: None,
        },
    ]
    .into();
    assert_eq!(run(&mut sys), Shutdown::Reboot);
    assert_eq!(sys.calls_starting("reap "), ["reap 10", "reap 11"]);
    assert!(
        sys.lines
            .iter()
            .any(|l| l.ends_with("reaped process 11 (killed by a signal)"))
    );
}

#[test]
fn stopping_syncs_before_the_reboot_call() {
    let mut sys = Fake::new();
    stop(&mut sys, Shutdown::PowerOff);
    assert_eq!(
        sys.calls[..6],
        [
            "kill -1 15",
            "kill -1 9",
            "sync",
            "unmount_all",
            "sync",
            "reboot PowerOff"
        ]
    );
}

#[test]
fn a_refused_reboot_falls_back_to_halting() {
    let mut sys = Fake {
        refuse_reboot: true,
        ..Fake::new()
    };
    stop(&mut sys, Shutdown::Reboot);
    assert_eq!(
        sys.calls_starting("reboot "),
        ["reboot Reboot", "reboot Halt"]
    );
    assert!(sys.lines.iter().any(|l| l.contains("rebooting failed")));
}

#[test]
fn a_failed_required_mount_powers_off_with_a_clear_message() {
    let mut sys = Fake::new();
    sys.failing_mounts.insert("/proc".into(), Errno::NODEV);
    assert_eq!(run(&mut sys), Shutdown::PowerOff);
    assert!(sys.calls_starting("mount sysfs").is_empty());
    assert!(
        sys.lines
            .iter()
            .any(|l| l.contains("fatal: cannot mount /proc (proc): ")),
        "{:?}",
        sys.lines
    );
}

#[test]
fn a_failed_optional_mount_is_a_warning() {
    let mut sys = Fake::with_signals(&[Signal::Usr2]);
    sys.failing_mounts
        .insert("/sys/fs/cgroup".into(), Errno::NODEV);
    assert_eq!(run(&mut sys), Shutdown::PowerOff);
    assert!(
        sys.lines
            .iter()
            .any(|l| l.contains("warning: cannot mount /sys/fs/cgroup"))
    );
    assert!(sys.lines.iter().any(|l| l.ends_with("cairn-init: ready")));
}

#[test]
fn a_mount_the_kernel_already_made_is_not_an_error() {
    let mut sys = Fake::with_signals(&[Signal::Usr2]);
    sys.failing_mounts.insert("/dev".into(), Errno::BUSY);
    run(&mut sys);
    assert!(
        sys.lines
            .iter()
            .any(|l| l.ends_with("/dev was already mounted"))
    );
    assert!(sys.lines.iter().all(|l| !l.contains("warning")));
    assert!(sys.lines.iter().any(|l| l.ends_with("cairn-init: ready")));
}

#[test]
fn log_lines_carry_a_monotonic_timestamp() {
    let mut sys = Fake {
        millis: 1234,
        ..Fake::new()
    };
    log(&mut sys, "hello");
    sys.millis = 123_456;
    log(&mut sys, "later");
    assert_eq!(
        sys.lines,
        ["[  1.234] cairn-init: hello", "[123.456] cairn-init: later"]
    );
}

#[test]
fn the_banner_of_etc_issue_is_printed_before_the_first_container() {
    let mut sys = Fake::with_signals(&[Signal::Usr2]);
    sys.files
        .insert("/etc/issue".into(), "\nWelcome to LinuxKit\n\n".into());
    sys.dirs
        .insert("/containers/onboot".into(), vec!["000-first".into()]);
    run(&mut sys);
    let banner = sys.lines.iter().position(|l| l == "Welcome to LinuxKit");
    let onboot = sys
        .lines
        .iter()
        .position(|l| l.contains("onboot 000-first starting"));
    assert!(
        matches!((banner, onboot), (Some(b), Some(o)) if b < o),
        "{:#?}",
        sys.lines
    );
}
