//! The whole boot against the fake: stage 1, modules, onboot, services,
//! restarts, requests and shutdown, in order and on failure paths.

use std::time::Duration;

use crate::boot::run;
use crate::fake::Fake;
use crate::services::restart::{Backoff, Policy, When};
use crate::sys::{Shutdown, Signal, Status};

fn system_with_containers() -> Fake {
    let mut sys = Fake::with_signals(&[]);
    sys.dirs.insert(
        "/containers/onboot".into(),
        vec!["001-second".into(), "000-first".into()],
    );
    sys.dirs.insert(
        "/containers/services".into(),
        vec!["web".into(), "getty".into()],
    );
    sys.dirs
        .insert("/containers/onshutdown".into(), vec!["000-bye".into()]);
    sys.files.insert(
        "/etc/cairn/system.json".into(),
        r#"{"restart": {}, "services": ["web", "getty"]}"#.into(),
    );
    sys
}

#[test]
fn from_the_initramfs_the_root_moves_to_a_tmpfs_before_anything_else() {
    let mut sys = Fake::new();
    sys.root_fstype = "rootfs".into();
    // The fake's switch fails: the init says so and powers off.
    assert_eq!(run(&mut sys), Shutdown::PowerOff);
    let tmpfs = sys.position("mount tmpfs /.cairn-root size=100%,mode=0755");
    let moved = sys.position("move_root /.cairn-root");
    let switched = sys.position("switch_root /.cairn-root");
    assert!(
        tmpfs.is_some() && tmpfs < moved && moved < switched,
        "{:?}",
        sys.calls
    );
    assert!(sys.calls_starting("mount sysfs").is_empty());
    assert!(sys.logged("fatal: cannot switch the root to /.cairn-root"));
}

#[test]
fn modules_load_in_list_order_and_a_failure_is_logged_and_skipped() {
    let mut sys = Fake::with_signals(&[Signal::Usr2]);
    sys.files.insert(
        "/etc/cairn/modules".into(),
        "kernel/a.ko\n\n# comment\nkernel/b.ko\nkernel/c.ko\n".into(),
    );
    sys.dirs.insert("/lib/modules/6.1.0-test".into(), vec![]);
    sys.failing_modules
        .insert("/lib/modules/6.1.0-test/kernel/b.ko".into());
    run(&mut sys);
    assert_eq!(
        sys.calls_starting("insmod "),
        [
            "insmod /lib/modules/6.1.0-test/kernel/a.ko",
            "insmod /lib/modules/6.1.0-test/kernel/b.ko",
            "insmod /lib/modules/6.1.0-test/kernel/c.ko",
        ]
    );
    assert!(sys.logged("warning: cannot load module kernel/b.ko"));
    assert!(sys.logged("loaded 2 modules from /lib/modules/6.1.0-test (1 failed)"));
    assert!(sys.position("lo up") > sys.position("insmod /lib/modules/6.1.0-test/kernel/c.ko"));
}

#[test]
fn a_differently_named_module_directory_is_used_when_it_is_the_only_one() {
    let mut sys = Fake::with_signals(&[Signal::Usr2]);
    sys.files
        .insert("/etc/cairn/modules".into(), "kernel/a.ko\n".into());
    sys.dirs
        .insert("/lib/modules".into(), vec!["6.1.0-other".into()]);
    run(&mut sys);
    assert_eq!(
        sys.calls_starting("insmod "),
        ["insmod /lib/modules/6.1.0-other/kernel/a.ko"]
    );
}

