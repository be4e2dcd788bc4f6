//! Child processes and the signals PID 1 receives.

use std::io;
use std::time::Duration;

use super::{Exited, Signal, Status};

/// Child processes and the signals PID 1 receives.
pub trait Processes {
    /// Runs a program to completion, its stdio on the console.
    fn run(&mut self, argv: &[&str]) -> io::Result<Status>;
    /// Starts a program in the background, its stdout and stderr appended
    /// to those files (the same file for both is one open file).
    fn spawn(&mut self, argv: &[&str], stdout: &str, stderr: &str) -> io::Result<i32>;
    /// kill(2); pid -1 is every process but PID 1.
    fn kill(&mut self, pid: i32, signal: i32) -> io::Result<()>;
    /// Blocks until a signal arrives or `timeout` passes (None: forever).
    fn wait_signal(&mut self, timeout: Option<Duration>) -> Option<Signal>;
    /// Reaps one exited child; None when none is waiting to be reaped.
    fn reap(&mut self) -> Option<Exited>;
    /// Whether any child process is left, exited or not.
    fn has_children(&mut self) -> bool;
    /// Blocks until the child `pid` exits, and reaps it: an onboot
    /// container's process, which PID 1 inherits when `runc create` exits.
    fn wait_pid(&mut self, pid: i32) -> io::Result<Status>;
}
