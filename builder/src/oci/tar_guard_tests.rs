use super::*;

/// A raw 512-byte header of `kind` claiming `size` bytes.
fn header(name: &str, kind: u8, size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.set_path(name).expect("name");
    h.set_size(size);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_cksum();
    h.as_bytes().to_vec()
}

fn read_all(bytes: &[u8], limits: Limits) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    TarGuard::new(bytes, bytes.len() as u64, limits).read_to_end(&mut out)?;
    Ok(out)
}

/// A real archive: a PAX header with a long path and an xattr, a GNU long
/// name, a file whose size only its PAX header gives, and an empty file.
fn ordinary() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([("SCHILY.xattr.user.a", &b"1"[..])])
        .expect("pax");
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    b.append_data(&mut h, format!("{}/f", "d".repeat(150)), &b"abc"[..])
        .expect("long name");
    let data = vec![7u8; 1000];
    b.append_pax_extensions([("size", &b"1000"[..])])
        .expect("pax size");
    let mut h = tar::Header::new_ustar();
    h.set_path("sized").expect("path");
    h.set_size(0);
    h.set_mode(0o644);
    h.set_cksum();
    let mut raw = b.into_inner().expect("tar");
    // Without its end-of-archive blocks, so more entries can follow.
    raw.truncate(raw.len() - 1024);
    raw.extend_from_slice(h.as_bytes());
    raw.extend_from_slice(&data);
    raw.resize(raw.len().div_ceil(512) * 512, 0);
    raw
}

#[test]
fn an_ordinary_archive_passes_unchanged_and_the_guard_stays_in_step() {
    let mut raw = ordinary();
    let before = raw.clone();
    let passed = read_all(&raw, Limits::DEFAULT).expect("passes");
    assert!(passed == before, "the bytes pass unchanged");
    // After the PAX-sized entry, a hostile header is still found: the guard
    // followed the size the PAX header gave, not the ustar field.
    raw.extend(header("x", b'x', 2 << 30));
    let err = read_all(&raw, Limits::DEFAULT).unwrap_err();
    assert!(err.to_string().contains("claims 2147483648 bytes"), "{err}");
}

#[test]
fn extension_headers_over_the_cap_are_refused_before_their_data() {
    for kind in [b'x', b'g', b'L', b'K'] {
        let raw = header("././@LongLink", kind, 2 << 30);
        let err = read_all(&raw, Limits::DEFAULT).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            err.to_string()
                .contains(&format!("type '{}'", kind as char)),
            "{err}"
        );
    }
    // A file of any size is not an extension: fine.
    let raw = header("big", b'0', 2 << 30);
    assert!(read_all(&raw, Limits::DEFAULT).is_ok());
}

#[test]
fn a_stream_that_expands_too_far_is_cut_off() {
    let zeros = vec![0u8; 3 << 20];
    let small = Limits {
        max_expanded: 1 << 20,
        ..Limits::DEFAULT
    };
    let err = read_all(&zeros, small).unwrap_err();
    assert!(err.to_string().contains("CAIRN_MAX_LAYER_SIZE"), "{err}");
    // 3 MiB from a "1000-byte" blob is a ratio of 3145 past a 1 MiB floor.
    let mut out = Vec::new();
    let ratio = Limits {
        max_ratio: 200,
        ratio_floor: 1 << 20,
        ..Limits::DEFAULT
    };
    let err = TarGuard::new(&zeros[..], 1000, ratio)
        .read_to_end(&mut out)
        .unwrap_err();
    assert!(err.to_string().contains("CAIRN_MAX_LAYER_RATIO"), "{err}");
}

#[test]
fn tar_numbers_read_octal_and_base_256() {
    assert_eq!(number(b"0000644\0"), Some(0o644));
    assert_eq!(number(b"\0\0\0\0"), Some(0));
    let mut big = [0u8; 12];
    big[0] = 0x80;
    big[8..].copy_from_slice(&(1u32 << 31).to_be_bytes());
    assert_eq!(number(&big), Some(1 << 31));
    assert_eq!(number(b"12x4\0"), None);
}

#[test]
fn pax_records_are_read_by_their_lengths() {
    assert_eq!(pax_size(b"13 size=1000\n"), Some(1000));
    // A value with newlines in it, then the size: lengths, not lines.
    assert_eq!(pax_size(b"9 a=b\nc\n\n12 size=777\n"), Some(777));
    assert_eq!(pax_size(b"16 a=x\n7 size=5\n\n"), None);
    assert_eq!(pax_size(b"99 size=1\n"), None);
    assert_eq!(pax_size(b""), None);
}
