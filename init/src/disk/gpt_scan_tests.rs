use std::io::{self, Cursor};
use std::process::Command;

use cairn_boot::gpt::{LINUX_DATA, Partition, guid_from, write_table};

use super::*;

const SECTOR: usize = 512;

/// A disk of `sectors` 512-byte sectors with a GPT (written by the boot
/// crate) and the given partitions as (unique GUID, first LBA, last LBA),
/// numbered from 1.
pub fn disk_image(parts: &[(Guid, u64, u64)], sectors: usize) -> Vec<u8> {
    let parts: Vec<Partition> = (1u32..)
        .zip(parts)
        .map(|(slot, &(unique_guid, first_lba, last_lba))| Partition {
            slot,
            type_guid: LINUX_DATA,
            unique_guid,
            name: String::new(),
            first_lba,
            last_lba,
            attrs: 0,
        })
        .collect();
    let bytes = (sectors * SECTOR) as u64;
    let mut disk = Cursor::new(vec![0u8; sectors * SECTOR]);
    write_table(&mut disk, guid_from(&[b"test disk"]), bytes, &parts).expect("write_table");
    disk.into_inner()
}

fn guid(text: &str) -> Guid {
    Guid::parse(text).expect("test GUID")
}

/// The partition number of `wanted` in a whole disk image.
fn find_in(disk: &[u8], sector: u64, wanted: &Guid) -> Result<Option<u32>, ScanError> {
    let mut read_at = |offset: u64, buf: &mut [u8]| {
        let start = offset as usize;
        let src = disk
            .get(start..start + buf.len())
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    };
    let table = read_table(&mut read_at, sector, None)?;
    Ok(table
        .parts
        .iter()
        .find(|p| p.unique_guid == *wanted)
        .map(|p| p.slot))
}

/// The table of a whole disk image, the backup usable when the primary is torn.
fn table_of(disk: &[u8]) -> Result<Table, ScanError> {
    let mut read_at = |offset: u64, buf: &mut [u8]| {
        let start = offset as usize;
        let src = disk
            .get(start..start + buf.len())
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    };
    read_table(&mut read_at, 512, Some((disk.len() / SECTOR) as u64))
}

const ROOT: &str = "6b1d3e2a-55c1-4f0e-9a57-0d2c3b4a5f61";

#[test]
fn the_partition_with_the_wanted_unique_guid_is_found_by_number() {
    let other = guid("11111111-2222-3333-4444-555555555555");
    let disk = disk_image(&[(other, 34, 99), (guid(ROOT), 100, 199)], 300);
    assert_eq!(find_in(&disk, 512, &guid(ROOT)).expect("scan"), Some(2));
    let absent = guid("99999999-2222-3333-4444-555555555555");
    assert_eq!(find_in(&disk, 512, &absent).expect("scan"), None);
}

#[test]
fn a_damaged_header_or_entry_array_is_refused() {
    let mut disk = disk_image(&[(guid(ROOT), 34, 99)], 200);
    disk[SECTOR + 40] ^= 1;
    let err = find_in(&disk, 512, &guid(ROOT)).unwrap_err();
    assert!(err.to_string().contains("CRC32"), "{err}");
    let mut disk = disk_image(&[(guid(ROOT), 34, 99)], 200);
    disk[2 * SECTOR + 16] ^= 1;
    let err = find_in(&disk, 512, &guid(ROOT)).unwrap_err();
    assert!(err.to_string().contains("entry array is damaged"), "{err}");
    let blank = vec![0u8; 200 * SECTOR];
    let err = find_in(&blank, 512, &guid(ROOT)).unwrap_err();
    assert!(err.to_string().contains("no GPT header"), "{err}");
}

