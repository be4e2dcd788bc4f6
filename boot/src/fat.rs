//! FAT32, the filesystem of the EFI system partition: a writer for a fixed
//! set of files, a reader that finds one of them again, and [`add_file`]
//! and [`remove_file`], which change a volume in place (an update's UKI
//! onto a disk's ESP) in an order a power loss cannot hurt the other files
//! with.
//!
//! Written from Microsoft's FAT specification (fatgen103) and checked against
//! dosfstools' `fsck.fat` and mtools. Our own because the usual tools put the
//! current time into directory entries and the `fatfs` crate writes entries
//! that `fsck.fat` flags; here the same files give the same bytes.
//!
//! The layout: 512-byte sectors; the boot sector, FSInfo and their backups
//! (sectors 6 and 7) in 32 or more reserved sectors; two FATs; the root
//! directory at cluster 2, then every other directory (tree order), then the
//! files' data, each file in consecutive clusters, in the order given. The
//! cluster size is the largest of 512 B to 4 KiB that still leaves FAT32's
//! minimum of 65525 clusters (larger only if the volume would otherwise have
//! too many). Every time stamp is the FAT epoch, 1980-01-01 00:00.
//!
//! Free clusters are not written: give [`write`] a zero-filled window (a new
//! or freshly truncated disk file) and the whole partition is reproducible.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom, Write};

#[path = "fat_dir.rs"]
mod dir;
#[path = "fat_edit.rs"]
mod edit;
#[path = "fat_geometry.rs"]
mod geometry;
#[path = "fat_names.rs"]
mod names;
#[path = "fat_read.rs"]
mod read;

pub use edit::{add_file, free_space, remove_file};
pub use read::{list_files, read_file};

use dir::Tree;
use geometry::{Geometry, SECTOR};

/// The largest file FAT32 can record: its size field is 32 bits.
pub const MAX_FILE_SIZE: u64 = u32::MAX as u64;

#[derive(Debug, thiserror::Error)]
pub enum FatError {
    #[error("FAT path {path:?} is not usable: {reason}")]
    BadName { path: String, reason: &'static str },
    #[error(
        "FAT volume label {label:?} is not usable: use up to 11 upper-case letters, digits, \
         spaces or !#$%&'()-@^_`{{}}~, padded with spaces"
    )]
    BadLabel { label: String },
    #[error("FAT path {path:?} is given twice (names are compared without case)")]
    Duplicate { path: String },
    #[error("FAT path {path:?} needs {parent:?} to be a directory, but it is a file")]
    ParentIsFile { path: String, parent: String },
    #[error("FAT directory {path:?} holds more than 65536 entries; split it")]
    DirectoryFull { path: String },
    #[error("file {path:?} is {size} bytes; FAT32 holds at most 4 GiB - 1 per file")]
    FileTooLarge { path: String, size: u64 },
    #[error(
        "a FAT32 partition of {size} bytes is outside what FAT32 can format (it needs \
         65525 to 268435445 clusters; 33 MiB or more); size it with fat::partition_size"
    )]
    BadPartitionSize { size: u64 },
    #[error(
        "the files need {needed} bytes of clusters but the FAT32 partition of {size} bytes \
         holds {available}; size it with fat::partition_size"
    )]
    DoesNotFit {
        size: u64,
        needed: u64,
        available: u64,
    },
    #[error(
        "file {path:?} yielded {got} bytes where {expected} were announced; was it changed \
         while the partition was written?"
    )]
    SizeMismatch {
        path: String,
        expected: u64,
        got: u64,
    },
    #[error("cannot read file {path:?} to put it into the FAT partition")]
    ReadData {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot write the FAT partition's {what}")]
    Write {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the FAT partition while looking for {path:?}")]
    ReadPartition {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("the partition is not FAT32 ({reason}); is it the EFI system partition?")]
    NotFat32 { reason: String },
    #[error("the FAT partition is damaged at {path:?}: {reason}; rebuild the disk image")]
    Corrupt { path: String, reason: String },
    #[error("{path:?} is not in the FAT partition")]
    NotFound { path: String },
    #[error("{path:?} in the FAT partition is a directory, not a file")]
    NotAFile { path: String },
    #[error("{path:?} is in the FAT partition already (names are compared without case)")]
    Exists { path: String },
    /// `need` and `free` are bytes of whole clusters.
    #[error(
        "{path:?} needs {need} bytes of free clusters but the FAT partition has {free}; \
         remove files from it first"
    )]
    Full { path: String, need: u64, free: u64 },
}

