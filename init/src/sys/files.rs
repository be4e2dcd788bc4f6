//! Files, mounts and the root filesystem.

use std::io;

use super::Mount;

/// Files, mounts and the root filesystem.
pub trait Files {
    /// Creates a directory and its missing parents; an existing one is fine.
    fn mkdir(&mut self, path: &str) -> io::Result<()>;
    fn mount(&mut self, mount: &Mount<'_>) -> io::Result<()>;
    fn read_file(&mut self, path: &str) -> io::Result<String>;
    fn write_file(&mut self, path: &str, contents: &str) -> io::Result<()>;
    fn exists(&mut self, path: &str) -> bool;
    fn remove_file(&mut self, path: &str) -> io::Result<()>;
    /// The names in a directory, sorted bytewise.
    fn list_dir(&mut self, path: &str) -> io::Result<Vec<String>>;
    /// Reads up to `buf.len()` bytes of a file or block device at `offset`.
    fn read_at(&mut self, path: &str, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
    /// Renames a file over another: the last step of an atomic write.
    fn rename(&mut self, from: &str, to: &str) -> io::Result<()>;
    /// fsync(2) on a read-only descriptor of a file or a directory: for a
    /// directory, its entries, so a rename in it survives a power loss.
    fn sync_path(&mut self, path: &str) -> io::Result<()>;
    /// Detaches the mount at `path`.
    fn unmount(&mut self, path: &str) -> io::Result<()>;
    /// Unmounts everything but `/`, innermost first, detaching busy mounts.
    fn unmount_all(&mut self);
    fn sync(&mut self);
    /// The filesystem type of `/`: `rootfs` while running from the initramfs.
    fn root_fstype(&mut self) -> io::Result<String>;
    /// Moves every file of `/` (other filesystems mounted on it excluded) into
    /// `new_root`, one file at a time; returns how many entries moved.
    fn move_root(&mut self, new_root: &str) -> io::Result<u64>;
    /// Makes `new_root` the root and executes this init again from it.
    /// Returns only when that failed.
    fn switch_root(&mut self, new_root: &str) -> io::Error;
}
