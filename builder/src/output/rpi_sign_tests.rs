//! The keys are fixtures made by OpenSSL (see their README): generating
//! RSA keys in a debug build of the rsa crate takes many seconds.

use std::process::{Command, Output};

use super::*;

const TS: u64 = 1_700_000_000;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rpi-sign")
        .join(name)
}

fn key() -> PrivateKey {
    load_key(&fixture("rsa2048.pem")).unwrap()
}

/// Stands in for a FAT image: large enough to span several hash blocks.
fn image() -> Vec<u8> {
    (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// Runs a host tool; None (and a note) when it is not installed.
fn run(program: &str, args: &[&Path]) -> Option<Output> {
    match Command::new(program).args(args).output() {
        Ok(out) => Some(out),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            eprintln!("{program} not installed; interoperability not checked");
            None
        }
        Err(e) => panic!("{program}: {e}"),
    }
}

fn key_error(path: &Path) -> SignError {
    let err = load_key(path).unwrap_err();
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "the message names the file: {err}"
    );
    err
}

#[test]
fn a_signature_made_here_verifies_with_openssl_and_is_the_one_openssl_makes() {
    let dir = tempfile::tempdir().unwrap();
    let (img, sig_bin, public) = (
        dir.path().join("boot.img"),
        dir.path().join("sig.bin"),
        dir.path().join("pub.pem"),
    );
    fs::write(&img, image()).unwrap();
    let key = key();
    let sig = parse_boot_sig(&boot_sig(&image(), &key, TS).unwrap()).unwrap();
    fs::write(&sig_bin, &sig.signature).unwrap();
    fs::write(&public, public_key_pem(key.as_public_key())).unwrap();

    let args = ["dgst", "-sha256", "-verify"].map(Path::new);
    let Some(out) = run(
        "openssl",
        &[
            &args[..],
            &[&public, Path::new("-signature"), &sig_bin, &img],
        ]
        .concat(),
    ) else {
        return;
    };
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Verified OK\n");

    // PKCS#1 v1.5 is deterministic, so OpenSSL's own signature, the one
    // rpi-eeprom-digest puts in boot.sig, must be byte for byte ours.
    let args = ["dgst", "-sha256", "-sign"].map(Path::new);
    let out = run(
        "openssl",
        &[&args[..], &[&fixture("rsa2048.pem"), &img]].concat(),
    )
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, sig.signature);
}

#[test]
fn the_sha256_line_equals_sha256sum() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("boot.img");
    fs::write(&img, image()).unwrap();
    let text = boot_sig(&image(), &key(), TS).unwrap();
    let Some(out) = run("sha256sum", &[&img]) else {
        return;
    };
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().next(), stdout.split(' ').next());
}

#[test]
fn signing_twice_or_from_the_file_gives_identical_bytes() {
    let (img, key) = (image(), key());
    let first = boot_sig(&img, &key, TS).unwrap();
    assert_eq!(first, boot_sig(&img, &key, TS).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("boot.img");
    fs::write(&path, &img).unwrap();
    assert_eq!(first, boot_sig_for_file(&path, &key, TS).unwrap());
}

#[test]
fn boot_sig_is_three_newline_ended_lines_and_parses_back_to_what_was_signed() {
    let (img, key) = (image(), key());
    let text = boot_sig(&img, &key, TS).unwrap();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0].len(), 64 + 1);
    assert_eq!(lines[1], "ts: 1700000000\n");
    assert!(lines[2].starts_with("rsa2048: ") && lines[2].len() == 9 + 512 + 1);
    assert_eq!(text, text.to_lowercase());

    let sig = parse_boot_sig(&text).unwrap();
    assert_eq!(sig.sha256, <[u8; 32]>::from(Sha256::digest(&img)));
    assert_eq!(sig.ts, TS);
    assert_eq!(sig.signature.len(), SIGNATURE_LEN);
    verify(&img, &sig, key.as_public_key()).unwrap();
}

#[test]
fn a_flipped_byte_in_the_image_or_the_signature_fails_verify() {
    let (mut img, key) = (image(), key());
    let sig = parse_boot_sig(&boot_sig(&img, &key, TS).unwrap()).unwrap();
    img[4096] ^= 1;
    let err = verify(&img, &sig, key.as_public_key()).unwrap_err();
    assert!(matches!(err, SignError::DigestMismatch { .. }), "{err}");
    img[4096] ^= 1;
    let mut forged = sig.clone();
    forged.signature[100] ^= 1;
    let err = verify(&img, &forged, key.as_public_key()).unwrap_err();
    assert!(matches!(err, SignError::BadSignature { .. }), "{err}");
    assert_eq!(err.class(), ErrorClass::User);
}

