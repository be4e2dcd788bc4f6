//! Changing a FAT32 volume in place: adding one file to a directory and
//! removing one, so an update puts its UKI onto a disk's ESP and drops an old
//! one without formatting the partition again. Works on any FAT32 volume the
//! reader reads, not only ours.
//!
//! The writes come in an order that leaves every file already there intact
//! wherever they stop. Adding: the data into free clusters, its chain into
//! every FAT, the directory entries (the commit: the file is there from this
//! write on), then FSInfo. Removing: the entries marked deleted (the commit),
//! the chain freed in every FAT, then FSInfo. Stopped before a commit, the
//! volume has clusters that no entry uses, or FAT copies that differ;
//! stopped after, FSInfo's free count is off. `fsck.fat -a` mends either
//! without touching a file. Between the steps `flush` is called: a writer
//! whose flush reaches the disk (`sync_data`) keeps that order across a
//! power loss.
//!
//! New entries are made as the writer makes them: long name entries when
//! the name is not upper-case 8.3, a `BASE~N.EXT` alias no other entry of
//! the directory has, and the FAT epoch as every time stamp.

use std::io::{Read, Seek, Write};

use crate::bytes::le_u32;

use super::dir::{ATTR_ARCHIVE, short_entry};
use super::geometry::END_OF_CHAIN;
use super::read::{self, DELETED, ENTRY, Folder, MAX_DIR_BYTES, Volume, read_at};
use super::{FatError, MAX_FILE_SIZE, Result, copy_data, names, put, zeros};

const FREE: u32 = 0;
/// FAT entries read at once while counting free clusters (64 KiB).
const SCAN_ENTRIES: u64 = 1 << 14;
/// The most FAT sectors rewritten at once.
const FAT_SPAN: u64 = 128;

/// The free bytes of the FAT32 volume `part` starts with, and its cluster
/// size (a file takes whole clusters), counted from the FAT itself.
pub fn free_space(part: &mut (impl Read + Seek)) -> Result<(u64, u64)> {
    let mut vol = Volume::open(part, "")?;
    let free = scan(&mut vol, 0, 0, "")?.free;
    Ok((free * vol.cluster_bytes, vol.cluster_bytes))
}