#[test]
fn a_disk_cut_short_says_which_read_failed_and_where() {
    let mut disk = disk_image(&[(guid(ROOT), 34, 99)], 200);
    disk.truncate(4 * SECTOR);
    let err = find_in(&disk, 512, &guid(ROOT)).unwrap_err();
    assert!(
        matches!(
            err,
            ScanError::Read {
                what: "entry array",
                offset: 1024,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn the_table_is_read_at_the_disks_logical_sector_size() {
    let small = disk_image(&[(guid(ROOT), 34, 99)], 200);
    let mut big = vec![0u8; 16 * 4096];
    big[4096..4096 + SECTOR].copy_from_slice(&small[SECTOR..2 * SECTOR]);
    big[2 * 4096..2 * 4096 + 16384].copy_from_slice(&small[2 * SECTOR..2 * SECTOR + 16384]);
    assert_eq!(find_in(&big, 4096, &guid(ROOT)).expect("scan"), Some(1));
    assert!(find_in(&big, 512, &guid(ROOT)).is_err());
}

#[test]
fn a_table_written_by_sgdisk_is_read_and_its_partition_found() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("disk.img");
    std::fs::write(&path, vec![0u8; 4 << 20]).expect("write image");
    let status = Command::new("sgdisk")
        .args(["-n", "1:2048:4095", "-n", "2:4096:6143", "-u"])
        .arg(format!("2:{ROOT}"))
        .arg(&path)
        .output()
        .expect("run sgdisk (scripts/install-deps installs gdisk)");
    assert!(status.status.success(), "{status:?}");
    let disk = std::fs::read(&path).expect("read image");
    assert_eq!(find_in(&disk, 512, &guid(ROOT)).expect("scan"), Some(2));
}

#[test]
fn sgdisk_finds_the_test_disk_image_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("disk.img");
    let disk = disk_image(&[(guid(ROOT), 34, 99)], 200);
    std::fs::write(&path, &disk).expect("write image");
    let out = Command::new("sgdisk")
        .arg("-v")
        .arg(&path)
        .output()
        .expect("run sgdisk");
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("No problems found"), "{text}");
}

#[test]
fn a_torn_primary_gpt_falls_back_to_the_backup() {
    let intact = disk_image(&[(guid(ROOT), 34, 99)], 200);
    let primary = table_of(&intact).expect("intact");
    assert_eq!(primary.origin, Origin::Primary);
    // A torn header, then a torn array: either fails its CRC.
    for byte in [SECTOR + 40, 2 * SECTOR + 16] {
        let mut disk = intact.clone();
        disk[byte] ^= 1;
        let table = table_of(&disk).expect("the backup");
        assert_eq!(table.origin, Origin::Backup);
        assert_eq!(table.header.my_lba, 199);
        assert_eq!(table.parts, primary.parts);
        assert_eq!(table.array, primary.array);
    }
}

#[test]
fn a_primary_that_is_not_torn_but_absent_does_not_fall_back() {
    let mut disk = disk_image(&[(guid(ROOT), 34, 99)], 200);
    disk[SECTOR..2 * SECTOR].fill(0);
    let err = table_of(&disk).unwrap_err();
    assert!(err.to_string().contains("no GPT header"), "{err}");
}

#[test]
fn when_both_copies_are_damaged_both_are_named() {
    let mut disk = disk_image(&[(guid(ROOT), 34, 99)], 200);
    disk[SECTOR + 40] ^= 1;
    disk[199 * SECTOR + 40] ^= 1;
    let err = table_of(&disk).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("the backup GPT at the disk's end is no better"),
        "{text}"
    );
    assert!(matches!(err, ScanError::BothCopies { .. }));
}

#[test]
fn a_backup_header_that_names_another_lba_is_not_trusted() {
    let mut disk = disk_image(&[(guid(ROOT), 34, 99)], 200);
    disk[SECTOR + 40] ^= 1;
    // The disk is one sector larger than the table: its last LBA holds no header.
    disk.extend_from_slice(&[0u8; SECTOR]);
    assert!(matches!(
        table_of(&disk).unwrap_err(),
        ScanError::BothCopies { .. }
    ));
}