#[test]
fn onboot_containers_run_in_lexical_order_and_a_failure_is_reported_and_boot_goes_on() {
    let mut sys = system_with_containers();
    sys.signals.push_back(Signal::Usr2);
    sys.run_status
        .insert("/containers/onboot/000-first".into(), Status::Code(3));
    run(&mut sys);
    assert_eq!(
        sys.calls_starting("run runc create"),
        [
            "run runc create --bundle /containers/onboot/000-first --pid-file /run/cairn/runc/onboot-000-first.pid onboot-000-first",
            "run runc create --bundle /containers/onboot/001-second --pid-file /run/cairn/runc/onboot-001-second.pid onboot-001-second",
            "run runc create --bundle /containers/onshutdown/000-bye --pid-file /run/cairn/runc/onshutdown-000-bye.pid onshutdown-000-bye",
        ]
    );
    // Each runs to completion before the next is created.
    let second = sys
        .calls
        .iter()
        .position(|c| c.ends_with("onboot-001-second"));
    let first_done = sys.position("wait 200");
    assert!(
        first_done.is_some() && first_done < second,
        "{:?}",
        sys.calls
    );
    assert!(sys.logged("onboot 000-first failed: exited with status 3"));
    assert!(sys.logged("onboot 001-second exited with status 0"));
    assert!(sys.logged("service web started"));
}

#[test]
fn services_start_through_containerd_in_config_order_after_it_answers() {
    let mut sys = system_with_containers();
    sys.signals.push_back(Signal::Usr2);
    run(&mut sys);
    let spawn = sys.calls.iter().position(|c| {
        c.starts_with("spawn /usr/bin/containerd --config /run/cairn/containerd.toml")
    });
    let ready = sys.position("ready /run/containerd/containerd.sock");
    let web = sys.position("create web /containers/services/web");
    let getty = sys.position("create getty /containers/services/getty");
    assert!(
        spawn < ready && ready < web && web < getty,
        "{:?}",
        sys.calls
    );
    assert!(sys.position("run runc delete onboot-001-second") < spawn);
    assert!(sys.files["/run/cairn/containerd.toml"].contains("io.containerd.grpc.v1.cri"));
}

#[test]
fn without_containerd_answering_no_service_starts_and_the_system_still_stops_cleanly() {
    let mut sys = system_with_containers();
    sys.no_containerd = true;
    sys.millis = 0;
    // The wait for containerd times out after its 60 s; then a stop signal.
    sys.signals.push_back(Signal::Usr2);
    let how = run(&mut sys);
    assert_eq!(how, Shutdown::PowerOff);
    assert!(sys.calls_starting("create ").is_empty());
    assert!(sys.logged("containerd did not answer"));
}

#[test]
fn shutdown_stops_services_then_containerd_then_runs_onshutdown() {
    let mut sys = system_with_containers();
    sys.signals.push_back(Signal::Term);
    assert_eq!(run(&mut sys), Shutdown::Reboot);
    let term_web = sys.position("service_kill web 15");
    let delete_web = sys.position("delete web");
    let containerd = sys.position("kill 77 15");
    let bye = sys.position("run runc start onshutdown-000-bye");
    assert!(
        term_web.is_some() && term_web < delete_web,
        "{:?}",
        sys.calls
    );
    assert!(
        delete_web < containerd && containerd < bye,
        "{:?}",
        sys.calls
    );
    assert!(sys.logged("reboot requested"));
}

#[test]
fn a_service_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let mut sys = system_with_containers();
    sys.obey_term = false;
    sys.signals.push_back(Signal::Usr2);
    run(&mut sys);
    let term = sys.position("service_kill web 15");
    let kill = sys.position("service_kill web 9");
    assert!(term.is_some() && term < kill, "{:?}", sys.calls);
    assert!(sys.logged("service web did not stop within 10s: killing it"));
}

#[test]
fn an_exited_service_is_restarted_after_its_backoff() {
    let mut sys = system_with_containers();
    // web exits at the first and the third check of the tasks.
    sys.exits_at = vec![(1, "web".into(), 2), (3, "web".into(), 2)];
    sys.poweroff_after_starts = Some(("web".into(), 3));
    assert_eq!(run(&mut sys), Shutdown::PowerOff);
    assert!(sys.logged("service web exited with status 2; restarting in 1.0s"));
    assert!(sys.logged("service web exited with status 2; restarting in 2.0s"));
    assert_eq!(sys.calls_starting("start web").len(), 3);
    assert_eq!(sys.calls_starting("start getty").len(), 1);
}

