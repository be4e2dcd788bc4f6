//! A raw disk image converted to qcow2 version 3 (QEMU's
//! `docs/interop/qcow2.txt`): 64 KiB clusters, 16-bit refcounts, no
//! backing file, no compression, no snapshots. Clusters that are all zeros
//! stay unallocated, so a sparse disk gives a small file.
//!
//! The output is written front to back to any `Write`, in this order:
//! header cluster, L1 table, refcount table, refcount blocks, L2 tables,
//! then the data clusters in guest order. Every offset is known before the
//! first byte is written because a first pass over the raw image records
//! which clusters hold data (one byte per cluster, 16 KiB per GiB); the
//! second pass copies those clusters. The raw image must not change between
//! the two passes. Same raw bytes give the same qcow2 bytes.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

const CLUSTER_BITS: u32 = 16;
/// Refcount width is `1 << REFCOUNT_ORDER` bits.
const REFCOUNT_ORDER: u32 = 4;
const HEADER_LEN: u32 = 104;
/// Set on L1 and L2 entries whose cluster has refcount 1, which all do here.
const COPIED: u64 = 1 << 63;
/// Keeps the per-cluster map of the scan under 64 MiB.
const MAX_SIZE: u64 = 4 << 40;
/// Clusters the zero scan reads at once.
const SCAN_CLUSTERS: u64 = 16;

#[derive(Debug, thiserror::Error)]
pub enum Qcow2Error {
    #[error(
        "raw disk of {bytes} bytes cannot be converted to qcow2; its size must be a multiple \
         of 512 and at most 4 TiB"
    )]
    Size { bytes: u64 },
    #[error(
        "cannot read the raw disk at byte {offset}; is it shorter than the size given or \
         unreadable?"
    )]
    Read {
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error("cannot write the qcow2 image at byte {offset}")]
    Write {
        offset: u64,
        #[source]
        source: io::Error,
    },
}

type Result<T> = std::result::Result<T, Qcow2Error>;

/// Converts the first `raw_size` bytes of `raw` to qcow2 on `out`; returns
/// the bytes written.
pub fn write(raw: &File, raw_size: u64, out: &mut impl Write) -> Result<u64> {
    write_clusters(raw, raw_size, out, CLUSTER_BITS)
}

/// Where everything goes, in clusters.
#[derive(Debug)]
struct Plan {
    cluster: u64,
    /// Per guest cluster: does it hold data?
    used: Vec<bool>,
    l1_entries: u64,
    /// Per L1 entry: does its L2 table exist?
    l2_used: Vec<bool>,
    l1_clusters: u64,
    refcount_table_clusters: u64,
    refcount_blocks: u64,
    total_clusters: u64,
}

impl Plan {
    fn new(used: Vec<bool>, cluster_bits: u32) -> Plan {
        let cluster = 1u64 << cluster_bits;
        let per_l2 = cluster / 8;
        let refcounts_per_block = (cluster * 8) >> REFCOUNT_ORDER;
        let l1_entries = (used.len() as u64).div_ceil(per_l2);
        let l2_used: Vec<bool> = used
            .chunks(per_l2 as usize)
            .map(|c| c.contains(&true))
            .collect();
        let data = used.iter().filter(|&&u| u).count() as u64;
        let l2 = l2_used.iter().filter(|&&u| u).count() as u64;
        let l1_clusters = (l1_entries * 8).div_ceil(cluster).max(1);
        let fixed = 1 + l1_clusters + l2 + data;
        // The refcount blocks count themselves and the table that points at
        // them; grow both until they cover everything.
        let (mut table, mut blocks) = (1, 1);
        loop {
            let total = fixed + table + blocks;
            let need_blocks = total.div_ceil(refcounts_per_block);
            let need_table = (need_blocks * 8).div_ceil(cluster);
            if (need_blocks, need_table) == (blocks, table) {
                break;
            }
            (blocks, table) = (need_blocks.max(blocks), need_table.max(table));
        }
        Plan {
            cluster,
            used,
            l1_entries,
            l2_used,
            l1_clusters,
            refcount_table_clusters: table,
            refcount_blocks: blocks,
            total_clusters: fixed + table + blocks,
        }
    }

    fn refcount_table_at(&self) -> u64 {
        1 + self.l1_clusters
    }

    fn l2_at(&self) -> u64 {
        self.refcount_table_at() + self.refcount_table_clusters + self.refcount_blocks
    }

    fn data_at(&self) -> u64 {
        self.l2_at() + self.l2_used.iter().filter(|&&u| u).count() as u64
    }
}

fn write_clusters(
    raw: &File,
    raw_size: u64,
    out: &mut impl Write,
    cluster_bits: u32,
) -> Result<u64> {
    if !raw_size.is_multiple_of(512) || raw_size > MAX_SIZE {
        return Err(Qcow2Error::Size { bytes: raw_size });
    }
    let plan = Plan::new(scan(raw, raw_size, 1 << cluster_bits)?, cluster_bits);
    emit(Some(raw), raw_size, &plan, out, cluster_bits)
}

/// An empty disk of `size` bytes (a multiple of 512): no cluster holds
/// data, so the file is a few clusters long whatever the size.
pub fn blank(size: u64, out: &mut impl Write) -> Result<u64> {
    if !size.is_multiple_of(512) || size > MAX_SIZE {
        return Err(Qcow2Error::Size { bytes: size });
    }
    let clusters = size.div_ceil(1 << CLUSTER_BITS) as usize;
    let plan = Plan::new(vec![false; clusters], CLUSTER_BITS);
    emit(None, size, &plan, out, CLUSTER_BITS)
}

