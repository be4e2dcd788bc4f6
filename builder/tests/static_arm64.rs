//! The static arm64 cairn (`make build` writes it; `make unit` names it in
//! CAIRN_ARM64_BIN), run on this x86_64 machine by QEMU's user-mode
//! emulator: it must be one static binary and write the same bytes as the
//! x86_64 build for the same config and store, since a system built on a
//! Raspberry Pi or an arm64 server must equal one built on a workstation.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::cli::Env;

const SYSTEM: &str = "kernel:
  image: 127.0.0.1:5999/cairn/kernel:1
  cmdline: console=ttyS0
  tar: none
init:
  - 127.0.0.1:5999/cairn/init:1
files:
  - path: etc/motd
    contents: built on either architecture
trust:
  allow_unsigned: [\"127.0.0.1:5999/cairn/*\"]
";

/// The arm64 binary, or None when this run was not given one (plain
/// `cargo test`; `make unit` always gives it).
fn arm64_bin() -> Option<PathBuf> {
    let bin = PathBuf::from(std::env::var_os("CAIRN_ARM64_BIN")?);
    assert!(
        bin.exists(),
        "CAIRN_ARM64_BIN={} does not exist; run make build",
        bin.display()
    );
    Some(bin)
}

/// `qemu-aarch64 BIN --store STORE ARGS`, run in the env's folder.
fn emulated(env: &Env, bin: &Path, args: &[&str]) -> std::process::Output {
    Command::new("qemu-aarch64")
        .arg(bin)
        .arg("--store")
        .arg(env.store.root())
        .args(args)
        .current_dir(env.path(""))
        .env("XDG_CONFIG_HOME", env.config_home())
        .env_remove("RUST_LOG")
        .output()
        .expect("qemu-aarch64 runs (make deps installs qemu-user)")
}

#[test]
fn the_arm64_binary_is_static_and_builds_the_same_bytes_as_the_x86_64_one() {
    let Some(bin) = arm64_bin() else {
        eprintln!("CAIRN_ARM64_BIN is not set; make unit runs this test");
        return;
    };
    let file = Command::new("file").arg(&bin).output().expect("file");
    let what = String::from_utf8_lossy(&file.stdout);
    assert!(
        what.contains("ARM aarch64") && what.contains("statically linked"),
        "{what}"
    );
    let env = Env::new();
    common::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/kernel:1",
        &[("kernel", b"a stand-in kernel", 0o644)],
    );
    common::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/init:1",
        &[("sbin/init", b"#!/bin/init", 0o755)],
    );
    let config = env.write("system.yml", SYSTEM);
    let config = config.to_str().expect("utf-8 path");
    for (format, outputs) in [
        (
            "kernel+initrd",
            &["system-kernel", "system-initrd.img", "system-cmdline"][..],
        ),
        ("tar", &["system.tar"][..]),
    ] {
        let args = ["build", "--offline", "--arch", "amd64", "-f", format, "-o"];
        env.cairn()
            .args(args)
            .arg("x86")
            .arg(config)
            .assert()
            .success();
        let out = emulated(&env, &bin, &[&args[..], &["arm", config]].concat());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for name in outputs {
            let x86 = std::fs::read(env.path("x86").join(name)).expect("x86 output");
            let arm = std::fs::read(env.path("arm").join(name)).expect("arm64 output");
            assert!(
                x86 == arm,
                "{format}: {name} differs between the two binaries"
            );
        }
    }
    // It refuses bad input as the x86_64 one does: exit 1, file and line.
    let bad = env.write("bad.yml", "kernel:\n  imag: x\n");
    let out = emulated(&env, &bin, &["validate", bad.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yml:2:3"));
}