#[test]
fn a_service_with_restart_never_stays_stopped() {
    let mut sys = system_with_containers();
    sys.files.insert(
        "/containers/services/web/runtime.json".into(),
        r#"{"restart": {"policy": "never"}}"#.into(),
    );
    sys.exits_at = vec![(1, "web".into(), 0)];
    sys.poweroff_after_starts = Some(("getty".into(), 1));
    sys.request_after_tasks = Some(4);
    run(&mut sys);
    assert!(sys.logged("service web exited with status 0; not restarted"));
    assert_eq!(sys.calls_starting("start web").len(), 1);
}

#[test]
fn a_request_file_from_a_container_stops_the_system_and_is_removed() {
    let mut sys = system_with_containers();
    sys.files
        .insert("/run/cairn/request/reboot".into(), String::new());
    assert_eq!(run(&mut sys), Shutdown::Reboot);
    assert!(
        sys.calls
            .iter()
            .any(|c| c == "rm /run/cairn/request/reboot")
    );
    assert!(sys.logged("a container asked for reboot"));
    // Asked during onboot: the services never start.
    assert!(sys.calls_starting("create ").is_empty());
}

#[test]
fn the_backoff_doubles_to_the_maximum_and_starts_over_after_a_long_run() {
    let policy = Policy::default();
    let mut b = Backoff::new();
    let short = Duration::from_secs(1);
    let delays: Vec<u64> = (0..7).map(|_| b.delay(&policy, short).as_secs()).collect();
    assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30]);
    assert_eq!(b.delay(&policy, Duration::from_secs(60)).as_secs(), 1);
    assert_eq!(b.delay(&policy, short).as_secs(), 2);
}

#[test]
fn restart_policies_decide_on_the_exit_status() {
    let json = |p: &str| crate::services::restart::PolicyJson {
        policy: Some(p.into()),
        ..Default::default()
    };
    let (on_failure, _) = Policy::default().with(&json("on-failure"));
    assert!(!on_failure.restarts(0) && on_failure.restarts(1));
    let (never, _) = Policy::default().with(&json("no"));
    assert_eq!(never.when, When::Never);
    let (kept, unknown) = Policy::default().with(&json("sometimes"));
    assert_eq!(
        (kept.when, unknown.as_deref()),
        (When::Always, Some("sometimes"))
    );
}

#[test]
fn runtime_config_toml_adds_containerds_options_and_sends_its_output() {
    let mut sys = system_with_containers();
    sys.files.insert(
        "/etc/containerd/runtime-config.toml".into(),
        "cliopts = \"--log-level debug\"\nstderr = \"/var/log/containerd-err.log\"\nstdout = \"stdout\"\n"
            .into(),
    );
    sys.signals.push_back(Signal::Usr2);
    run(&mut sys);
    assert_eq!(
        sys.calls_starting("spawn "),
        [
            "spawn /usr/bin/containerd --config /run/cairn/containerd.toml --log-level debug > /dev/console 2> /var/log/containerd-err.log"
        ]
    );
}

#[test]
fn a_broken_runtime_config_toml_is_a_warning_and_containerd_starts_as_usual() {
    let mut sys = system_with_containers();
    sys.files.insert(
        "/etc/containerd/runtime-config.toml".into(),
        "stdout = \"somewhere\"\n".into(),
    );
    sys.signals.push_back(Signal::Usr2);
    run(&mut sys);
    assert!(sys.logged("warning: /etc/containerd/runtime-config.toml: line 1"));
    assert_eq!(
        sys.calls_starting("spawn "),
        [
            "spawn /usr/bin/containerd --config /run/cairn/containerd.toml > /var/log/containerd.log 2> /var/log/containerd.log"
        ]
    );
}
