use super::*;
use crate::run::test_disks::gpt_disk;

fn arch_of(path: &std::path::Path) -> Option<Arch> {
    let mut file = File::open(path).unwrap();
    root_arch(&mut file).unwrap()
}

#[test]
fn the_text_root_types_are_the_boot_crates_root_types() {
    assert_eq!(ROOT_X86_64.parse::<gpt::Guid>().unwrap(), gpt::ROOT_X86_64);
    assert_eq!(ROOT_ARM64.parse::<gpt::Guid>().unwrap(), gpt::ROOT_ARM64);
}

#[test]
fn the_root_partition_type_written_by_sgdisk_tells_the_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let x86 = gpt_disk(dir.path(), "x86.raw", &[ROOT_X86_64]);
    let arm = gpt_disk(dir.path(), "arm.raw", &["8300", ROOT_ARM64]);
    assert_eq!(arch_of(&x86), Some(Arch::Amd64));
    assert_eq!(arch_of(&arm), Some(Arch::Arm64));
}

#[test]
fn a_disk_without_a_root_or_with_roots_for_two_architectures_tells_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let none = gpt_disk(dir.path(), "none.raw", &["8300"]);
    let both = gpt_disk(dir.path(), "both.raw", &[ROOT_X86_64, ROOT_ARM64]);
    assert_eq!(arch_of(&none), None);
    assert_eq!(arch_of(&both), None);
}

#[test]
fn a_file_without_a_gpt_tells_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blank");
    std::fs::write(&path, vec![0u8; 8192]).unwrap();
    assert_eq!(arch_of(&path), None);
}

/// A GPT with one root entry, for `sector`-byte sectors, built by hand with
/// valid CRCs, so that only the sizes can be wrong.
fn hand_made(sector: usize, entries: u32, entry_size: u32) -> Vec<u8> {
    let mut disk = vec![0u8; sector * 40];
    disk[2 * sector..2 * sector + 16].copy_from_slice(&gpt::ROOT_ARM64.0);
    let array = disk.get(2 * sector..2 * sector + entries as usize * entry_size as usize);
    let array_crc = array.map_or(0, gpt::crc32);
    let header = &mut disk[sector..sector + 92];
    header[..8].copy_from_slice(b"EFI PART");
    header[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
    header[12..16].copy_from_slice(&92u32.to_le_bytes());
    header[72..80].copy_from_slice(&2u64.to_le_bytes());
    header[80..84].copy_from_slice(&entries.to_le_bytes());
    header[84..88].copy_from_slice(&entry_size.to_le_bytes());
    header[88..92].copy_from_slice(&array_crc.to_le_bytes());
    let crc = gpt::crc32(header);
    header[16..20].copy_from_slice(&crc.to_le_bytes());
    disk
}

#[test]
fn a_gpt_after_a_4096_byte_sector_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("4k");
    std::fs::write(&path, hand_made(4096, 4, 128)).unwrap();
    assert_eq!(arch_of(&path), Some(Arch::Arm64));
}

#[test]
fn absurd_entry_counts_and_sizes_are_refused_before_reading() {
    for (entries, size) in [(1_000_000, 128), (4, 64), (4, 1 << 20), (4, 130)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad");
        std::fs::write(&path, hand_made(512, entries, size)).unwrap();
        let mut file = File::open(&path).unwrap();
        let err = root_arch(&mut file).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{entries} {size}");
    }
}

#[test]
fn a_damaged_table_is_invalid_data_not_a_guess() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("torn");
    let mut disk = hand_made(512, 4, 128);
    disk[2 * 512 + 20] ^= 1;
    std::fs::write(&path, disk).unwrap();
    let err = root_arch(&mut File::open(&path).unwrap()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("CRC32"), "{err}");
}

#[test]
fn a_table_running_past_the_end_of_the_disk_is_an_eof_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short");
    let mut disk = hand_made(512, 128, 128);
    disk.truncate(512 * 4);
    std::fs::write(&path, disk).unwrap();
    let err = root_arch(&mut File::open(&path).unwrap()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}
