//! Network interfaces and namespaces.

use std::io;

use super::NewLink;

/// Network interfaces and namespaces.
pub trait Network {
    /// Sets the loopback interface up.
    fn loopback_up(&mut self) -> io::Result<()>;
    /// Creates a network interface (rtnetlink RTM_NEWLINK).
    fn link_add(&mut self, link: &NewLink<'_>) -> io::Result<()>;
    /// Moves the interface `name` of the root network namespace into the
    /// network namespace of process `pid`.
    fn link_move(&mut self, name: &str, pid: u32) -> io::Result<()>;
    /// Bind-mounts `/proc/PID/ns/KIND` on `path`, creating the file and its
    /// directories first and replacing an earlier bind there, so containers
    /// created later can join the namespace by path.
    fn bind_namespace(&mut self, pid: u32, kind: &str, path: &str) -> io::Result<()>;
}
