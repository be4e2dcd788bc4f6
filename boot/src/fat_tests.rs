use std::io::Cursor;

use super::geometry::{Geometry, MIN_CLUSTERS};
use super::*;

const MIB: u64 = 1 << 20;
const OPTS: Options = Options {
    volume_id: 7,
    label: *b"ESP        ",
};

/// Writes `(path, data)` pairs into a zero-filled partition of `size` bytes.
fn write_mem(size: u64, files: &[(&str, &[u8])]) -> Result<Vec<u8>> {
    let mut readers: Vec<&[u8]> = files.iter().map(|(_, d)| *d).collect();
    let mut list: Vec<File> = files
        .iter()
        .zip(readers.iter_mut())
        .map(|((path, d), r)| File {
            path,
            size: d.len() as u64,
            data: r,
        })
        .collect();
    let mut out = Cursor::new(vec![0u8; size as usize]);
    write(&mut out, size, &OPTS, &mut list)?;
    Ok(out.into_inner())
}

fn err_of(files: &[(&str, &[u8])]) -> FatError {
    write_mem(33 * MIB, files).expect_err("the file set is refused")
}

#[test]
fn upper_case_eight_dot_three_names_need_no_long_entries() {
    assert_eq!(names::plain_short("BOOTX64.EFI"), Some(*b"BOOTX64 EFI"));
    assert_eq!(names::plain_short("EFI"), Some(*b"EFI        "));
    for name in [
        "loader.conf",
        "Linux",
        "A.B.C",
        "TOOLONGNA.EFI",
        ".X",
        "A.EFIX",
        "A.",
        "A B",
    ] {
        assert_eq!(names::plain_short(name), None, "{name}");
    }
}

#[test]
fn aliases_follow_windows_and_count_up_within_a_directory() {
    let (base, ext) = names::alias_basis("loader.conf");
    assert_eq!(names::alias(&base, &ext, 1), *b"LOADER~1CON");
    let (base, ext) = names::alias_basis(".hidden file+x.tar.gz");
    assert_eq!(names::alias(&base, &ext, 12), *b"HIDDE~12GZ ");
    let data: &[u8] = b"x";
    let img = write_mem(
        33 * MIB,
        &[
            ("loader.conf1", data),
            ("loader.conf2", data),
            ("LOADER~1.CON", data),
        ],
    )
    .expect("write");
    let mut part = Cursor::new(img);
    // The plain name keeps its spelling, so the aliases move past it.
    for name in [
        "LOADER~2.CON",
        "LOADER~3.CON",
        "loader.conf1",
        "LOADER~1.CON",
    ] {
        assert_eq!(read_file(&mut part, name).expect(name), b"x");
    }
}

#[test]
fn long_entries_end_with_nul_and_pad_with_ffff_in_reverse_order() {
    let short = *b"ABCDEF~1   ";
    let exact = names::long_entries("abcdefghijklm", &short);
    assert_eq!(exact.len(), 1);
    assert_eq!(exact[0][0], 0x41);
    let units = names::parse_long(&exact[0]).units;
    assert_eq!(String::from_utf16_lossy(&units), "abcdefghijklm");

    let two = names::long_entries("abcdefghijklmn", &short);
    assert_eq!((two[0][0], two[1][0]), (0x42, 0x01));
    assert_eq!(&two[0][1..5], &[b'n', 0, 0, 0]);
    assert_eq!(&two[0][5..11], &[0xFF; 6]);
    assert_eq!(&two[0][28..32], &[0xFF; 4]);
    assert!(
        two.iter()
            .all(|e| e[11] == 0x0F && e[13] == names::checksum(&short))
    );
}

#[test]
fn the_checksum_rotates_and_adds_every_short_name_byte() {
    // By hand: each step rotates the sum right by one bit, then adds.
    let mut sum = 0u8;
    for &b in b"BOOTX64 EFI" {
        sum = (((sum & 1) << 7) | (sum >> 1)).wrapping_add(b);
    }
    assert_eq!(names::checksum(b"BOOTX64 EFI"), sum);
    assert_ne!(
        names::checksum(b"BOOTX64 EFI"),
        names::checksum(b"BOOTX64 EFJ")
    );
}

