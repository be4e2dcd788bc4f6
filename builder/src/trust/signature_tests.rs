//! Sign/verify against a real store on disk, including the ways an attacker
//! could try to pass off a signature.

use std::fs;

use super::*;

pub(crate) fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store")).unwrap();
    (dir, store)
}

/// A one-layer image named `name` whose layer holds `content`.
pub(crate) fn image_in_store(store: &Store, name: &str, content: &[u8]) -> (ImageRef, Digest) {
    let image: ImageRef = name.parse().unwrap();
    let config = store.put_bytes(b"{}").unwrap();
    let layer = store.put_bytes(content).unwrap();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":{}}}]}}"#,
        content.len()
    );
    let digest = store.put_bytes(manifest.as_bytes()).unwrap();
    let desc = manifest::descriptor(MediaType::ImageManifest, &digest, manifest.len() as u64);
    store.set_name(&image.store_name(), &desc).unwrap();
    (image, digest)
}

fn key() -> SigningKey {
    SigningKey::generate().unwrap()
}

fn artifact(store: &Store, image: &ImageRef, digest: &Digest) -> (Descriptor, SignatureManifest) {
    let desc = store
        .lookup(&image.signature_name(digest))
        .unwrap()
        .unwrap();
    let bytes = store.read_blob(&descriptor_digest(&desc)).unwrap();
    (desc, serde_json::from_slice(&bytes).unwrap())
}

fn put_artifact(store: &Store, name: &str, artifact: &SignatureManifest) {
    let bytes = artifact.to_bytes().unwrap();
    let d = store.put_bytes(&bytes).unwrap();
    let desc = manifest::descriptor(MediaType::ImageManifest, &d, bytes.len() as u64);
    store.set_name(name, &desc).unwrap();
}

#[test]
fn signed_image_verifies_with_its_key() {
    let (_d, s) = store();
    let (img, digest) = image_in_store(&s, "cairn/init:1.0", b"init");
    let k = key();
    let signed = sign(&s, &img, &k).unwrap();
    assert_eq!(signed.digest, digest);
    assert_eq!(signed.image, "docker.io/cairn/init:1.0");
    assert_eq!(
        signed.signature_name,
        format!("docker.io/cairn/init:sha256-{}.sig", digest.hex())
    );
    let ok = verify(&s, &img, &digest, &[k.public().clone()]).unwrap();
    assert_eq!(ok.key, k.public().fingerprint());
    let (_, m) = artifact(&s, &img, &digest);
    assert_eq!(m.subject.as_ref().unwrap().digest, digest);
    assert_eq!(m.signatures().count(), 1);
}

#[test]
fn signing_twice_with_the_same_key_gives_the_same_artifact() {
    let (_d, s) = store();
    let (img, _) = image_in_store(&s, "cairn/init:1.0", b"init");
    let k = key();
    let first = sign(&s, &img, &k).unwrap();
    let second = sign(&s, &img, &k).unwrap();
    assert_eq!(first.artifact, second.artifact);
}

