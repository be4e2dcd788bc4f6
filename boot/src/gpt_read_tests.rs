use std::io::{self, Cursor};
use std::process::Command;

use super::super::{ATTR_READ_ONLY, ESP, LINUX_DATA, ROOT_ARM64, SECTOR, guid_from, write_table};
use super::*;

const MIB: u64 = 1 << 20;
const DISK: u64 = 8 * MIB;

/// Slots 1 and 3 used, 2 left empty, and a name that needs UTF-16.
fn parts() -> Vec<Partition> {
    vec![
        Partition {
            slot: 1,
            type_guid: ESP,
            unique_guid: guid_from(&[b"esp"]),
            name: "EFI system".into(),
            first_lba: 2048,
            last_lba: 4095,
            attrs: 0,
        },
        Partition {
            slot: 3,
            type_guid: ROOT_ARM64,
            unique_guid: guid_from(&[b"root"]),
            name: "wurzel-ä-根".into(),
            first_lba: 4096,
            last_lba: 8191,
            attrs: ATTR_READ_ONLY,
        },
    ]
}

fn written() -> Vec<u8> {
    let mut disk = Cursor::new(vec![0u8; DISK as usize]);
    write_table(&mut disk, guid_from(&[b"disk"]), DISK, &parts()).expect("write_table");
    disk.into_inner()
}

fn header_of(disk: &[u8]) -> &[u8] {
    &disk[512..1024]
}

/// Applies `edit` to the written header and fixes its CRC, so that only the
/// edited field is wrong.
fn with_header(edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
    let mut sector = header_of(&written()).to_vec();
    edit(&mut sector);
    sector[16..20].fill(0);
    let crc = crc32(&sector[..92]);
    sector[16..20].copy_from_slice(&crc.to_le_bytes());
    sector
}

#[test]
fn a_table_written_by_write_table_reads_back_with_its_slots_and_names() {
    let (header, found) = read_table(&mut Cursor::new(written()), 512).expect("read_table");
    assert_eq!(found, parts());
    let last = DISK / SECTOR - 1;
    assert_eq!(
        (header.my_lba, header.alternate_lba, header.entries_lba),
        (1, last, 2)
    );
    assert_eq!((header.first_usable, header.last_usable), (34, last - 33));
    assert_eq!(header.disk_guid, guid_from(&[b"disk"]));
    assert_eq!((header.entries, header.entry_size), (128, 128));
    assert_eq!(header.entries_bytes(), 128 * 128);
}

#[test]
fn a_table_written_by_sgdisk_is_read_with_the_same_fields_sgdisk_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("disk.img");
    std::fs::write(&path, vec![0u8; DISK as usize]).expect("write image");
    let root = "6b1d3e2a-55c1-4f0e-9a57-0d2c3b4a5f61";
    let out = Command::new("sgdisk")
        .args(["-n", "1:2048:4095", "-t", "1:ef00", "-c", "1:boot"])
        .args(["-n", "3:4096:6143", "-t", "3:8300", "-c", "3:data"])
        .args(["-u", &format!("3:{root}"), "-A", "3:set:60"])
        .arg(&path)
        .output()
        .expect("run sgdisk (scripts/install-deps installs gdisk)");
    assert!(out.status.success(), "{out:?}");
    let mut file = std::fs::File::open(&path).expect("open image");
    let (header, found) = read_table(&mut file, 512).expect("read_table");
    assert_eq!((header.entries, header.entry_size), (128, 128));
    assert_eq!(header.alternate_lba, DISK / 512 - 1);
    let slots: Vec<u32> = found.iter().map(|p| p.slot).collect();
    assert_eq!(slots, [1, 3]);
    assert_eq!((found[0].type_guid, found[0].name.as_str()), (ESP, "boot"));
    let data = &found[1];
    assert_eq!(data.type_guid, LINUX_DATA);
    assert_eq!(data.unique_guid.to_string(), root);
    assert_eq!((data.first_lba, data.last_lba), (4096, 6143));
    assert_eq!((data.name.as_str(), data.attrs), ("data", 1 << 60));
}

#[test]
fn a_table_after_a_4096_byte_sector_is_read_only_with_that_sector_size() {
    let small = written();
    let mut big = vec![0u8; 16 * 4096];
    big[4096..4096 + 512].copy_from_slice(header_of(&small));
    big[2 * 4096..2 * 4096 + 16384].copy_from_slice(&small[1024..1024 + 16384]);
    let (_, found) = read_table(&mut Cursor::new(big.clone()), 4096).expect("4096");
    assert_eq!(found, parts());
    let err = read_table(&mut Cursor::new(big), 512).unwrap_err();
    assert!(
        matches!(err, GptError::NoHeader { sector_size: 512 }),
        "{err}"
    );
}