/// Creates the file `name` in the directory `dir` (`/`-separated, which
/// must exist; `""` for the root) of the FAT32 volume `part` starts with,
/// holding the `size` bytes `data` yields. A name the directory has already
/// (long or short, without case) is `Exists`; too few free clusters is
/// `Full`, and nothing is written.
pub fn add_file(
    part: &mut (impl Read + Write + Seek),
    dir: &str,
    name: &str,
    size: u64,
    data: &mut dyn Read,
) -> Result<()> {
    let dirs = read::split(dir);
    let path = dirs
        .iter()
        .chain([&name])
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    names::check_long(&path, name)?;
    if name.contains('/') {
        return Err(FatError::BadName {
            path,
            reason: "a file name cannot hold `/`",
        });
    }
    if size > MAX_FILE_SIZE {
        return Err(FatError::FileTooLarge { path, size });
    }
    let mut vol = Volume::open(part, &path)?;
    let dir_cluster = vol.find_dir(&dirs)?;
    let folder = folder(&mut vol, dir_cluster, &path)?;
    let listed = read::parse(&folder.bytes);
    if listed.iter().any(|e| e.is_named(name)) {
        return Err(FatError::Exists { path });
    }
    // An alias must differ from every short name, and from every long
    // name too, or a lookup would find the other file.
    let (short, long) = names::short_name(name, |s| {
        let shown = names::short_display(s, 0);
        listed.iter().any(|e| &e.short == s || e.is_named(&shown))
    });
    let mut entries = if long {
        names::long_entries(name, &short)
    } else {
        Vec::new()
    };
    let n = entries.len() + 1;
    let cb = vol.cluster_bytes;
    let per_cluster = (cb / ENTRY as u64) as usize;
    let (start, grow) = place(&folder.bytes, n, per_cluster);
    let dir_bytes = (folder.clusters.len() + grow) as u64 * cb;
    if grow > 0 && (!folder.whole || dir_bytes > MAX_DIR_BYTES) {
        return Err(FatError::DirectoryFull {
            path: dirs.join("/"),
        });
    }

    let data_clusters = size.div_ceil(cb);
    let need = data_clusters + grow as u64;
    let scan = scan(&mut vol, data_clusters, need + 1, &path)?;
    if scan.free < need {
        return Err(FatError::Full {
            path,
            need: need * cb,
            free: scan.free * cb,
        });
    }
    // The first run long enough, else the first free clusters; the new
    // directory clusters and FSInfo's next free one are the first free
    // clusters after that.
    let listed_free = || (scan.first.iter()).flat_map(|&(s, k)| (s..).take(k as usize));
    let (data_runs, spare): (Vec<(u32, u64)>, Vec<u32>) = match scan.run {
        Some(s) if data_clusters > 0 => {
            let end = u64::from(s) + data_clusters;
            let spare = listed_free()
                .filter(|&c| c < s || u64::from(c) >= end)
                .take(grow + 1);
            (vec![(s, data_clusters)], spare.collect())
        }
        _ => (
            take_runs(&scan.first, data_clusters),
            listed_free()
                .skip(data_clusters as usize)
                .take(grow + 1)
                .collect(),
        ),
    };
    let new_dir = &spare[..grow];
    let next_free = spare.get(grow).copied();

    // 1. The data and the new directory clusters, all in free clusters.
    let at: Vec<(u64, u64)> = (data_runs.iter())
        .map(|&(s, k)| (vol.cluster_offset(s), k * cb))
        .collect();
    copy_data(vol.part, &at, data, size, &path)?;
    for &c in new_dir {
        zeros(vol.part, vol.cluster_offset(c), cb)?;
    }
    flush(&mut vol)?;

    // 2. Their chains in every FAT, then the directory's link to its new
    // clusters.
    let mut fat = chain(data_runs.iter().flat_map(|&(s, k)| (s..).take(k as usize)));
    fat.extend(chain(new_dir.iter().copied()));
    write_fat(&mut vol, fat, &path)?;
    if let (Some(&last), Some(&first)) = (folder.clusters.last(), new_dir.first()) {
        write_fat(&mut vol, vec![(last, first)], &path)?;
    }
    flush(&mut vol)?;

    // 3. The entries: the long ones, then the short one. Past the
    // directory's end marker, the entry after them must end it again.
    let first_cluster = data_runs.first().map_or(0, |r| r.0);
    entries.push(short_entry(
        &short,
        ATTR_ARCHIVE,
        u64::from(first_cluster),
        size as u32,
    ));
    let clusters: Vec<u32> = folder.clusters.iter().chain(new_dir).copied().collect();
    let after = start + n;
    let slots = folder.bytes.len() / ENTRY;
    if after > end_marker(&folder.bytes) && after < slots && folder.bytes[after * ENTRY] != 0 {
        for (at, bytes) in slot_writes(&vol, &clusters, after, &[[0u8; ENTRY]]) {
            put(vol.part, at, &bytes, "directory")?;
        }
    }
    for (at, bytes) in slot_writes(&vol, &clusters, start, &entries) {
        put(vol.part, at, &bytes, "directory")?;
    }
    flush(&mut vol)?;

    // 4. FSInfo.
    update_fsinfo(&mut vol, scan.free - need, next_free, &path)?;
    flush(&mut vol)
}

/// Removes the file at `path` from the FAT32 volume `part` starts with and
/// frees its clusters. A missing file is `NotFound`, a directory
/// `NotAFile`; a file whose cluster chain does not match its size is
/// `Corrupt`, and nothing is written.
pub fn remove_file(part: &mut (impl Read + Write + Seek), path: &str) -> Result<()> {
    let parts = read::split(path);
    let Some((name, dirs)) = parts.split_last() else {
        return Err(FatError::NotAFile {
            path: path.to_string(),
        });
    };
    let walked = parts.join("/");
    let mut vol = Volume::open(part, path)?;
    let dir = vol.find_dir(dirs)?;
    let folder = folder(&mut vol, dir, &walked)?;
    let entry = (read::parse(&folder.bytes).into_iter())
        .find(|e| e.is_named(name))
        .ok_or_else(|| FatError::NotFound {
            path: walked.clone(),
        })?;
    if entry.is_dir {
        return Err(FatError::NotAFile { path: walked });
    }
    let cb = vol.cluster_bytes;
    let size = u64::from(entry.size);
    let runs = if entry.cluster == 0 {
        Vec::new()
    } else {
        // A chain that ends exactly where its size does has no loop.
        let expect = size.div_ceil(cb).max(1);
        let (runs, ended) = vol.runs(entry.cluster, expect, &walked)?;
        let count: u64 = runs.iter().map(|r| r.1).sum();
        if !ended || count < expect {
            return Err(corrupt(
                &walked,
                "its cluster chain does not match its size",
            ));
        }
        runs
    };
    if entry.cluster == 0 && size > 0 {
        return Err(corrupt(&walked, "it has a size but no clusters"));
    }
    let scan = scan(&mut vol, 0, 1, &walked)?;

    // 1. The entries deleted, the short one first: the file is gone with it.
    let deleted: Vec<[u8; ENTRY]> = folder.bytes[entry.first * ENTRY..(entry.slot + 1) * ENTRY]
        .chunks_exact(ENTRY)
        .map(|e| {
            let mut e2 = [0u8; ENTRY];
            e2.copy_from_slice(e);
            e2[0] = DELETED;
            e2
        })
        .collect();
    let writes = slot_writes(&vol, &folder.clusters, entry.first, &deleted);
    if let Some(((at, bytes), rest)) = writes.split_last() {
        put(vol.part, *at, bytes, "directory")?;
        for (at, bytes) in rest {
            put(vol.part, *at, bytes, "directory")?;
        }
    }
    flush(&mut vol)?;

    // 2. The chain freed in every FAT.
    let freed: Vec<(u32, u32)> = (runs.iter())
        .flat_map(|&(s, k)| (s..).take(k as usize).map(|c| (c, FREE)))
        .collect();
    let count = freed.len() as u64;
    write_fat(&mut vol, freed, &walked)?;
    flush(&mut vol)?;

    // 3. FSInfo.
    let lowest = [scan.first.first(), runs.first()].into_iter().flatten();
    let next_free = lowest.map(|r| r.0).min();
    update_fsinfo(&mut vol, scan.free + count, next_free, &walked)?;
    flush(&mut vol)
}

