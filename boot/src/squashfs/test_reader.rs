//! An independent reading of the parts of an image the host's unsquashfs
//! cannot show: the superblock fields and the xattr table.

use crate::bytes::{le_u16, le_u32, le_u64};
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

pub fn superblock(img: &[u8]) -> Super {
    assert_eq!(
        le_u32(img, 0).expect("a field inside the image"),
        0x7371_7368,
        "magic"
    );
    assert_eq!(
        (
            le_u16(img, 28).expect("a field inside the image"),
            le_u16(img, 30).expect("a field inside the image")
        ),
        (4, 0),
        "version 4.0"
    );
    Super {
        inodes: le_u32(img, 4).expect("a field inside the image"),
        mkfs_time: le_u32(img, 8).expect("a field inside the image"),
        block_size: le_u32(img, 12).expect("a field inside the image"),
        fragments: le_u32(img, 16).expect("a field inside the image"),
        compression: le_u16(img, 20).expect("a field inside the image"),
        flags: le_u16(img, 24).expect("a field inside the image"),
        no_ids: le_u16(img, 26).expect("a field inside the image"),
        bytes_used: le_u64(img, 40).expect("a field inside the image"),
        xattr_id_table_start: le_u64(img, 56).expect("a field inside the image"),
        inode_table_start: le_u64(img, 64).expect("a field inside the image"),
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
        let header = le_u16(img, at).expect("a field inside the image");
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
    let kv_start = le_u64(img, header).expect("a field inside the image");
    let count = le_u32(img, header + 8).expect("a field inside the image") as usize;
    let first_id_block = le_u64(img, header + 16).expect("a field inside the image");
    let (ids, _) = metadata(img, first_id_block, sb.xattr_id_table_start);
    let (kv, starts) = metadata(img, kv_start, first_id_block);
    (0..count)
        .map(|i| {
            let reference = le_u64(&ids, i * 16).expect("a field inside the image");
            let pairs = le_u32(&ids, i * 16 + 8).expect("a field inside the image");
            let mut at = starts[&(reference >> 16)] + (reference & 0xffff) as usize;
            (0..pairs)
                .map(|_| {
                    let prefix = ["user.", "trusted.", "security."]
                        [le_u16(&kv, at).expect("a field inside the image") as usize];
                    let name_len = le_u16(&kv, at + 2).expect("a field inside the image") as usize;
                    let name = std::str::from_utf8(&kv[at + 4..at + 4 + name_len]).expect("utf-8");
                    at += 4 + name_len;
                    let value_len = le_u32(&kv, at).expect("a field inside the image") as usize;
                    let value = kv[at + 4..at + 4 + value_len].to_vec();
                    at += 4 + value_len;
                    (format!("{prefix}{name}"), value)
                })
                .collect()
        })
        .collect()
}
