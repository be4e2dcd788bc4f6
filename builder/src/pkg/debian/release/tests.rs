use super::{keyrings, parse, verify};
use crate::pkg::debian::DebianError;

const RELEASE: &str = "Origin: Debian
Suite: oldstable-security
Codename: bookworm-security
Acquire-By-Hash: yes
Architectures: amd64 arm64
Components: updates/main updates/non-free-firmware
MD5Sum:
 d41d8cd98f00b204e9800998ecf8427e 0 main/binary-amd64/Packages
SHA256:
 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855        0 main/binary-amd64/Packages
 0E70C1405D2FB7FAFF48B4F612092C17111C288EF770255F4CE87F3982C5DD72   376708 main/binary-amd64/Packages.xz
";

#[test]
fn a_release_file_gives_components_architectures_and_sha256_sums() {
    let r = parse(
        "u",
        "http://a.invalid/debian-security",
        "bookworm-security",
        RELEASE,
    )
    .expect("parse");
    assert_eq!(r.components, ["main", "non-free-firmware"]);
    assert_eq!(r.architectures, ["amd64", "arm64"]);
    assert!(r.acquire_by_hash);
    let xz = &r.files["main/binary-amd64/Packages.xz"];
    assert_eq!(xz.size, 376_708);
    assert!(
        xz.sha256.starts_with("0e70c1405d"),
        "lower-cased: {}",
        xz.sha256
    );
    assert_eq!(r.files.len(), 2, "MD5 sums are not used");
    assert_eq!(
        r.url("main/binary-amd64/Packages.xz"),
        "http://a.invalid/debian-security/dists/bookworm-security/main/binary-amd64/Packages.xz"
    );
}

#[test]
fn a_signed_index_of_another_suite_is_refused() {
    let err = parse("u", "http://a.invalid/debian", "bookworm", RELEASE).expect_err("suite");
    assert!(err.to_string().contains("bookworm was requested"), "{err}");
}

#[test]
fn a_release_without_checksums_is_refused() {
    let text = "Suite: bookworm\nComponents: main\n";
    let err = parse("u", "http://a.invalid/debian", "bookworm", text).expect_err("no sums");
    assert!(err.to_string().contains("SHA256"), "{err}");
}

#[test]
fn unsigned_text_does_not_verify() {
    let Ok(keys) = keyrings() else {
        return; // no keyring on this host: the network tests report it
    };
    let text = b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nSuite: bookworm\n";
    let err = verify("http://a.invalid/InRelease", text, &keys).expect_err("unsigned");
    assert!(matches!(err, DebianError::BadSignature { .. }), "{err:?}");
    let err = verify("http://a.invalid/InRelease", b"Suite: bookworm\n", &keys).expect_err("plain");
    assert!(matches!(err, DebianError::BadSignature { .. }), "{err:?}");
}
