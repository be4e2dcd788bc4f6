use super::*;

use std::path::Path;
use std::process::Command;

use crate::pe::tests::{STUB, SYSTEMD_BOOT, osslsigncode_sign, read};

const OSREL: &[u8] = b"ID=cairn\nVERSION_ID=1\n";
const CMDLINE: &[u8] = b"console=ttyS0 panic=-1";
const UNAME: &[u8] = b"6.1.0-test-amd64";
const PLAN: &[u8] = b"cairn:phase:enter-initrd\ncairn:phase:leave-initrd\n";

fn initrd() -> Vec<u8> {
    (0..3001u32).map(|i| (i * 7 % 251) as u8).collect()
}

/// A UKI from the Debian stub with systemd-boot standing in for the kernel
/// (any PE image will do for the layout).
fn sample() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (stub, linux, initrd) = (read(STUB), read(SYSTEMD_BOOT), initrd());
    let uki = build(
        &stub,
        &Sections {
            osrel: OSREL,
            cmdline: CMDLINE,
            linux: &linux,
            initrd: &initrd,
            uname: Some(UNAME),
            extra: &[(".cairn", PLAN)],
        },
    )
    .unwrap();
    (uki, stub, linux)
}

fn write_temp(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

/// `objdump -h -w` rows as (name, size, vma, file offset).
fn objdump_sections(path: &Path) -> Vec<(String, u64, u64, u64)> {
    let out = Command::new("objdump")
        .arg("-h")
        .arg("-w")
        .arg(path)
        .output()
        .expect("objdump runs (binutils)");
    assert!(out.status.success(), "{out:?}");
    let hex = |s: &str| u64::from_str_radix(s, 16).unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.len() >= 7 && f[0].parse::<u32>().is_ok())
                .then(|| (f[1].to_string(), hex(f[2]), hex(f[3]), hex(f[5])))
        })
        .collect()
}

/// A section's contents as objcopy extracts them.
fn objcopy_section(path: &Path, name: &str) -> Vec<u8> {
    let out = path.with_extension(format!("{}.bin", name.trim_start_matches('.')));
    let status = Command::new("objcopy")
        .args(["-O", "binary", "--only-section", name])
        .arg(path)
        .arg(&out)
        .status()
        .expect("objcopy runs (binutils)");
    assert!(status.success());
    std::fs::read(out).unwrap()
}

#[test]
fn objdump_lists_the_new_sections_in_order_after_the_untouched_stub_sections() {
    let (uki, _, linux) = sample();
    let dir = tempfile::tempdir().unwrap();
    let uki_path = write_temp(dir.path(), "uki.efi", &uki);
    let got = objdump_sections(&uki_path);
    let stub_rows = objdump_sections(Path::new(STUB));
    assert_eq!(stub_rows.len(), 8);
    assert_eq!(got[..8], stub_rows[..]);
    let added: Vec<(&str, u64)> = got[8..].iter().map(|r| (r.0.as_str(), r.1)).collect();
    assert_eq!(
        added,
        [
            (".osrel", OSREL.len() as u64),
            (".cmdline", CMDLINE.len() as u64),
            (".uname", UNAME.len() as u64),
            (".initrd", initrd().len() as u64),
            (".cairn", PLAN.len() as u64),
            (".linux", linux.len() as u64),
        ]
    );
    let stub_end = stub_rows.iter().map(|r| r.2 + r.1).max().unwrap();
    let mut previous_end = stub_end;
    for (name, size, vma, offset) in &got[8..] {
        assert_eq!(vma % 0x200, 0, "{name} VMA");
        assert_eq!(offset % 0x200, 0, "{name} file offset");
        assert!(
            *vma >= previous_end,
            "{name} overlaps the section before it"
        );
        previous_end = vma + size;
    }
}

