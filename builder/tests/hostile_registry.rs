//! `cairn pull` from a registry that is out to hurt it: manifests too large
//! to hold, and indexes that point at the same child again and again,
//! nested deeper than any image needs, and a list of signatures too long
//! to hold. Each is refused with exit 1, in
//! bounded memory and time, and leaves nothing in the store.

mod common;

use common::cli::{cairn, store, tmp_is_empty};
use common::hostile::{Answer, HostileRegistry};
use predicates::prelude::*;
use serde_json::json;
use sha2::{Digest as _, Sha256};

const INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

#[test]
fn a_manifest_bigger_than_the_cap_is_refused_before_it_is_held() {
    let reg = HostileRegistry::start();
    // 2 GiB, announced by Content-Length; then 2 GiB with no length given,
    // which must be cut off while streaming.
    for (tag, announced) in [("announced", true), ("streamed", false)] {
        reg.set(
            tag,
            Answer::Huge {
                size: 2 << 30,
                announced,
            },
        );
        let (_dir, s) = store();
        cairn(&s)
            .args(["pull", &format!("{}/evil/big:{tag}", reg.host())])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("over the 4 MiB"));
        assert!(tmp_is_empty(&s));
        let blobs = std::fs::read_dir(s.root().join("blobs/sha256"))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(blobs, 0, "{tag}: nothing is stored");
    }
}

#[test]
fn a_nested_index_is_walked_once_per_manifest_and_only_so_deep() {
    let reg = HostileRegistry::start();
    // Level 32 is an image manifest; every level above is an index with two
    // entries for the level below: 2^32 paths, 33 manifests.
    let mut child = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest_of(b"{}"), "size": 2},
        "layers": [],
    }))
    .expect("json");
    let mut child_type = "application/vnd.oci.image.manifest.v1+json";
    for level in (0..32).rev() {
        let digest = digest_of(&child);
        reg.set(
            &digest,
            Answer::Manifest {
                media_type: child_type.into(),
                body: child.clone(),
            },
        );
        let entry = json!({"mediaType": child_type, "digest": digest, "size": child.len(),
                           "platform": {"architecture": "amd64", "os": "linux"}});
        child = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": INDEX, "manifests": [entry.clone(), entry],
        }))
        .expect("json");
        child_type = INDEX;
        if level == 0 {
            reg.set(
                "latest",
                Answer::Manifest {
                    media_type: INDEX.into(),
                    body: child.clone(),
                },
            );
        }
    }
    let (_dir, s) = store();
    cairn(&s)
        .args([
            "pull",
            &format!("{}/evil/deep:latest", reg.host()),
            "--arch",
            "amd64",
        ])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nest deeper than 8 levels"));
    assert!(
        reg.manifest_requests() <= 12,
        "{} manifest requests: each manifest is fetched once",
        reg.manifest_requests()
    );
    assert!(tmp_is_empty(&s));
}

#[test]
fn a_referrers_list_bigger_than_the_cap_is_refused_before_it_is_held() {
    let reg = HostileRegistry::start();
    let config = b"{}".to_vec();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest_of(&config), "size": config.len()},
        "layers": [],
    }))
    .expect("json");
    let manifest_type = "application/vnd.oci.image.manifest.v1+json";
    for reference in ["latest".to_string(), digest_of(&manifest)] {
        reg.set(
            &reference,
            Answer::Manifest {
                media_type: manifest_type.into(),
                body: manifest.clone(),
            },
        );
    }
    reg.set(
        &format!("blob:{}", digest_of(&config)),
        Answer::Manifest {
            media_type: "application/octet-stream".into(),
            body: config,
        },
    );
    // The image is small; the registry's list of its signatures is 2 GiB,
    // streamed with no length given.
    reg.set(
        &format!("referrers:{}", digest_of(&manifest)),
        Answer::Huge {
            size: 2 << 30,
            announced: false,
        },
    );
    let (_dir, s) = store();
    cairn(&s)
        .args(["pull", &format!("{}/evil/signed:latest", reg.host())])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("referrers API"))
        .stderr(predicate::str::contains("over the 4 MiB"));
    assert!(tmp_is_empty(&s));
}