#[test]
fn cluster_size_is_the_largest_up_to_4k_that_keeps_fat32() {
    assert!(Geometry::for_size(32 * MIB).is_err());
    assert_eq!(
        Geometry::for_size(33 * MIB)
            .expect("33 MiB")
            .sectors_per_cluster,
        1
    );
    assert_eq!(
        Geometry::for_size(200 * MIB)
            .expect("200 MiB")
            .sectors_per_cluster,
        4
    );
    assert_eq!(
        Geometry::for_size(300 * MIB)
            .expect("300 MiB")
            .sectors_per_cluster,
        8
    );
    assert_eq!(
        Geometry::for_size(u64::from(u32::MAX) * 512)
            .expect("2 TiB")
            .sectors_per_cluster,
        16
    );
    assert!(Geometry::for_size(u64::MAX).is_err());
}

#[test]
fn every_layout_has_a_fat_that_covers_its_clusters_and_fits_the_size() {
    let mut size = 33 * MIB;
    while size < 64 * 1024 * MIB {
        let g = Geometry::for_size(size).expect("a FAT32 size");
        assert!(g.clusters >= MIN_CLUSTERS, "{size}");
        assert!(
            u64::from(g.fat_sectors) * 128 >= u64::from(g.clusters) + 2,
            "{size}"
        );
        let data_start = g.reserved_sectors + 2 * g.fat_sectors;
        assert_eq!(data_start % g.sectors_per_cluster, 0, "{size}");
        let end = u64::from(data_start) + u64::from(g.clusters) * u64::from(g.sectors_per_cluster);
        assert!(end <= u64::from(g.total_sectors), "{size}");
        // The smallest such FAT: one sector less would leave more clusters
        // than it has entries for.
        let fat = g.fat_sectors - 1;
        let start = (32 + 2 * fat).next_multiple_of(g.sectors_per_cluster);
        let clusters = (g.total_sectors - start) / g.sectors_per_cluster;
        assert!(
            (u64::from(clusters) + 2) * 4 > u64::from(fat) * 512,
            "{size}"
        );
        size = size * 9 / 8 + 4097;
    }
}

#[test]
fn partition_size_starts_at_the_fat32_minimum_and_leaves_room() {
    assert_eq!(partition_size(0, 0), 33 * MIB);
    assert_eq!(partition_size(4096, 1), 33 * MIB);
    let big = partition_size(100_000_000, 5);
    assert_eq!(big % MIB, 0);
    assert!(big >= 100_000_000 + 100_000_000 / 8, "{big}");
    assert!(big < 100_000_000 / 4 * 5, "{big}");
    // Many one-byte files, each in two directories of its own.
    let paths: Vec<String> = (0..3000).map(|i| format!("D{i}/E{i}/F{i}")).collect();
    let data: &[u8] = b"1";
    let files: Vec<(&str, &[u8])> = paths.iter().map(|p| (p.as_str(), data)).collect();
    let size = partition_size(3000, 3000);
    write_mem(size, &files).expect("partition_size leaves room for slack and directories");
}

#[test]
fn a_partition_written_in_memory_reads_back_whatever_the_names() {
    let boot = host_tests::pattern(100_000, 3);
    let files: [(&str, &[u8]); 4] = [
        ("EFI/BOOT/BOOTX64.EFI", &boot),
        ("EFI/Linux/ünïcode name ☃.efi", b"snow"),
        ("a/b/c/d/e/f/deep.txt", b"deep"),
        ("EMPTY", b""),
    ];
    let img = write_mem(33 * MIB, &files).expect("write");
    let mut part = Cursor::new(img);
    for (path, data) in files {
        assert_eq!(read_file(&mut part, path).expect(path), data, "{path}");
    }
    assert_eq!(
        read_file(&mut part, "EFI/LINUX/ÜNÏCODE NAME ☃.EFI").expect("upper"),
        b"snow"
    );
}

