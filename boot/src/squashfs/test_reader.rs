//! An independent reading of the parts of an image the host's unsquashfs
//! cannot show: the superblock fields and the xattr table.

use std::collections::BTreeMap;
use std::io::Read;

pub struct Super {
    pub inodes: u32,
    pub mkfs_time: u32,
    pub block_size: u32,
    pub fragments: u32,
    pub compression: u16,
    pub flags: u16,
    pub no_ids: u16,
    pub bytes_used: u64,
    pub xattr_id_table_start: u64,
    pub inode_table_start: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

pub fn superblock(img: &[u8]) -> Super {
    assert_eq!(u32_at(img, 0), 0x7371_7368, "magic");
    assert_eq!((u16_at(img, 28), u16_at(img, 30)), (4, 0), "version 4.0");
    Super {
        inodes: u32_at(img, 4),
        mkfs_time: u32_at(img, 8),
        block_size: u32_at(img, 12),
        fragments: u32_at(img, 16),
        compression: u16_at(img, 20),
        flags: u16_at(img, 24),
        no_ids: u16_at(img, 26),
        bytes_used: u64_at(img, 40),
        xattr_id_table_start: u64_at(img, 56),
        inode_table_start: u64_at(img, 64),
    }
}

/// The metadata blocks in `img[from..to]`, unpacked and joined, with the
/// stream offset at which each block (by offset relative to `from`) starts.
fn metadata(img: &[u8], from: u64, to: u64) -> (Vec<u8>, BTreeMap<u64, usize>) {
    let mut stream = Vec::new();
    let mut starts = BTreeMap::new();
    let mut at = from as usize;
    while at < to as usize {
        starts.insert(at as u64 - from, stream.len());
        let header = u16_at(img, at);
        let len = (header & 0x7fff) as usize;
        let body = &img[at + 2..at + 2 + len];
        if header & 0x8000 != 0 {
            stream.extend_from_slice(body);
        } else {
            let mut dec = ruzstd::decoding::StreamingDecoder::new(body).expect("zstd frame");
            dec.read_to_end(&mut stream).expect("valid zstd frame");
        }
        at += 2 + len;
    }
    (stream, starts)
}

/// Every xattr set by id, as (full name, value) pairs.
pub fn xattr_sets(img: &[u8]) -> Vec<Vec<(String, Vec<u8>)>> {
    let sb = superblock(img);
    if sb.xattr_id_table_start == u64::MAX {
        return Vec::new();
    }
    let header = sb.xattr_id_table_start as usize;
    let kv_start = u64_at(img, header);
    let count = u32_at(img, header + 8) as usize;
    let first_id_block = u64_at(img, header + 16);
    let (ids, _) = metadata(img, first_id_block, sb.xattr_id_table_start);
    let (kv, starts) = metadata(img, kv_start, first_id_block);
    (0..count)
        .map(|i| {
            let reference = u64_at(&ids, i * 16);
            let pairs = u32_at(&ids, i * 16 + 8);
            let mut at = starts[&(reference >> 16)] + (reference & 0xffff) as usize;
            (0..pairs)
                .map(|_| {
                    let prefix = ["user.", "trusted.", "security."][u16_at(&kv, at) as usize];
                    let name_len = u16_at(&kv, at + 2) as usize;
                    let name = std::str::from_utf8(&kv[at + 4..at + 4 + name_len]).expect("utf-8");
                    at += 4 + name_len;
                    let value_len = u32_at(&kv, at) as usize;
                    let value = kv[at + 4..at + 4 + value_len].to_vec();
                    at += 4 + value_len;
                    (format!("{prefix}{name}"), value)
                })
                .collect()
        })
        .collect()
}
