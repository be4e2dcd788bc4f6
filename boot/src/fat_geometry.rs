//! Where things sit in a FAT32 volume of a given size, and the sectors that
//! describe it: the boot sector (BPB), FSInfo and the FAT itself.

use super::{FatError, Options, Result};

pub const SECTOR: u64 = 512;
pub const FATS: u32 = 2;
/// Clusters 0 and 1 are not data clusters; their FAT entries hold the media
/// byte and the clean-shutdown bits.
pub const FIRST_CLUSTER: u64 = 2;
/// Below this many clusters a volume is FAT16 by definition (fatgen103).
pub const MIN_CLUSTERS: u32 = 65525;
/// FAT32 entries are 28 bits and the top values are reserved.
pub const MAX_CLUSTERS: u32 = 0x0FFF_FFF5;
const MIN_RESERVED: u32 = 32;
const MEDIA: u8 = 0xF8;
pub const END_OF_CHAIN: u32 = 0x0FFF_FFFF;
const MIB: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub total_sectors: u32,
    pub sectors_per_cluster: u32,
    pub reserved_sectors: u32,
    pub fat_sectors: u32,
    /// Data clusters, numbered from 2.
    pub clusters: u32,
}

impl Geometry {
    /// The cluster size is the largest up to 4 KiB that keeps the volume
    /// FAT32 (small clusters waste less on small files; FAT32 needs 65525
    /// of them), larger only when 4 KiB would give too many clusters.
    pub fn for_size(size: u64) -> Result<Geometry> {
        let bad = || FatError::BadPartitionSize { size };
        let sectors = u32::try_from(size / SECTOR).map_err(|_| bad())?;
        let fits = |g: &Geometry| (MIN_CLUSTERS..=MAX_CLUSTERS).contains(&g.clusters);
        // Down from 4 KiB first; the larger sizes come after only for
        // volumes too big for 4 KiB clusters.
        [8, 4, 2, 1, 16, 32, 64, 128]
            .into_iter()
            .map(|spc| Geometry::layout(sectors, spc))
            .find(fits)
            .ok_or_else(bad)
    }

    /// Lays out `sectors` with the smallest FAT that covers the clusters
    /// left after it, the data region starting on a cluster boundary.
    fn layout(sectors: u32, spc: u32) -> Geometry {
        let clusters_for = |fat: u32| -> (u32, u32) {
            let data_start = (MIN_RESERVED + FATS * fat).next_multiple_of(spc);
            let clusters = sectors.saturating_sub(data_start) / spc;
            (clusters, data_start - FATS * fat)
        };
        let covers = |fat: u32| {
            let needed = (u64::from(clusters_for(fat).0) + FIRST_CLUSTER) * 4;
            needed <= u64::from(fat) * SECTOR
        };
        // Sized for every sector, the FAT covers the clusters; each FAT
        // sector taken from the data area only makes that easier. So step
        // down from there to the smallest FAT that still covers them.
        let all = (u64::from(sectors) + FIRST_CLUSTER) * 4;
        let mut fat = u32::try_from(all.div_ceil(SECTOR))
            .unwrap_or(u32::MAX)
            .max(1);
        let mut step = fat / 2;
        while step > 0 {
            if fat > step && covers(fat - step) {
                fat -= step;
            } else {
                step /= 2;
            }
        }
        let (clusters, reserved) = clusters_for(fat);
        Geometry {
            total_sectors: sectors,
            sectors_per_cluster: spc,
            reserved_sectors: reserved,
            fat_sectors: fat,
            clusters,
        }
    }

    pub fn cluster_bytes(&self) -> u64 {
        u64::from(self.sectors_per_cluster) * SECTOR
    }

    pub fn fat_bytes_len(&self) -> u64 {
        u64::from(self.fat_sectors) * SECTOR
    }

    /// Byte offset of FAT copy `copy` (0 or 1).
    pub fn fat_offset(&self, copy: u64) -> u64 {
        u64::from(self.reserved_sectors) * SECTOR + copy * self.fat_bytes_len()
    }

    pub fn cluster_offset(&self, cluster: u64) -> u64 {
        self.fat_offset(u64::from(FATS)) + (cluster - FIRST_CLUSTER) * self.cluster_bytes()
    }
}

/// The smallest size, in whole MiB, whose layout holds the files with the
/// headroom [`super::partition_size`] promises.
pub fn partition_size(bytes: u64, files: usize) -> u64 {
    let files = files as u64;
    let spare = (bytes / 8).saturating_add(MIB);
    let mut size = bytes.saturating_add(spare).next_multiple_of(MIB).max(MIB);
    // Each step adds 1 MiB; the first guess is short only by the FAT and
    // the per-file slack, so few steps are needed.
    for _ in 0..4096 {
        if let Ok(geo) = Geometry::for_size(size) {
            let cluster = geo.cluster_bytes();
            // Per file: the slack of its last cluster and up to two new
            // directories on its path, with a cluster each.
            let needed = bytes
                .div_ceil(cluster)
                .saturating_add(files.saturating_mul(3))
                .saturating_add(1)
                .saturating_mul(cluster)
                .saturating_add(spare);
            if u64::from(geo.clusters) * cluster >= needed {
                return size;
            }
        }
        size = size.saturating_add(MIB);
    }
    size
}