/// Directory `dir` to change: one whose chain does not run in a loop.
fn folder<R: Read + Seek>(vol: &mut Volume<'_, R>, dir: u32, path: &str) -> Result<Folder> {
    let folder = vol.folder(dir, path)?;
    let mut seen = folder.clusters.clone();
    seen.sort_unstable();
    if seen.windows(2).any(|w| w[0] == w[1]) {
        return Err(corrupt(
            path,
            "its directory's cluster chain runs in a loop",
        ));
    }
    Ok(folder)
}

/// The index of a directory's end marker (an entry starting with 0: it
/// and every entry after it are free), or the number of entries.
fn end_marker(bytes: &[u8]) -> usize {
    let mut entries = bytes.chunks_exact(ENTRY);
    let slots = entries.len();
    entries.position(|e| e[0] == 0).unwrap_or(slots)
}

/// Where the first `n` consecutive free entries of a directory start, and
/// by how many clusters the directory must grow to have them (0 when it
/// has them): the free entries at its end go on into new clusters.
fn place(bytes: &[u8], n: usize, per_cluster: usize) -> (usize, usize) {
    let slots = bytes.len() / ENTRY;
    let end = end_marker(bytes);
    let mut run = 0;
    for i in 0..slots {
        if i >= end || bytes[i * ENTRY] == DELETED {
            run += 1;
            if run == n {
                return (i + 1 - n, 0);
            }
        } else {
            run = 0;
        }
    }
    let start = slots - run;
    (start, (start + n - slots).div_ceil(per_cluster))
}

/// The writes that put `entries` into a directory's entries from `start`
/// on, one for each sector they touch, in order.
fn slot_writes<R: Read + Seek>(
    vol: &Volume<'_, R>,
    clusters: &[u32],
    start: usize,
    entries: &[[u8; ENTRY]],
) -> Vec<(u64, Vec<u8>)> {
    let per_cluster = (vol.cluster_bytes / ENTRY as u64) as usize;
    let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let slot = start + i;
        let at = vol.cluster_offset(clusters[slot / per_cluster])
            + ((slot % per_cluster) * ENTRY) as u64;
        match out.last_mut() {
            Some((from, bytes))
                if *from + bytes.len() as u64 == at && !at.is_multiple_of(vol.sector) =>
            {
                bytes.extend_from_slice(e);
            }
            _ => out.push((at, e.to_vec())),
        }
    }
    out
}

/// What a pass over the FAT found.
struct Scan {
    /// Free clusters.
    free: u64,
    /// The first run of free clusters as long as asked for.
    run: Option<u32>,
    /// The first free clusters, as many as asked for, as runs.
    first: Vec<(u32, u64)>,
}

