//! Sets `lo` up with one rtnetlink RTM_NEWLINK message: no ioctl, so no
//! `unsafe`, and no dependency on a netlink crate for 32 bytes.

use std::io;

const RTM_NEWLINK: u16 = 16;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLMSG_ERROR: u16 = 2;
const IFF_UP: u32 = 1;

/// The RTM_NEWLINK request that sets IFF_UP on interface `index`.
pub fn link_up_message(index: u32, seq: u32) -> Vec<u8> {
    let mut m = Vec::with_capacity(32);
    m.extend_from_slice(&32u32.to_ne_bytes()); // nlmsg_len
    m.extend_from_slice(&RTM_NEWLINK.to_ne_bytes());
    m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: the kernel fills it
    // struct ifinfomsg: family (AF_UNSPEC), pad, type, index, flags, change.
    m.extend_from_slice(&[0, 0, 0, 0]);
    m.extend_from_slice(&index.to_ne_bytes());
    m.extend_from_slice(&IFF_UP.to_ne_bytes());
    m.extend_from_slice(&IFF_UP.to_ne_bytes());
    m
}

/// The errno of the kernel's NLMSG_ERROR answer (0 is the ack).
pub fn ack_errno(answer: &[u8]) -> io::Result<i32> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "short netlink answer");
    let kind = u16::from_ne_bytes(
        answer
            .get(4..6)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?,
    );
    if kind != NLMSG_ERROR {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "netlink answer is not an ack",
        ));
    }
    let errno = i32::from_ne_bytes(
        answer
            .get(16..20)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?,
    );
    Ok(-errno)
}

pub fn loopback_up() -> io::Result<()> {
    let fd = crate::linux::netlink::route_socket()?;
    let index = rustix::net::netdevice::name_to_index(&fd, "lo")?;
    crate::linux::netlink::request_on(&fd, &link_up_message(index, 1))
}
