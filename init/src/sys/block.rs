//! Block devices written in place, for the data partition's table.

use std::io;

/// Block devices written in place, for the data partition's table.
pub trait BlockDevices {
    /// Writes all of `bytes` at `offset` of an existing block device
    /// (nothing is created or truncated).
    fn write_at(&mut self, path: &str, offset: u64, bytes: &[u8]) -> io::Result<()>;
    /// Makes what was written to a block device durable (fsync), so a
    /// later write cannot reach the medium before it.
    fn fsync(&mut self, path: &str) -> io::Result<()>;
    /// Tells the kernel that partition `number` of the whole disk `disk`
    /// (`/dev/vda`) now spans `length` bytes from byte `start`
    /// (BLKPG_RESIZE_PARTITION; the table on the disk must already say so).
    /// Re-reading the whole table (BLKRRPART) is refused while the root
    /// partition is in use; this changes one partition only.
    fn resize_partition(
        &mut self,
        disk: &str,
        number: u32,
        start: u64,
        length: u64,
    ) -> io::Result<()>;
}
