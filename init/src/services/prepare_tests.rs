//! The runtime section through whole boots against the fake: which step
//! comes before the container is created, which between create and start,
//! and how a failing step fails only its container.

use crate::boot::run;
use crate::fake::Fake;
use crate::sys::{Signal, Status};

const ONBOOT: &str = "/containers/onboot/000-net/runtime.json";
const WEB: &str = "/containers/services/web/runtime.json";

/// One onboot container and two services; a poweroff once both started.
fn system() -> Fake {
    let mut sys = Fake::with_signals(&[]);
    sys.dirs.insert(
        "/containers/onboot".into(),
        vec!["000-net".into(), "001-after".into()],
    );
    sys.dirs.insert(
        "/containers/services".into(),
        vec!["web".into(), "getty".into()],
    );
    sys.files.insert(
        "/etc/cairn/system.json".into(),
        r#"{"restart": {}, "services": ["web", "getty"]}"#.into(),
    );
    sys.signals.push_back(Signal::Usr2);
    sys
}

fn at(sys: &Fake, call: &str) -> usize {
    match sys.position(call) {
        Some(i) => i,
        None => panic!("no call {call:?} in {:#?}", sys.calls),
    }
}

fn in_order(sys: &Fake, calls: &[&str]) {
    let positions: Vec<usize> = calls.iter().map(|c| at(sys, c)).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "{calls:#?} not in this order in {:#?}",
        sys.calls
    );
}

const FULL: &str = r#"{
    "cgroups": ["podruntime/web"],
    "mounts": [{"type": "tmpfs", "source": "tmpfs", "destination": "/run/web", "options": ["nosuid"]}],
    "mkdir": ["/run/web/data", "var/cache"],
    "interfaces": [{"name": "eth1", "add": null, "peer": "veth-web", "createInRoot": false}],
    "bindNS": {"net": "/run/netns/web", "uts": "/run/uts/web"},
    "namespace": "",
    "readonly": true
}"#;

#[test]
fn a_service_gets_mounts_mkdir_cgroups_before_create_and_interfaces_and_bind_ns_before_start() {
    let mut sys = system();
    sys.files.insert(WEB.into(), FULL.into());
    run(&mut sys);
    in_order(
        &sys,
        &[
            "mount tmpfs /run/web ",
            "mkdir /run/web/data",
            "mkdir /containers/services/web/rootfs/var/cache",
            "mkdir /sys/fs/cgroup/podruntime/web",
            "create web /containers/services/web",
            "task web",
            "link add veth eth1 peer veth-web",
            "link move eth1 100",
            "bind net 100 /run/netns/web",
            "bind uts 100 /run/uts/web",
            "start web",
        ],
    );
    assert!(
        sys.logged(
            "service web: created interface eth1 (veth, peer veth-web in the root namespace)"
        )
    );
    assert!(sys.logged("service web: its net namespace is bound at /run/netns/web"));
    assert!(sys.logged("service web started (pid 100)"));
    // getty asks for nothing.
    assert!(sys.calls_starting("bind ").len() == 2);
}

#[test]
fn an_onboot_container_is_prepared_between_runc_create_and_runc_start() {
    let mut sys = system();
    sys.files.insert(ONBOOT.into(), FULL.into());
    run(&mut sys);
    let id = "onboot-000-net";
    in_order(
        &sys,
        &[
            "mount tmpfs /run/web ",
            "mkdir /sys/fs/cgroup/podruntime/web",
            &format!(
                "run runc create --bundle /containers/onboot/000-net --pid-file /run/cairn/runc/{id}.pid {id}"
            ),
            "link add veth eth1 peer veth-web",
            "link move eth1 200",
            "bind net 200 /run/netns/web",
            &format!("run runc start {id}"),
            "wait 200",
            &format!("run runc delete {id}"),
            "run runc start onboot-001-after",
        ],
    );
    assert!(sys.logged("onboot 000-net exited with status 0"));
}

#[test]
fn interface_kinds_follow_linuxkit_where_they_are_created_and_moved() {
    let mut sys = system();
    sys.files.insert(
        WEB.into(),
        r#"{"interfaces": [
            {"name": "wg0", "add": "wireguard"},
            {"name": "wg1", "add": "wireguard", "createInRoot": true},
            {"name": "eth0"}
        ]}"#
        .into(),
    );
    run(&mut sys);
    assert_eq!(
        sys.calls_starting("link "),
        [
            "link add wireguard wg0 netns 100",
            "link add wireguard wg1",
            "link move wg1 100",
            "link move eth0 100",
        ]
    );
}

