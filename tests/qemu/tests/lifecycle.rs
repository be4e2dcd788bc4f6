//! One boot through the whole life of a system (x86_64 in `make test`, arm64
//! in `make test-slow`): onboot containers in
//! order (one failing), services started through containerd (one crashing
//! and restarted), a poweroff asked for by a container, onshutdown, and a
//! clean power-down.

use std::time::Duration;

use cairn_qemu_tests::{Arch, Guest, Options, build_config, in_order};

const LIFECYCLE: &str = r#"kernel:
  image: cairn/kernel:latest
  cmdline: "console=ttyS0 console=ttyAMA0"
init:
  - cairn/init:latest
  - cairn/runc:latest
  - cairn/containerd:latest
onboot:
  - name: first
    image: cairn/busybox:latest
    command: ["/bin/busybox", "echo", "onboot one"]
  - name: broken
    image: cairn/busybox:latest
    command: ["/bin/busybox", "sh", "-c", "exit 3"]
  - name: second
    image: cairn/busybox:latest
    command: ["/bin/busybox", "echo", "onboot two"]
onshutdown:
  - name: bye
    image: cairn/busybox:latest
    command: ["/bin/busybox", "echo", "goodbye from onshutdown"]
services:
  - name: crasher
    image: cairn/busybox:latest
    command: ["/bin/busybox", "sh", "-c", "echo crashing; exit 1"]
  - name: stopper
    image: cairn/busybox:latest
    binds: ["/run/cairn/request:/run/cairn/request"]
    command: ["/bin/busybox", "sh", "-c", "sleep 8; touch /run/cairn/request/poweroff; sleep 60"]
"#;

#[test]
fn onboot_order_failures_restarts_and_shutdown_on_x86_64() {
    lifecycle(Arch::Amd64);
}

#[test]
#[ignore = "slow: a second full boot, on arm64 under TCG; make test-slow"]
fn onboot_order_failures_restarts_and_shutdown_on_arm64() {
    lifecycle(Arch::Arm64);
}

fn lifecycle(arch: Arch) {
    let built = build_config("lifecycle", LIFECYCLE, arch).unwrap_or_else(|e| panic!("{e}"));
    let options = Options {
        limit: Duration::from_secs(400),
        ..Options::default()
    };
    let mut guest = Guest::boot(&built, &options).unwrap_or_else(|e| panic!("{e}"));
    guest
        .wait_for("reboot: Power down", Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{e}"));
    let status = guest
        .wait_exit(Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}"));
    let log = guest.log();
    assert!(status.success(), "{status}\n{log}");
    in_order(
        &log,
        &[
            "onboot one",
            "onboot 001-broken failed: exited with status 3",
            "onboot two",
            "containerd is ready",
            "all services started",
            "a container asked for poweroff",
            "goodbye from onshutdown",
            "syncing, unmounting and powering off",
        ],
    );
    assert!(
        log.contains("service crasher exited with status 1; restarting"),
        "{log}"
    );
    assert!(log.matches("crasher: crashing").count() >= 2, "{log}");
    assert!(!log.contains("cairn-init: fatal"), "{log}");
}
