//! `cairn pkg build` and `cairn pkg lock` through the binary.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::assert::Assert;
use common::cli::Env;
use predicates::prelude::*;

/// A package folder `pkg/<name>` in the env with the given build.yml.
fn package(env: &Env, name: &str, build_yml: &str) -> PathBuf {
    let dir = env.path(&format!("pkg/{name}"));
    fs::create_dir_all(&dir).expect("test fixture");
    fs::write(dir.join("build.yml"), build_yml).expect("test fixture");
    dir
}

/// `cairn pkg ARGS` with the development key kept inside the env.
fn pkg(env: &Env, args: &[&str]) -> Assert {
    env.cairn()
        .env("XDG_CONFIG_HOME", env.path("config"))
        .env_remove("SOURCE_DATE_EPOCH")
        .arg("pkg")
        .args(args)
        .assert()
}

/// The digest printed on the last line of a successful build.
fn built(a: Assert, name: &str) -> String {
    let out = String::from_utf8(a.success().get_output().stdout.clone()).expect("test fixture");
    let last = out.lines().last().unwrap_or_default().to_string();
    let digest = last
        .strip_prefix(&format!("cairn/{name}@"))
        .unwrap_or_else(|| panic!("last line {last:?}"));
    digest.to_string()
}

const FILES_ONLY: &str = r#"
name: sysctl-test
files:
  - { path: /etc/sysctl.d/00-cairn.conf, contents: "net.ipv4.ip_forward = 1\n" }
  - { path: /etc/hello, source: hello.txt, mode: "0600", uid: 1, gid: 2 }
  - { path: /var/empty, directory: true }
  - { path: /bin/sh, symlink: busybox }
  - { path: /bin/busybox, contents: "a stand-in for busybox\n", mode: "0755" }
config:
  entrypoint: [/bin/sh]
label:
  readonly: true
  binds: [/etc/sysctl.d:/etc/sysctl.d]
"#;

#[test]
fn a_package_built_twice_into_two_empty_stores_has_the_same_digest() {
    let (a, b) = (Env::new(), Env::new());
    for env in [&a, &b] {
        let dir = package(env, "sysctl-test", FILES_ONLY);
        fs::write(dir.join("hello.txt"), "hi\n").unwrap();
    }
    let first = built(pkg(&a, &["build", "pkg/sysctl-test"]), "sysctl-test");
    let second = built(pkg(&b, &["build", "pkg/sysctl-test"]), "sysctl-test");
    assert_eq!(first, second);
    // Tagged by content and latest, and signed by the development key.
    let images = a.cairn().arg("images").assert().success();
    let listing = String::from_utf8(images.get_output().stdout.clone()).unwrap();
    assert!(
        listing.contains(&format!("cairn/sysctl-test:{}", &first[7..19])),
        "{listing}"
    );
    assert!(listing.contains("cairn/sysctl-test:latest"), "{listing}");
    let public = a.path("config/cairn/dev.pub");
    a.cairn()
        .args(["verify", "cairn/sysctl-test:latest", "--key"])
        .arg(&public)
        .assert()
        .success();
}

#[test]
fn source_date_epoch_changes_the_digest_and_arch_selects_platforms() {
    let env = Env::new();
    let dir = package(&env, "sysctl-test", FILES_ONLY);
    fs::write(dir.join("hello.txt"), "hi\n").unwrap();
    let zero = built(pkg(&env, &["build", "pkg/sysctl-test"]), "sysctl-test");
    let later = env
        .cairn()
        .env("XDG_CONFIG_HOME", env.path("config"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["pkg", "build", "pkg/sysctl-test"])
        .assert();
    assert_ne!(zero, built(later, "sysctl-test"));
    let one = built(
        pkg(&env, &["build", "pkg/sysctl-test", "--arch", "arm64"]),
        "sysctl-test",
    );
    let index = fs::read_to_string(env.store.root().join("blobs/sha256").join(&one[7..])).unwrap();
    assert!(
        index.contains("\"arm64\"") && !index.contains("amd64"),
        "{index}"
    );
}

#[test]
fn the_development_key_is_announced_once() {
    let env = Env::new();
    package(
        &env,
        "tiny",
        "name: tiny\nfiles: [{ path: /a, contents: x }]\n",
    );
    pkg(&env, &["build", "pkg/tiny"])
        .success()
        .stderr(predicate::str::contains("DEVELOPMENT signing key"));
    pkg(&env, &["build", "pkg/tiny"])
        .success()
        .stderr(predicate::str::contains("DEVELOPMENT").not());
}

#[test]
fn build_yml_errors_name_file_line_and_column() {
    let env = Env::new();
    package(
        &env,
        "bad",
        "name: bad\ndrpo: [usr]\nfiles:\n  - { path: /a, contents: x, directory: true }\n",
    );
    pkg(&env, &["build", "pkg/bad"])
        .code(1)
        .stderr(predicate::str::contains("pkg/bad/build.yml:4:5: files[0]"))
        .stderr(predicate::str::contains(
            "pkg/bad/build.yml:2:1: drpo: unknown key",
        ))
        .stderr(predicate::str::contains("did you mean `drop`"));
}

#[test]
fn a_package_with_debian_packages_and_no_lock_says_to_run_pkg_lock() {
    let env = Env::new();
    package(
        &env,
        "nolock",
        "name: nolock\ndebian:\n  packages: [runc]\n",
    );
    pkg(&env, &["build", "pkg/nolock"])
        .code(1)
        .stderr(predicate::str::contains("cairn pkg lock pkg/nolock"));
}

#[test]
fn a_tree_missing_a_library_fails_the_elf_check() {
    let env = Env::new();
    let dir = package(
        &env,
        "broken",
        "name: broken\narchs: [amd64]\nfiles: [{ path: /usr/bin/ls, source: ls }]\n",
    );
    // Any dynamically linked program of this machine will do.
    fs::copy(host_program(), dir.join("ls")).unwrap();
    pkg(&env, &["build", "pkg/broken"])
        .code(1)
        .stderr(predicate::str::contains("not self-contained"))
        .stderr(predicate::str::contains(
            "/usr/bin/ls: library libc.so.6 is not in the package",
        ));
}

fn host_program() -> &'static Path {
    Path::new("/bin/ls")
}