/// Sector 0: a jump over the BPB to a stub that says the disk is not
/// bootable by BIOS, the BIOS parameter block, and the 0x55AA signature.
pub fn boot_sector(geo: &Geometry, opts: &Options) -> [u8; 512] {
    let mut s = [0u8; 512];
    s[0..3].copy_from_slice(&[0xEB, 0x58, 0x90]);
    s[3..11].copy_from_slice(b"CAIRN   ");
    s[11..13].copy_from_slice(&(SECTOR as u16).to_le_bytes());
    s[13] = geo.sectors_per_cluster as u8;
    s[14..16].copy_from_slice(&(geo.reserved_sectors as u16).to_le_bytes());
    s[16] = FATS as u8;
    // Root entry count, 16-bit sector count and FAT size stay 0 on FAT32.
    s[21] = MEDIA;
    // CHS geometry is meaningless for images; these are the usual values.
    s[24..26].copy_from_slice(&32u16.to_le_bytes());
    s[26..28].copy_from_slice(&64u16.to_le_bytes());
    s[32..36].copy_from_slice(&geo.total_sectors.to_le_bytes());
    s[36..40].copy_from_slice(&geo.fat_sectors.to_le_bytes());
    // Flags 0: both FATs are kept in step. Version 0.0.
    s[44..48].copy_from_slice(&(FIRST_CLUSTER as u32).to_le_bytes());
    s[48..50].copy_from_slice(&1u16.to_le_bytes());
    s[50..52].copy_from_slice(&6u16.to_le_bytes());
    s[64] = 0x80;
    s[66] = 0x29;
    s[67..71].copy_from_slice(&opts.volume_id.to_le_bytes());
    s[71..82].copy_from_slice(&opts.label);
    s[82..90].copy_from_slice(b"FAT32   ");
    s[90..90 + BOOT_STUB.len()].copy_from_slice(&BOOT_STUB);
    let msg = 90 + BOOT_STUB.len();
    s[msg..msg + NOT_BOOTABLE.len()].copy_from_slice(NOT_BOOTABLE);
    s[510] = 0x55;
    s[511] = 0xAA;
    s
}

/// 16-bit real-mode code at 0x7C5A: print the message after it through the
/// BIOS teletype call, wait for a key, then ask the BIOS to boot something
/// else. `objdump -b binary -m i8086` shows it.
const BOOT_STUB: [u8; 27] = [
    0x0E, // push cs
    0x1F, // pop ds
    0xBE, 0x75, 0x7C, // mov si, 0x7c75 (the message)
    0xAC, // next: lodsb
    0x84, 0xC0, // test al, al
    0x74, 0x09, // jz done
    0xB4, 0x0E, // mov ah, 0x0e
    0xBB, 0x07, 0x00, // mov bx, 0x0007
    0xCD, 0x10, // int 0x10
    0xEB, 0xF2, // jmp next
    0x32, 0xE4, // done: xor ah, ah
    0xCD, 0x16, // int 0x16
    0xCD, 0x19, // int 0x19
    0xEB, 0xFE, // jmp $
];

const NOT_BOOTABLE: &[u8] =
    b"This is an EFI system partition; boot it with UEFI.\r\nPress a key to go on.\r\n\0";

/// FSInfo: the free cluster count and where to look for the next free one,
/// which fsck.fat checks against the FAT.
pub fn fsinfo_sector(free: u64, next_free: Option<u64>) -> [u8; 512] {
    let mut s = [0u8; 512];
    s[0..4].copy_from_slice(&0x4161_5252u32.to_le_bytes());
    s[484..488].copy_from_slice(&0x6141_7272u32.to_le_bytes());
    s[488..492].copy_from_slice(&(free as u32).to_le_bytes());
    let next = next_free.map_or(u32::MAX, |c| c as u32);
    s[492..496].copy_from_slice(&next.to_le_bytes());
    s[508..512].copy_from_slice(&0xAA55_0000u32.to_le_bytes());
    s
}

/// The FAT entries up to the last used cluster: the media entry, the
/// clean-shutdown entry, then one consecutive chain per `(start, clusters)`.
/// The rest of the FAT is zeros (free).
pub fn fat_bytes(chains: &[(u64, u64)]) -> Vec<u8> {
    let end = chains
        .iter()
        .map(|&(start, n)| start + n)
        .max()
        .unwrap_or(FIRST_CLUSTER)
        .max(FIRST_CLUSTER);
    let mut entries = vec![0u32; end as usize];
    entries[0] = 0x0FFF_FF00 | u32::from(MEDIA);
    entries[1] = END_OF_CHAIN;
    for &(start, n) in chains {
        for c in start..start + n {
            entries[c as usize] = if c + 1 == start + n {
                END_OF_CHAIN
            } else {
                (c + 1) as u32
            };
        }
    }
    entries.iter().flat_map(|e| e.to_le_bytes()).collect()
}
