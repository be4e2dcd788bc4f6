//! `cairn build` through the binary: the config, the local store and the trust
//! policy together, with no registry (images are written into the store).

mod common;

use std::fs;
use std::path::PathBuf;

use assert_cmd::Command;
use cairn::oci::Store;
use predicates::prelude::*;

struct Env {
    dir: tempfile::TempDir,
    store: Store,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path().join("store")).expect("open store");
        Env { dir, store }
    }

    fn cairn(&self) -> Command {
        let mut cmd = Command::cargo_bin("cairn").expect("cairn binary");
        cmd.arg("--store")
            .arg(self.store.root())
            .env_remove("CAIRN_STORE")
            .env_remove("RUST_LOG")
            .current_dir(self.dir.path());
        cmd
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        fs::write(&path, text).expect("write file");
        path
    }

    /// Generates `prefix.key` / `prefix.pub` in the temp dir.
    fn key(&self, prefix: &str) {
        self.cairn()
            .args(["key", "generate", "--out", prefix])
            .assert()
            .success();
    }

    fn sign(&self, image: &str, key: &str) {
        self.cairn()
            .args(["sign", image, "--key", key])
            .assert()
            .success();
    }

    /// A kernel, an init and a service in the store, all from one local registry name space.
    fn images(&self) {
        for name in ["kernel", "init", "web"] {
            common::image::create(
                &self.store,
                &format!("127.0.0.1:5999/cairn/{name}:1"),
                &["amd64", "arm64"],
                1,
                64,
            );
        }
    }
}

const CONFIG: &str = "kernel:
  image: 127.0.0.1:5999/cairn/kernel:1
  cmdline: console=ttyS0
init:
  - 127.0.0.1:5999/cairn/init:1
services:
  - name: web
    image: 127.0.0.1:5999/cairn/web:1
trust:
  keys:
    - name: release
      path: release.pub
      images: [\"127.0.0.1:5999/cairn/*\"]
";

#[test]
fn dry_run_offline_lists_missing_images_without_failing() {
    let env = Env::new();
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/minimal.yml");
    env.cairn()
        .args(["build", "--dry-run", "--offline"])
        .arg(example)
        .assert()
        .success()
        .stdout(predicate::str::contains("docker.io/cairn/kernel:latest"))
        .stdout(predicate::str::contains("not in the store"));
}

#[test]
fn signed_images_are_pinned_and_verified_in_the_plan() {
    let env = Env::new();
    env.images();
    env.key("release");
    for name in ["kernel", "init", "web"] {
        env.sign(&format!("127.0.0.1:5999/cairn/{name}:1"), "release.key");
    }
    let config = env.write("system.yml", CONFIG);
    env.cairn()
        .args(["build", "--dry-run", "--offline", "--arch", "arm64"])
        .arg(&config)
        .assert()
        .success()
        .stdout(predicate::str::contains("services[0]"))
        .stdout(predicate::str::contains("signed by sha256:").count(3));
}

#[test]
fn unsigned_image_covered_by_the_policy_is_refused_naming_image_digest_and_key() {
    let env = Env::new();
    env.images();
    env.key("release");
    env.sign("127.0.0.1:5999/cairn/kernel:1", "release.key");
    env.sign("127.0.0.1:5999/cairn/init:1", "release.key");
    let web = env
        .store
        .lookup("127.0.0.1:5999/cairn/web:1")
        .expect("store")
        .expect("web image");
    let config = env.write("system.yml", CONFIG);
    env.cairn()
        .args(["build", "--dry-run", "--offline"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("127.0.0.1:5999/cairn/web"))
        .stderr(predicate::str::contains(web.digest().to_string()))
        .stderr(predicate::str::contains("trust.keys[0] (release)"));
}

#[test]
fn image_signed_by_another_key_is_refused() {
    let env = Env::new();
    env.images();
    env.key("release");
    env.key("intruder");
    for name in ["kernel", "init", "web"] {
        env.sign(&format!("127.0.0.1:5999/cairn/{name}:1"), "intruder.key");
    }
    let config = env.write("system.yml", CONFIG);
    env.cairn()
        .args(["build", "--dry-run", "--offline"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("127.0.0.1:5999/cairn/kernel"));
}

#[test]
fn build_without_dry_run_says_outputs_are_not_written_yet() {
    let env = Env::new();
    env.images();
    env.key("release");
    for name in ["kernel", "init", "web"] {
        env.sign(&format!("127.0.0.1:5999/cairn/{name}:1"), "release.key");
    }
    let config = env.write("system.yml", CONFIG);
    env.cairn()
        .args(["build", "--offline"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--dry-run"));
}

#[test]
fn invalid_config_stops_the_build_before_any_image_is_resolved() {
    let env = Env::new();
    let config = env.write("bad.yml", "kernel:\n  imag: x\n");
    env.cairn()
        .args(["build", "--dry-run", "--offline"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad.yml:2:3"));
}
