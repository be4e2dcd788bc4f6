//! `cairn key generate`, `cairn sign` and `cairn verify` through the binary,
//! against a temporary store.

mod common;

use common::cli::Env;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use cairn::oci::Store;
use common::registry::TestRegistry;
use predicates::prelude::*;

/// A two-platform test image in the env's store; returns its store name and index digest.
fn image(env: &Env, name: &str) -> (String, String) {
    let img = common::image::create(&env.store, name, &["amd64", "arm64"], 1, 64);
    (img.name, img.index.to_string())
}

#[test]
fn key_generate_writes_an_owner_only_private_key_and_prints_its_id() {
    let env = Env::new();
    let id = env.key("release");
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    let mode = fs::metadata(env.path("release.key"))
        .expect("private key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let public = fs::read_to_string(env.path("release.pub")).expect("public key");
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"));
}

#[test]
fn key_generate_refuses_to_overwrite_a_key_without_force() {
    let env = Env::new();
    let first = env.key("release");
    env.cairn()
        .args(["key", "generate", "--out"])
        .arg(env.path("release"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("release.key already exists"))
        .stderr(predicate::str::contains("--force"));
    let out = env
        .cairn()
        .args(["key", "generate", "--force", "--out"])
        .arg(env.path("release"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_ne!(String::from_utf8_lossy(&out).trim(), first);
}

#[test]
fn signed_image_verifies_with_its_public_key() {
    let env = Env::new();
    let id = env.key("release");
    let (name, digest) = image(&env, "cairn/init:1.0");
    env.cairn()
        .args(["sign", "cairn/init:1.0", "--key"])
        .arg(env.path("release.key"))
        .assert()
        .success()
        .stdout(format!("signed {name}@{digest} with {id}\n"));
    env.cairn()
        .args(["verify", "cairn/init:1.0", "--key"])
        .arg(env.path("release.pub"))
        .assert()
        .success()
        .stdout(format!("verified {name}@{digest} by {id}\n"));
}

#[test]
fn verify_with_another_key_fails_naming_image_digest_and_both_keys() {
    let env = Env::new();
    let signer = env.key("release");
    let other = env.key("other");
    let (name, digest) = image(&env, "cairn/init:1.0");
    env.sign("cairn/init:1.0", env.path("release.key"));
    env.cairn()
        .args(["verify", "cairn/init:1.0", "--key"])
        .arg(env.path("other.pub"))
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains(format!("{name}@{digest}")))
        .stderr(predicate::str::contains(format!("signed only by {signer}")))
        .stderr(predicate::str::contains(format!(
            "not by the expected {other}"
        )))
        .stderr(predicate::str::contains("other.pub"));
}

#[test]
fn verify_of_an_unsigned_image_fails_with_exit_1() {
    let env = Env::new();
    let id = env.key("release");
    let (name, digest) = image(&env, "cairn/init:1.0");
    env.cairn()
        .args(["verify", "cairn/init:1.0", "--key"])
        .arg(env.path("release.pub"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "image {name}@{digest} is not signed"
        )))
        .stderr(predicate::str::contains(&id));
}

#[test]
fn private_key_passed_to_verify_is_refused_naming_the_file() {
    let env = Env::new();
    env.key("release");
    image(&env, "cairn/init:1.0");
    env.cairn()
        .args(["verify", "cairn/init:1.0", "--key"])
        .arg(env.path("release.key"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("release.key is a private key"));
}

#[test]
fn signing_an_image_missing_from_the_store_says_how_to_get_it() {
    let env = Env::new();
    env.key("release");
    env.cairn()
        .args(["sign", "cairn/missing:1", "--key"])
        .arg(env.path("release.key"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("docker.io/cairn/missing:1"))
        .stderr(predicate::str::contains("cairn pull"));
}

#[test]
fn verify_without_key_or_policy_is_a_usage_error() {
    let env = Env::new();
    env.cairn()
        .args(["verify", "cairn/init:1.0"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--key"));
}

fn write_policy(env: &Env, body: &str) -> PathBuf {
    let path = env.path("policy.yml");
    fs::write(&path, body).expect("write policy");
    path
}

#[test]
fn policy_verifies_a_covered_image_with_the_key_of_its_rule() {
    let env = Env::new();
    let id = env.key("release");
    let (name, digest) = image(&env, "cairn/init:1.0");
    env.sign("cairn/init:1.0", env.path("release.key"));
    let policy = write_policy(
        &env,
        "trust:\n  keys:\n    - {name: release, path: release.pub, images: [\"cairn/*\"]}\n",
    );
    env.cairn()
        .args(["verify", "cairn/init:1.0", "--policy"])
        .arg(&policy)
        .assert()
        .success()
        .stdout(format!(
            "verified {name}@{digest} by {id} (trust.keys[0] (release))\n"
        ));
}

#[test]
fn policy_refuses_a_covered_image_signed_by_another_key() {
    let env = Env::new();
    env.key("release");
    let other = env.key("other");
    let (name, digest) = image(&env, "linuxkit/init:v1");
    env.sign("linuxkit/init:v1", env.path("other.key"));
    let policy = write_policy(
        &env,
        "trust:\n  org: [linuxkit]\n  keys:\n    - {name: release, path: release.pub, images: [\"ghcr.io/acme/*\"]}\n",
    );
    env.cairn()
        .args(["verify", "linuxkit/init:v1", "--policy"])
        .arg(&policy)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("{name}@{digest}")))
        .stderr(predicate::str::contains(&other))
        .stderr(predicate::str::contains("trust.keys[0] (release)"));
}

#[test]
fn policy_refuses_an_image_it_does_not_cover_unless_it_allows_it_unsigned() {
    let env = Env::new();
    env.key("release");
    let (name, digest) = image(&env, "alpine:3.20");
    let policy = write_policy(
        &env,
        "trust:\n  keys:\n    - {path: release.pub, images: [\"cairn/*\"]}\n",
    );
    env.cairn()
        .args(["verify", "alpine:3.20", "--policy"])
        .arg(&policy)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{name}@{digest} is not covered"
        )))
        .stderr(predicate::str::contains("allow_unsigned: [\"alpine\"]"));
    let policy = write_policy(
        &env,
        "trust:\n  keys:\n    - {path: release.pub, images: [\"cairn/*\"]}\n  allow_unsigned: [alpine]\n",
    );
    env.cairn()
        .args(["verify", "alpine:3.20", "--policy"])
        .arg(&policy)
        .assert()
        .success()
        .stdout(predicate::str::starts_with(format!(
            "allowed unsigned {name}@{digest}"
        )))
        .stdout(predicate::str::contains("trust.allow_unsigned[0] alpine"));
}

fn payload_blob(store: &Store, signature_name: &str) -> PathBuf {
    let desc = store
        .lookup(signature_name)
        .expect("store index")
        .unwrap_or_else(|| panic!("{signature_name} is not in the store"));
    let digest = cairn::oci::store::descriptor_digest(&desc);
    let manifest: serde_json::Value =
        serde_json::from_slice(&store.read_blob(&digest).expect("artifact")).expect("json");
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .expect("layer digest")
        .parse()
        .expect("digest");
    store.blob_path(&layer)
}

#[test]
fn signature_survives_a_registry_round_trip_and_tampering_after_pull_is_refused() {
    let reg = TestRegistry::start();
    let src = Env::new();
    let id = src.key("release");
    let name = format!("{}/test/signed:1", reg.host());
    let (_, digest) = image(&src, &name);
    src.sign(&name, src.path("release.key"));
    src.cairn().args(["push", &name]).assert().success();

    let dst = Env::new();
    dst.cairn()
        .args(["pull", &name, "--arch", "amd64"])
        .assert()
        .success();
    dst.cairn()
        .args(["verify", &name, "--key"])
        .arg(src.path("release.pub"))
        .assert()
        .success()
        .stdout(format!("verified {name}@{digest} by {id}\n"));

    let image: cairn::oci::ImageRef = name.parse().expect("name");
    let sig = image.signature_name(&digest.parse().expect("digest"));
    let blob = payload_blob(&dst.store, &sig);
    let forged = fs::read_to_string(&blob)
        .expect("payload")
        .replace("test/signed", "test/evil0");
    fs::write(&blob, forged).expect("tamper");
    dst.cairn()
        .args(["verify", &name, "--key"])
        .arg(src.path("release.pub"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("{name}@{digest}")))
        .stderr(predicate::str::contains("damaged"))
        .stderr(predicate::str::contains(&id));
}

#[test]
fn signature_pushed_under_another_repository_name_does_not_verify_there() {
    let reg = TestRegistry::start();
    let src = Env::new();
    let id = src.key("release");
    let name = format!("{}/test/signed:1", reg.host());
    let copy = format!("{}/test/copy:1", reg.host());
    let (_, digest) = image(&src, &name);
    src.sign(&name, src.path("release.key"));
    src.cairn()
        .args(["push", &name, "--as", &copy])
        .assert()
        .success();

    let dst = Env::new();
    dst.cairn()
        .args(["pull", &copy, "--arch", "amd64"])
        .assert()
        .success();
    dst.cairn()
        .args(["verify", &copy, "--key"])
        .arg(src.path("release.pub"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("{copy}@{digest}")))
        .stderr(predicate::str::contains(format!(
            "is for another image ({}/test/signed@{digest})",
            reg.host()
        )))
        .stderr(predicate::str::contains(&id));
}

#[test]
fn signing_with_a_world_readable_private_key_warns_but_signs() {
    let env = Env::new();
    env.key("release");
    image(&env, "cairn/init:1.0");
    let key = env.path("release.key");
    fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).expect("chmod");
    env.cairn()
        .args(["sign", "cairn/init:1.0", "--key"])
        .arg(&key)
        .assert()
        .success()
        .stderr(predicate::str::contains("readable by every user"))
        .stderr(predicate::str::contains("chmod 600"));
}

#[test]
fn generated_private_key_is_readable_by_openssl_and_matches_the_public_key() {
    let env = Env::new();
    env.key("release");
    let Ok(out) = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(env.path("release.key"))
        .output()
    else {
        eprintln!("openssl not installed; interoperability not checked");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let public = fs::read_to_string(env.path("release.pub")).expect("public key");
    assert_eq!(String::from_utf8_lossy(&out.stdout), public);
}