#[test]
fn a_service_runs_in_the_containerd_namespace_its_runtime_names() {
    let mut sys = system();
    sys.files
        .insert(WEB.into(), r#"{"namespace": "other.ns"}"#.into());
    run(&mut sys);
    in_order(
        &sys,
        &[
            "create web /containers/services/web in other.ns",
            "task web in other.ns",
            "start web in other.ns",
            "service_kill web 15",
            "delete web",
        ],
    );
    assert!(sys.position("start getty").is_some(), "{:?}", sys.calls);
}

#[test]
fn a_failing_interface_fails_only_that_onboot_container_and_discards_it() {
    let mut sys = system();
    sys.files.insert(ONBOOT.into(), FULL.into());
    sys.failing_links.insert("eth1".into());
    run(&mut sys);
    assert!(
        sys.logged("onboot 000-net failed: interfaces: cannot create eth1 (veth): File exists")
    );
    in_order(
        &sys,
        &[
            "run runc delete --force onboot-000-net",
            "wait 200",
            "run runc start onboot-001-after",
        ],
    );
    assert!(sys.position("run runc start onboot-000-net").is_none());
    assert!(sys.calls_starting("bind ").is_empty());
    assert!(sys.logged("service web started"));
}

#[test]
fn a_failing_interface_keeps_a_service_from_starting_and_it_is_tried_again() {
    let mut sys = system();
    sys.files.insert(WEB.into(), FULL.into());
    sys.failing_links.insert("eth1".into());
    run(&mut sys);
    assert!(sys.logged(
        "service web failed: interfaces: cannot create eth1 (veth): File exists (os error 17); trying again in 1.0s"
    ));
    in_order(
        &sys,
        &[
            "task web",
            "service_kill web 9",
            "delete web",
            "start getty",
        ],
    );
    assert!(sys.position("start web").is_none());
}

#[test]
fn a_failing_mount_fails_the_container_before_runc_is_called() {
    let mut sys = system();
    sys.files.insert(ONBOOT.into(), FULL.into());
    sys.failing_mounts
        .insert("/run/web".into(), rustix::io::Errno::NODEV);
    run(&mut sys);
    assert!(sys.logged(
        "onboot 000-net failed: mounts: cannot mount tmpfs on /run/web (tmpfs): No such device"
    ));
    assert!(
        sys.calls_starting("run runc create --bundle /containers/onboot/000-net")
            .is_empty()
    );
    assert!(sys.logged("onboot 001-after exited with status 0"));
}

#[test]
fn a_cgroup_outside_the_cgroup_tree_is_refused() {
    let mut sys = system();
    sys.files
        .insert(WEB.into(), r#"{"cgroups": ["../../etc"]}"#.into());
    run(&mut sys);
    assert!(
        sys.logged(
            r#"service web failed: cgroups: "../../etc" is not a path below /sys/fs/cgroup"#
        )
    );
    assert!(
        sys.position("create web /containers/services/web")
            .is_none()
    );
    assert!(sys.position("start getty").is_some());
}

#[test]
fn an_invalid_runtime_json_fails_the_container_and_names_the_file() {
    let mut sys = system();
    sys.files
        .insert(ONBOOT.into(), r#"{"mkdir": "not a list"}"#.into());
    run(&mut sys);
    assert!(sys.logged(
        "onboot 000-net failed: runtime.json: /containers/onboot/000-net/runtime.json is not valid"
    ));
}

#[test]
fn a_veth_without_a_peer_or_an_interface_without_a_name_is_refused() {
    let mut sys = system();
    sys.files.insert(
        WEB.into(),
        r#"{"interfaces": [{"name": "v0", "add": "veth"}]}"#.into(),
    );
    sys.files.insert(
        "/containers/services/getty/runtime.json".into(),
        r#"{"interfaces": [{"add": "dummy"}]}"#.into(),
    );
    run(&mut sys);
    assert!(sys.logged("service web failed: interfaces: the veth v0 needs a peer"));
    assert!(sys.logged("service getty failed: interfaces: entry 0 has no name"));
    assert!(sys.calls_starting("link ").is_empty());
}

#[test]
fn a_failing_runc_start_discards_the_container_and_reaps_its_process() {
    let mut sys = system();
    sys.runc_status
        .insert("start onboot-000-net".into(), Status::Code(1));
    run(&mut sys);
    assert!(
        sys.logged(
            "onboot 000-net failed: runc start exited with status 1 (its messages are above)"
        )
    );
    in_order(
        &sys,
        &["run runc delete --force onboot-000-net", "wait 200"],
    );
}

#[test]
fn a_restarted_service_gets_its_interfaces_and_namespaces_again() {
    let mut sys = system();
    sys.signals.clear();
    sys.files.insert(WEB.into(), FULL.into());
    sys.exits_at = vec![(1, "web".into(), 1)];
    sys.poweroff_after_starts = Some(("web".into(), 2));
    run(&mut sys);
    assert_eq!(sys.calls_starting("link add veth eth1").len(), 2);
    assert_eq!(sys.calls_starting("bind net 100").len(), 2);
    // The filesystem steps are done once per boot.
    assert_eq!(sys.calls_starting("mount tmpfs /run/web").len(), 1);
    assert_eq!(sys.calls_starting("create web").len(), 1);
}

#[test]
fn the_builders_nulls_and_empty_values_read_as_defaults() {
    let text = r#"{"cgroups": [], "mkdir": [],
        "mounts": [{"type": null, "source": null, "destination": "/x", "options": null}],
        "interfaces": [{"name": "eth0", "add": null, "peer": null, "createInRoot": false}],
        "bindNS": {}, "namespace": "", "readonly": true}"#;
    let r: crate::services::runtime::Runtime = serde_json::from_str(text).unwrap();
    assert_eq!(r.mounts[0].fstype, "");
    assert_eq!(r.interfaces[0].add, "");
    assert!(r.bind_ns.binds().is_empty());
    assert_eq!(r.namespace, "");
}