#[test]
fn objcopy_extracts_every_section_with_the_given_contents_and_the_stubs_unchanged() {
    let (uki, _, linux) = sample();
    let dir = tempfile::tempdir().unwrap();
    let uki_path = write_temp(dir.path(), "uki.efi", &uki);
    let expected: [(&str, &[u8]); 6] = [
        (".osrel", OSREL),
        (".cmdline", CMDLINE),
        (".uname", UNAME),
        (".initrd", &initrd()),
        (".cairn", PLAN),
        (".linux", &linux),
    ];
    for (name, data) in expected {
        assert_eq!(objcopy_section(&uki_path, name), data, "{name}");
    }
    let stub_path = write_temp(dir.path(), "stub.efi", &read(STUB));
    for name in [".text", ".sdmagic", ".sbat", ".data"] {
        let original = objcopy_section(&stub_path, name);
        assert!(!original.is_empty(), "{name}");
        assert_eq!(objcopy_section(&uki_path, name), original, "{name}");
    }
}

#[test]
fn headers_carry_zero_checksum_the_stubs_timestamp_and_the_new_image_size() {
    let (uki, stub, _) = sample();
    let (pe, stub_pe) = (pe::parse(&uki).unwrap(), pe::parse(&stub).unwrap());
    assert_eq!(pe.checksum, 0);
    assert_eq!(pe.time_date_stamp, stub_pe.time_date_stamp);
    assert_eq!(pe.sections.len(), stub_pe.sections.len() + 6);
    assert_eq!((pe.pointer_to_symbol_table, pe.number_of_symbols), (0, 0));
    let last = pe.sections.last().unwrap();
    assert_eq!(u64::from(pe.size_of_image), last.virtual_end());
    assert_eq!(pe.size_of_image % pe.section_alignment, 0);
    assert_eq!(uki.len() as u64, pe.raw_end());
    let added: u32 = pe.sections[8..].iter().map(|s| s.raw_size).sum();
    assert_eq!(
        pe.size_of_initialized_data,
        stub_pe.size_of_initialized_data + added
    );
    assert!(
        pe.sections[8..]
            .iter()
            .all(|s| s.characteristics == DATA_CHARACTERISTICS)
    );
}

#[test]
fn read_section_returns_each_section_and_none_for_a_missing_one() {
    let (uki, _, linux) = sample();
    assert_eq!(read_section(&uki, ".osrel").unwrap(), Some(OSREL));
    assert_eq!(read_section(&uki, ".cmdline").unwrap(), Some(CMDLINE));
    assert_eq!(read_section(&uki, ".uname").unwrap(), Some(UNAME));
    assert_eq!(read_section(&uki, ".initrd").unwrap(), Some(&initrd()[..]));
    assert_eq!(read_section(&uki, ".cairn").unwrap(), Some(PLAN));
    assert_eq!(read_section(&uki, ".linux").unwrap(), Some(&linux[..]));
    assert_eq!(read_section(&uki, ".splash").unwrap(), None);
    assert!(matches!(
        read_section(b"not a PE", ".linux"),
        Err(UkiError::Uki { .. })
    ));
}

#[test]
fn the_same_inputs_give_the_same_bytes() {
    assert_eq!(sample().0, sample().0);
}

#[test]
fn authenticode_digest_of_the_uki_matches_osslsigncode() {
    let (uki, _, _) = sample();
    let dir = tempfile::tempdir().unwrap();
    let (expected, _) = osslsigncode_sign(&write_temp(dir.path(), "uki.efi", &uki));
    // The UKI ends on a FileAlignment boundary, so osslsigncode adds no
    // padding and signs the digest of the unsigned file.
    assert_eq!(
        hex::encode(pe::authenticode_sha256(&uki).unwrap()),
        expected
    );
}

fn build_with(extra: &[(&str, &[u8])], linux: &[u8], cmdline: &[u8]) -> Result<Vec<u8>> {
    build(
        &read(STUB),
        &Sections {
            osrel: OSREL,
            cmdline,
            linux,
            initrd: b"initrd",
            uname: Some(UNAME),
            extra,
        },
    )
}