#[test]
fn a_1024_or_4096_bit_key_is_refused_with_how_to_make_a_2048_bit_one() {
    for (name, size) in [("rsa1024.pem", 1024), ("rsa4096.pem", 4096)] {
        let err = key_error(&fixture(name));
        assert!(
            matches!(err, SignError::KeySize { bits, .. } if bits == size),
            "{err}"
        );
        assert!(err.to_string().contains("openssl genrsa -out key.pem 2048"));
        assert_eq!(err.class(), ErrorClass::User);
    }
}

#[test]
fn pkcs1_and_pkcs8_files_of_one_key_load_as_that_key() {
    let pkcs8 = load_key(&fixture("rsa2048-pkcs8.pem")).unwrap();
    assert_eq!(key().to_public_key(), pkcs8.to_public_key());
}

#[test]
fn an_encrypted_key_is_refused_naming_the_file() {
    for name in ["rsa2048-encrypted-pkcs1.pem", "rsa2048-encrypted-pkcs8.pem"] {
        let err = key_error(&fixture(name));
        assert!(matches!(err, SignError::Encrypted { .. }), "{name}: {err}");
    }
}

#[test]
fn garbage_a_public_key_or_a_huge_file_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let public = public_key_pem(key().as_public_key());
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("text", b"not a key\n".to_vec(), "no PEM block"),
        ("binary", vec![0x30, 0x82, 0xff, 0xfe], "binary"),
        ("public", public.into_bytes(), "public key"),
        ("huge", vec![b'A'; 65 * 1024], "larger than 64 KiB"),
        (
            "ec",
            b"-----BEGIN EC PRIVATE KEY-----\nAA==\n-----END EC PRIVATE KEY-----\n".to_vec(),
            "EC PRIVATE KEY",
        ),
    ];
    for (name, bytes, reason) in cases {
        let path = dir.path().join(name);
        fs::write(&path, bytes).unwrap();
        let err = key_error(&path);
        assert!(matches!(err, SignError::NotAKey { .. }), "{name}: {err}");
        assert!(err.to_string().contains(reason), "{name}: {err}");
        assert_eq!(err.class(), ErrorClass::User);
    }

    let path = dir.path().join("broken");
    fs::write(
        &path,
        "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    assert!(matches!(key_error(&path), SignError::BadKey { .. }));
    assert!(matches!(key_error(dir.path()), SignError::NotAKey { .. }));
    let err = key_error(&dir.path().join("missing.pem"));
    assert!(matches!(err, SignError::KeyRead { .. }), "{err}");
    assert_eq!(err.class(), ErrorClass::User);
}

#[test]
fn parse_refuses_anything_but_exactly_the_three_lines() {
    let good = boot_sig(&image(), &key(), TS).unwrap();
    let (sha, rest) = good.split_once('\n').unwrap();
    let (ts, sig) = rest.split_once('\n').unwrap();
    let bad = [
        good.trim_end().to_string(),
        format!("{good}\n"),
        format!("{sha}\n{ts}\ntarget-soc: 2711\n{sig}"),
        format!("{sha}\n{sig}{ts}\n"),
        good.replace('\n', "\r\n"),
        good.replace("ts: ", "ts: +"),
        good.replace("ts: 1700000000", "ts: "),
        good.replace("ts: 1700000000", "ts: 99999999999999999999"),
        good.replacen(sha, &sha[1..], 1),
        good.replacen(sha, &format!("{sha}0"), 1),
        good.replace("rsa2048: ", "rsa2048:"),
        good.replace("rsa2048: ", "rsa4096: "),
        format!("{sha}\n{ts}\n{}\n", &sig[..sig.len() - 3]),
        good.replacen(&sha[..2], "zz", 1),
    ];
    for text in bad {
        let err = parse_boot_sig(&text).unwrap_err();
        assert!(
            matches!(err, SignError::Malformed { .. }),
            "{text:?}: {err}"
        );
    }
    // Case is not the format's business (an HSM wrapper writes the hex).
    let shouting = good
        .to_uppercase()
        .replace("TS: ", "ts: ")
        .replace("RSA2048: ", "rsa2048: ");
    assert_eq!(
        parse_boot_sig(&shouting).unwrap(),
        parse_boot_sig(&good).unwrap()
    );
}