/// Unpacks the layer of `arch` from the image `digest` into `dest` with GNU tar.
pub fn unpack(env: &Env, digest: &str, arch: &str, dest: &Path) {
    let blob = |d: &str| {
        env.store
            .root()
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(blob(digest)).expect("test fixture"))
            .expect("test fixture");
    let manifest = index["manifests"]
        .as_array()
        .expect("test fixture")
        .iter()
        .find(|m| m["platform"]["architecture"] == arch)
        .expect("test fixture");
    let manifest: serde_json::Value = serde_json::from_slice(
        &fs::read(blob(manifest["digest"].as_str().expect("test fixture"))).expect("test fixture"),
    )
    .expect("test fixture");
    fs::create_dir_all(dest).expect("test fixture");
    let status = Command::new("tar")
        .args(["-xzf"])
        .arg(blob(
            manifest["layers"][0]["digest"]
                .as_str()
                .expect("test fixture"),
        ))
        .arg("-C")
        .arg(dest)
        .status()
        .expect("test fixture");
    assert!(status.success());
}

#[test]
fn files_keep_their_mode_owner_and_kind_in_the_layer() {
    let env = Env::new();
    let dir = package(&env, "sysctl-test", FILES_ONLY);
    fs::write(dir.join("hello.txt"), "hi\n").unwrap();
    let digest = built(
        pkg(&env, &["build", "pkg/sysctl-test", "--arch", "amd64"]),
        "sysctl-test",
    );
    let root = env.path("root");
    unpack(&env, &digest, "amd64", &root);
    use std::os::unix::fs::MetadataExt;
    let meta = fs::metadata(root.join("etc/hello")).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o600);
    // Only root can give files away; tar keeps owners only then.
    if fs::metadata(env.path("pkg")).unwrap().uid() == 0 {
        assert_eq!((meta.uid(), meta.gid()), (1, 2));
    }
    assert_eq!(
        fs::read_link(root.join("bin/sh")).unwrap(),
        Path::new("busybox")
    );
    assert!(root.join("var/empty").is_dir());
}

/// Copies `pkg/<name>` of this repository (build.yml and lock.yml) into the env.
fn repo_package(env: &Env, name: &str) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../pkg")
        .join(name);
    let to = env.path(&format!("pkg/{name}"));
    fs::create_dir_all(&to).expect("test fixture");
    for file in ["build.yml", "lock.yml"] {
        fs::copy(from.join(file), to.join(file)).expect("test fixture");
    }
}

/// Runs a program of an unpacked amd64 image through the image's own loader
/// and libraries, so nothing of the host is used.
fn run_in(root: &Path, program: &str, args: &[&str]) -> String {
    let libs = format!(
        "{}:{}",
        root.join("lib/x86_64-linux-gnu").display(),
        root.join("usr/lib/x86_64-linux-gnu").display()
    );
    let out = Command::new(root.join("lib64/ld-linux-x86-64.so.2"))
        .arg("--library-path")
        .arg(libs)
        .arg(root.join(program.trim_start_matches('/')))
        .args(args)
        .output()
        .expect("test fixture");
    assert!(
        out.status.success(),
        "{program}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("test fixture")
}

#[test]
fn runc_builds_reproducibly_and_its_packaged_binary_runs() {
    let (a, b) = (Env::new(), Env::new());
    repo_package(&a, "runc");
    repo_package(&b, "runc");
    let first = built(pkg(&a, &["build", "pkg/runc"]), "runc");
    let second = built(pkg(&b, &["build", "pkg/runc"]), "runc");
    assert_eq!(first, second);
    let root = a.path("root");
    unpack(&a, &first, "amd64", &root);
    assert!(run_in(&root, "/usr/sbin/runc", &["--version"]).starts_with("runc version 1."));
    assert!(!root.join("usr/share/doc").exists());
}

#[test]
fn containerd_and_ctr_from_the_package_run() {
    let env = Env::new();
    repo_package(&env, "containerd");
    let digest = built(
        pkg(&env, &["build", "pkg/containerd", "--arch", "amd64"]),
        "containerd",
    );
    let root = env.path("root");
    unpack(&env, &digest, "amd64", &root);
    assert!(run_in(&root, "/usr/bin/containerd", &["--version"]).starts_with("containerd "));
    assert!(run_in(&root, "/usr/bin/ctr", &["--version"]).starts_with("ctr "));
    assert!(root.join("usr/bin/containerd-shim-runc-v2").is_file());
    assert!(root.join("usr/sbin/runc").is_file());
}

#[test]
fn every_package_definition_and_lock_in_the_repository_loads() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../pkg");
    let mut seen = 0;
    for entry in std::fs::read_dir(&root).expect("pkg/") {
        let dir = entry.expect("entry").path();
        if !dir.join("build.yml").exists() {
            continue;
        }
        cairn::pkg::spec::BuildSpec::load(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let lock = dir.join("lock.yml");
        if lock.exists() {
            cairn::pkg::debian::Lock::load(&lock)
                .unwrap_or_else(|e| panic!("{}: {e}", lock.display()));
        }
        seen += 1;
    }
    assert!(seen >= 10, "only {seen} packages found");
}