#[test]
fn an_empty_cmdline_is_left_out_and_an_empty_kernel_is_refused() {
    let uki = build_with(&[], b"kernel", b"").unwrap();
    assert_eq!(read_section(&uki, ".cmdline").unwrap(), None);
    assert!(matches!(
        build_with(&[], b"", CMDLINE),
        Err(UkiError::NoKernel)
    ));
}

#[test]
fn extra_names_that_the_stub_would_read_or_that_exist_are_refused() {
    for name in [".linux2", ".pcrsig", ".dtbx", ".uname", ".text", ".sdmagic"] {
        assert!(
            matches!(
                build_with(&[(name, b"x")], b"kernel", CMDLINE),
                Err(UkiError::NameClash { .. })
            ),
            "{name}"
        );
    }
    assert!(matches!(
        build_with(&[(".a", b"x"), (".a", b"y")], b"kernel", CMDLINE),
        Err(UkiError::NameClash { .. })
    ));
    for name in ["cairn", ".", ".toolong1", ".sp ace", ".é"] {
        assert!(
            matches!(
                build_with(&[(name, b"x")], b"kernel", CMDLINE),
                Err(UkiError::BadName { .. })
            ),
            "{name}"
        );
    }
}

#[test]
fn more_sections_than_the_stubs_header_room_holds_is_an_error() {
    // Debian's stub has 0x400 - 0x2c8 bytes after its table: 7 headers.
    let three: [(&str, &[u8]); 2] = [(".a", b"1"), (".b", b"2")];
    assert!(build_with(&three, b"kernel", CMDLINE).is_ok());
    let four: [(&str, &[u8]); 3] = [(".a", b"1"), (".b", b"2"), (".c", b"3")];
    assert!(matches!(
        build_with(&four, b"kernel", CMDLINE),
        Err(UkiError::NoHeaderRoom { room: 7, needed: 8 })
    ));
}

#[test]
fn a_signed_stub_or_a_non_pe_stub_is_refused() {
    let mut stub = read(STUB);
    let cert_entry = pe::parse(&stub).unwrap().data_directories_offset() + 8 * 4;
    stub[cert_entry + 4] = 8;
    let s = Sections {
        osrel: OSREL,
        cmdline: CMDLINE,
        linux: b"kernel",
        initrd: b"",
        uname: None,
        extra: &[],
    };
    assert!(matches!(build(&stub, &s), Err(UkiError::StubSigned)));
    assert!(matches!(build(b"MZ", &s), Err(UkiError::Stub { .. })));
}

#[test]
fn header_padding_that_is_not_zero_still_takes_the_new_headers() {
    // gnu-efi's arm64 stub pads its hand-written header with NOPs.
    let mut stub = read(STUB);
    for word in stub[0x2c8..0x400].chunks_exact_mut(4) {
        word.copy_from_slice(&0xd503_201fu32.to_le_bytes());
    }
    let s = Sections {
        osrel: OSREL,
        cmdline: CMDLINE,
        linux: b"kernel",
        initrd: b"initrd",
        uname: None,
        extra: &[],
    };
    let uki = build(&stub, &s).unwrap();
    assert_eq!(read_section(&uki, ".linux").unwrap(), Some(&b"kernel"[..]));
    assert_eq!(read_section(&uki, ".initrd").unwrap(), Some(&b"initrd"[..]));
}

#[test]
fn corrupted_stub_headers_give_errors_or_ukis_never_panics() {
    let stub = read(STUB);
    let s = Sections {
        osrel: b"",
        cmdline: b"",
        linux: b"kernel",
        initrd: b"",
        uname: None,
        extra: &[],
    };
    for at in 0..0x2c8 {
        for value in [0x00, 0x7f, 0xff] {
            let mut bad = stub.clone();
            bad[at] = value;
            if let Ok(uki) = build(&bad, &s) {
                assert_eq!(read_section(&uki, ".linux").unwrap(), Some(&b"kernel"[..]));
            }
        }
    }
}
