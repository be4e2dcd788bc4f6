use super::*;

use std::os::unix::fs::FileExt;
use std::process::Command;

const MIB: u64 = 1 << 20;

fn sgdisk(args: &[&str], file: &tempfile::NamedTempFile) -> (bool, String) {
    let out = Command::new("sgdisk")
        .args(args)
        .arg(file.path())
        .output()
        .expect("sgdisk (gdisk) is installed");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The cairn layout: ESP in slot 1, root A in slot 2, slots 3 and 4 empty.
fn cairn_parts(layout: &Layout) -> Vec<Partition> {
    vec![
        Partition {
            slot: 1,
            type_guid: ESP,
            unique_guid: guid_from(&[b"esp"]),
            name: "esp".into(),
            first_lba: layout.extents[0].first_lba,
            last_lba: layout.extents[0].last_lba,
            attrs: 0,
        },
        Partition {
            slot: 2,
            type_guid: ROOT_X86_64,
            unique_guid: guid_from(&[b"root", b"a"]),
            name: "root-a".into(),
            first_lba: layout.extents[1].first_lba,
            last_lba: layout.extents[1].last_lba,
            attrs: ATTR_READ_ONLY,
        },
    ]
}

fn disk_guid() -> Guid {
    guid_from(&[b"disk"])
}

fn write_disk(parts: &[Partition], disk_bytes: u64) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.as_file().set_len(disk_bytes).expect("set_len");
    write_table(file.as_file_mut(), disk_guid(), disk_bytes, parts).expect("write_table");
    file
}

fn two_partition_disk() -> (Layout, Vec<Partition>, tempfile::NamedTempFile) {
    let layout = Layout::new(&[8 * MIB, 20 * MIB + 5]).expect("layout");
    let parts = cairn_parts(&layout);
    let file = write_disk(&parts, layout.disk_bytes);
    (layout, parts, file)
}

#[test]
fn layout_aligns_partitions_to_mib_and_leaves_a_mib_for_the_backup() {
    let layout = Layout::new(&[8 * MIB, 20 * MIB + 5]).expect("layout");
    assert_eq!(
        layout.extents[0],
        Extent {
            first_lba: 2048,
            last_lba: 2048 + 8 * 2048 - 1
        }
    );
    assert_eq!(layout.extents[1].first_lba, 9 * 2048);
    assert_eq!(layout.extents[1].bytes(), 21 * MIB);
    assert_eq!(layout.extents[1].offset(), 9 * MIB);
    assert_eq!(layout.disk_bytes, 31 * MIB);
    assert!(matches!(
        Layout::new(&[MIB, 0]),
        Err(GptError::PartitionSize { index: 1, size: 0 })
    ));
}

#[test]
fn sgdisk_verify_finds_no_problems() {
    let (_, _, file) = two_partition_disk();
    let (ok, text) = sgdisk(&["-v"], &file);
    assert!(ok && text.contains("No problems found"), "{text}");
}

