//! `cairn run qemu` refusing what it cannot boot, before any QEMU starts:
//! unknown files, missing outputs, a wrong --arch, missing firmware and a
//! missing swtpm, each with its exit code.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

const ROOT_X86_64: &str = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";
const ROOT_ARM64: &str = "b921b045-1df0-41c3-af44-4c6f280d3fae";

fn cairn_run(dir: &Path) -> Command {
    let mut cmd = common::cli::binary();
    cmd.current_dir(dir).env_remove("RUST_LOG").args([
        "run",
        "qemu",
        "--accel",
        "tcg",
        "--timeout",
        "5",
    ]);
    cmd
}

/// A GPT disk made by sgdisk with an ESP and a root partition of `root`.
fn disk(dir: &Path, name: &str, root: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(4 << 20))
        .expect("disk file");
    let out = Std::new("sgdisk")
        .args(["-n", "1:2048:+1M", "-t", "1:ef00", "-n", "2:0:0"])
        .args(["-t", &format!("2:{root}")])
        .arg(&path)
        .output()
        .expect("sgdisk is installed (make deps)");
    assert!(out.status.success(), "sgdisk failed");
    path
}

#[test]
fn a_file_that_is_no_disk_or_uki_is_refused_as_a_user_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.raw"), "not a disk").unwrap();
    cairn_run(dir.path())
        .arg("notes.raw")
        .assert()
        .code(1)
        .stderr(contains("notes.raw").and(contains("not a GPT disk image")));
}

#[test]
fn a_name_with_no_outputs_lists_every_file_looked_for() {
    let dir = tempfile::tempdir().unwrap();
    cairn_run(dir.path())
        .arg("out/minimal")
        .assert()
        .code(1)
        .stderr(
            contains("out/minimal-kernel")
                .and(contains("out/minimal-efi.raw"))
                .and(contains("out/minimal-efi.qcow2"))
                .and(contains("out/minimal.efi")),
        );
}

#[test]
fn a_bare_kernel_file_asks_for_the_name_instead() {
    let dir = tempfile::tempdir().unwrap();
    let mut bz = vec![0u8; 0x400];
    bz[0x202..0x206].copy_from_slice(b"HdrS");
    std::fs::write(dir.path().join("sys-kernel"), bz).unwrap();
    cairn_run(dir.path())
        .arg("sys-kernel")
        .assert()
        .code(1)
        .stderr(contains("bare kernel"));
}

#[test]
fn an_arm64_disk_with_arch_amd64_is_a_user_error() {
    let dir = tempfile::tempdir().unwrap();
    disk(dir.path(), "sys-efi.raw", ROOT_ARM64);
    cairn_run(dir.path())
        .args(["sys", "--arch", "amd64"])
        .assert()
        .code(1)
        .stderr(contains("sys-efi.raw").and(contains("built for arm64, not amd64")));
}

#[test]
fn missing_firmware_names_the_debian_package_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    disk(dir.path(), "sys.img", ROOT_X86_64);
    cairn_run(dir.path())
        .args(["sys.img", "--firmware", "/nonexistent/OVMF_CODE.fd"])
        .assert()
        .code(2)
        .stderr(contains("/nonexistent/OVMF_CODE.fd").and(contains("Debian: ovmf")));
}

#[test]
fn tpm_without_swtpm_on_the_path_names_the_debian_packages_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    disk(dir.path(), "sys.img", ROOT_X86_64);
    std::fs::write(dir.path().join("code.fd"), [0u8; 4096]).unwrap();
    std::fs::write(dir.path().join("vars.fd"), [0u8; 4096]).unwrap();
    let empty = dir.path().join("empty-path");
    std::fs::create_dir(&empty).unwrap();
    cairn_run(dir.path())
        .args(["sys.img", "--tpm"])
        .args(["--firmware", "code.fd", "--firmware-vars", "vars.fd"])
        .env("PATH", &empty)
        .assert()
        .code(2)
        .stderr(contains("swtpm").and(contains("swtpm-tools")));
}

#[test]
fn help_states_the_target_rule_and_that_disks_boot_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    cairn_run(dir.path())
        .arg("--help")
        .assert()
        .success()
        .stdout(
            contains("NAME-kernel (with NAME-initrd.img and NAME-cmdline")
                .and(contains("NAME-efi.raw, NAME-efi.qcow2, NAME.efi"))
                .and(contains("snapshot=on"))
                .and(contains("--tpm-state")),
        );
}
