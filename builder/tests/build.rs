//! `cairn build` through the binary: the config, the local store and the trust
//! policy together, with no registry (images are written into the store).

mod common;

use std::path::{Path, PathBuf};

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
    env.development_key();
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/minimal.yml");
    env.cairn()
        .args(["build", "--dry-run", "--offline", "--arch", "amd64"])
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
        .args(["build", "--dry-run", "--offline", "--arch", "amd64"])
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
        .args(["build", "--dry-run", "--offline", "--arch", "amd64"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("127.0.0.1:5999/cairn/kernel"));
}

#[test]
fn invalid_config_stops_the_build_before_any_image_is_resolved() {
    let env = Env::new();
    let config = env.write("bad.yml", "kernel:\n  imag: x\n");
    env.cairn()
        .args(["build", "--dry-run", "--offline", "--arch", "amd64"])
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

const SYSTEM: &str = "kernel:
  image: 127.0.0.1:5999/cairn/kernel:1
  cmdline: console=ttyS0 quiet
  tar: none
init:
  - 127.0.0.1:5999/cairn/init:1
trust:
  allow_unsigned: [\"127.0.0.1:5999/cairn/*\"]
";

/// SYSTEM with no trust section: what a LinuxKit user brings.
fn untrusted_system() -> String {
    SYSTEM[..SYSTEM.find("trust:").expect("trust")].to_string()
}

#[test]
fn an_image_no_trust_rule_covers_is_refused_unless_allowed_unsigned() {
    let env = Env::new();
    system_images(&env);
    let config = env.write("system.yml", &untrusted_system());
    env.cairn()
        .args([
            "build",
            "--offline",
            "--arch",
            "amd64",
            "-f",
            "tar",
            "-o",
            "out",
        ])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "kernel (127.0.0.1:5999/cairn/kernel:1) is refused",
        ))
        .stderr(predicate::str::contains("not covered by the trust policy"))
        .stderr(predicate::str::contains(
            "--allow-unsigned 127.0.0.1:5999/cairn/kernel",
        ));
    assert!(!env.path("out").join("system.tar").exists());
    env.cairn()
        .args([
            "build",
            "--offline",
            "--arch",
            "amd64",
            "-f",
            "tar",
            "-o",
            "out",
        ])
        .args(["--allow-unsigned", "127.0.0.1:5999/cairn/*"])
        .arg(&config)
        .assert()
        .success()
        .stdout(
            predicate::str::contains(
                "unsigned, allowed by --allow-unsigned 127.0.0.1:5999/cairn/*",
            )
            .count(2),
        );
    // A pattern that names one image leaves the other refused.
    env.cairn()
        .args([
            "build",
            "--offline",
            "--arch",
            "amd64",
            "-f",
            "tar",
            "-o",
            "out2",
        ])
        .args(["--allow-unsigned", "127.0.0.1:5999/cairn/kernel"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "init[0] (127.0.0.1:5999/cairn/init:1) is refused",
        ));
}

#[test]
fn the_development_key_vouches_for_what_it_signed_and_the_build_says_so() {
    let env = Env::new();
    system_images(&env);
    let config = env.write(
        "system.yml",
        &format!(
            "{}trust:\n  keys:\n    - name: development\n      development: true\n      images: [\"127.0.0.1:5999/cairn/*\"]\n",
            untrusted_system()
        ),
    );
    // No development key on this machine yet: the message says where it
    // would be and what makes it.
    env.cairn()
        .args([
            "build",
            "--offline",
            "--arch",
            "amd64",
            "-f",
            "tar",
            "-o",
            "out",
        ])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "trust.keys[0] (development) names the development key",
        ))
        .stderr(predicate::str::contains("cairn/dev.pub does not exist"));
    let dev = env.development_key();
    env.sign("127.0.0.1:5999/cairn/kernel:1", &dev);
    env.sign("127.0.0.1:5999/cairn/init:1", &dev);
    env.cairn()
        .args([
            "build",
            "--offline",
            "--arch",
            "amd64",
            "-f",
            "tar",
            "-o",
            "out",
        ])
        .arg(&config)
        .assert()
        .success()
        .stdout(predicate::str::contains("(trust.keys[0] (development))").count(2))
        .stderr(predicate::str::contains(
            "2 of 2 images are trusted through this machine's DEVELOPMENT key",
        ));
    // Another machine's development key is another key.
    let other = Env::new();
    system_images(&other);
    other.development_key();
    let config = other.write(
        "system.yml",
        &std::fs::read_to_string(&config).expect("config"),
    );
    other.sign("127.0.0.1:5999/cairn/kernel:1", &dev);
    other.sign("127.0.0.1:5999/cairn/init:1", &dev);
    other
        .cairn()
        .args([
            "build",
            "--offline",
            "--arch",
            "amd64",
            "-f",
            "tar",
            "-o",
            "out",
        ])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("signed only by"));
}

