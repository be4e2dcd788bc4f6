use std::io::Cursor;
use std::process::Command;

use super::super::{
    ATTR_READ_ONLY, ESP, Header, LINUX_DATA, Layout, Partition, ROOT_X86_64, encode_table,
    guid_from, parse_entries, parse_header, read_table, write_table,
};
use super::*;

const MIB: u64 = 1 << 20;

/// The cairn layout with a data partition: ESP, root A, root B left empty,
/// data last.
fn parts(layout: &Layout) -> Vec<Partition> {
    let part = |slot, index: usize, type_guid, name: &str, attrs| Partition {
        slot,
        type_guid,
        unique_guid: guid_from(&[name.as_bytes()]),
        name: name.into(),
        first_lba: layout.extents[index].first_lba,
        last_lba: layout.extents[index].last_lba,
        attrs,
    };
    vec![
        part(1, 0, ESP, "esp", 0),
        part(2, 1, ROOT_X86_64, "root-a", ATTR_READ_ONLY),
        part(4, 2, LINUX_DATA, "data", 0),
    ]
}

fn small_disk() -> (Layout, Vec<Partition>, Vec<u8>) {
    let layout = Layout::new(&[MIB, 2 * MIB, 16 * MIB]).expect("layout");
    let parts = parts(&layout);
    let mut disk = Cursor::new(vec![0u8; layout.disk_bytes as usize]);
    write_table(&mut disk, guid_from(&[b"disk"]), layout.disk_bytes, &parts).expect("write");
    (layout, parts, disk.into_inner())
}

fn apply(disk: &mut [u8], steps: &[Rewrite<'_>]) {
    for step in steps {
        if let Rewrite::Write { offset, bytes, .. } = step {
            let at = *offset as usize;
            disk[at..at + bytes.len()].copy_from_slice(bytes);
        }
    }
}

fn copy_at(disk: &[u8], header_lba: u64) -> (Header, Vec<Partition>) {
    let at = (header_lba * SECTOR) as usize;
    let header = parse_header(&disk[at..at + SECTOR as usize]).expect("header");
    let array = (header.entries_lba * SECTOR) as usize;
    let parts = parse_entries(&disk[array..], &header).expect("entries");
    (header, parts)
}

#[test]
fn encode_table_gives_the_sectors_write_table_writes() {
    let (layout, parts, disk) = small_disk();
    let t = encode_table(guid_from(&[b"disk"]), layout.disk_bytes, &parts).expect("encode");
    let mut rebuilt = vec![0u8; disk.len()];
    rebuilt[..512].copy_from_slice(&t.mbr);
    apply(&mut rebuilt, &t.rewrite_steps(None));
    assert!(rebuilt == disk);
}

#[test]
fn the_rewrite_writes_the_backup_and_flushes_before_touching_the_primary() {
    let (layout, parts, _) = small_disk();
    let t = encode_table(guid_from(&[b"disk"]), layout.disk_bytes, &parts).expect("encode");
    let mbr = t.mbr;
    let order: Vec<&str> = t
        .rewrite_steps(Some(&mbr))
        .iter()
        .map(|s| match s {
            Rewrite::Write { what, .. } => *what,
            Rewrite::Flush => "flush",
        })
        .collect();
    assert_eq!(
        order,
        [
            "backup entry array",
            "backup header",
            "flush",
            "primary entry array",
            "primary header",
            "protective MBR",
            "flush"
        ]
    );
}

#[test]
fn the_last_partition_of_a_layout_ends_at_the_last_aligned_lba() {
    let (layout, _, _) = small_disk();
    let last = layout.extents.last().expect("extent").last_lba;
    assert_eq!(last_aligned_lba(layout.disk_bytes), Some(last));
    // A disk that is no whole number of MiB keeps the partition on a MiB.
    assert_eq!(last_aligned_lba(40 * MIB + 7 * 512), Some(39 * 2048 - 1));
    assert_eq!(last_aligned_lba(MIB), None);
    assert_eq!(last_aligned_lba(0), None);
}

#[test]
fn a_table_grown_into_a_larger_disk_moves_only_the_data_partitions_end() {
    let (layout, parts, small) = small_disk();
    let (header, read) = read_table(&mut Cursor::new(&small), SECTOR).expect("read");
    assert_eq!(read, parts);

    let big_bytes = 64 * MIB;
    let mut grown = read.clone();
    let new_last = last_aligned_lba(big_bytes).expect("fits");
    grown[2].last_lba = new_last;
    let t = encode_table(header.disk_guid, big_bytes, &grown).expect("encode");
    let mut big = small.clone();
    big.resize(big_bytes as usize, 0);
    let mut mbr = [0u8; 512];
    mbr.copy_from_slice(&big[..512]);
    assert!(resize_protective_mbr(&mut mbr, big_bytes / SECTOR));
    apply(&mut big, &t.rewrite_steps(Some(&mbr)));

    let last = big_bytes / SECTOR - 1;
    let (primary, p_parts) = copy_at(&big, 1);
    let (backup, b_parts) = copy_at(&big, last);
    assert_eq!((primary.alternate_lba, backup.my_lba), (last, last));
    assert_eq!(backup.alternate_lba, 1);
    assert_eq!(primary.disk_guid, header.disk_guid);
    assert_eq!(p_parts, b_parts);
    assert_eq!(p_parts[..2], parts[..2]);
    assert_eq!(p_parts[2].first_lba, parts[2].first_lba);
    assert_eq!(p_parts[2].last_lba, new_last);
    assert_eq!((new_last + 1) * SECTOR, big_bytes - MIB);
    assert!(layout.disk_bytes < big_bytes);

    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), &big).expect("write image");
    let out = Command::new("sgdisk")
        .arg("-v")
        .arg(file.path())
        .output()
        .expect("sgdisk (gdisk) is installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("No problems found"), "{text}");
}

#[test]
fn resizing_the_protective_mbr_changes_only_its_size() {
    let (_, _, disk) = small_disk();
    let mut mbr = disk[..512].to_vec();
    mbr[..440].fill(0xcc); // boot code, as a BIOS disk's hybrid MBR has
    let before = mbr.clone();
    assert!(resize_protective_mbr(&mut mbr, 1 << 40));
    assert_eq!(mbr[446 + 12..446 + 16], u32::MAX.to_le_bytes());
    assert_eq!(mbr[..446 + 12], before[..446 + 12]);
    assert_eq!(mbr[446 + 16..], before[446 + 16..]);
    let mut blank = vec![0u8; 512];
    assert!(!resize_protective_mbr(&mut blank, 100));
    assert!(blank.iter().all(|&b| b == 0));
    assert!(!resize_protective_mbr(&mut [0u8; 10], 100));
}
