//! The console and the clock: log lines, their timestamps and waits.

use std::io;
use std::time::Duration;

/// The console and the clock: log lines, their timestamps and waits.
pub trait Console {
    /// Monotonic time since boot, for log timestamps and restart delays.
    fn uptime(&self) -> Duration;
    /// Writes one line to the console; never fails (there may be no console).
    fn console(&mut self, line: &str);
    /// Makes fds 0, 1 and 2 point at /dev/console when the kernel left them
    /// closed (an initramfs without /dev/console).
    fn attach_console(&mut self) -> io::Result<()>;
    /// Sleeps: stage 1 waits for devices to appear.
    fn sleep(&mut self, duration: Duration);
}
