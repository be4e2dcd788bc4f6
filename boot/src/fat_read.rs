//! Reading one file back out of a FAT32 partition, for tools that look into
//! a built disk (the UKI, to predict what it measures). Reads any FAT32
//! volume, not only ours: long or short names, fragmented cluster chains.

use crate::bytes::{le_u16, le_u32};
use std::io::{Read, Seek, SeekFrom};

use super::names::{self, ATTR_LONG_NAME};
use super::{FatError, Result};

const ATTR_VOLUME_ID: u8 = 0x08;
const ATTR_DIRECTORY: u8 = 0x10;
const DELETED: u8 = 0xE5;
const MIN_CLUSTERS: u64 = 65525;
/// Entries at or above this end a chain; 0x0FFFFFF7 marks a bad cluster.
const END_OF_CHAIN: u32 = 0x0FFF_FFF8;
/// The most a directory may hold (65536 entries of 32 bytes).
const MAX_DIR_BYTES: u64 = 65536 * 32;

/// The contents of the file at `path` (`/`-separated, names compared
/// without case, long or short) in the FAT32 volume `part` starts with.
pub fn read_file(part: &mut (impl Read + Seek), path: &str) -> Result<Vec<u8>> {
    let mut vol = Volume::open(part, path)?;
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let mut dir = vol.root;
    let mut found = None;
    for (i, part) in parts.iter().enumerate() {
        let walked = parts[..=i].join("/");
        let entry = vol
            .lookup(dir, part, &walked)?
            .ok_or_else(|| FatError::NotFound {
                path: walked.clone(),
            })?;
        if i + 1 < parts.len() {
            if !entry.is_dir {
                return Err(FatError::NotFound { path: walked });
            }
            // `..` of a top-level directory records the root as 0.
            dir = if entry.cluster == 0 {
                vol.root
            } else {
                entry.cluster
            };
        }
        found = Some(entry);
    }
    match found {
        Some(e) if !e.is_dir => vol.read_chain(e.cluster, u64::from(e.size), path),
        _ => Err(FatError::NotAFile {
            path: path.to_string(),
        }),
    }
}

/// The names of the files (not folders) in the folder at `path` (`""` for
/// the root), long names where the volume has them, in directory order.
pub fn list_files(part: &mut (impl Read + Seek), path: &str) -> Result<Vec<String>> {
    let mut vol = Volume::open(part, path)?;
    let mut dir = vol.root;
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        let walked = parts[..=i].join("/");
        match vol.lookup(dir, part, &walked)? {
            Some(e) if e.is_dir => {
                dir = if e.cluster == 0 { vol.root } else { e.cluster };
            }
            _ => return Err(FatError::NotFound { path: walked }),
        }
    }
    Ok(vol
        .entries(dir, path)?
        .into_iter()
        .filter(|(_, _, f)| !f.is_dir)
        .map(|(long, short, _)| long.unwrap_or(short))
        .collect())
}

#[derive(Debug, Clone, Copy)]
struct Found {
    cluster: u32,
    size: u32,
    is_dir: bool,
}

struct Volume<'r, R> {
    part: &'r mut R,
    sector: u64,
    cluster_bytes: u64,
    fat_offset: u64,
    data_offset: u64,
    clusters: u64,
    root: u32,
    /// The FAT sector read last, since chains mostly run through one.
    cached: Option<(u64, Vec<u8>)>,
}

impl<'r, R: Read + Seek> Volume<'r, R> {
    fn open(part: &'r mut R, path: &str) -> Result<Self> {
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
        let data_sector = reserved + fats * fat_sectors;
        let clusters = total.saturating_sub(data_sector) / spc;
        if clusters < MIN_CLUSTERS {
            return Err(not("it has too few clusters to be FAT32"));
        }
        // Only as many clusters as the FAT has entries for are usable.
        let clusters = clusters.min(fat_sectors * sector / 4 - 2);
        let root = u32_at(44);
        if root < 2 || root - 2 >= clusters {
            return Err(not("its root directory cluster is out of range"));
        }
        Ok(Volume {
            part,
            sector,
            cluster_bytes: spc * sector,
            fat_offset: reserved * sector,
            data_offset: data_sector * sector,
            clusters,
            root: root as u32,
            cached: None,
        })
    }

