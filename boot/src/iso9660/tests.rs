use std::process::Command;

use super::*;
use crate::fat;

/// An ISO around a real FAT ESP holding `EFI/BOOT/BOOTX64.EFI`.
const META: Meta = Meta {
    volume_id: "cairn-test",
    mtime: 1_700_000_000,
};

fn iso(payload: &[u8]) -> (tempfile::NamedTempFile, Layout) {
    let esp_size = fat::partition_size(payload.len() as u64, 1);
    let files = [File {
        path: "EFI.IMG",
        size: esp_size,
    }];
    let layout = Layout::new(&files, None, Some(0), None).expect("layout");
    let mut out = tempfile::NamedTempFile::new().expect("temp file");
    let system = SystemArea::Mbr {
        disk_signature: 0x1234_5678,
        bios_code: None,
    };
    write(out.as_file_mut(), &layout, &META, &system).expect("iso");
    let esp = &layout.files[0];
    let mut data = payload;
    let mut files = [fat::File {
        path: "EFI/BOOT/BOOTX64.EFI",
        size: payload.len() as u64,
        data: &mut data,
    }];
    let opts = fat::Options {
        volume_id: 7,
        label: *b"ESP        ",
    };
    let mut image = std::io::Cursor::new(Vec::new());
    fat::write(&mut image, esp.size, &opts, &mut files).expect("fat");
    let mut bytes = image.into_inner();
    bytes.resize(esp.size as usize, 0);
    use std::os::unix::fs::FileExt;
    out.as_file().write_all_at(&bytes, esp.offset).expect("esp");
    out.as_file().set_len(layout.size).expect("length");
    (out, layout)
}

