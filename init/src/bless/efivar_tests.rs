//! The loader's variables and entry names from untrusted bytes.

use super::*;

/// Attributes, then `units` as UTF-16LE.
fn raw(units: &[u16]) -> Vec<u8> {
    let mut bytes = 7u32.to_le_bytes().to_vec();
    for unit in units {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes
}

fn utf16(text: &str) -> Vec<u16> {
    text.encode_utf16().collect()
}

#[test]
fn a_nul_terminated_utf16_string_is_read() {
    let mut units = utf16("\\EFI\\Linux\\cairn-2+3.efi");
    units.push(0);
    assert_eq!(
        decode(&raw(&units)).as_deref(),
        Ok("\\EFI\\Linux\\cairn-2+3.efi")
    );
    assert_eq!(decode(&raw(&utf16("é\0"))).as_deref(), Ok("é"));
}

#[test]
fn hostile_efivar_bytes_are_refused() {
    let mut after_nul = utf16("a\0b");
    after_nul.push(0);
    let cases: [(Vec<u8>, VarError); 8] = [
        (vec![7, 0, 0], VarError::TooShort { len: 3 }),
        (vec![7, 0, 0, 0], VarError::TooShort { len: 4 }),
        (vec![7, 0, 0, 0, b'a', 0, 0], VarError::OddLength { len: 3 }),
        (raw(&utf16("abc")), VarError::NoNul),
        (raw(&[0xd800, u16::from(b'a'), 0]), VarError::BadUtf16),
        (raw(&[0xdc00, 0]), VarError::BadUtf16),
        (
            raw(&utf16("a\nb\0")),
            VarError::Junk {
                text: "a\nb".into(),
            },
        ),
        (raw(&after_nul), VarError::Junk { text: "a".into() }),
    ];
    for (bytes, error) in cases {
        assert_eq!(decode(&bytes), Err(error), "{bytes:?}");
    }
    assert_eq!(decode(&vec![0; MAX_BYTES + 2]), Err(VarError::TooLong));
}

#[test]
fn counters_are_read_as_systemd_boot_reads_them() {
    let counted = |left, done| Some(Counter { left, done });
    let cases = [
        ("cairn-2+3.efi", "cairn-2", counted(3, 0)),
        ("cairn-2+2-1.efi", "cairn-2", counted(2, 1)),
        ("cairn-2+0-3.EFI", "cairn-2", counted(0, 3)),
        ("cairn-1.0+deb12+1-2.efi", "cairn-1.0+deb12", counted(1, 2)),
        ("cairn-2.efi", "cairn-2", None),
        ("cairn-2+x.efi", "cairn-2+x", None),
        ("cairn-2+3-.efi", "cairn-2+3-", None),
        ("cairn-2+-1.efi", "cairn-2+-1", None),
        ("+3.efi", "+3", None),
    ];
    for (name, stem, counter) in cases {
        let entry = EntryName::parse(name).expect(name);
        assert_eq!(
            (entry.stem.as_str(), entry.counter),
            (stem, counter),
            "{name}"
        );
        assert_eq!(entry.blessed(), format!("{stem}.efi"));
    }
    for bad in [
        "",
        ".efi",
        "cairn-2.conf",
        "a/b+3.efi",
        "..",
        "x\u{1}+3.efi",
    ] {
        assert_eq!(EntryName::parse(bad), None, "{bad:?}");
    }
    let long = format!("{}+3.efi", "a".repeat(300));
    assert_eq!(EntryName::parse(&long), None);
}

#[test]
fn the_count_path_must_name_a_counted_file_in_efi_linux() {
    let ok = counted_uki("\\EFI\\Linux\\cairn-2+3.efi").expect("counted");
    assert_eq!(ok.stem, "cairn-2");
    assert_eq!(
        counted_uki("\\efi\\linux\\cairn-2+1-2.efi").map(|e| e.stem),
        Ok("cairn-2".to_string())
    );
    for not_uki in [
        "EFI\\Linux\\cairn-2+3.efi",
        "\\EFI\\Linux\\sub\\cairn-2+3.efi",
        "\\EFI\\Linux\\..\\..\\cairn-2+3.efi",
        "\\loader\\entries\\cairn-2+3.conf",
        "\\EFI\\BOOT\\cairn-2+3.efi",
        "/EFI/Linux/cairn-2+3.efi",
    ] {
        assert!(
            matches!(counted_uki(not_uki), Err(PathError::NotUki { .. })),
            "{not_uki}"
        );
    }
    for not_counted in [
        "\\EFI\\Linux\\cairn-2.efi",
        "\\EFI\\Linux\\..",
        "\\EFI\\Linux\\",
        "\\EFI\\Linux\\a/../b+3.efi",
    ] {
        assert!(
            matches!(counted_uki(not_counted), Err(PathError::NotCounted { .. })),
            "{not_counted}"
        );
    }
}