    /// The cluster after `cluster`, or `None` at the end of the chain.
    fn next(&mut self, cluster: u32, path: &str) -> Result<Option<u32>> {
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

    /// The first `want` bytes of the chain from `first`, reading runs of
    /// consecutive clusters at once. With `exact`, a shorter chain is an
    /// error; without, what there is (a directory) is returned. A loop in
    /// the chain ends at `want` bytes.
    fn read_chain_upto(
        &mut self,
        first: u32,
        want: u64,
        exact: bool,
        path: &str,
    ) -> Result<Vec<u8>> {
        let mut runs: Vec<(u32, u64)> = Vec::new();
        let mut covered = 0u64;
        let mut cluster = Some(first);
        while let Some(c) = cluster {
            if covered >= want {
                break;
            }
            self.check(c, path)?;
            match runs.last_mut() {
                Some((start, n)) if u64::from(*start) + *n == u64::from(c) => *n += 1,
                _ => runs.push((c, 1)),
            }
            covered += self.cluster_bytes;
            cluster = self.next(c, path)?;
        }
        if exact && covered < want {
            return Err(corrupt(path, "its cluster chain is shorter than its size"));
        }
        let mut out = Vec::with_capacity(covered.min(want) as usize);
        for (start, n) in runs {
            let at = self.data_offset + (u64::from(start) - 2) * self.cluster_bytes;
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
        self.read_chain_upto(first, size, true, path)
    }

    /// The entry named `name` (long or short, without case) in directory `dir`.
    fn lookup(&mut self, dir: u32, name: &str, walked: &str) -> Result<Option<Found>> {
        let want = name.to_uppercase();
        Ok(self
            .entries(dir, walked)?
            .into_iter()
            .find(|(long, short, _)| {
                short.to_uppercase() == want
                    || long.as_ref().is_some_and(|l| l.to_uppercase() == want)
            })
            .map(|(_, _, found)| found))
    }

    /// Every entry of directory `dir` but the volume label and deleted
    /// ones: its long name (when its long entries are whole), its short
    /// name, and where it is.
    fn entries(&mut self, dir: u32, walked: &str) -> Result<Vec<(Option<String>, String, Found)>> {
        let bytes = self.read_chain_upto(dir, MAX_DIR_BYTES, false, walked)?;
        let mut out = Vec::new();
        let mut long: Vec<u16> = Vec::new();
        // The part number the next long entry must have, and the checksum
        // all of them must share.
        let mut expect: Option<(u8, u8)> = None;
        for e in bytes.chunks_exact(32) {
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
            let long_ok = e[..11]
                .try_into()
                .map(|short: [u8; 11]| expect == Some((0, names::checksum(&short))))
                .unwrap_or(false);
            expect = None;
            if e[11] & ATTR_VOLUME_ID != 0 {
                continue;
            }
            let cluster = u32::from(u16::from_le_bytes([e[20], e[21]])) << 16
                | u32::from(u16::from_le_bytes([e[26], e[27]]));
            out.push((
                long_ok.then(|| String::from_utf16_lossy(&long)),
                names::short_display(&e[..11], e[12]),
                Found {
                    cluster,
                    size: u32::from_le_bytes([e[28], e[29], e[30], e[31]]),
                    is_dir: e[11] & ATTR_DIRECTORY != 0,
                },
            ));
        }
        Ok(out)
    }
}

fn corrupt(path: &str, reason: &str) -> FatError {
    FatError::Corrupt {
        path: path.to_string(),
        reason: reason.to_string(),
    }
}

fn read_at(part: &mut (impl Read + Seek), at: u64, buf: &mut [u8], path: &str) -> Result<()> {
    part.seek(SeekFrom::Start(at))
        .and_then(|_| part.read_exact(buf))
        .map_err(|source| FatError::ReadPartition {
            path: path.to_string(),
            source,
        })
}
