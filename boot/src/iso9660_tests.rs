use std::process::Command;

use super::*;
use crate::fat;

/// An ISO around a real FAT ESP holding `EFI/BOOT/BOOTX64.EFI`.
fn iso(payload: &[u8]) -> (tempfile::NamedTempFile, Layout) {
    let esp_size = fat::partition_size(payload.len() as u64, 1);
    let layout = Layout::new(esp_size);
    let mut out = tempfile::NamedTempFile::new().expect("temp file");
    let meta = Meta {
        volume_id: "cairn-test",
        mtime: 1_700_000_000,
        disk_signature: 0x1234_5678,
    };
    write(out.as_file_mut(), &layout, &meta).expect("iso");
    let mut esp = std::io::Cursor::new(Vec::new());
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
    fat::write(&mut esp, layout.esp_size, &opts, &mut files).expect("fat");
    let mut bytes = esp.into_inner();
    bytes.resize(layout.esp_size as usize, 0);
    use std::os::unix::fs::FileExt;
    out.as_file()
        .write_all_at(&bytes, layout.esp_offset)
        .expect("esp");
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
            layout.esp_size / 512
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
    let at = layout.esp_offset as usize;
    assert_eq!(extracted, whole[at..at + layout.esp_size as usize]);
    assert_eq!(whole.len() as u64, layout.size);
    assert_eq!(layout.size % (1 << 20), 0);
}

#[test]
fn the_catalog_sums_to_zero_and_a_big_esp_says_to_the_end() {
    let small = catalog(&Layout::new(4 << 20));
    let sum = small[..32].chunks(2).fold(0u16, |s, w| {
        s.wrapping_add(u16::from_le_bytes([w[0], w[1]]))
    });
    assert_eq!(sum, 0);
    assert_eq!(u16::from_le_bytes([small[38], small[39]]), 8192);
    let big = catalog(&Layout::new(100 << 20));
    assert_eq!(u16::from_le_bytes([big[38], big[39]]), 0);
}

#[test]
fn dates_are_utc_from_the_epoch() {
    assert_eq!(&long_date(0)[..16], b"1970010100000000");
    assert_eq!(&long_date(951_782_400)[..16], b"2000022900000000");
    assert_eq!(short_date(1_700_000_000), [123, 11, 14, 22, 13, 20, 0]);
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
