use super::*;

use std::path::Path;
use std::process::Command;

pub(crate) const STUB: &str = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";
pub(crate) const SYSTEMD_BOOT: &str = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi";

pub(crate) fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| {
        panic!("{path}: {e}; install Debian's systemd-boot-efi (scripts/install-deps)")
    })
}

fn put32(buf: &mut [u8], at: usize, v: u32) {
    buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

// Offsets in the tiny image, written out by hand rather than taken from the
// code under test.
const OPT: usize = 0x58;
const CHECKSUM_AT: usize = OPT + 64;
const CERT_ENTRY_AT: usize = OPT + 112 + 8 * 4;
const HEADERS: usize = 0x200;

/// A PE32+ image with 0x200 bytes of headers, `sections` stored one after
/// another at 0x200-aligned offsets but listed in the section table in
/// reverse, then `trailing`, then `cert` as its certificate table.
fn tiny_pe(sections: &[&[u8]], trailing: &[u8], cert: &[u8]) -> Vec<u8> {
    let mut img = vec![0u8; HEADERS];
    img[..2].copy_from_slice(b"MZ");
    put32(&mut img, 0x3c, 0x40);
    img[0x40..0x44].copy_from_slice(b"PE\0\0");
    img[0x44..0x46].copy_from_slice(&0x8664u16.to_le_bytes());
    img[0x46..0x48].copy_from_slice(&(sections.len() as u16).to_le_bytes());
    img[0x54..0x56].copy_from_slice(&240u16.to_le_bytes());
    img[OPT..OPT + 2].copy_from_slice(&0x20bu16.to_le_bytes());
    put32(&mut img, OPT + 32, 0x1000);
    put32(&mut img, OPT + 36, 0x200);
    put32(&mut img, OPT + 56, 0x1000 * (sections.len() as u32 + 1));
    put32(&mut img, OPT + 60, HEADERS as u32);
    put32(&mut img, CHECKSUM_AT, 0x1234_5678);
    put32(&mut img, OPT + 108, 16);
    let table = OPT + 240;
    for (i, data) in sections.iter().enumerate() {
        let raw_size = data.len().div_ceil(0x200) * 0x200;
        let offset = img.len();
        img.extend_from_slice(data);
        img.resize(offset + raw_size, 0);
        let at = table + 40 * (sections.len() - 1 - i);
        img[at..at + 8].copy_from_slice(format!(".s{i}\0\0\0\0\0").as_bytes());
        put32(&mut img, at + 8, data.len() as u32);
        put32(&mut img, at + 12, 0x1000 * (i as u32 + 1));
        put32(&mut img, at + 16, raw_size as u32);
        put32(&mut img, at + 20, offset as u32);
        put32(&mut img, at + 36, 0x4000_0040);
    }
    img.extend_from_slice(trailing);
    if !cert.is_empty() {
        let at = img.len() as u32;
        put32(&mut img, CERT_ENTRY_AT, at);
        put32(&mut img, CERT_ENTRY_AT + 4, cert.len() as u32);
        img.extend_from_slice(cert);
    }
    img
}

#[test]
fn tiny_pe_digest_is_headers_without_checksum_and_cert_entry_then_sections_then_trailing_data() {
    let img = tiny_pe(&[b"first section", b"second"], b"trailing", b"");
    let mut expected = Sha256::new();
    expected.update(&img[..CHECKSUM_AT]);
    expected.update(&img[CHECKSUM_AT + 4..CERT_ENTRY_AT]);
    expected.update(&img[CERT_ENTRY_AT + 8..HEADERS]);
    expected.update(&img[0x200..0x400]);
    expected.update(&img[0x400..0x600]);
    expected.update(b"trailing");
    let expected: [u8; 32] = expected.finalize().into();
    assert_eq!(authenticode_sha256(&img).unwrap(), expected);
}

#[test]
fn checksum_and_certificate_table_leave_the_digest_unchanged() {
    let plain = tiny_pe(&[b"code", b"data"], b"", b"");
    let signed = tiny_pe(&[b"code", b"data"], b"", &[0xAB; 24]);
    assert_ne!(plain, signed);
    let mut rechecked = plain.clone();
    put32(&mut rechecked, CHECKSUM_AT, 0xdead_beef);
    let digest = authenticode_sha256(&plain).unwrap();
    assert_eq!(authenticode_sha256(&signed).unwrap(), digest);
    assert_eq!(authenticode_sha256(&rechecked).unwrap(), digest);
}

#[test]
fn one_changed_byte_in_a_section_or_header_changes_the_digest() {
    let img = tiny_pe(&[b"code", b"data"], b"", b"");
    let digest = authenticode_sha256(&img).unwrap();
    for at in [0x100, 0x200, 0x401] {
        let mut changed = img.clone();
        changed[at] ^= 1;
        assert_ne!(
            authenticode_sha256(&changed).unwrap(),
            digest,
            "byte {at:#x}"
        );
    }
}

#[test]
fn a_certificate_table_longer_than_the_unhashed_tail_is_an_error() {
    let mut img = tiny_pe(&[b"code"], b"", b"cert");
    put32(&mut img, CERT_ENTRY_AT + 4, 0x100);
    assert!(matches!(
        authenticode_sha256(&img),
        Err(PeError::CertificateTableTooLarge { .. })
    ));
}

#[test]
fn parse_reads_the_debian_stub_as_objdump_shows_it() {
    let pe = parse(&read(STUB)).unwrap();
    assert!(pe.plus);
    assert_eq!(pe.machine, 0x8664);
    assert_eq!((pe.section_alignment, pe.file_alignment), (0x200, 0x200));
    assert_eq!((pe.size_of_headers, pe.size_of_image), (0x400, 0x19300));
    assert_eq!(pe.data_directories.len(), 16);
    assert_eq!(pe.certificate_table(), None);
    let names: Vec<&[u8]> = pe.sections.iter().map(Section::name).collect();
    assert_eq!(
        names,
        [
            &b".text"[..],
            b".reloc",
            b".data",
            b".dynamic",
            b".rela",
            b".dynsym",
            b".sbat",
            b".sdmagic"
        ]
    );
    let magic = pe.section(b".sdmagic").unwrap();
    assert_eq!(
        (magic.virtual_size, magic.virtual_address, magic.raw_offset),
        (0x34, 0x19100, 0x11200)
    );
}

/// Signs a copy of `image` with osslsigncode and a throwaway key; returns
/// the Authenticode digest osslsigncode signed (checked to equal the one it
/// recomputes when verifying) and the signed image.
pub(crate) fn osslsigncode_sign(image: &Path) -> (String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    let cert = dir.path().join("cert.pem");
    let signed = dir.path().join("signed.efi");
    let keygen = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=cairn test", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(keygen.status.success(), "{keygen:?}");
    let sign = Command::new("osslsigncode")
        .args(["sign", "-h", "sha256", "-certs"])
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .arg("-in")
        .arg(image)
        .arg("-out")
        .arg(&signed)
        .output()
        .expect("osslsigncode runs (Debian package osslsigncode)");
    assert!(sign.status.success(), "{sign:?}");
    let verify = Command::new("osslsigncode")
        .args(["verify", "-in"])
        .arg(&signed)
        .output()
        .expect("osslsigncode runs");
    let text = String::from_utf8_lossy(&verify.stdout);
    let digest = |label: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(label))
            .map(|rest| {
                rest.trim_start_matches([' ', ':'])
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_else(|| panic!("no {label:?} in osslsigncode output:\n{text}"))
    };
    let current = digest("Current message digest");
    assert_eq!(current, digest("Calculated message digest"));
    (current, std::fs::read(&signed).unwrap())
}

#[test]
fn digest_of_a_signed_systemd_boot_matches_the_one_osslsigncode_signed() {
    let (expected, signed) = osslsigncode_sign(Path::new(SYSTEMD_BOOT));
    // osslsigncode pads the image to 8 bytes before the signature and signs
    // the padding too, so compare on the signed file, which also checks that
    // the certificate table is left out.
    assert!(parse(&signed).unwrap().certificate_table().is_some());
    assert_eq!(hex::encode(authenticode_sha256(&signed).unwrap()), expected);
}

#[test]
fn every_truncation_of_the_stub_headers_is_an_error() {
    let stub = read(STUB);
    for len in 0..0x400 {
        assert!(parse(&stub[..len]).is_err(), "{len} bytes parsed");
        assert!(authenticode_sha256(&stub[..len]).is_err());
    }
}

#[test]
fn corrupted_header_bytes_give_errors_or_digests_never_panics() {
    let stub = read(STUB);
    for at in 0..0x2c8 {
        for value in [0x00, 0x7f, 0xff] {
            let mut bad = stub.clone();
            bad[at] = value;
            let _ = authenticode_sha256(&bad);
        }
    }
}

#[test]
fn more_than_96_sections_are_refused() {
    let mut img = tiny_pe(&[b"code"], b"", b"");
    img[0x46..0x48].copy_from_slice(&97u16.to_le_bytes());
    assert!(matches!(
        parse(&img),
        Err(PeError::TooManySections { count: 97 })
    ));
}

#[test]
fn section_data_past_the_end_of_the_file_is_refused() {
    let mut img = tiny_pe(&[b"code"], b"", b"");
    put32(&mut img, OPT + 240 + 16, u32::MAX);
    assert!(matches!(
        parse(&img),
        Err(PeError::Truncated {
            what: "section data",
            ..
        })
    ));
}

#[test]
fn a_file_without_mz_or_pe_signature_is_not_a_pe() {
    let img = tiny_pe(&[b"code"], b"", b"");
    let mut no_mz = img.clone();
    no_mz[0] = b'X';
    assert!(matches!(parse(&no_mz), Err(PeError::NoMz)));
    let mut no_pe = img;
    no_pe[0x41] = b'X';
    assert!(matches!(parse(&no_pe), Err(PeError::NoPe { offset: 0x40 })));
}

#[test]
fn an_optional_header_too_short_for_its_fields_is_refused() {
    let mut img = tiny_pe(&[b"code"], b"", b"");
    img[0x54..0x56].copy_from_slice(&0u16.to_le_bytes());
    assert!(matches!(
        parse(&img),
        Err(PeError::OptionalHeaderTooSmall { size: 0, .. })
    ));
}
