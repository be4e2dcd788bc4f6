//! The rtnetlink requests of the runtime section's `interfaces`: create a
//! link (a veth pair, or any kind the kernel knows by name) and move a link
//! into another process's network namespace. Messages are built here byte
//! by byte (netlink(7), rtnetlink(7)) so they are unit-tested without a
//! kernel; one socket per request, one answer read.

use std::io;
use std::os::fd::OwnedFd;

use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

use crate::linux::net::ack_errno;
use crate::sys::NewLink;

const RTM_NEWLINK: u16 = 16;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;

const IFLA_IFNAME: u16 = 3;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_PID: u16 = 19;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;

/// The kernel's IFNAMSIZ, the terminating NUL included.
const IFNAMSIZ: usize = 16;
/// struct ifinfomsg.
const IFINFOMSG: usize = 16;

/// One netlink message under construction; attribute lengths are patched
/// in when a nest or the message ends.
struct Message {
    buf: Vec<u8>,
}

impl Message {
    fn new(kind: u16, flags: u16, seq: u32) -> Message {
        let mut buf = Vec::with_capacity(128);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_len, set by finish
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: the kernel's
        let mut m = Message { buf };
        m.ifinfomsg();
        m
    }

    /// struct ifinfomsg, all zero: any family, no index (the link is named
    /// by IFLA_IFNAME), no flags changed.
    fn ifinfomsg(&mut self) {
        self.buf.extend_from_slice(&[0; IFINFOMSG]);
    }

    fn attr(&mut self, kind: u16, payload: &[u8]) {
        let start = self.nest(kind);
        self.buf.extend_from_slice(payload);
        self.end(start);
    }

    /// A NUL-terminated string attribute, as IFLA_IFNAME takes.
    fn attr_str(&mut self, kind: u16, s: &str) {
        let start = self.nest(kind);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
        self.end(start);
    }

    /// Opens an attribute whose payload follows; returns where it starts.
    fn nest(&mut self, kind: u16) -> usize {
        let start = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        start
    }

    /// Sets the attribute's length (its payload unpadded) and pads to 4.
    fn end(&mut self, start: usize) {
        let len = u16::try_from(self.buf.len() - start).unwrap_or(u16::MAX);
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

fn check_name(name: &str) -> io::Result<()> {
    if name.is_empty()
        || name.len() >= IFNAMSIZ
        || name.contains(['/', '\0'])
        || name.contains(char::is_whitespace)
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not an interface name (1 to 15 bytes, no '/' or spaces)"),
        ));
    }
    Ok(())
}

/// RTM_NEWLINK creating `link`, refused when the name is taken.
pub fn new_link_message(link: &NewLink<'_>, seq: u32) -> io::Result<Vec<u8>> {
    check_name(link.name)?;
    if let Some(peer) = link.peer {
        check_name(peer)?;
    }
    let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    let mut m = Message::new(RTM_NEWLINK, flags, seq);
    m.attr_str(IFLA_IFNAME, link.name);
    if let Some(pid) = link.netns_pid {
        m.attr(IFLA_NET_NS_PID, &pid.to_ne_bytes());
    }
    let info = m.nest(IFLA_LINKINFO);
    // The kind goes without a NUL, as ip(8) sends it.
    m.attr(IFLA_INFO_KIND, link.kind.as_bytes());
    if let Some(peer) = link.peer {
        let data = m.nest(IFLA_INFO_DATA);
        let peer_info = m.nest(VETH_INFO_PEER);
        m.ifinfomsg();
        m.attr_str(IFLA_IFNAME, peer);
        m.end(peer_info);
        m.end(data);
    }
    m.end(info);
    Ok(m.finish())
}

/// RTM_NEWLINK without NLM_F_CREATE: changes the existing link `name`,
/// here its network namespace to that of process `pid`.
pub fn move_link_message(name: &str, pid: u32, seq: u32) -> io::Result<Vec<u8>> {
    check_name(name)?;
    let mut m = Message::new(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
    m.attr_str(IFLA_IFNAME, name);
    m.attr(IFLA_NET_NS_PID, &pid.to_ne_bytes());
    Ok(m.finish())
}

/// A NETLINK_ROUTE socket for [`request_on`].
pub fn route_socket() -> io::Result<OwnedFd> {
    rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        None,
    )
    .map_err(io::Error::from)
}

/// Sends one request on `fd` and returns the kernel's error from its ack.
pub fn request_on(fd: &OwnedFd, message: &[u8]) -> io::Result<()> {
    rustix::net::send(fd, message, SendFlags::empty())?;
    // The error echoes the request after its errno; only the errno matters.
    let mut answer = [0u8; 1024];
    let (n, _) = rustix::net::recv(fd, &mut answer, RecvFlags::empty())?;
    match ack_errno(answer.get(..n).unwrap_or(&[]))? {
        0 => Ok(()),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

/// Sends one request on a new NETLINK_ROUTE socket.
fn request(message: &[u8]) -> io::Result<()> {
    request_on(&route_socket()?, message)
}

pub fn link_add(link: &NewLink<'_>) -> io::Result<()> {
    request(&new_link_message(link, 1)?)
}

pub fn link_move(name: &str, pid: u32) -> io::Result<()> {
    request(&move_link_message(name, pid, 1)?)
}

#[cfg(test)]
#[path = "netlink_tests.rs"]
mod tests;
