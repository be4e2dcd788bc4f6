//! Push and pull against a real registry (Debian's docker-registry on
//! 127.0.0.1), through the `cairn` binary.

mod common;

use common::cli::{cairn, store, tmp_is_empty};

use cairn::oci::Digest;
use common::registry::TestRegistry;
use predicates::prelude::*;

/// An image created in a fresh store and pushed to `reg` as `HOST/repo`:
/// the store's guard, the store, the pushed name and the image.
fn pushed(
    reg: &TestRegistry,
    repo: &str,
    archs: &[&str],
    layers: usize,
    layer_size: usize,
) -> (
    tempfile::TempDir,
    cairn::oci::Store,
    String,
    common::image::TestImage,
) {
    let (dir, src) = store();
    let name = format!("{}/{repo}", reg.host());
    let img = common::image::create(&src, &name, archs, layers, layer_size);
    cairn(&src).args(["push", &name]).assert().success();
    (dir, src, name, img)
}

#[test]
fn test_registry_starts_and_answers_the_v2_endpoint() {
    let reg = TestRegistry::start();
    assert_eq!(
        common::registry::http_status(&reg.host(), "/v2/"),
        Some(200)
    );
}

#[test]
fn pushed_image_pulls_into_an_empty_store_with_the_same_digests() {
    let reg = TestRegistry::start();
    let (_a, src) = store();
    let name = format!("{}/test/hello:1", reg.host());
    let img = common::image::create(&src, &name, &["amd64", "arm64"], 2, 3000);
    cairn(&src)
        .args(["push", &name])
        .assert()
        .success()
        .stdout(format!("{}/test/hello@{}\n", reg.host(), img.index));

    let (_b, dst) = store();
    cairn(&dst)
        .args(["pull", &name, "--arch", "amd64,arm64"])
        .assert()
        .success()
        .stdout(format!("{}/test/hello@{}\n", reg.host(), img.index));
    let named = dst
        .lookup(&img.name)
        .unwrap()
        .expect("pulled image is named");
    assert_eq!(cairn::oci::store::descriptor_digest(&named), img.index);
    for p in &img.platforms {
        for blob in p.blobs() {
            assert_eq!(dst.read_blob(&blob).unwrap(), src.read_blob(&blob).unwrap());
        }
    }
    assert!(tmp_is_empty(&dst));
}

#[test]
fn pull_with_one_arch_fetches_only_that_platforms_blobs() {
    let reg = TestRegistry::start();
    let (_a, _src, name, img) = pushed(&reg, "test/multi:2", &["amd64", "arm64"], 2, 500);

    let (_b, dst) = store();
    cairn(&dst)
        .args(["pull", &name, "--arch", "arm64"])
        .assert()
        .success();
    assert!(dst.contains(&img.index));
    for blob in img.platform("arm64").blobs() {
        assert!(dst.contains(&blob), "arm64 blob {blob} missing");
    }
    for blob in img.platform("amd64").blobs() {
        assert!(!dst.contains(&blob), "amd64 blob {blob} was fetched");
    }
}

#[test]
fn partly_pulled_index_is_refused_where_the_registry_lacks_the_other_platforms() {
    // The registry checks that an index's children exist, so a store holding
    // one platform cannot recreate the whole index elsewhere: a user error that
    // names the missing platform, not a retried "transfer failed".
    let reg = TestRegistry::start();
    let (_a, _src, name, _img) = pushed(&reg, "test/partial:1", &["amd64", "arm64"], 1, 100);
    let (_b, dst) = store();
    cairn(&dst)
        .args(["pull", &name, "--arch", "arm64"])
        .assert()
        .success();
    let copy = format!("{}/test/partial-copy:1", reg.host());
    cairn(&dst)
        .args(["push", &name, "--as", &copy])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("(linux/amd64)"))
        .stderr(predicate::str::contains("cairn pull --arch amd64,arm64"));
    // Back to where it came from, the registry has the other platform.
    cairn(&dst).args(["push", &name]).assert().success();
}

