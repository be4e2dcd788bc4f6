//! Reading one file back out of a FAT32 partition, for tools that look into
//! a built disk (the UKI, to predict what it measures). Reads any FAT32
//! volume, not only ours: long or short names, fragmented cluster chains.
//! Its `Volume` is also what `fat_edit` changes a volume through.

use crate::bytes::{le_u16, le_u32};
use std::io::{Read, Seek, SeekFrom};

use super::names::{self, ATTR_LONG_NAME};
use super::{FatError, Result};

pub(super) const ATTR_VOLUME_ID: u8 = 0x08;
pub(super) const ATTR_DIRECTORY: u8 = 0x10;
pub(super) const DELETED: u8 = 0xE5;
const MIN_CLUSTERS: u64 = 65525;
const MAX_CLUSTERS: u64 = 0x0FFF_FFF5;
/// Entries at or above this end a chain; 0x0FFFFFF7 marks a bad cluster.
pub(super) const END_OF_CHAIN: u32 = 0x0FFF_FFF8;
/// The most a directory may hold (65536 entries of 32 bytes).
pub(super) const MAX_DIR_BYTES: u64 = 65536 * 32;
pub(super) const ENTRY: usize = 32;

/// The contents of the file at `path` (`/`-separated, names compared
/// without case, long or short) in the FAT32 volume `part` starts with.
pub fn read_file(part: &mut (impl Read + Seek), path: &str) -> Result<Vec<u8>> {
    let mut vol = Volume::open(part, path)?;
    let parts = split(path);
    let Some((name, dirs)) = parts.split_last() else {
        return Err(FatError::NotAFile {
            path: path.to_string(),
        });
    };
    let dir = vol.find_dir(dirs)?;
    let walked = parts.join("/");
    match vol.lookup(dir, name, &walked)? {
        None => Err(FatError::NotFound { path: walked }),
        Some(e) if e.is_dir => Err(FatError::NotAFile {
            path: path.to_string(),
        }),
        Some(e) => vol.read_chain(e.cluster, u64::from(e.size), path),
    }
}

/// The names of the files (not folders) in the folder at `path` (`""` for
/// the root), long names where the volume has them, in directory order.
pub fn list_files(part: &mut (impl Read + Seek), path: &str) -> Result<Vec<String>> {
    let mut vol = Volume::open(part, path)?;
    let dir = vol.find_dir(&split(path))?;
    Ok(vol
        .entries(dir, path)?
        .into_iter()
        .filter(|e| !e.is_dir)
        .map(|e| e.name())
        .collect())
}

/// The non-empty parts of a `/`-separated path.
pub(super) fn split(path: &str) -> Vec<&str> {
    path.split('/').filter(|p| !p.is_empty()).collect()
}

/// One entry of a directory (not the volume label, not a deleted one).
#[derive(Debug, Clone)]
pub(super) struct Listed {
    /// The long name, when its long entries are whole.
    pub(super) long: Option<String>,
    pub(super) short: [u8; 11],
    /// Windows NT's lower-case flags.
    pub(super) case: u8,
    pub(super) cluster: u32,
    pub(super) size: u32,
    pub(super) is_dir: bool,
    /// The index of the short entry in the directory, and of the first of
    /// its long entries (the short entry's own without a long name).
    pub(super) slot: usize,
    pub(super) first: usize,
}

impl Listed {
    /// The long name, else the short one.
    pub(super) fn name(&self) -> String {
        self.long
            .clone()
            .unwrap_or_else(|| names::short_display(&self.short, self.case))
    }

    /// Whether `name` names this entry, long or short, without case.
    pub(super) fn is_named(&self, name: &str) -> bool {
        let want = name.to_uppercase();
        names::short_display(&self.short, self.case).to_uppercase() == want
            || self.long.as_ref().is_some_and(|l| l.to_uppercase() == want)
    }
}

