//! The registry client against a real registry (Debian's docker-registry).

mod common;

use common::registry::TestRegistry;

#[test]
fn test_registry_starts_and_answers_the_v2_endpoint() {
    let reg = TestRegistry::start();
    assert_eq!(
        common::registry::http_status(&reg.host(), "/v2/"),
        Some(200)
    );
    let store_dir = tempfile::tempdir().unwrap();
    let store = cairn::oci::Store::open(store_dir.path()).unwrap();
    let img = common::image::create(
        &store,
        &format!("{}/t/x:1", reg.host()),
        &["amd64", "arm64"],
        2,
        100,
    );
    assert_eq!(img.platforms.len(), 2);
    assert!(store.read_manifest(&img.index).is_ok());
}