#[test]
fn missing_platform_is_reported_with_the_platforms_available() {
    let reg = TestRegistry::start();
    let (_a, _src, name, _img) = pushed(&reg, "test/amd-only:1", &["amd64"], 1, 100);
    let (_b, dst) = store();
    cairn(&dst)
        .args(["pull", &name, "--arch", "arm64"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("has no linux/arm64 variant"))
        .stderr(predicate::str::contains("linux/amd64"));
}

#[test]
fn pull_of_an_unknown_tag_names_the_image_and_exits_1() {
    let reg = TestRegistry::start();
    let (_a, dst) = store();
    let name = format!("{}/test/nothing:here", reg.host());
    cairn(&dst)
        .args(["pull", &name])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("test/nothing:here"))
        .stderr(predicate::str::contains("is not in registry"));
}

#[test]
fn registry_down_is_an_environment_error_naming_the_host() {
    let (_a, dst) = store();
    let host = format!("127.0.0.1:{}", common::registry::free_port());
    cairn(&dst)
        .args(["pull", &format!("{host}/test/x:1")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "could not reach registry {host}"
        )));
    assert!(tmp_is_empty(&dst));
}

#[test]
fn blob_with_wrong_content_in_the_registry_is_refused_and_not_stored() {
    let reg = TestRegistry::start();
    let (_a, _src, name, img) = pushed(&reg, "test/tampered:1", &["amd64"], 1, 4000);
    let layer = img.platform("amd64").layers[0].clone();
    let data = reg.blob_data_path(layer.hex());
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[700] ^= 0xff;
    std::fs::write(&data, &bytes).unwrap();

    let (_b, dst) = store();
    cairn(&dst)
        .args(["pull", &name, "--arch", "amd64"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(layer.to_string()))
        .stderr(predicate::str::contains(Digest::of(&bytes).to_string()))
        .stderr(predicate::str::contains("test/tampered"));
    assert!(!dst.contains(&layer));
    assert!(dst.lookup(&img.name).unwrap().is_none());
    assert!(tmp_is_empty(&dst));
}

#[test]
fn pull_by_digest_names_the_image_by_its_digest() {
    let reg = TestRegistry::start();
    let (_a, _src, _name, img) = pushed(&reg, "test/pinned:1", &["amd64"], 1, 100);
    let (_b, dst) = store();
    let pinned = format!("{}/test/pinned@{}", reg.host(), img.index);
    cairn(&dst)
        .args(["pull", &pinned, "--arch", "amd64"])
        .assert()
        .success()
        .stdout(format!("{pinned}\n"));
    assert!(dst.lookup(&pinned).unwrap().is_some());
}

#[test]
fn signature_artifact_travels_with_its_image_through_the_sig_tag() {
    let reg = TestRegistry::start();
    let (_a, src) = store();
    let name = format!("{}/test/signed:1", reg.host());
    let img = common::image::create(&src, &name, &["amd64", "arm64"], 1, 100);
    let sig = common::image::add_signature_artifact(&src, &name, &img.index);
    cairn(&src)
        .args([
            "push",
            &name,
            "--as",
            &format!("{}/other/signed:2", reg.host()),
        ])
        .assert()
        .success();

    let (_b, dst) = store();
    let pulled_name = format!("{}/other/signed:2", reg.host());
    cairn(&dst)
        .args(["pull", &pulled_name, "--arch", "amd64"])
        .assert()
        .success();
    let image: cairn::oci::ImageRef = pulled_name.parse().unwrap();
    let named = dst
        .lookup(&image.signature_name(&img.index))
        .unwrap()
        .expect("signature is named for the pulled image");
    assert_eq!(cairn::oci::store::descriptor_digest(&named), sig);
    assert!(dst.read_manifest(&sig).is_ok());
}

#[test]
fn image_without_signature_pulls_without_one() {
    let reg = TestRegistry::start();
    let (_a, _src, name, img) = pushed(&reg, "test/unsigned:1", &["amd64"], 1, 100);
    let (_b, dst) = store();
    cairn(&dst)
        .args(["pull", &name, "--arch", "amd64"])
        .assert()
        .success();
    let image: cairn::oci::ImageRef = name.parse().unwrap();
    assert!(
        dst.lookup(&image.signature_name(&img.index))
            .unwrap()
            .is_none()
    );
}

/// A one-layer image pushed to a real registry, and a proxy in front of the
/// registry that cuts the layer's download `cuts` times after 60 kB.
struct CutSetup {
    _reg: TestRegistry,
    _src_dir: tempfile::TempDir,
    src: cairn::oci::Store,
    layer: Digest,
    proxy: common::proxy::CuttingProxy,
    /// The image's name as seen through the proxy.
    via_proxy: String,
}

fn cut_setup(tag: &str, cuts: usize) -> CutSetup {
    let reg = TestRegistry::start();
    let (src_dir, src) = store();
    let name = format!("{}/test/cut:{tag}", reg.host());
    let img = common::image::create(&src, &name, &["amd64"], 1, 300_000);
    cairn(&src).args(["push", &name]).assert().success();
    let layer = img.platform("amd64").layers[0].clone();
    let proxy = common::proxy::CuttingProxy::start(&reg.host(), layer.hex(), 60_000, cuts);
    let via_proxy = format!("{}/test/cut:{tag}", proxy.host());
    CutSetup {
        _reg: reg,
        _src_dir: src_dir,
        src,
        layer,
        proxy,
        via_proxy,
    }
}

#[test]
fn blob_download_cut_once_is_retried_and_stored_whole() {
    let cut = cut_setup("1", 1);
    let (_b, dst) = store();
    cairn(&dst)
        .args(["pull", &cut.via_proxy, "--arch", "amd64"])
        .assert()
        .success();
    assert_eq!(cut.proxy.cuts_left(), 0, "the proxy never cut the download");
    assert_eq!(
        dst.read_blob(&cut.layer).unwrap(),
        cut.src.read_blob(&cut.layer).unwrap()
    );
    assert!(tmp_is_empty(&dst));
}

#[test]
fn blob_download_cut_every_time_fails_and_leaves_no_partial_blob() {
    let cut = cut_setup("2", 100);
    let (_b, dst) = store();
    cairn(&dst)
        .args(["pull", &cut.via_proxy, "--arch", "amd64"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("blob {}", cut.layer)))
        .stderr(predicate::str::contains("try again"));
    assert!(!dst.contains(&cut.layer));
    assert!(dst.lookup(&cut.via_proxy).unwrap().is_none());
    assert!(tmp_is_empty(&dst));
}

#[test]
fn resolve_pulls_only_the_missing_platform_then_uses_the_store() {
    let reg = TestRegistry::start();
    let (_a, _src, name, img) = pushed(&reg, "test/resolve:1", &["amd64", "arm64"], 1, 100);

    let (_b, dst) = store();
    let registry = cairn::oci::Registry::new(cairn::oci::RegistryOptions::default()).unwrap();
    let image: cairn::oci::ImageRef = name.parse().unwrap();
    let r = cairn::oci::resolve::resolve(&dst, Some(&registry), &image, "linux/arm64").unwrap();
    assert!(r.pulled);
    assert_eq!(r.digest, img.index);
    assert_eq!(r.platform_digest, img.platform("arm64").manifest);
    assert!(!dst.contains(&img.platform("amd64").manifest));
    drop(reg);
    // The registry is gone: the store alone now answers.
    let again = cairn::oci::resolve::resolve(&dst, Some(&registry), &image, "arm64").unwrap();
    assert!(!again.pulled);
}
