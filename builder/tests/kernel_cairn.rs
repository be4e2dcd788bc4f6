//! `pkg/kernel-cairn`: Linux compiled from Debian's linux-source with cairn's
//! options built in. The builds take from minutes (amd64) to hours (arm64 on
//! two cores), so those tests are ignored and run by `make test-slow`; the
//! fast test checks the package's build.yml on a stand-in kernel.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::cli::Env;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

/// `cairn pkg build DIR --arch ARCH` with the development key inside the
/// env; returns the printed digest.
fn build_package(env: &Env, dir: &Path, arch: &str) -> String {
    let out = env
        .cairn()
        .env("XDG_CONFIG_HOME", env.path("config"))
        .env_remove("SOURCE_DATE_EPOCH")
        .args(["pkg", "build"])
        .arg(dir)
        .args(["--arch", arch])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).expect("utf-8");
    let last = out.lines().last().unwrap_or_default();
    last.strip_prefix("cairn/kernel-cairn@")
        .unwrap_or_else(|| panic!("last line {last:?}"))
        .to_string()
}

fn blob(env: &Env, digest: &str) -> PathBuf {
    env.store
        .root()
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

/// Unpacks the layer of `arch` from the image `digest` into `dest` with GNU tar.
fn unpack(env: &Env, digest: &str, arch: &str, dest: &Path) {
    let json = |d: &str| -> serde_json::Value {
        serde_json::from_slice(&fs::read(blob(env, d)).expect("blob")).expect("json")
    };
    let index = json(digest);
    let manifest = index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .find(|m| m["platform"]["architecture"] == arch)
        .expect("platform");
    let manifest = json(manifest["digest"].as_str().expect("digest"));
    let layer = manifest["layers"][0]["digest"].as_str().expect("layer");
    fs::create_dir_all(dest).expect("dest");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(blob(env, layer))
        .arg("-C")
        .arg(dest)
        .status()
        .expect("tar");
    assert!(status.success());
}

/// The names in an uncompressed tar, through GNU tar.
fn tar_names(tar: &Path) -> Vec<String> {
    let out = Command::new("tar")
        .arg("-tf")
        .arg(tar)
        .output()
        .expect("tar");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| l.trim_start_matches("./").to_string())
        .collect()
}