/// A kernel image with a stand-in kernel and an init image with /sbin/init.
fn system_images(env: &Env) {
    common::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/kernel:1",
        &[("kernel", b"not really a bzImage", 0o644)],
    );
    common::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/init:1",
        &[("sbin/init", b"#!/bin/init", 0o755)],
    );
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("output dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn build_writes_kernel_initrd_and_cmdline_and_summarizes_them() {
    let env = Env::new();
    system_images(&env);
    let config = env.write("system.yml", SYSTEM);
    env.cairn()
        .args([
            "build",
            "--offline",
            "--arch",
            "amd64",
            "-f",
            "kernel+initrd",
            "-o",
            "out",
        ])
        .arg(&config)
        .assert()
        .success()
        .stdout(predicate::str::contains("out/system-initrd.img"))
        .stdout(predicate::str::contains("cairn/init:1"))
        .stdout(predicate::str::contains("sha256:"))
        .stderr(predicate::str::contains(
            "built system-kernel, system-initrd.img, system-cmdline in",
        ));
    let out = env.path("out");
    assert_eq!(
        files_in(&out),
        ["system-cmdline", "system-initrd.img", "system-kernel"]
    );
    assert_eq!(
        std::fs::read(out.join("system-kernel")).expect("kernel"),
        b"not really a bzImage"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("system-cmdline")).expect("cmdline"),
        "console=ttyS0 quiet"
    );
    let initrd = std::fs::read(out.join("system-initrd.img")).expect("initrd");
    assert_eq!(&initrd[..2], [0x1f, 0x8b], "gzip by default");
}

#[test]
fn two_builds_of_the_same_config_give_identical_bytes() {
    let env = Env::new();
    system_images(&env);
    let config = env.write("system.yml", SYSTEM);
    for (format, compress) in [
        ("kernel+initrd", "gzip"),
        ("kernel+initrd", "zstd"),
        ("tar", "gzip"),
    ] {
        for dir in ["a", "b"] {
            env.cairn()
                .args([
                    "build",
                    "--offline",
                    "--arch",
                    "amd64",
                    "-f",
                    format,
                    "--compress",
                    compress,
                    "-o",
                    dir,
                ])
                .arg(&config)
                .assert()
                .success();
        }
        let (a, b) = (env.path("a"), env.path("b"));
        assert_eq!(files_in(&a), files_in(&b));
        for name in files_in(&a) {
            assert_eq!(
                std::fs::read(a.join(&name)).expect("a"),
                std::fs::read(b.join(&name)).expect("b"),
                "{format} {compress}: {name} differs"
            );
        }
    }
}

#[test]
fn tar_output_takes_the_name_given() {
    let env = Env::new();
    system_images(&env);
    let config = env.write("system.yml", SYSTEM);
    env.cairn()
        .args([
            "build",
            "--offline",
            "--arch",
            "amd64",
            "-f",
            "tar",
            "--name",
            "box",
            "-o",
            "out",
        ])
        .arg(&config)
        .assert()
        .success();
    assert_eq!(files_in(&env.path("out")), ["box.tar"]);
}

#[test]
fn a_failed_build_leaves_nothing_in_the_output_folder() {
    let env = Env::new();
    system_images(&env);
    common::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/kernel:1",
        &[("boot/vmlinuz", b"kernel under another name", 0o644)],
    );
    let config = env.write("system.yml", SYSTEM);
    env.cairn()
        .args([
            "build",
            "--offline",
            "--arch",
            "amd64",
            "-f",
            "kernel+initrd",
            "-o",
            "out",
        ])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("kernel"));
    assert!(files_in(&env.path("out")).is_empty());
}

#[test]
fn a_build_stopped_by_sigterm_removes_its_work_folder_and_temporary_files() {
    let env = Env::new();
    system_images(&env);
    // A large source keeps the build busy long enough to be stopped.
    let big = env.path("big.img");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(3 << 30))
        .expect("big file");
    let config = env.write(
        "system.yml",
        &format!("{SYSTEM}files:\n  - path: var/big.img\n    source: big.img\n"),
    );
    let out = env.path("out");
    std::fs::create_dir_all(&out).expect("out");
    let child = common::cli::std_binary()
        .arg("--store")
        .arg(env.store.root())
        .args(["build", "--offline", "--arch", "amd64", "-f", "tar", "-o"])
        .arg(&out)
        .arg(&config)
        .current_dir(env.path(""))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cairn starts");
    let started = std::time::Instant::now();
    while files_in(&out)
        .iter()
        .all(|n| !n.starts_with(".cairn-build-"))
    {
        assert!(started.elapsed().as_secs() < 60, "no work folder appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let done = child.wait_with_output().expect("cairn exits");
    assert_eq!(
        done.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(String::from_utf8_lossy(&done.stderr).contains("interrupted: removed"));
    assert_eq!(
        files_in(&out),
        Vec::<String>::new(),
        "nothing is left behind"
    );
}
