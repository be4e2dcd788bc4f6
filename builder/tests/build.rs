//! `cairn build` through the binary: the config, the local store and the trust
//! policy together, with no registry (images are written into the store).

mod common;

use std::path::PathBuf;

use common::cli::Env;
use predicates::prelude::*;

/// A kernel, an init and a service in the store, under one local registry name.
fn images(env: &Env) {
    for name in NAMES {
        common::image::create(&env.store, &image(name), &["amd64", "arm64"], 1, 64);
    }
}

const NAMES: [&str; 3] = ["kernel", "init", "web"];

fn image(name: &str) -> String {
    format!("127.0.0.1:5999/cairn/{name}:1")
}

fn sign_all(env: &Env, key: &str) {
    for name in NAMES {
        env.sign(&image(name), key);
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
    images(&env);
    env.key("release");
    sign_all(&env, "release.key");
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
    images(&env);
    env.key("release");
    env.sign(&image("kernel"), "release.key");
    env.sign(&image("init"), "release.key");
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
    images(&env);
    env.key("release");
    env.key("intruder");
    sign_all(&env, "intruder.key");
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
    images(&env);
    env.key("release");
    sign_all(&env, "release.key");
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

#[test]
fn mistyped_command_line_is_a_user_error_with_exit_code_1() {
    let env = Env::new();
    env.cairn()
        .args(["build", "--no-such-flag", "x.yml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--no-such-flag"));
    env.cairn().arg("--help").assert().success();
}

#[test]
fn signed_image_with_a_changed_layer_in_the_store_is_refused() {
    let env = Env::new();
    images(&env);
    env.key("release");
    sign_all(&env, "release.key");
    let web = common::image::create(&env.store, &image("web"), &["amd64", "arm64"], 1, 64);
    let layer = web.platform("amd64").layers[0].clone();
    let path = env.store.blob_path(&layer);
    let mut bytes = std::fs::read(&path).expect("layer");
    bytes[600] ^= 1;
    std::fs::write(&path, bytes).expect("tamper");
    let config = env.write("system.yml", CONFIG);
    env.cairn()
        .args(["build", "--dry-run", "--offline", "--arch", "amd64"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("services[0]"))
        .stderr(predicate::str::contains(format!("blob {layer} is corrupt")));
    env.cairn()
        .args(["verify", &image("web"), "--key", "release.pub"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!("blob {layer} is corrupt")));
}