pub type Result<T> = std::result::Result<T, FatError>;

/// One file to put into the partition. Directories on its path are created.
pub struct File<'a> {
    /// `/`-separated, relative, e.g. `EFI/BOOT/BOOTX64.EFI`.
    pub path: &'a str,
    /// The exact number of bytes `data` yields.
    pub size: u64,
    pub data: &'a mut dyn Read,
}

impl fmt::Debug for File<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The volume serial number; derive it from the content so rebuilds match.
    pub volume_id: u32,
    /// Space-padded, e.g. `*b"ESP        "`. `NO NAME    ` writes no label
    /// entry into the root directory, as mkfs.fat does.
    pub label: [u8; 11],
}

/// The size in bytes of a FAT32 partition that holds files totalling `bytes`
/// in `files` files (and the directories on their paths) with an eighth and
/// 1 MiB to spare, rounded up to 1 MiB, and never below FAT32's minimum
/// cluster count (33 MiB).
pub fn partition_size(bytes: u64, files: usize) -> u64 {
    geometry::partition_size(bytes, files)
}

/// Formats the first `size` bytes of `out` as FAT32 and writes `files` into
/// it, reading each file's data once, in order. `out` starts at the
/// partition's first byte; nothing at or beyond `size` is touched.
pub fn write(
    out: &mut (impl Write + Seek),
    size: u64,
    opts: &Options,
    files: &mut [File<'_>],
) -> Result<()> {
    names::check_label(&opts.label)?;
    for f in files.iter() {
        if f.size > MAX_FILE_SIZE {
            return Err(FatError::FileTooLarge {
                path: f.path.to_string(),
                size: f.size,
            });
        }
    }
    let paths: Vec<&str> = files.iter().map(|f| f.path).collect();
    let tree = Tree::build(&paths)?;
    let geo = Geometry::for_size(size)?;
    let cluster = geo.cluster_bytes();

    // Clusters: the root first (it must be cluster 2), the other
    // directories, then each non-empty file in turn.
    let dir_clusters = tree.cluster_counts(opts, cluster);
    let mut next = geometry::FIRST_CLUSTER;
    let mut dir_starts = Vec::with_capacity(dir_clusters.len());
    for &n in &dir_clusters {
        dir_starts.push(next);
        next += n;
    }
    let mut file_starts = Vec::with_capacity(files.len());
    for f in files.iter() {
        let n = f.size.div_ceil(cluster);
        file_starts.push(if n == 0 { 0 } else { next });
        next += n;
    }
    let used = next - geometry::FIRST_CLUSTER;
    if used > u64::from(geo.clusters) {
        return Err(FatError::DoesNotFit {
            size,
            needed: used * cluster,
            available: u64::from(geo.clusters) * cluster,
        });
    }

    let mut chains: Vec<(u64, u64)> = dir_starts.iter().copied().zip(dir_clusters).collect();
    chains.extend(
        files
            .iter()
            .zip(&file_starts)
            .filter(|(f, _)| f.size > 0)
            .map(|(f, &start)| (start, f.size.div_ceil(cluster))),
    );
    let free = u64::from(geo.clusters) - used;
    let next_free = if free == 0 { None } else { Some(next) };

    let boot = geometry::boot_sector(&geo, opts);
    let info = geometry::fsinfo_sector(free, next_free);
    let mut reserved = vec![0u8; geo.reserved_sectors as usize * SECTOR as usize];
    for (at, sector) in [(0, &boot), (1, &info), (6, &boot), (7, &info)] {
        reserved[at * SECTOR as usize..][..SECTOR as usize].copy_from_slice(sector);
    }
    put(out, 0, &reserved, "boot sectors")?;

    let fat = geometry::fat_bytes(&chains);
    for copy in 0..u64::from(geometry::FATS) {
        let start = geo.fat_offset(copy);
        put(out, start, &fat, "file allocation table")?;
        zeros(
            out,
            start + fat.len() as u64,
            geo.fat_bytes_len() - fat.len() as u64,
        )?;
    }

    let file_entries: Vec<(u64, u64)> = files
        .iter()
        .zip(&file_starts)
        .map(|(f, &start)| (start, f.size))
        .collect();
    for (d, &start) in dir_starts.iter().enumerate() {
        let bytes = tree.encode_dir(d, opts, &dir_starts, &file_entries, cluster);
        put(out, geo.cluster_offset(start), &bytes, "directories")?;
    }

    for (f, &start) in files.iter_mut().zip(&file_starts) {
        if f.size > 0 {
            let run = (geo.cluster_offset(start), f.size.next_multiple_of(cluster));
            copy_data(out, &[run], f.data, f.size, f.path)?;
        }
    }
    // A raw image file must reach the partition's end even when its last
    // clusters are free, or fsck.fat finds the filesystem larger than its
    // device.
    let end = geo.cluster_offset(next).max(size.saturating_sub(SECTOR));
    zeros(out, end, size.saturating_sub(end))?;
    out.flush().map_err(|source| FatError::Write {
        what: "data".to_string(),
        source,
    })
}

/// Streams the `size` bytes `data` yields into `runs` (byte offset and
/// length, in order, whole clusters that hold `size` bytes) and pads the last
/// cluster with zeros.
fn copy_data(
    out: &mut (impl Write + Seek),
    runs: &[(u64, u64)],
    data: &mut dyn Read,
    size: u64,
    path: &str,
) -> Result<()> {
    let mut buf = vec![0u8; 1 << 16];
    let mut done = 0u64;
    // The run being written and how far into it.
    let (mut run, mut within) = (0usize, 0u64);
    loop {
        let n = match data.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(FatError::ReadData {
                    path: path.to_string(),
                    source,
                });
            }
        };
        done += n as u64;
        if done > size {
            return Err(FatError::SizeMismatch {
                path: path.to_string(),
                expected: size,
                got: done,
            });
        }
        let mut left = &buf[..n];
        while !left.is_empty() {
            let (at, len) = runs[run];
            if within == 0 {
                seek(out, at, "file data")?;
            }
            let take = left.len().min((len - within) as usize);
            out.write_all(&left[..take])
                .map_err(|source| FatError::Write {
                    what: format!("data of {path:?}"),
                    source,
                })?;
            left = &left[take..];
            within += take as u64;
            if within == len {
                (run, within) = (run + 1, 0);
            }
        }
    }
    if done != size {
        return Err(FatError::SizeMismatch {
            path: path.to_string(),
            expected: size,
            got: done,
        });
    }
    match runs.get(run) {
        Some(&(at, len)) => zeros(out, at + within, len - within),
        None => Ok(()),
    }
}

fn seek(out: &mut impl Seek, at: u64, what: &str) -> Result<()> {
    out.seek(SeekFrom::Start(at))
        .map(drop)
        .map_err(|source| FatError::Write {
            what: what.to_string(),
            source,
        })
}

fn put(out: &mut (impl Write + Seek), at: u64, bytes: &[u8], what: &str) -> Result<()> {
    seek(out, at, what)?;
    out.write_all(bytes).map_err(|source| FatError::Write {
        what: what.to_string(),
        source,
    })
}

fn zeros(out: &mut (impl Write + Seek), at: u64, len: u64) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    seek(out, at, "free space")?;
    let chunk = [0u8; 1 << 14];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        out.write_all(&chunk[..n])
            .map_err(|source| FatError::Write {
                what: "free space".to_string(),
                source,
            })?;
        left -= n as u64;
    }
    Ok(())
}

#[cfg(test)]
#[path = "fat_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "fat_host_tests.rs"]
mod host_tests;

#[cfg(test)]
#[path = "fat_edit_tests.rs"]
mod edit_tests;
