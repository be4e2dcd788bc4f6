//! cairn-init must run from an initramfs with nothing else in it: a static
//! ELF for each target, with no interpreter and no shared libraries.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Its own target folder: the `cargo test` running this holds the lock on
/// the workspace's.
fn build(target: &str) -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target_dir = manifest_dir.join("../target/init-static-check");
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "cairn-init",
            "--target",
            target,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(manifest_dir)
        .status()
        .expect("run cargo");
    assert!(status.success(), "cargo build --target {target} failed");
    target_dir.join(target).join("release/cairn-init")
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().expect("2 bytes"))
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NEEDED: u64 = 1;

/// The ELF machine, and whether it has an interpreter or needs libraries.
fn inspect(elf: &[u8]) -> (u16, bool, usize) {
    assert_eq!(&elf[..6], b"\x7fELF\x02\x01", "a little-endian ELF64");
    let machine = u16_at(elf, 0x12);
    let (phoff, phentsize, phnum) = (
        u64_at(elf, 0x20) as usize,
        u16_at(elf, 0x36) as usize,
        u16_at(elf, 0x38) as usize,
    );
    let mut interp = false;
    let mut needed = 0;
    for i in 0..phnum {
        let ph = &elf[phoff + i * phentsize..];
        match u32_at(ph, 0) {
            PT_INTERP => interp = true,
            PT_DYNAMIC => {
                let (off, size) = (u64_at(ph, 0x08) as usize, u64_at(ph, 0x20) as usize);
                needed += elf[off..off + size]
                    .chunks_exact(16)
                    .filter(|d| u64_at(d, 0) == DT_NEEDED)
                    .count();
            }
            _ => {}
        }
    }
    (machine, interp, needed)
}

#[test]
fn the_init_is_a_static_elf_for_both_architectures() {
    for (target, machine) in [
        ("x86_64-unknown-linux-musl", 62),
        ("aarch64-unknown-linux-musl", 183),
    ] {
        let path = build(target);
        let elf = std::fs::read(&path).expect("read the built init");
        let (found, interp, needed) = inspect(&elf);
        assert_eq!(found, machine, "{target}: ELF machine");
        assert!(
            !interp,
            "{target}: has an ELF interpreter, so it is not static"
        );
        assert_eq!(needed, 0, "{target}: needs shared libraries");
    }
}

#[test]
fn run_as_an_ordinary_process_it_prints_usage_and_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_cairn-init"))
        .output()
        .expect("run cairn-init");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("usage: cairn-init"), "{stderr}");
}

#[test]
fn version_prints_the_crate_version() {
    let out = Command::new(env!("CARGO_BIN_EXE_cairn-init"))
        .arg("--version")
        .output()
        .expect("run cairn-init");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("cairn-init {}", env!("CARGO_PKG_VERSION"))
    );
}
