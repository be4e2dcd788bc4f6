//! device-mapper, for the verified root.

use std::io;

use crate::disk::dm::Target;

/// device-mapper, for the verified root.
pub trait DeviceMapper {
    /// Creates the device-mapper device `name` with `target` as its live,
    /// read-only table; returns its minor number (`/dev/dm-N`).
    fn dm_create(&mut self, name: &str, target: &Target) -> io::Result<u32>;
}