fn emit(
    raw: Option<&File>,
    raw_size: u64,
    plan: &Plan,
    out: &mut impl Write,
    cluster_bits: u32,
) -> Result<u64> {
    let mut out = Counting { out, written: 0 };
    let c = plan.cluster as usize;

    out.put(&header(plan, raw_size, cluster_bits), c)?;

    let mut l1 = Vec::with_capacity((plan.l1_clusters * plan.cluster) as usize);
    let mut next_l2 = Allocator {
        next: plan.l2_at(),
        cluster: plan.cluster,
    };
    for &used in &plan.l2_used {
        l1.extend_from_slice(&next_l2.entry(used).to_be_bytes());
    }
    out.put(&l1, (plan.l1_clusters * plan.cluster) as usize)?;

    let blocks_at = plan.refcount_table_at() + plan.refcount_table_clusters;
    let table: Vec<u8> = (0..plan.refcount_blocks)
        .flat_map(|b| ((blocks_at + b) * plan.cluster).to_be_bytes())
        .collect();
    out.put(
        &table,
        (plan.refcount_table_clusters * plan.cluster) as usize,
    )?;

    let per_block = ((plan.cluster * 8) >> REFCOUNT_ORDER) as usize;
    for b in 0..plan.refcount_blocks {
        let first = b * per_block as u64;
        let counted = plan
            .total_clusters
            .saturating_sub(first)
            .min(per_block as u64) as usize;
        let block: Vec<u8> = std::iter::repeat_n(1u16, counted)
            .flat_map(u16::to_be_bytes)
            .collect();
        out.put(&block, c)?;
    }

    let mut next_data = Allocator {
        next: plan.data_at(),
        cluster: plan.cluster,
    };
    for (table, &used) in plan.used.chunks(c / 8).zip(&plan.l2_used) {
        if !used {
            continue;
        }
        let mut l2 = Vec::with_capacity(c);
        for &u in table {
            l2.extend_from_slice(&next_data.entry(u).to_be_bytes());
        }
        out.put(&l2, c)?;
    }

    let mut buf = vec![0u8; c];
    for (n, _) in plan.used.iter().enumerate().filter(|(_, u)| **u) {
        let offset = n as u64 * plan.cluster;
        let len = (raw_size - offset).min(plan.cluster) as usize;
        if let Some(raw) = raw {
            read_at(raw, offset, &mut buf[..len])?;
        }
        out.put(&buf[..len], c)?;
    }
    Ok(out.written)
}

/// Which clusters of the raw image hold a non-zero byte.
fn scan(raw: &File, raw_size: u64, cluster: u64) -> Result<Vec<bool>> {
    let zeros = vec![0u8; cluster as usize];
    let mut buf = vec![0u8; (cluster * SCAN_CLUSTERS) as usize];
    let mut used = Vec::with_capacity(raw_size.div_ceil(cluster) as usize);
    let mut at = 0;
    while at < raw_size {
        let len = (raw_size - at).min(buf.len() as u64) as usize;
        read_at(raw, at, &mut buf[..len])?;
        // Slice equality compiles to memcmp, fast even in debug builds.
        used.extend(
            buf[..len]
                .chunks(cluster as usize)
                .map(|c| c != &zeros[..c.len()]),
        );
        at += len as u64;
    }
    Ok(used)
}

fn read_at(raw: &File, offset: u64, buf: &mut [u8]) -> Result<()> {
    raw.read_exact_at(buf, offset)
        .map_err(|source| Qcow2Error::Read { offset, source })
}

fn header(plan: &Plan, raw_size: u64, cluster_bits: u32) -> Vec<u8> {
    let mut h = vec![0u8; HEADER_LEN as usize + 8]; // + the end-of-extensions mark
    h[0..4].copy_from_slice(b"QFI\xfb");
    h[4..8].copy_from_slice(&3u32.to_be_bytes());
    h[20..24].copy_from_slice(&cluster_bits.to_be_bytes());
    h[24..32].copy_from_slice(&raw_size.to_be_bytes());
    h[36..40].copy_from_slice(&(plan.l1_entries as u32).to_be_bytes());
    h[40..48].copy_from_slice(&plan.cluster.to_be_bytes());
    h[48..56].copy_from_slice(&(plan.refcount_table_at() * plan.cluster).to_be_bytes());
    h[56..60].copy_from_slice(&(plan.refcount_table_clusters as u32).to_be_bytes());
    h[96..100].copy_from_slice(&REFCOUNT_ORDER.to_be_bytes());
    h[100..104].copy_from_slice(&HEADER_LEN.to_be_bytes());
    h
}

/// Hands out consecutive clusters as L1 or L2 entries.
struct Allocator {
    next: u64,
    cluster: u64,
}

impl Allocator {
    /// The entry for the next cluster if `used`, else the unallocated entry.
    fn entry(&mut self, used: bool) -> u64 {
        if !used {
            return 0;
        }
        self.next += 1;
        ((self.next - 1) * self.cluster) | COPIED
    }
}

/// The output and how far into it we are.
struct Counting<'a, W: Write> {
    out: &'a mut W,
    written: u64,
}

impl<W: Write> Counting<'_, W> {
    /// Writes `bytes` zero-padded to `len`.
    fn put(&mut self, bytes: &[u8], len: usize) -> Result<()> {
        let offset = self.written;
        let pad = vec![0u8; len.saturating_sub(bytes.len())];
        self.out
            .write_all(bytes)
            .and_then(|_| self.out.write_all(&pad))
            .map_err(|source| Qcow2Error::Write { offset, source })?;
        self.written += (bytes.len() + pad.len()) as u64;
        Ok(())
    }
}

#[cfg(test)]
#[path = "qcow2_tests.rs"]
mod tests;
