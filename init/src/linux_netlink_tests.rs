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