#[test]
fn unsigned_image_is_refused_naming_image_digest_and_key() {
    let (_d, s) = store();
    let (img, digest) = image_in_store(&s, "cairn/init:1.0", b"init");
    let k = key();
    let err = verify(&s, &img, &digest, &[k.public().clone()]).unwrap_err();
    assert!(matches!(err, TrustError::Unsigned { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("docker.io/cairn/init:1.0"), "{msg}");
    assert!(msg.contains(&digest.to_string()), "{msg}");
    assert!(msg.contains(k.public().fingerprint()), "{msg}");
}

#[test]
fn signature_by_another_key_is_refused_naming_found_and_expected_keys() {
    let (_d, s) = store();
    let (img, digest) = image_in_store(&s, "cairn/init:1.0", b"init");
    let (signer, expected) = (key(), key());
    sign(&s, &img, &signer).unwrap();
    let err = verify(&s, &img, &digest, &[expected.public().clone()]).unwrap_err();
    assert!(matches!(err, TrustError::OtherKey { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(signer.public().fingerprint()), "{msg}");
    assert!(msg.contains(expected.public().fingerprint()), "{msg}");
    assert!(msg.contains(&digest.to_string()), "{msg}");
}

#[test]
fn second_key_adds_a_signature_and_either_key_verifies() {
    let (_d, s) = store();
    let (img, digest) = image_in_store(&s, "cairn/init:1.0", b"init");
    let (a, b) = (key(), key());
    sign(&s, &img, &a).unwrap();
    sign(&s, &img, &b).unwrap();
    sign(&s, &img, &a).unwrap();
    assert_eq!(artifact(&s, &img, &digest).1.signatures().count(), 2);
    for k in [&a, &b] {
        let ok = verify(&s, &img, &digest, &[k.public().clone()]).unwrap();
        assert_eq!(ok.key, k.public().fingerprint());
    }
}

#[test]
fn payload_blob_rewritten_in_the_store_is_refused() {
    let (_d, s) = store();
    let (img, digest) = image_in_store(&s, "cairn/init:1.0", b"init");
    let k = key();
    sign(&s, &img, &k).unwrap();
    let (_, m) = artifact(&s, &img, &digest);
    let layer = m.signatures().next().unwrap();
    let forged = Payload {
        reference: "docker.io/cairn/init".into(),
        digest: Digest::of(b"evil").to_string(),
    };
    fs::write(s.blob_path(&layer.digest), forged.to_bytes().unwrap()).unwrap();
    let err = verify(&s, &img, &digest, &[k.public().clone()]).unwrap_err();
    assert!(matches!(err, TrustError::Tampered { .. }), "{err}");
    assert!(err.to_string().contains(&digest.to_string()));
}

#[test]
fn payload_swapped_for_another_with_the_old_signature_is_refused() {
    let (_d, s) = store();
    let (img, digest) = image_in_store(&s, "cairn/init:1.0", b"init");
    let (_, other) = image_in_store(&s, "cairn/init:evil", b"evil");
    let k = key();
    sign(&s, &img, &k).unwrap();
    let (_, mut m) = artifact(&s, &img, &digest);
    // An attacker re-points the artifact at a payload for their image,
    // keeping the genuine signature annotation, and files it for that image.
    let forged = Payload::new(&img, &other).to_bytes().unwrap();
    let old = m.layers[0].clone();
    m.layers[0] = Desc::signature_layer(
        &forged,
        old.signature().unwrap().to_string(),
        old.claimed_key().unwrap(),
    );
    s.put_bytes(&forged).unwrap();
    put_artifact(&s, &img.signature_name(&other), &m);
    let err = verify(&s, &img, &other, &[k.public().clone()]).unwrap_err();
    assert!(matches!(err, TrustError::BadSignature { .. }), "{err}");
    assert!(err.to_string().contains(k.public().fingerprint()));
}

#[test]
fn signature_moved_to_another_image_is_refused() {
    let (_d, s) = store();
    let (img, digest) = image_in_store(&s, "cairn/init:1.0", b"init");
    let (evil, evil_digest) = image_in_store(&s, "cairn/evil:1.0", b"evil");
    let k = key();
    sign(&s, &img, &k).unwrap();
    let (desc, _) = artifact(&s, &img, &digest);
    s.set_name(&evil.signature_name(&evil_digest), &desc)
        .unwrap();
    let err = verify(&s, &evil, &evil_digest, &[k.public().clone()]).unwrap_err();
    assert!(matches!(err, TrustError::OtherImage { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("docker.io/cairn/evil:1.0"), "{msg}");
    assert!(msg.contains("docker.io/cairn/init"), "{msg}");
}

#[test]
fn signature_of_the_same_digest_in_another_repository_is_refused() {
    let (_d, s) = store();
    let (img, digest) = image_in_store(&s, "cairn/init:1.0", b"init");
    let copy: ImageRef = "127.0.0.1:5000/other/init:1.0".parse().unwrap();
    let target = s.lookup(&img.store_name()).unwrap().unwrap();
    s.set_name(&copy.store_name(), &target).unwrap();
    let k = key();
    sign(&s, &img, &k).unwrap();
    let (desc, _) = artifact(&s, &img, &digest);
    s.set_name(&copy.signature_name(&digest), &desc).unwrap();
    let err = verify(&s, &copy, &digest, &[k.public().clone()]).unwrap_err();
    assert!(matches!(err, TrustError::OtherImage { .. }), "{err}");
}

#[test]
fn image_pinned_by_digest_can_be_signed_without_a_name() {
    let (_d, s) = store();
    let (img, digest) = image_in_store(&s, "cairn/init:1.0", b"init");
    let pinned = img.with_digest(&digest);
    let k = key();
    let signed = sign(&s, &pinned, &k).unwrap();
    assert_eq!(signed.digest, digest);
    verify(&s, &img, &digest, &[k.public().clone()]).unwrap();
}

#[test]
fn signing_an_image_not_in_the_store_says_how_to_get_it() {
    let (_d, s) = store();
    let img: ImageRef = "cairn/missing:1.0".parse().unwrap();
    let err = sign(&s, &img, &key()).unwrap_err();
    assert!(
        err.to_string().contains("docker.io/cairn/missing:1.0"),
        "{err}"
    );
    let chain = format!("{:?}", anyhow::Error::from(err));
    assert!(chain.contains("cairn pull"), "{chain}");
}