/// A directory's clusters and their bytes, up to [`MAX_DIR_BYTES`].
pub(super) struct Folder {
    pub(super) clusters: Vec<u32>,
    pub(super) bytes: Vec<u8>,
    /// The chain ends with these clusters (it was not cut at the limit).
    pub(super) whole: bool,
}

/// A FAT32 volume's layout, read from its boot sector, and the partition.
pub(super) struct Volume<'r, R> {
    pub(super) part: &'r mut R,
    pub(super) sector: u64,
    pub(super) cluster_bytes: u64,
    /// The FAT that is read: the first, or the active one when the
    /// volume does not mirror them.
    pub(super) fat_offset: u64,
    /// Where the first FAT starts (the end of the reserved sectors), how
    /// many there are and how long each is.
    pub(super) fats_offset: u64,
    pub(super) fats: u64,
    pub(super) fat_bytes: u64,
    /// The FSInfo sector's number, as the boot sector gives it.
    pub(super) fsinfo: u64,
    pub(super) data_offset: u64,
    /// Data clusters, numbered from 2; no more than the FAT has entries for.
    pub(super) clusters: u64,
    pub(super) root: u32,
    /// The FAT sector read last, since chains mostly run through one.
    pub(super) cached: Option<(u64, Vec<u8>)>,
}

impl<'r, R: Read + Seek> Volume<'r, R> {
    pub(super) fn open(part: &'r mut R, path: &str) -> Result<Self> {
        let mut boot = [0u8; 512];
        read_at(part, 0, &mut boot, path)?;
        let u16_at = |at: usize| le_u16(&boot, at).map_or(0, u64::from);
        let u32_at = |at: usize| le_u32(&boot, at).map_or(0, u64::from);
        let not = |reason: &str| FatError::NotFat32 {
            reason: reason.to_string(),
        };
        if boot[510..512] != [0x55, 0xAA] {
            return Err(not("no 0x55AA signature in its first sector"));
        }
        let sector = u16_at(11);
        let spc = u64::from(boot[13]);
        let (reserved, fats, fat_sectors) = (u16_at(14), u64::from(boot[16]), u32_at(36));
        let total = if u16_at(19) != 0 {
            u16_at(19)
        } else {
            u32_at(32)
        };
        if ![512, 1024, 2048, 4096].contains(&sector) || !spc.is_power_of_two() {
            return Err(not("its sector or cluster size is not a power of two"));
        }
        if reserved == 0 || fats == 0 || u16_at(17) != 0 || u16_at(22) != 0 || fat_sectors == 0 {
            return Err(not("its BIOS parameter block is not one of FAT32"));
        }
        // Bit 7 of the flags: only the FAT in bits 0-3 is in use.
        let flags = u16_at(40);
        let active = if flags & 0x80 != 0 { flags & 0x0F } else { 0 };
        if active >= fats {
            return Err(not("its active FAT is not one it has"));
        }
        let data_sector = reserved + fats * fat_sectors;
        let clusters = total.saturating_sub(data_sector) / spc;
        if clusters < MIN_CLUSTERS {
            return Err(not("it has too few clusters to be FAT32"));
        }
        // Only as many clusters as the FAT has entries for are usable, and
        // no more than FAT32's 28-bit entries can number.
        let clusters = clusters.min(fat_sectors * sector / 4 - 2).min(MAX_CLUSTERS);
        let root = u32_at(44);
        if root < 2 || root - 2 >= clusters {
            return Err(not("its root directory cluster is out of range"));
        }
        Ok(Volume {
            part,
            sector,
            cluster_bytes: spc * sector,
            fat_offset: (reserved + active * fat_sectors) * sector,
            fats_offset: reserved * sector,
            fats,
            fat_bytes: fat_sectors * sector,
            fsinfo: u16_at(48),
            data_offset: data_sector * sector,
            clusters,
            root: root as u32,
            cached: None,
        })
    }