/// `cairn kernel check cairn/kernel-cairn:latest --arch ARCH`, expected to pass.
fn check(env: &Env, arch: &str) -> String {
    let out = env
        .cairn()
        .args([
            "kernel",
            "check",
            "cairn/kernel-cairn:latest",
            "--arch",
            arch,
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).expect("utf-8")
}

fn built_in(report: &str, option: &str) -> bool {
    report.lines().any(|l| {
        let mut words = l.split_whitespace();
        words.next() == Some(option) && words.collect::<Vec<_>>() == ["built", "in"]
    })
}

#[test]
fn the_package_takes_the_kernel_modules_and_config_from_the_linked_build_folder() {
    let env = Env::new();
    // A stand-in for a build in the cache, outside the package folder.
    let build = env.path("cache/amd64");
    let modules = build.join("lib/modules/6.1.0-test/kernel/fs");
    fs::create_dir_all(&modules).unwrap();
    fs::write(modules.join("foo.ko"), "module").unwrap();
    fs::write(build.join("lib/modules/6.1.0-test/modules.dep"), "").unwrap();
    std::os::unix::fs::symlink("kernel/fs", build.join("lib/modules/6.1.0-test/fs")).unwrap();
    fs::write(build.join("kernel"), "bzImage").unwrap();
    let fragment = repo().join("kernel-configs/x86_64.config");
    fs::copy(fragment, build.join("config")).unwrap();

    let dir = env.path("pkg/kernel-cairn");
    fs::create_dir_all(dir.join("out")).unwrap();
    fs::copy(
        repo().join("pkg/kernel-cairn/build.yml"),
        dir.join("build.yml"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&build, dir.join("out/amd64")).unwrap();

    let digest = build_package(&env, &dir, "amd64");
    let root = env.path("root");
    unpack(&env, &digest, "amd64", &root);
    let mut top: Vec<String> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["config", "kernel", "kernel.tar"]);
    assert_eq!(fs::read(root.join("kernel")).unwrap(), b"bzImage");
    let names = tar_names(&root.join("kernel.tar"));
    for want in [
        "lib/modules/6.1.0-test/kernel/fs/foo.ko",
        "lib/modules/6.1.0-test/modules.dep",
        "lib/modules/6.1.0-test/fs",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
    }
    let report = check(&env, "amd64");
    assert!(built_in(&report, "DM_INIT"), "{report}");
}

#[test]
fn a_missing_build_folder_names_the_file_to_produce() {
    let env = Env::new();
    let dir = env.path("pkg/kernel-cairn");
    fs::create_dir_all(&dir).unwrap();
    fs::copy(
        repo().join("pkg/kernel-cairn/build.yml"),
        dir.join("build.yml"),
    )
    .unwrap();
    env.cairn()
        .env("XDG_CONFIG_HOME", env.path("config"))
        .args(["pkg", "build"])
        .arg(&dir)
        .args(["--arch", "arm64"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("out/arm64/kernel"));
}

/// Runs scripts/build-kernel for `arch` (cached by configuration: a second
/// run builds nothing), then packages the result from the repository's
/// pkg/kernel-cairn and returns the unpacked image root.
fn build_for_real(env: &Env, arch: &str) -> PathBuf {
    let cairn = assert_cmd::cargo::cargo_bin("cairn");
    let status = Command::new(repo().join("scripts/build-kernel"))
        .args(["--arch", arch])
        .env("CAIRN", &cairn)
        .status()
        .expect("scripts/build-kernel");
    assert!(status.success(), "scripts/build-kernel --arch {arch}");
    let digest = build_package(env, &repo().join("pkg/kernel-cairn"), arch);
    let root = env.path("root");
    unpack(env, &digest, arch, &root);
    root
}

fn kernel_report(env: &Env, root: &Path, arch: &str) -> String {
    let names = tar_names(&root.join("kernel.tar"));
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("lib/modules/") && n.ends_with("/modules.dep")),
        "modules.dep in kernel.tar"
    );
    assert!(!names.iter().any(|n| n.ends_with("/build")));
    let report = check(env, arch);
    for option in ["DM_INIT", "DM_VERITY", "SQUASHFS", "VIRTIO_BLK", "TCG_TIS"] {
        assert!(built_in(&report, option), "{option} built in:\n{report}");
    }
    assert!(
        report.contains("modules the init must load: none"),
        "{report}"
    );
    report
}

#[test]
#[ignore = "compiles Linux for amd64 (tens of minutes); run by `make test-slow`"]
fn the_amd64_kernel_builds_from_debian_source_with_cairns_options_built_in() {
    let env = Env::new();
    let root = build_for_real(&env, "amd64");
    let kernel = fs::read(root.join("kernel")).unwrap();
    // The x86 boot protocol's header magic.
    assert_eq!(&kernel[0x202..0x206], b"HdrS");
    kernel_report(&env, &root, "amd64");
}

#[test]
#[ignore = "cross-compiles Linux for arm64 (hours on two cores); run by `make test-slow`"]
fn the_arm64_kernel_cross_compiles_with_the_raspberry_pi_device_trees() {
    let env = Env::new();
    let root = build_for_real(&env, "arm64");
    let kernel = fs::read(root.join("kernel")).unwrap();
    // The arm64 Image header magic.
    assert_eq!(&kernel[56..60], b"ARM\x64");
    for dtb in ["bcm2837-rpi-3-b.dtb", "bcm2711-rpi-4-b.dtb"] {
        assert!(root.join("dtbs/broadcom").join(dtb).is_file(), "{dtb}");
    }
    kernel_report(&env, &root, "arm64");
}