/// Counts the free clusters and finds the first run of `contiguous` of
/// them and the first `first` ones, reading the FAT a piece at a time.
fn scan<R: Read + Seek>(
    vol: &mut Volume<'_, R>,
    contiguous: u64,
    first: u64,
    path: &str,
) -> Result<Scan> {
    let end = 2 + vol.clusters;
    let mut buf = vec![0u8; SCAN_ENTRIES as usize * 4];
    let mut out = Scan {
        free: 0,
        run: None,
        first: Vec::new(),
    };
    let (mut run_start, mut run_len, mut taken) = (0u64, 0u64, 0u64);
    let mut c = 2u64;
    while c < end {
        let n = SCAN_ENTRIES.min(end - c);
        let bytes = &mut buf[..n as usize * 4];
        read_at(vol.part, vol.fat_offset + c * 4, bytes, path)?;
        for (i, e) in bytes.chunks_exact(4).enumerate() {
            let cluster = c + i as u64;
            if le_u32(e, 0).unwrap_or(0) & 0x0FFF_FFFF != FREE {
                run_len = 0;
                continue;
            }
            out.free += 1;
            if run_len == 0 {
                run_start = cluster;
            }
            run_len += 1;
            if out.run.is_none() && contiguous > 0 && run_len >= contiguous {
                out.run = Some(run_start as u32);
            }
            if taken < first {
                taken += 1;
                match out.first.last_mut() {
                    Some((s, k)) if u64::from(*s) + *k == cluster => *k += 1,
                    _ => out.first.push((cluster as u32, 1)),
                }
            }
        }
        c += n;
    }
    Ok(out)
}

/// The first `count` clusters of `runs`, as runs.
fn take_runs(runs: &[(u32, u64)], count: u64) -> Vec<(u32, u64)> {
    let mut left = count;
    let mut out = Vec::new();
    for &(s, k) in runs {
        if left == 0 {
            break;
        }
        out.push((s, k.min(left)));
        left -= k.min(left);
    }
    out
}

/// FAT entries that chain `clusters` in order, the last ending the chain.
fn chain(clusters: impl Iterator<Item = u32>) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for c in clusters {
        if let Some(last) = out.last_mut() {
            last.1 = c;
        }
        out.push((c, END_OF_CHAIN));
    }
    out
}

/// Sets `(cluster, value)` entries in every FAT, one copy after the other,
/// keeping the top four bits each entry has (reserved, fatgen103 says).
fn write_fat<R: Read + Write + Seek>(
    vol: &mut Volume<'_, R>,
    mut entries: Vec<(u32, u32)>,
    path: &str,
) -> Result<()> {
    entries.sort_unstable();
    vol.cached = None;
    let sector = vol.sector;
    let sector_of = |c: u32| u64::from(c) * 4 / sector;
    for copy in 0..vol.fats {
        let base = vol.fats_offset + copy * vol.fat_bytes;
        let mut i = 0;
        while i < entries.len() {
            // The entries in a span of neighbouring sectors, read and
            // written at once.
            let from = sector_of(entries[i].0);
            let mut to = from;
            let mut j = i;
            while let Some(&(c, _)) = entries.get(j) {
                let s = sector_of(c);
                if s > to + 1 || s >= from + FAT_SPAN {
                    break;
                }
                (to, j) = (s, j + 1);
            }
            let at = base + from * sector;
            let mut buf = vec![0u8; ((to - from + 1) * sector) as usize];
            read_at(vol.part, at, &mut buf, path)?;
            for &(c, value) in &entries[i..j] {
                let k = (u64::from(c) * 4 - from * sector) as usize;
                let old = le_u32(&buf, k).unwrap_or(0);
                let new = (old & 0xF000_0000) | (value & 0x0FFF_FFFF);
                buf[k..k + 4].copy_from_slice(&new.to_le_bytes());
            }
            put(vol.part, at, &buf, "file allocation table")?;
            i = j;
        }
    }
    vol.cached = None;
    Ok(())
}

/// Records the free cluster count and the first free cluster in FSInfo,
/// when the volume has it where its boot sector says.
fn update_fsinfo<R: Read + Write + Seek>(
    vol: &mut Volume<'_, R>,
    free: u64,
    next: Option<u32>,
    path: &str,
) -> Result<()> {
    if vol.fsinfo == 0 || vol.fsinfo * vol.sector >= vol.fats_offset {
        return Ok(());
    }
    let at = vol.fsinfo * vol.sector;
    let mut s = [0u8; 512];
    read_at(vol.part, at, &mut s, path)?;
    let signed = [(0, 0x4161_5252), (484, 0x6141_7272), (508, 0xAA55_0000)]
        .iter()
        .all(|&(o, sig)| le_u32(&s, o) == Some(sig));
    if !signed {
        return Ok(());
    }
    let mut fields = [0u8; 8];
    fields[..4].copy_from_slice(&(free as u32).to_le_bytes());
    fields[4..].copy_from_slice(&next.unwrap_or(u32::MAX).to_le_bytes());
    put(vol.part, at + 488, &fields, "FSInfo sector")
}

fn flush<R: Write>(vol: &mut Volume<'_, R>) -> Result<()> {
    vol.part.flush().map_err(|source| FatError::Write {
        what: "FAT partition".to_string(),
        source,
    })
}

fn corrupt(path: &str, reason: &str) -> FatError {
    FatError::Corrupt {
        path: path.to_string(),
        reason: reason.to_string(),
    }
}