#[test]
fn a_damaged_header_or_entry_array_is_refused_naming_the_crc() {
    let mut disk = written();
    disk[512 + 40] ^= 1;
    let err = read_table(&mut Cursor::new(disk), 512).unwrap_err();
    assert!(matches!(err, GptError::HeaderCrc { .. }), "{err}");
    let mut disk = written();
    disk[1024 + 128 * 2 + 20] ^= 1;
    let err = read_table(&mut Cursor::new(disk), 512).unwrap_err();
    assert!(matches!(err, GptError::EntriesCrc { .. }), "{err}");
    assert!(err.to_string().contains("sgdisk -v"), "{err}");
}

#[test]
fn a_disk_without_a_table_or_cut_short_is_refused() {
    let err = read_table(&mut Cursor::new(vec![0u8; 4096]), 512).unwrap_err();
    assert!(matches!(err, GptError::NoHeader { .. }), "{err}");
    let err = read_table(&mut Cursor::new(b"not a disk".to_vec()), 512).unwrap_err();
    let GptError::Read { what, source } = err else {
        panic!("{err}");
    };
    assert_eq!(
        (what, source.kind()),
        ("header", io::ErrorKind::UnexpectedEof)
    );
    let mut short = written();
    short.truncate(4 * 512);
    let err = read_table(&mut Cursor::new(short), 512).unwrap_err();
    assert!(
        matches!(
            err,
            GptError::Read {
                what: "entry array",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn absurd_header_fields_are_refused_before_any_entry_is_read() {
    // (byte offset of a u32 field, value, the variant that names it)
    let cases = [
        (8, 0x0002_0000, "Revision"),
        (12, 600, "HeaderSize"),
        (12, 91, "HeaderSize"),
        (84, 64, "EntrySize"),
        (84, 130, "EntrySize"),
        (80, 1_000_000, "EntriesTooLarge"),
    ];
    for (at, value, want) in cases {
        let sector = with_header(|h| h[at..at + 4].copy_from_slice(&u32::to_le_bytes(value)));
        let err = parse_header(&sector).unwrap_err();
        assert!(format!("{err:?}").starts_with(want), "{want}: {err:?}");
    }
    let err = parse_header(&with_header(|h| {
        h[72..80].copy_from_slice(&1u64.to_le_bytes())
    }))
    .unwrap_err();
    assert!(matches!(err, GptError::EntriesLba { lba: 1 }), "{err}");
    let huge = with_header(|h| h[72..80].copy_from_slice(&(u64::MAX / 2).to_le_bytes()));
    let mut disk = written();
    disk[512..1024].copy_from_slice(&huge);
    let err = read_table(&mut Cursor::new(disk), 512).unwrap_err();
    assert!(matches!(err, GptError::EntriesLba { .. }), "{err}");
}

#[test]
fn the_unmodified_header_passes_the_same_checks() {
    // The edits above are refused for what they change, not for the fixture.
    assert!(parse_header(&with_header(|_| {})).is_ok());
}

/// The written table with slot 3's last sector set to `last`, CRCs fixed.
fn slot_3_ending_at(last: u64) -> Result<Vec<Partition>, GptError> {
    let disk = written();
    let mut entries = disk[1024..1024 + 16384].to_vec();
    entries[2 * 128 + 40..2 * 128 + 48].copy_from_slice(&last.to_le_bytes());
    let crc = crc32(&entries);
    let header = parse_header(&with_header(|h| {
        h[88..92].copy_from_slice(&crc.to_le_bytes())
    }))
    .expect("header");
    parse_entries(&entries, &header)
}

#[test]
fn an_entry_ending_before_it_starts_or_past_the_usable_sectors_is_refused_with_its_slot() {
    assert!(slot_3_ending_at(8191).is_ok());
    for last in [10, DISK / SECTOR - 33, u64::MAX] {
        let err = slot_3_ending_at(last).unwrap_err();
        assert!(
            matches!(err, GptError::EntryExtent { slot: 3, .. }),
            "{err}"
        );
    }
}

#[test]
fn entries_shorter_than_the_header_says_are_refused() {
    let disk = written();
    let header = parse_header(header_of(&disk)).expect("header");
    let err = parse_entries(&disk[1024..1024 + 1000], &header).unwrap_err();
    assert!(
        matches!(
            err,
            GptError::EntriesShort {
                have: 1000,
                want: 16384
            }
        ),
        "{err}"
    );
}

#[test]
fn a_hand_made_header_with_zero_sized_entries_is_refused_not_a_panic() {
    let disk = written();
    let mut header = parse_header(header_of(&disk)).expect("header");
    header.entry_size = 0;
    let err = parse_entries(&disk[1024..], &header).unwrap_err();
    assert!(matches!(err, GptError::EntrySize { size: 0 }), "{err}");
}

#[test]
fn odd_sector_sizes_are_refused() {
    for size in [0, 511, 1000, 1 << 17] {
        let err = read_table(&mut Cursor::new(written()), size).unwrap_err();
        assert!(matches!(err, GptError::SectorSize { .. }), "{size}");
    }
}
