//! The rtnetlink messages byte for byte, as worked out by hand from
//! rtnetlink(7) and the kernel's if_link.h and veth.h (little-endian hosts).

use super::{move_link_message, new_link_message};
use crate::sys::NewLink;

fn header(len: u8, flags: [u8; 2]) -> Vec<u8> {
    let mut h = vec![
        len, 0, 0, 0, 16, 0, flags[0], flags[1], 1, 0, 0, 0, 0, 0, 0, 0,
    ];
    h.extend_from_slice(&[0; 16]); // ifinfomsg
    h
}

#[cfg(target_endian = "little")]
#[test]
fn a_veth_pair_is_one_newlink_with_the_peer_nested_in_its_link_info() {
    let link = NewLink {
        kind: "veth",
        name: "eth1",
        peer: Some("veth1"),
        netns_pid: None,
    };
    let mut want = header(92, [0x05, 0x06]); // REQUEST|ACK|EXCL|CREATE
    want.extend_from_slice(&[9, 0, 3, 0, b'e', b't', b'h', b'1', 0, 0, 0, 0]);
    want.extend_from_slice(&[48, 0, 18, 0]); // IFLA_LINKINFO
    want.extend_from_slice(&[8, 0, 1, 0, b'v', b'e', b't', b'h']); // KIND
    want.extend_from_slice(&[36, 0, 2, 0]); // IFLA_INFO_DATA
    want.extend_from_slice(&[32, 0, 1, 0]); // VETH_INFO_PEER
    want.extend_from_slice(&[0; 16]); // the peer's ifinfomsg
    want.extend_from_slice(&[10, 0, 3, 0, b'v', b'e', b't', b'h', b'1', 0, 0, 0]);
    assert_eq!(new_link_message(&link, 1).unwrap(), want);
}

#[cfg(target_endian = "little")]
#[test]
fn a_link_created_in_a_container_names_its_process_and_pads_the_kind() {
    let link = NewLink {
        kind: "wireguard",
        name: "wg0",
        peer: None,
        netns_pid: Some(42),
    };
    let mut want = header(68, [0x05, 0x06]);
    want.extend_from_slice(&[8, 0, 3, 0, b'w', b'g', b'0', 0]);
    want.extend_from_slice(&[8, 0, 19, 0, 42, 0, 0, 0]); // IFLA_NET_NS_PID
    want.extend_from_slice(&[20, 0, 18, 0]);
    want.extend_from_slice(&[13, 0, 1, 0]);
    want.extend_from_slice(b"wireguard");
    want.extend_from_slice(&[0, 0, 0]);
    assert_eq!(new_link_message(&link, 1).unwrap(), want);
}

#[cfg(target_endian = "little")]
#[test]
fn moving_a_link_changes_it_by_name_without_create_flags() {
    let mut want = header(52, [0x05, 0x00]); // REQUEST|ACK only
    want.extend_from_slice(&[9, 0, 3, 0, b'e', b't', b'h', b'0', 0, 0, 0, 0]);
    want.extend_from_slice(&[8, 0, 19, 0, 0xd2, 0x04, 0, 0]); // pid 1234
    assert_eq!(move_link_message("eth0", 1234, 1).unwrap(), want);
}

#[test]
fn names_the_kernel_would_refuse_are_refused_before_sending() {
    for bad in ["", "sixteen-bytes-xx", "a/b", "a b"] {
        assert!(move_link_message(bad, 1, 1).is_err(), "{bad:?}");
    }
    let link = NewLink {
        kind: "veth",
        name: "eth1",
        peer: Some("far-too-long-peer"),
        netns_pid: None,
    };
    assert!(new_link_message(&link, 1).is_err());
    assert!(move_link_message("fifteen-bytes-x", 1, 1).is_ok());
}

/// Runs `test` of this module again inside new user, network and mount
/// namespaces, where it has CAP_NET_ADMIN without root. False when this
/// host refuses unprivileged user namespaces (then nothing is checked).
fn in_namespaces(test: &str) -> bool {
    if std::env::var_os("CAIRN_IN_NAMESPACES").is_some() {
        return true;
    }
    let unshare = ["--user", "--map-root-user", "--net", "--mount"];
    let probe = std::process::Command::new("unshare")
        .args(unshare)
        .arg("true")
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("skipped: unshare cannot make unprivileged user namespaces here");
        return false;
    }
    let status = std::process::Command::new("unshare")
        .args(unshare)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", &format!("linux::netlink::tests::{test}")])
        .args(["--nocapture", "--test-threads=1"])
        .env("CAIRN_IN_NAMESPACES", "1")
        .status()
        .unwrap();
    assert!(status.success(), "{test} failed inside the namespaces");
    false
}

/// A process in a network namespace of its own, as a container's task is.
fn process_in_new_netns() -> std::process::Child {
    let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
    let mut child = std::process::Command::new("unshare")
        .args(["--net", "sleep", "30"])
        .spawn()
        .unwrap();
    for _ in 0..500 {
        let theirs = std::fs::read_link(format!("/proc/{}/ns/net", child.id()));
        if theirs.is_ok_and(|t| t != ours) {
            return child;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the child never entered a network namespace of its own");
}

fn interfaces(pid: &str) -> Vec<String> {
    let dev = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).unwrap();
    dev.lines()
        .filter_map(|l| Some(l.split_once(':')?.0.trim().to_string()))
        .collect()
}

#[test]
fn the_kernel_takes_the_veth_and_move_requests_and_the_namespace_bind() {
    use std::os::unix::fs::MetadataExt;
    if !in_namespaces("the_kernel_takes_the_veth_and_move_requests_and_the_namespace_bind") {
        return;
    }
    let mut child = process_in_new_netns();
    let pid = child.id();
    let veth = NewLink {
        kind: "veth",
        name: "cairn0",
        peer: Some("cairn1"),
        netns_pid: None,
    };
    super::link_add(&veth).unwrap();
    super::link_move("cairn0", pid).unwrap();
    let inside = NewLink {
        kind: "veth",
        name: "cairn2",
        peer: Some("cairn3"),
        netns_pid: Some(pid),
    };
    super::link_add(&inside).unwrap();
    let theirs = interfaces(&pid.to_string());
    let ours = interfaces("self");
    assert!(theirs.contains(&"cairn0".into()), "{theirs:?}");
    assert!(theirs.contains(&"cairn2".into()), "{theirs:?}");
    // A veth's peer stays where the request came from.
    for name in ["cairn1", "cairn3"] {
        assert!(ours.contains(&name.into()), "{ours:?}");
    }
    assert!(!ours.contains(&"cairn0".into()), "{ours:?}");
    // The kernel's refusals come back as errors.
    let taken = super::link_add(&veth).unwrap_err();
    assert_eq!(taken.raw_os_error(), Some(17), "{taken}"); // EEXIST: cairn1
    let missing = super::link_move("nosuch0", pid).unwrap_err();
    assert_eq!(missing.raw_os_error(), Some(19), "{missing}"); // ENODEV

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("netns/x");
    let path = path.to_str().unwrap();
    let ns = std::fs::metadata(format!("/proc/{pid}/ns/net")).unwrap();
    for _ in 0..2 {
        // The second bind replaces the first, as a restarted service's does.
        crate::linux::netns::bind(pid, "net", path).unwrap();
        let bound = std::fs::metadata(path).unwrap();
        assert_eq!((bound.dev(), bound.ino()), (ns.dev(), ns.ino()));
    }
    let _ = child.kill();
    let _ = child.wait();
}
