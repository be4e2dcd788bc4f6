//! `cairn images`, `rm` and `gc` on a local store, and resolving images from
//! the store without a registry.

mod common;

use common::cli::{cairn, store};

use cairn::oci::resolve::resolve;
use cairn::oci::{ImageRef, RegistryError};
use predicates::prelude::*;

#[test]
fn images_lists_names_digests_sizes_and_signatures_but_not_signature_artifacts() {
    let (_d, s) = store();
    let signed = common::image::create(&s, "example.org/team/signed:1", &["amd64"], 1, 2000);
    common::image::add_signature_artifact(&s, &signed.name, &signed.index);
    common::image::create(&s, "alpine", &["amd64", "arm64"], 1, 100);
    let out = cairn(&s).arg("images").assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("NAME") && lines[0].contains("SIGNED"));
    assert!(lines[1].starts_with("docker.io/library/alpine:latest"));
    assert!(lines[1].trim_end().ends_with("no"));
    assert!(lines[2].starts_with("example.org/team/signed:1"));
    assert!(lines[2].contains(&format!("sha256:{}", &signed.index.hex()[..12])));
    assert!(lines[2].contains("KiB"));
    assert!(lines[2].trim_end().ends_with("yes"));
    assert!(!text.contains(".sig"));
}

#[test]
fn rm_of_an_image_not_in_the_store_names_it_and_exits_1() {
    let (_d, s) = store();
    common::image::create(&s, "example.org/a/kept:1", &["amd64"], 1, 100);
    cairn(&s)
        .args(["rm", "example.org/a/kept:1", "example.org/a/missing:1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("example.org/a/missing:1"))
        .stderr(predicate::str::contains("cairn images"));
    // Nothing is removed when one name is wrong.
    assert!(s.lookup("example.org/a/kept:1").unwrap().is_some());
}

#[test]
fn rm_then_gc_frees_the_blobs_and_drops_the_signature() {
    let (_d, s) = store();
    let gone = common::image::create(&s, "example.org/a/gone:1", &["amd64"], 2, 5000);
    let sig = common::image::add_signature_artifact(&s, &gone.name, &gone.index);
    let kept = common::image::create(&s, "example.org/a/kept:1", &["amd64"], 1, 100);
    let kept_sig = common::image::add_signature_artifact(&s, &kept.name, &kept.index);

    cairn(&s)
        .arg("gc")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("removed 0 blobs"));
    assert!(s.contains(&sig));

    cairn(&s)
        .args(["rm", "example.org/a/gone:1"])
        .assert()
        .success();
    cairn(&s)
        .arg("gc")
        .assert()
        .success()
        .stdout(predicate::str::contains("KiB"))
        .stdout(predicate::str::is_match(r"^removed [1-9][0-9]* blobs").unwrap());
    for blob in gone.platform("amd64").blobs() {
        assert!(!s.contains(&blob), "{blob} survived gc");
    }
    assert!(!s.contains(&sig));
    let gone_ref: ImageRef = gone.name.parse().unwrap();
    assert!(
        s.lookup(&gone_ref.signature_name(&gone.index))
            .unwrap()
            .is_none()
    );
    assert!(s.contains(&kept_sig) && s.contains(&kept.index));
}

#[test]
fn resolve_uses_the_local_store_without_a_registry() {
    let (_d, s) = store();
    let img = common::image::create(&s, "example.org/a/multi:1", &["amd64", "arm64"], 1, 100);
    let by_name: ImageRef = "example.org/a/multi:1".parse().unwrap();
    let r = resolve(&s, None, &by_name, "linux/arm64").unwrap();
    assert_eq!(r.digest, img.index);
    assert_eq!(r.platform_digest, img.platform("arm64").manifest);
    assert!(!r.pulled);
    let by_digest: ImageRef = format!("example.org/a/other@{}", img.index)
        .parse()
        .unwrap();
    let r = resolve(&s, None, &by_digest, "amd64").unwrap();
    assert_eq!(r.platform_digest, img.platform("amd64").manifest);
}

#[test]
fn resolve_reports_a_missing_platform_with_those_available() {
    let (_d, s) = store();
    common::image::create(&s, "example.org/a/amd:1", &["amd64"], 1, 100);
    let image: ImageRef = "example.org/a/amd:1".parse().unwrap();
    let err = resolve(&s, None, &image, "linux/arm64").unwrap_err();
    assert!(matches!(err, RegistryError::PlatformMissing { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("example.org/a/amd:1") && msg.contains("linux/amd64"),
        "{msg}"
    );
}

#[test]
fn resolve_without_registry_fails_for_an_image_not_in_the_store() {
    let (_d, s) = store();
    let image: ImageRef = "example.org/a/absent:1".parse().unwrap();
    let err = resolve(&s, None, &image, "amd64").unwrap_err();
    assert!(matches!(err, RegistryError::NotLocal { .. }), "{err}");
}
