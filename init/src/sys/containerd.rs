//! containerd's API, for the services.

use std::io;

use super::Task;

/// containerd's API, for the services.
pub trait Containerd {
    /// Connects to containerd's socket and asks its version.
    fn containerd_ready(&mut self, socket: &str) -> io::Result<()>;
    /// Creates (or creates again) the container `name` in the containerd
    /// namespace `ns` from the OCI bundle at `bundle`, with no snapshotter:
    /// its rootfs is `bundle/rootfs`.
    fn service_create(&mut self, ns: &str, name: &str, bundle: &str) -> io::Result<()>;
    /// Creates the task of container `name`, its stdout and stderr to the
    /// console and `/var/log/NAME.log`; returns its pid. The process waits
    /// for [`Sys::service_start`], so the runtime steps that need a pid
    /// (interfaces, bindNS) go in between.
    fn service_task(&mut self, ns: &str, name: &str) -> io::Result<u32>;
    /// Starts the created task of container `name`.
    fn service_start(&mut self, ns: &str, name: &str) -> io::Result<()>;
    /// The tasks containerd knows in namespace `ns`.
    fn service_tasks(&mut self, ns: &str) -> io::Result<Vec<Task>>;
    /// Signals every process of the task `name`.
    fn service_kill(&mut self, ns: &str, name: &str, signal: i32) -> io::Result<()>;
    /// Deletes the stopped task `name` and returns its exit status.
    fn service_delete(&mut self, ns: &str, name: &str) -> io::Result<u32>;
}
