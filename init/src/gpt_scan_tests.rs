use std::process::Command;

use super::*;

const SECTOR: usize = 512;

/// A small disk with a GPT (512-byte sectors, 128 entries at LBA 2) and the
/// given partitions as (unique GUID, first LBA, last LBA), numbered from 1.
pub fn disk_image(parts: &[(Guid, u64, u64)], sectors: usize) -> Vec<u8> {
    let mut disk = vec![0u8; sectors * SECTOR];
    let mut entries = vec![0u8; 128 * 128];
    for (i, (guid, first, last)) in parts.iter().enumerate() {
        let e = &mut entries[i * 128..(i + 1) * 128];
        // Linux filesystem data, any non-zero type marks the entry used.
        e[0..16].copy_from_slice(
            &Guid::parse("0fc63daf-8483-4772-8e79-3d69d8477de4").map_or([1; 16], |g| g.0),
        );
        e[16..32].copy_from_slice(&guid.0);
        e[32..40].copy_from_slice(&first.to_le_bytes());
        e[40..48].copy_from_slice(&last.to_le_bytes());
    }
    let mut h = vec![0u8; 92];
    h[0..8].copy_from_slice(SIGNATURE);
    h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
    h[12..16].copy_from_slice(&92u32.to_le_bytes());
    h[24..32].copy_from_slice(&1u64.to_le_bytes());
    h[32..40].copy_from_slice(&(sectors as u64 - 1).to_le_bytes());
    h[40..48].copy_from_slice(&34u64.to_le_bytes());
    h[48..56].copy_from_slice(&(sectors as u64 - 34).to_le_bytes());
    h[72..80].copy_from_slice(&2u64.to_le_bytes());
    h[80..84].copy_from_slice(&128u32.to_le_bytes());
    h[84..88].copy_from_slice(&128u32.to_le_bytes());
    h[88..92].copy_from_slice(&crc32(&entries).to_le_bytes());
    let crc = crc32(&h);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    disk[SECTOR..SECTOR + 92].copy_from_slice(&h);
    disk[2 * SECTOR..2 * SECTOR + entries.len()].copy_from_slice(&entries);
    disk
}

fn guid(text: &str) -> Guid {
    Guid::parse(text).expect("test GUID")
}

/// The partition number of `wanted` in a whole disk image.
fn find_in(disk: &[u8], wanted: &Guid) -> Result<Option<u32>, GptError> {
    let header = parse_header(&disk[SECTOR..2 * SECTOR])?;
    let start = header.entries_lba as usize * SECTOR;
    find_partition(&header, &disk[start..], wanted)
}

const ROOT: &str = "6b1d3e2a-55c1-4f0e-9a57-0d2c3b4a5f61";

#[test]
fn guid_text_round_trips_in_canonical_lowercase() {
    let g = guid("6B1D3E2A-55C1-4F0E-9A57-0D2C3B4A5F61");
    assert_eq!(g.to_string(), ROOT);
    // The first field is stored little-endian.
    assert_eq!(g.0[0..4], [0x2a, 0x3e, 0x1d, 0x6b]);
}

#[test]
fn malformed_guid_text_is_refused() {
    for bad in [
        "",
        "6b1d3e2a55c14f0e9a570d2c3b4a5f61",
        "6b1d3e2a-55c1-4f0e-9a57-0d2c3b4a5f6g",
        "6b1d3e2a-55c1-4f0e-9a57-0d2c3b4a5f6",
    ] {
        assert_eq!(Guid::parse(bad), None, "{bad}");
    }
}

#[test]
fn the_partition_with_the_wanted_unique_guid_is_found_by_number() {
    let other = guid("11111111-2222-3333-4444-555555555555");
    let disk = disk_image(&[(other, 34, 99), (guid(ROOT), 100, 199)], 300);
    assert_eq!(find_in(&disk, &guid(ROOT)), Ok(Some(2)));
    let absent = guid("99999999-2222-3333-4444-555555555555");
    assert_eq!(find_in(&disk, &absent), Ok(None));
}

#[test]
fn a_damaged_header_or_entry_array_is_refused() {
    let mut disk = disk_image(&[(guid(ROOT), 34, 99)], 200);
    disk[SECTOR + 40] ^= 1;
    assert_eq!(find_in(&disk, &guid(ROOT)), Err(GptError::HeaderCrc));
    let mut disk = disk_image(&[(guid(ROOT), 34, 99)], 200);
    disk[2 * SECTOR + 16] ^= 1;
    assert_eq!(find_in(&disk, &guid(ROOT)), Err(GptError::EntriesCrc));
    let blank = vec![0u8; 200 * SECTOR];
    assert_eq!(find_in(&blank, &guid(ROOT)), Err(GptError::NoSignature));
}

#[test]
fn crc32_matches_the_standard_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
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
    assert_eq!(find_in(&disk, &guid(ROOT)), Ok(Some(2)));
}

#[test]
fn sgdisk_finds_the_main_header_and_entries_of_the_test_disk_image_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("disk.img");
    let disk = disk_image(&[(guid(ROOT), 34, 99)], 200);
    std::fs::write(&path, &disk).expect("write image");
    // The image has no backup table: only the main one is checked.
    let out = Command::new("sgdisk")
        .arg("-v")
        .arg(&path)
        .output()
        .expect("run sgdisk");
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("Main header: OK"), "{text}");
    assert!(text.contains("Main partition table: OK"), "{text}");
}
