//! The Debian side of `cairn pkg` against the host's real Debian mirror (from
//! its apt sources or CAIRN_DEBIAN_MIRROR): verified indexes, a lock of
//! runc's small closure, downloads into a cache, extraction, and refusal of
//! tampered or wrongly pinned packages.

use std::path::PathBuf;
use std::sync::OnceLock;

use cairn::pkg::deb::{self, EntryKind};
use cairn::pkg::debian::{
    self, DebCache, DebianError, Http, Lock, LockRequest, LockedDeb, Sources, release,
};

fn sources() -> Sources {
    Sources::discover().expect("a Debian archive in the apt sources or CAIRN_DEBIAN_MIRROR")
}

/// runc locked once for both architectures and shared by the tests here.
fn runc_lock() -> &'static Lock {
    static LOCK: OnceLock<Lock> = OnceLock::new();
    LOCK.get_or_init(|| {
        let req = LockRequest {
            packages: vec!["runc".into()],
            exclude: vec![],
            archs: vec!["amd64".into(), "arm64".into()],
            components: vec!["main".into()],
        };
        debian::lock(&sources(), &req).expect("lock runc")
    })
}

fn pinned(arch: &str, name: &str) -> LockedDeb {
    runc_lock().archs[arch]
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("{name} is in the {arch} closure"))
        .clone()
}

#[test]
fn runc_locks_for_both_architectures_with_its_libraries() {
    let lock = runc_lock();
    for arch in ["amd64", "arm64"] {
        let names: Vec<&str> = lock.archs[arch].iter().map(|d| d.name.as_str()).collect();
        for want in ["runc", "libseccomp2", "libc6"] {
            assert!(names.contains(&want), "{arch}: {names:?}");
        }
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "sorted by name");
        assert!(names.len() < 12, "runc's closure stays small: {names:?}");
        assert_eq!(pinned(arch, "runc").arch, arch);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("lock.yml");
    lock.save(&path).expect("save");
    assert_eq!(&Lock::load(&path).expect("load"), lock);
}

#[test]
fn a_locked_package_is_fetched_cached_and_extracted() {
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let cache = DebCache::open(cache_dir.path()).expect("cache");
    let debs: Vec<LockedDeb> = ["runc", "libseccomp2"]
        .iter()
        .map(|n| pinned("amd64", n))
        .collect();
    let paths = debian::fetch(&sources(), &cache, &debs).expect("fetch");
    assert_eq!(
        paths[0],
        cache_dir.path().join(format!("{}.deb", debs[0].sha256))
    );
    let info = deb::control(&paths[0]).expect("control");
    assert_eq!(
        (info.package.as_str(), info.version.as_str()),
        ("runc", debs[0].version.as_str())
    );
    let mut found = None;
    deb::for_each_entry(&paths[0], &mut |e, _| {
        if e.path == "usr/sbin/runc" {
            found = Some(e.clone());
        }
        Ok(())
    })
    .expect("entries");
    let runc = found.expect("usr/sbin/runc in the package");
    assert_eq!(runc.kind, EntryKind::File);
    assert!(runc.mode & 0o111 != 0 && runc.size > 1_000_000, "{runc:?}");
    // A second fetch uses the cache (and re-checks it).
    assert_eq!(
        debian::fetch(&sources(), &cache, &debs).expect("cached"),
        paths
    );
}

#[test]
fn a_tampered_cached_deb_is_refused_and_removed() {
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let cache = DebCache::open(cache_dir.path()).expect("cache");
    let debs = vec![pinned("arm64", "libseccomp2")];
    let path = debian::fetch(&sources(), &cache, &debs)
        .expect("fetch")
        .remove(0);
    let mut bytes = std::fs::read(&path).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, bytes).expect("tamper");
    let err = debian::fetch(&sources(), &cache, &debs).expect_err("tampered");
    let msg = err.to_string();
    assert!(matches!(err, DebianError::Tampered { .. }), "{err:?}");
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains(&debs[0].sha256),
        "{msg}"
    );
    assert!(msg.contains("next run downloads it again"), "{msg}");
    assert!(!path.exists(), "the tampered file is removed");
    debian::fetch(&sources(), &cache, &debs).expect("downloaded again");
}

#[test]
fn a_deb_that_does_not_match_its_pin_is_not_cached() {
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let cache = DebCache::open(cache_dir.path()).expect("cache");
    let mut wrong = pinned("arm64", "libseccomp2");
    wrong.sha256 = "0".repeat(64);
    let err = debian::fetch(&sources(), &cache, &[wrong]).expect_err("mismatch");
    assert!(matches!(err, DebianError::DebMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains("does not match the lock"), "{err}");
    let left: Vec<PathBuf> = std::fs::read_dir(cache_dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(left.is_empty(), "nothing cached: {left:?}");
}

#[test]
fn a_pin_the_mirror_no_longer_serves_says_how_to_re_pin() {
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let cache = DebCache::open(cache_dir.path()).expect("cache");
    let mut gone = pinned("amd64", "libseccomp2");
    gone.version = "0.0-0".into();
    gone.filename = "pool/main/libs/libseccomp/libseccomp2_0.0-0_amd64.deb".into();
    let err = debian::fetch_for(&sources(), &cache, &[gone], "cairn pkg lock pkg/runc")
        .expect_err("gone");
    let msg = err.to_string();
    assert!(matches!(err, DebianError::Gone { .. }), "{err:?}");
    assert!(
        msg.starts_with("pinned libseccomp2 0.0-0 (amd64) is no longer served by http"),
        "{msg}"
    );
    assert!(
        msg.ends_with("run `cairn pkg lock pkg/runc` to re-pin"),
        "{msg}"
    );
    let code = cairn::cli::exit_code::class_of(&anyhow::Error::new(err)).exit_code();
    assert_eq!(code, 1);
}

#[test]
fn a_changed_inrelease_does_not_verify() {
    let sources = sources();
    let (archive, suite) = sources.suites().next().expect("a suite");
    let url = format!("{}/dists/{suite}/InRelease", archive.uri);
    let http = Http::new().expect("http");
    let keys = release::keyrings().expect("Debian keyring");
    let signed = reqwest_get(&http, &url);
    let text = release::verify(&url, &signed, &keys).expect("the real InRelease verifies");
    assert!(text.contains("SHA256:"));
    let tampered =
        String::from_utf8(signed)
            .expect("text")
            .replacen("SHA256:\n ", "SHA256:\n 0", 1);
    let err = release::verify(&url, tampered.as_bytes(), &keys).expect_err("tampered");
    assert!(matches!(err, DebianError::BadSignature { .. }), "{err:?}");
}

fn reqwest_get(http: &Http, url: &str) -> Vec<u8> {
    http.get_bytes(url, 32 << 20).expect("download InRelease")
}