#[test]
fn sgdisk_shows_the_names_guids_and_sizes_set() {
    let (layout, parts, file) = two_partition_disk();
    let (ok, text) = sgdisk(&["-p"], &file);
    assert!(ok, "{text}");
    let disk = disk_guid().to_string().to_uppercase();
    assert!(
        text.contains(&format!("Disk identifier (GUID): {disk}")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{} sectors", layout.disk_bytes / 512)),
        "{text}"
    );
    assert!(text.contains("esp") && text.contains("root-a"), "{text}");
    for p in &parts {
        let (ok, info) = sgdisk(&["-i", &p.slot.to_string()], &file);
        assert!(ok, "{info}");
        let upper = |g: Guid| g.to_string().to_uppercase();
        for want in [
            format!("Partition GUID code: {}", upper(p.type_guid)),
            format!("Partition unique GUID: {}", upper(p.unique_guid)),
            format!("First sector: {} ", p.first_lba),
            format!("Last sector: {} ", p.last_lba),
            format!("Partition name: '{}'", p.name),
            format!("Attribute flags: {:016X}", p.attrs),
        ] {
            assert!(info.contains(&want), "missing {want:?} in:\n{info}");
        }
    }
}

#[test]
fn slots_between_partitions_can_stay_empty() {
    let layout = Layout::new(&[MIB, MIB]).expect("layout");
    let mut parts = cairn_parts(&layout);
    parts[1].slot = 4;
    let file = write_disk(&parts, layout.disk_bytes);
    let (ok, text) = sgdisk(&["-v"], &file);
    assert!(ok && text.contains("No problems found"), "{text}");
    let (_, info) = sgdisk(&["-i", "4"], &file);
    assert!(info.contains("Partition name: 'root-a'"), "{info}");
    let (_, info) = sgdisk(&["-i", "2"], &file);
    assert!(info.contains("does not exist"), "{info}");
}

#[test]
fn corrupted_primary_header_is_noticed_by_sgdisk_and_the_backup_is_valid() {
    let (_, _, file) = two_partition_disk();
    file.as_file().write_at(&[0x5a], 512 + 60).expect("corrupt");
    let (_, text) = sgdisk(&["-v"], &file);
    assert!(text.contains("Main header: ERROR"), "{text}");
    assert!(text.contains("Backup header: OK"), "{text}");
    assert!(text.contains("Backup partition table: OK"), "{text}");
}

#[test]
fn same_inputs_give_identical_bytes() {
    let (_, _, a) = two_partition_disk();
    let (_, _, b) = two_partition_disk();
    assert!(std::fs::read(a.path()).expect("read") == std::fs::read(b.path()).expect("read"));
}

#[test]
fn guid_text_is_the_mixed_endian_canonical_form() {
    assert_eq!(ESP.to_string(), "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
    assert_eq!(&ESP.0[..4], &[0x28, 0x73, 0x2a, 0xc1]);
    assert_eq!(&ESP.0[8..10], &[0xba, 0x4b]);
    for g in [ESP, ROOT_X86_64, ROOT_ARM64, LINUX_DATA, guid_from(&[b"x"])] {
        assert_eq!(g.to_string().parse::<Guid>().expect("parse"), g);
    }
    assert_eq!(
        "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
            .parse::<Guid>()
            .expect("parse"),
        ROOT_X86_64
    );
    assert_eq!(
        ROOT_ARM64.to_string(),
        "b921b045-1df0-41c3-af44-4c6f280d3fae"
    );
    for bad in [
        "",
        "c12a7328f81f11d2ba4b00a0c93ec93b",
        "c12a7328-f81f-11d2-ba4b-00a0c93ec93g",
        "c12a7328-f81f-11d2-ba4b00-a0c93ec93b",
    ] {
        assert!(bad.parse::<Guid>().is_err(), "accepted {bad:?}");
    }
}

#[test]
fn derived_guids_are_version_8_and_depend_on_every_part() {
    let g = guid_from(&[b"ab", b"c"]).to_string();
    assert_eq!(&g[14..15], "8");
    assert!("89ab".contains(&g[19..20]), "{g}");
    assert_ne!(guid_from(&[b"ab", b"c"]), guid_from(&[b"a", b"bc"]));
    assert_eq!(guid_from(&[b"ab", b"c"]), guid_from(&[b"ab", b"c"]));
}

#[test]
fn crc32_matches_the_standard_check_value() {
    assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
}

#[test]
fn bad_tables_are_refused() {
    let layout = Layout::new(&[MIB, MIB]).expect("layout");
    let disk = layout.disk_bytes;
    let base = cairn_parts(&layout);
    let try_write = |parts: &[Partition], bytes: u64| {
        write_table(&mut io::Cursor::new(Vec::new()), disk_guid(), bytes, parts)
    };
    let mut p = base.clone();
    p[1].first_lba = p[0].last_lba;
    assert!(matches!(try_write(&p, disk), Err(GptError::Overlap { .. })));
    let mut p = base.clone();
    p[1].last_lba = disk / 512 - 34 + 1;
    assert!(matches!(try_write(&p, disk), Err(GptError::Extent { .. })));
    let mut p = base.clone();
    p[0].first_lba = 33;
    assert!(matches!(try_write(&p, disk), Err(GptError::Extent { .. })));
    for slot in [0, 129, 1] {
        let mut p = base.clone();
        p[1].slot = slot;
        assert!(
            matches!(try_write(&p, disk), Err(GptError::Slot { .. })),
            "slot {slot}"
        );
    }
    let mut p = base.clone();
    p[0].name = "x".repeat(37);
    assert!(matches!(try_write(&p, disk), Err(GptError::Name { .. })));
    p[0].name = "é".repeat(36);
    assert!(try_write(&p, disk).is_ok());
    assert!(matches!(
        try_write(&base, disk + 1),
        Err(GptError::DiskSize { .. })
    ));
    assert!(matches!(
        try_write(&[], 512 * 60),
        Err(GptError::DiskSize { .. })
    ));
}

#[test]
fn guid_parse_takes_either_case_and_gives_none_for_other_text() {
    let g = Guid::parse("6B1D3E2A-55C1-4F0E-9A57-0D2C3B4A5F61").expect("upper case");
    assert_eq!(g.to_string(), "6b1d3e2a-55c1-4f0e-9a57-0d2c3b4a5f61");
    assert_eq!(g.0[0..4], [0x2a, 0x3e, 0x1d, 0x6b]);
    for bad in [
        "",
        "6b1d3e2a55c14f0e9a570d2c3b4a5f61",
        "6b1d3e2a-55c1-4f0e-9a57-0d2c3b4a5f6g",
        "6b1d3e2a-55c1-4f0e-9a57-0d2c3b4a5f6",
    ] {
        assert_eq!(Guid::parse(bad), None, "{bad}");
    }
}
