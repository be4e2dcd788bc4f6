//! device-mapper, for the verified root.

use std::io;

/// device-mapper, for the verified root.
pub trait DeviceMapper {
    /// Creates the device-mapper device `name` with `target` as its live,
    /// read-only table; returns its minor number (`/dev/dm-N`).
    fn dm_create(&mut self, name: &str, target: &Target) -> io::Result<u32>;
}

/// One line of a device-mapper table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Length in 512-byte sectors, starting at sector 0.
    pub sectors: u64,
    pub kind: String,
    pub params: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0 {} {} {}", self.sectors, self.kind, self.params)
    }
}