#[test]
fn nothing_at_or_past_the_partition_end_is_touched() {
    let size = 33 * MIB;
    let data = host_tests::pattern(5000, 4);
    let mut reader: &[u8] = &data;
    let mut files = [File {
        path: "A",
        size: 5000,
        data: &mut reader,
    }];
    let mut out = Cursor::new(vec![0xA5u8; size as usize + 4096]);
    write(&mut out, size, &OPTS, &mut files).expect("write");
    let img = out.into_inner();
    assert!(img[size as usize..].iter().all(|&b| b == 0xA5));
    assert!(
        img[size as usize - 512..size as usize]
            .iter()
            .all(|&b| b == 0)
    );
}

#[test]
fn names_that_fat_cannot_hold_are_refused_with_the_path() {
    let d: &[u8] = b"";
    for path in [
        "", "/A", "A/", "A//B", "A/../B", "./A", "A:B", "A*", "name.", "name ", "A\u{1}",
    ] {
        match err_of(&[(path, d)]) {
            FatError::BadName { path: p, .. } => assert_eq!(p, path),
            other => panic!("{path:?}: {other}"),
        }
    }
    let long = "x".repeat(256);
    assert!(matches!(err_of(&[(&long, d)]), FatError::BadName { .. }));
}

#[test]
fn names_that_differ_only_in_case_collide() {
    let d: &[u8] = b"";
    let e = err_of(&[("EFI/BOOT/A.EFI", d), ("efi/boot/a.efi", d)]);
    assert!(
        matches!(&e, FatError::Duplicate { path } if path == "efi/boot/a.efi"),
        "{e}"
    );
    let e = err_of(&[("EFI/BOOT/X", d), ("EFI/boot", d)]);
    assert!(matches!(e, FatError::Duplicate { .. }), "{e}");
    let e = err_of(&[("EFI", d), ("EFI/BOOT/X", d)]);
    assert!(
        matches!(&e, FatError::ParentIsFile { parent, .. } if parent == "EFI"),
        "{e}"
    );
}

#[test]
fn lower_case_labels_and_huge_files_are_refused() {
    let mut out = Cursor::new(Vec::new());
    let opts = Options {
        volume_id: 0,
        label: *b"esp        ",
    };
    let e = write(&mut out, 33 * MIB, &opts, &mut []).expect_err("lower case label");
    assert!(matches!(e, FatError::BadLabel { .. }), "{e}");
    let mut never = std::io::empty();
    let mut files = [File {
        path: "HUGE",
        size: 1 << 32,
        data: &mut never,
    }];
    let e = write(&mut out, 33 * MIB, &OPTS, &mut files).expect_err("4 GiB");
    assert!(
        matches!(e, FatError::FileTooLarge { size, .. } if size == 1 << 32),
        "{e}"
    );
    let e = write(&mut out, 32 * MIB, &OPTS, &mut []).expect_err("too small");
    assert!(matches!(e, FatError::BadPartitionSize { .. }), "{e}");
}

#[test]
fn a_reader_that_yields_more_or_less_than_announced_is_an_error() {
    for (announced, actual) in [(10u64, 9usize), (10, 11)] {
        let data = vec![1u8; actual];
        let mut reader: &[u8] = &data;
        let mut files = [File {
            path: "EFI/X",
            size: announced,
            data: &mut reader,
        }];
        let mut out = Cursor::new(vec![0u8; 33 << 20]);
        let e = write(&mut out, 33 * MIB, &OPTS, &mut files).expect_err("size mismatch");
        assert!(
            matches!(&e, FatError::SizeMismatch { path, expected: 10, got } if path == "EFI/X" && *got == actual as u64),
            "{e}"
        );
    }
}

