use std::path::Path;

use super::{Archive, Sources};

fn etc_apt(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("sources.list.d")).expect("mkdir");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn archive(uri: &str, suites: &[&str]) -> Archive {
    Archive {
        uri: uri.into(),
        suites: suites.iter().map(|s| s.to_string()).collect(),
    }
}

const DEB822: &str = "Types: deb
# a comment inside the paragraph
URIs: http://mirror.invalid/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://src.invalid/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://mirror.invalid/debian-security
Suites: bookworm-security
Components: main
";

#[test]
fn deb822_sources_give_one_archive_per_uri_with_its_suites() {
    let dir = etc_apt(&[("sources.list.d/debian.sources", DEB822)]);
    let sources = Sources::from_apt(dir.path()).expect("sources");
    assert_eq!(
        sources.archives,
        [
            archive(
                "http://mirror.invalid/debian",
                &["bookworm", "bookworm-updates"]
            ),
            archive(
                "http://mirror.invalid/debian-security",
                &["bookworm-security"]
            ),
        ]
    );
    assert_eq!(
        sources
            .archive_for("bookworm-security")
            .map(|a| a.uri.as_str()),
        Some("http://mirror.invalid/debian-security")
    );
}

#[test]
fn other_vendors_disabled_files_and_disabled_entries_are_ignored() {
    let dir = etc_apt(&[
        (
            "sources.list",
            "deb [arch=amd64 signed-by=/usr/share/keyrings/vendor.gpg] https://vendor.invalid/apt stable main\n# deb http://old.invalid/debian bookworm main\ndeb http://one.invalid/debian bookworm main contrib\n",
        ),
        (
            "sources.list.d/x.list.disabled-by-admin",
            "deb http://disabled.invalid/debian bookworm main\n",
        ),
        (
            "sources.list.d/off.sources",
            "Types: deb\nURIs: http://off.invalid/debian\nSuites: bookworm-updates\nComponents: main\nEnabled: no\n",
        ),
        (
            "sources.list.d/keyring.sources",
            "Types: deb\nURIs: http://trixie.invalid/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n",
        ),
    ]);
    let sources = Sources::from_apt(dir.path()).expect("sources");
    assert_eq!(
        sources.archives,
        [
            archive("http://one.invalid/debian", &["bookworm"]),
            archive("http://trixie.invalid/debian", &["trixie"]),
        ]
    );
}

#[test]
fn no_debian_entry_is_an_error_that_names_the_variable() {
    let dir = etc_apt(&[(
        "sources.list",
        "deb https://vendor.invalid/apt stable main\n",
    )]);
    let err = Sources::from_apt(dir.path()).expect_err("none");
    assert!(err.to_string().contains("CAIRN_DEBIAN_MIRROR"), "{err}");
    assert!(Sources::from_apt(Path::new("/nonexistent/apt")).is_err());
}

#[test]
fn a_mirror_url_puts_security_beside_it() {
    let s = Sources::from_mirror("http://m.invalid/debian/", None).expect("mirror");
    assert_eq!(
        s.archives,
        [
            archive("http://m.invalid/debian", &["bookworm", "bookworm-updates"]),
            archive("http://m.invalid/debian-security", &["bookworm-security"]),
        ]
    );
    let s = Sources::from_mirror("https://m.invalid/mirror/deb", None).expect("mirror");
    assert_eq!(s.archives[1].uri, "https://m.invalid/debian-security");
    let s = Sources::from_mirror("http://m.invalid/debian", Some("http://s.invalid/sec/"))
        .expect("mirror");
    assert_eq!(s.archives[1].uri, "http://s.invalid/sec");
}

#[test]
fn a_mirror_that_is_not_a_url_is_refused() {
    for bad in [
        "m.invalid/debian",
        "ftp://m.invalid/debian",
        "http:///debian",
    ] {
        let err = Sources::from_mirror(bad, None).expect_err(bad);
        assert!(err.to_string().contains("CAIRN_DEBIAN_MIRROR"), "{err}");
    }
}