    /// Where cluster `cluster`'s bytes start.
    pub(super) fn cluster_offset(&self, cluster: u32) -> u64 {
        self.data_offset + (u64::from(cluster) - 2) * self.cluster_bytes
    }

    /// The directory at the end of `parts` (names of directories from the
    /// root); a part that is missing or a file is `NotFound`.
    pub(super) fn find_dir(&mut self, parts: &[&str]) -> Result<u32> {
        let mut dir = self.root;
        for (i, part) in parts.iter().enumerate() {
            let walked = parts[..=i].join("/");
            match self.lookup(dir, part, &walked)? {
                // `..` of a top-level directory records the root as 0.
                Some(e) if e.is_dir => dir = if e.cluster == 0 { self.root } else { e.cluster },
                _ => return Err(FatError::NotFound { path: walked }),
            }
        }
        Ok(dir)
    }

    /// The cluster after `cluster`, or `None` at the end of the chain.
    pub(super) fn next(&mut self, cluster: u32, path: &str) -> Result<Option<u32>> {
        let at = self.fat_offset + u64::from(cluster) * 4;
        let (sector, within) = (at / self.sector, (at % self.sector) as usize);
        let bytes = match &self.cached {
            Some((s, bytes)) if *s == sector => bytes,
            _ => {
                let mut bytes = vec![0u8; self.sector as usize];
                read_at(self.part, sector * self.sector, &mut bytes, path)?;
                &self.cached.insert((sector, bytes)).1
            }
        };
        let entry = bytes[within..within + 4]
            .try_into()
            .map(u32::from_le_bytes)
            .unwrap_or(0)
            & 0x0FFF_FFFF;
        if entry >= END_OF_CHAIN {
            return Ok(None);
        }
        self.check(entry, path)?;
        Ok(Some(entry))
    }

    fn check(&self, cluster: u32, path: &str) -> Result<()> {
        if cluster < 2 || u64::from(cluster) - 2 >= self.clusters {
            return Err(FatError::Corrupt {
                path: path.to_string(),
                reason: format!("cluster chain leads to cluster {cluster:#x}"),
            });
        }
        Ok(())
    }

    /// The first `max` clusters of the chain from `first` as runs of
    /// consecutive clusters (start, count), and whether the chain ends
    /// with them. A loop in the chain ends at `max`.
    pub(super) fn runs(
        &mut self,
        first: u32,
        max: u64,
        path: &str,
    ) -> Result<(Vec<(u32, u64)>, bool)> {
        let mut runs: Vec<(u32, u64)> = Vec::new();
        let mut count = 0u64;
        let mut cluster = Some(first);
        while let Some(c) = cluster {
            if count >= max {
                break;
            }
            self.check(c, path)?;
            match runs.last_mut() {
                Some((start, n)) if u64::from(*start) + *n == u64::from(c) => *n += 1,
                _ => runs.push((c, 1)),
            }
            count += 1;
            cluster = self.next(c, path)?;
        }
        Ok((runs, cluster.is_none()))
    }

    /// The first `want` bytes of `runs`, reading each run at once.
    fn read_runs(&mut self, runs: &[(u32, u64)], want: u64, path: &str) -> Result<Vec<u8>> {
        let covered: u64 = runs.iter().map(|(_, n)| n * self.cluster_bytes).sum();
        let mut out = Vec::with_capacity(covered.min(want) as usize);
        for &(start, n) in runs {
            let at = self.cluster_offset(start);
            let take = (n * self.cluster_bytes).min(want - out.len() as u64);
            let from = out.len();
            out.resize(from + take as usize, 0);
            read_at(self.part, at, &mut out[from..], path)?;
        }
        Ok(out)
    }

    fn read_chain(&mut self, first: u32, size: u64, path: &str) -> Result<Vec<u8>> {
        if size == 0 {
            return Ok(Vec::new());
        }
        let (runs, _) = self.runs(first, size.div_ceil(self.cluster_bytes), path)?;
        let covered: u64 = runs.iter().map(|(_, n)| n * self.cluster_bytes).sum();
        if covered < size {
            return Err(corrupt(path, "its cluster chain is shorter than its size"));
        }
        self.read_runs(&runs, size, path)
    }