#[test]
fn read_file_tells_missing_files_directories_and_other_filesystems_apart() {
    let img = write_mem(33 * MIB, &[("EFI/BOOT/BOOTX64.EFI", b"uki")]).expect("write");
    let mut part = Cursor::new(img);
    let e = read_file(&mut part, "EFI/BOOT").expect_err("a directory");
    assert!(matches!(e, FatError::NotAFile { .. }), "{e}");
    let e = read_file(&mut part, "EFI/BOOT/BOOTX64.EFI/X").expect_err("through a file");
    assert!(matches!(e, FatError::NotFound { .. }), "{e}");
    let e = read_file(&mut part, "EFI/BOOT/BOOTAA64.EFI").expect_err("absent");
    assert!(
        matches!(&e, FatError::NotFound { path } if path == "EFI/BOOT/BOOTAA64.EFI"),
        "{e}"
    );
    let e = read_file(&mut Cursor::new(vec![0u8; 4096]), "X").expect_err("zeros");
    assert!(matches!(e, FatError::NotFat32 { .. }), "{e}");
    let e = read_file(&mut Cursor::new(vec![0u8; 100]), "X").expect_err("short");
    assert!(matches!(e, FatError::ReadPartition { .. }), "{e}");
}

#[test]
fn a_broken_chain_or_a_loop_in_the_fat_is_reported_not_followed_forever() {
    let data = host_tests::pattern(2000, 5);
    let img = write_mem(33 * MIB, &[("DATA", &data)]).expect("write");
    let g = Geometry::for_size(33 * MIB).expect("geometry");
    // The root is cluster 2, the file clusters 3 to 6.
    let entry = |c: usize| g.fat_offset(0) as usize + 4 * c;
    let mut cut = img.clone();
    cut[entry(4)..entry(4) + 4].copy_from_slice(&0x0FFF_FFFFu32.to_le_bytes());
    let e = read_file(&mut Cursor::new(cut), "DATA").expect_err("cut chain");
    assert!(matches!(e, FatError::Corrupt { .. }), "{e}");
    let mut looped = img;
    looped[entry(2)..entry(2) + 4].copy_from_slice(&2u32.to_le_bytes());
    let e = read_file(&mut Cursor::new(looped), "NOPE").expect_err("looped root");
    assert!(matches!(e, FatError::NotFound { .. }), "{e}");
}

#[test]
fn entries_carry_the_fat_epoch_and_fsinfo_points_past_the_last_file() {
    let img = write_mem(33 * MIB, &[("EFI/BOOT/BOOTX64.EFI", &[7u8; 1000])]).expect("write");
    let g = Geometry::for_size(33 * MIB).expect("geometry");
    let root = g.cluster_offset(2) as usize;
    let label = &img[root..root + 32];
    assert_eq!((&label[..11], label[11]), (&b"ESP        "[..], 0x08));
    // Root, EFI, BOOT, then the file's two clusters: 7 is the first free.
    let info = &img[512..1024];
    assert_eq!(
        u32::from_le_bytes([info[492], info[493], info[494], info[495]]),
        7
    );
    let free = u32::from_le_bytes([info[488], info[489], info[490], info[491]]);
    assert_eq!(free, g.clusters - 5);
    for dir in [2u64, 3, 4] {
        let at = g.cluster_offset(dir) as usize;
        for e in img[at..at + 512].chunks(32).take_while(|e| e[0] != 0) {
            // Creation time and date, access date, write time and date.
            assert_eq!(&e[13..20], &[0, 0, 0, 0x21, 0, 0x21, 0], "{e:?}");
            assert_eq!(&e[22..26], &[0, 0, 0x21, 0], "{e:?}");
        }
    }
    let mut out = Cursor::new(vec![0u8; 33 << 20]);
    let opts = Options {
        volume_id: 1,
        label: *b"NO NAME    ",
    };
    let mut empty = std::io::empty();
    let mut files = [File {
        path: "A",
        size: 0,
        data: &mut empty,
    }];
    write(&mut out, 33 * MIB, &opts, &mut files).expect("write");
    assert_eq!(&out.get_ref()[root..root + 12], b"A          \x20");
}