fn xorriso(args: &[&str]) -> String {
    let out = Command::new("xorriso")
        .args(args)
        .output()
        .expect("xorriso is installed (make deps)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "xorriso {args:?}:\n{text}");
    text
}

#[test]
fn xorriso_reads_the_volume_the_efi_boot_entry_and_the_esp_partition() {
    let (file, layout) = iso(b"MZ a stand-in for the UKI");
    let path = file.path().to_str().expect("utf-8");
    let report = xorriso(&[
        "-indev",
        path,
        "-report_el_torito",
        "plain",
        "-report_system_area",
        "plain",
    ]);
    for line in [
        "El Torito boot img :   1  UEFI  y   none",
        "El Torito img path :   1  /EFI.IMG",
        &format!(
            "MBR partition      :   1   0x00  0xef           92        {}",
            layout.files[0].size / 512
        ),
        "MBR partition path :   1  /EFI.IMG",
    ] {
        assert!(report.contains(line), "{line:?} missing in:\n{report}");
    }
    let pvd = xorriso(&["-indev", path, "-pvd_info"]);
    assert!(pvd.contains("Volume Id    : CAIRN_TEST"), "{pvd}");
    let out = tempfile::tempdir().expect("temp dir");
    let img = out.path().join("esp.img");
    xorriso(&[
        "-osirrox",
        "on",
        "-indev",
        path,
        "-extract",
        "/EFI.IMG",
        img.to_str().expect("utf-8"),
    ]);
    let extracted = std::fs::read(&img).expect("extracted");
    let whole = std::fs::read(file.path()).expect("iso");
    let esp = &layout.files[0];
    let at = esp.offset as usize;
    assert_eq!(extracted, whole[at..at + esp.size as usize]);
    assert_eq!(whole.len() as u64, layout.size);
    assert_eq!(layout.size % (1 << 20), 0);
}

#[test]
fn the_catalog_sums_to_zero_and_a_big_esp_says_to_the_end() {
    let efi = |size| {
        let files = [File {
            path: "EFI.IMG",
            size,
        }];
        boot::catalog(&Layout::new(&files, None, Some(0), None).expect("layout"))
    };
    let small = efi(4 << 20);
    let sum = small[..32].chunks(2).fold(0u16, |s, w| {
        s.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
    });
    assert_eq!(sum, 0);
    assert_eq!(u16::from_le_bytes([small[38], small[39]]), 8192);
    let big = efi(100 << 20);
    assert_eq!(u16::from_le_bytes([big[38], big[39]]), 0);
}

#[test]
fn dates_are_utc_from_the_epoch() {
    assert_eq!(&records::long_date(0)[..16], b"1970010100000000");
    assert_eq!(&records::long_date(951_782_400)[..16], b"2000022900000000");
    assert_eq!(
        records::short_date(1_700_000_000),
        [123, 11, 14, 22, 13, 20, 0]
    );
}

#[test]
fn the_same_inputs_give_the_same_image() {
    let (a, _) = iso(b"same");
    let (b, _) = iso(b"same");
    assert_eq!(
        std::fs::read(a.path()).unwrap(),
        std::fs::read(b.path()).unwrap()
    );
}

const ISOLINUX: &str = "/usr/lib/ISOLINUX/isolinux.bin";
const HYBRID_MBR: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";

/// A BIOS volume as `-f iso-bios` lays it out, with stand-in contents for
/// all but ISOLINUX.
fn bios_iso() -> (tempfile::NamedTempFile, Layout) {
    let mut isolinux = std::fs::read(ISOLINUX).expect("isolinux is installed (make deps)");
    let code = std::fs::read(HYBRID_MBR).expect("isolinux is installed");
    let contents: [(&str, Vec<u8>); 4] = [
        ("ISOLINUX/ISOLINUX.BIN", Vec::new()),
        ("ISOLINUX/ISOLINUX.CFG", b"DEFAULT linux\n".to_vec()),
        ("KERNEL", vec![7; 5000]),
        ("INITRD.IMG", vec![9; 3000]),
    ];
    let files: Vec<File> = contents
        .iter()
        .enumerate()
        .map(|(i, (path, bytes))| File {
            path,
            size: if i == 0 {
                isolinux.len() as u64
            } else {
                bytes.len() as u64
            },
        })
        .collect();
    let layout = Layout::new(&files, Some(0), None, None).expect("layout");
    patch_isolinux(&mut isolinux, layout.files[0].block()).expect("patch");
    let mut out = tempfile::NamedTempFile::new().expect("temp file");
    let system = SystemArea::Mbr {
        disk_signature: 0x0bad_cafe,
        bios_code: Some(&code),
    };
    write(out.as_file_mut(), &layout, &META, &system).expect("iso");
    use std::os::unix::fs::FileExt;
    for (i, (_, bytes)) in contents.iter().enumerate() {
        let bytes = if i == 0 { &isolinux } else { bytes };
        out.as_file()
            .write_all_at(bytes, layout.files[i].offset)
            .expect("file");
    }
    out.as_file().set_len(layout.size).expect("length");
    (out, layout)
}

#[test]
fn xorriso_reads_the_bios_boot_entry_the_folders_and_the_hybrid_mbr() {
    let (file, layout) = bios_iso();
    let path = file.path().to_str().expect("utf-8");
    let report = xorriso(&[
        "-indev",
        path,
        "-report_el_torito",
        "plain",
        "-report_system_area",
        "plain",
        "-find",
        "/",
        "--",
    ]);
    for line in [
        "El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4",
        "El Torito img path :   1  /ISOLINUX/ISOLINUX.BIN",
        "El Torito img opts :   1  boot-info-table isohybrid-suitable",
        "System area summary: MBR isohybrid cyl-align-off",
        &format!("ISO image size/512 : {}", layout.size / 512),
        "MBR partition      :   1   0x80  0x17            0",
        "'/ISOLINUX/ISOLINUX.CFG'",
        "'/KERNEL'",
        "'/INITRD.IMG'",
    ] {
        assert!(report.contains(line), "{line:?} missing in:\n{report}");
    }
    let out = tempfile::tempdir().expect("temp dir");
    let kernel = out.path().join("kernel");
    xorriso(&[
        "-osirrox",
        "on",
        "-indev",
        path,
        "-extract",
        "/KERNEL",
        kernel.to_str().expect("utf-8"),
    ]);
    assert_eq!(std::fs::read(&kernel).expect("kernel"), vec![7; 5000]);
}

#[test]
fn the_boot_information_table_matches_what_xorriso_writes() {
    // xorriso patches ISOLINUX itself with -boot-info-table: take its
    // result and patch the original for the same block.
    let work = tempfile::tempdir().expect("temp dir");
    let tree = work.path().join("tree/ISOLINUX");
    std::fs::create_dir_all(&tree).expect("tree");
    std::fs::copy(ISOLINUX, tree.join("ISOLINUX.BIN")).expect("copy");
    let iso = work.path().join("ref.iso");
    xorriso(&[
        "-as",
        "mkisofs",
        "-quiet",
        "-o",
        iso.to_str().expect("utf-8"),
        "-b",
        "ISOLINUX/ISOLINUX.BIN",
        "-no-emul-boot",
        "-boot-load-size",
        "4",
        "-boot-info-table",
        work.path().join("tree").to_str().expect("utf-8"),
    ]);
    let image = std::fs::read(&iso).expect("iso");
    let original = std::fs::read(ISOLINUX).expect("isolinux");
    let at = image
        .chunks(BLOCK as usize)
        .position(|b| b[..8] == original[..8])
        .map(|i| i * BLOCK as usize)
        .expect("isolinux in the reference image");
    let block = u32::from_le_bytes(image[at + 12..at + 16].try_into().unwrap());
    assert_eq!(u64::from(block) * BLOCK, at as u64);
    let mut ours = original.clone();
    patch_isolinux(&mut ours, block).expect("patch");
    assert_eq!(ours[..], image[at..at + original.len()]);
}

#[test]
fn a_file_without_the_hybrid_magic_is_refused_as_isolinux() {
    let err = patch_isolinux(&mut vec![0u8; 4096], 30).unwrap_err();
    assert!(err.to_string().contains("hybrid-capable"), "{err}");
    assert!(patch_isolinux(&mut [0u8; 10], 30).is_err());
}

#[test]
fn names_that_are_not_iso_8_3_are_refused() {
    for bad in ["kernel", "TOOLONGNAME", "A.TOOL", "DIR.X/FILE", "A/B/C"] {
        let files = [File { path: bad, size: 1 }];
        assert!(Layout::new(&files, None, None, None).is_err(), "{bad}");
    }
    let big = [File {
        path: "BIG.IMG",
        size: 5 << 30,
    }];
    let err = Layout::new(&big, None, None, None).unwrap_err();
    assert!(err.to_string().contains("4 GiB"), "{err}");
}

#[test]
fn files_start_at_the_asked_offset_on_block_boundaries() {
    let files = [
        File { path: "A", size: 1 },
        File {
            path: "B",
            size: 2049,
        },
        File { path: "C", size: 0 },
    ];
    let layout = Layout::new(&files, None, None, Some(1 << 20)).expect("layout");
    let offsets: Vec<u64> = layout.files.iter().map(|f| f.offset).collect();
    assert_eq!(offsets, [1 << 20, (1 << 20) + 2048, (1 << 20) + 3 * 2048]);
    assert_eq!(layout.size, 2 << 20);
    assert!(layout.descriptors_end() <= 32 * 2048);
}
