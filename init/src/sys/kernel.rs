//! The kernel's own settings: hostname, modules, Ctrl-Alt-Del and stopping.

use std::io;

use super::Shutdown;

/// The kernel's own settings: hostname, modules, Ctrl-Alt-Del and stopping.
pub trait Kernel {
    fn set_hostname(&mut self, name: &str) -> io::Result<()>;
    /// Makes Ctrl-Alt-Del send SIGINT to PID 1 instead of rebooting at once.
    fn disable_ctrl_alt_del(&mut self) -> io::Result<()>;
    /// `uname -r`.
    fn kernel_release(&mut self) -> String;
    /// Loads one kernel module file with finit_module(2).
    fn load_module(&mut self, path: &str) -> io::Result<()>;
    /// Stops the system; returns only when the kernel refused.
    fn reboot(&mut self, how: Shutdown) -> io::Error;
}