    /// Directory `dir`'s clusters and bytes, up to [`MAX_DIR_BYTES`].
    pub(super) fn folder(&mut self, dir: u32, walked: &str) -> Result<Folder> {
        let max = MAX_DIR_BYTES.div_ceil(self.cluster_bytes);
        let (runs, whole) = self.runs(dir, max, walked)?;
        let bytes = self.read_runs(&runs, MAX_DIR_BYTES, walked)?;
        let clusters = runs
            .iter()
            .flat_map(|&(start, n)| (0..n as u32).map(move |i| start + i))
            .collect();
        Ok(Folder {
            clusters,
            bytes,
            whole,
        })
    }

    /// The entry named `name` (long or short, without case) in directory `dir`.
    pub(super) fn lookup(&mut self, dir: u32, name: &str, walked: &str) -> Result<Option<Listed>> {
        Ok(self
            .entries(dir, walked)?
            .into_iter()
            .find(|e| e.is_named(name)))
    }

    /// Every entry of directory `dir` but the volume label and deleted ones.
    pub(super) fn entries(&mut self, dir: u32, walked: &str) -> Result<Vec<Listed>> {
        Ok(parse(&self.folder(dir, walked)?.bytes))
    }
}

/// The entries of a directory's bytes up to the first free-from-here-on
/// entry (0x00), but the volume label and deleted ones.
pub(super) fn parse(bytes: &[u8]) -> Vec<Listed> {
    let mut out = Vec::new();
    let mut long: Vec<u16> = Vec::new();
    // The part number the next long entry must have, the checksum all of
    // them must share, and where the first of them is.
    let mut expect: Option<(u8, u8)> = None;
    let mut first = 0;
    for (slot, e) in bytes.chunks_exact(ENTRY).enumerate() {
        match e[0] {
            0 => break,
            DELETED => {
                expect = None;
                continue;
            }
            _ => {}
        }
        if e[11] & 0x3F == ATTR_LONG_NAME {
            let p = names::parse_long(e);
            if p.last {
                long = p.units;
                expect = p.part.checked_sub(1).map(|n| (n, p.checksum));
                first = slot;
            } else if expect == Some((p.part, p.checksum)) && p.part > 0 {
                let mut units = p.units;
                units.extend_from_slice(&long);
                long = units;
                expect = Some((p.part - 1, p.checksum));
            } else {
                expect = None;
            }
            continue;
        }
        let mut short = [0u8; 11];
        short.copy_from_slice(&e[..11]);
        let long_ok = expect == Some((0, names::checksum(&short)));
        expect = None;
        if e[11] & ATTR_VOLUME_ID != 0 {
            continue;
        }
        let cluster = u32::from(u16::from_le_bytes([e[20], e[21]])) << 16
            | u32::from(u16::from_le_bytes([e[26], e[27]]));
        out.push(Listed {
            long: long_ok.then(|| String::from_utf16_lossy(&long)),
            short,
            case: e[12],
            cluster,
            size: u32::from_le_bytes([e[28], e[29], e[30], e[31]]),
            is_dir: e[11] & ATTR_DIRECTORY != 0,
            slot,
            first: if long_ok { first } else { slot },
        });
    }
    out
}

fn corrupt(path: &str, reason: &str) -> FatError {
    FatError::Corrupt {
        path: path.to_string(),
        reason: reason.to_string(),
    }
}

pub(super) fn read_at(
    part: &mut (impl Read + Seek),
    at: u64,
    buf: &mut [u8],
    path: &str,
) -> Result<()> {
    part.seek(SeekFrom::Start(at))
        .and_then(|_| part.read_exact(buf))
        .map_err(|source| FatError::ReadPartition {
            path: path.to_string(),
            source,
        })
}
