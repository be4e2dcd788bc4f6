//! `cairn flash` through the CLI: regular files with --force, refusals
//! before anything is written, /dev/full, a dry run, Ctrl-C, and loop
//! devices (written, too small, mounted) where `losetup` works here.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command as Std, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use sha2::{Digest, Sha256};

const MIB: usize = 1 << 20;

fn cairn_flash() -> Command {
    let mut cmd = common::cli::binary();
    cmd.env_remove("RUST_LOG").arg("flash");
    cmd
}

/// A GPT-looking disk image of `len` bytes: varied bytes, the boot
/// signature and "EFI PART" where a raw disk has them.
fn disk_image(dir: &Path, len: usize) -> (PathBuf, Vec<u8>) {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    bytes[510] = 0x55;
    bytes[511] = 0xAA;
    bytes[512..520].copy_from_slice(b"EFI PART");
    let path = dir.join("disk-efi.raw");
    fs::write(&path, &bytes).expect("write the image");
    (path, bytes)
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn a_regular_file_flashed_with_force_and_yes_holds_the_image_and_is_reported_verified() {
    let dir = tempfile::tempdir().unwrap();
    let (image, bytes) = disk_image(dir.path(), 3 * MIB + 4096);
    let target = dir.path().join("card.img");
    fs::write(&target, vec![0xAB; 6 * MIB]).unwrap();
    cairn_flash()
        .args(["--force", "--yes"])
        .arg(&image)
        .arg(&target)
        .assert()
        .success()
        .stdout(contains("verified").and(contains(sha256(&bytes))));
    let written = fs::read(&target).unwrap();
    assert_eq!(written.len(), 6 * MIB, "a regular file is never truncated");
    assert!(written[..bytes.len()] == bytes[..], "the image differs");
    assert!(
        written[bytes.len()..5 * MIB].iter().all(|&b| b == 0xAB),
        "bytes past the image, before the last MiB, are left alone"
    );
    assert!(
        written[5 * MIB..].iter().all(|&b| b == 0),
        "the last MiB (an old backup GPT) is zeroed"
    );
}

#[test]
fn a_missing_file_is_created_with_force_as_an_exact_copy() {
    let dir = tempfile::tempdir().unwrap();
    let (image, bytes) = disk_image(dir.path(), 2 * MIB + 512);
    let target = dir.path().join("new.img");
    cairn_flash()
        .args(["-q", "--force", "--yes"])
        .arg(&image)
        .arg(&target)
        .assert()
        .success()
        .stderr("");
    assert!(fs::read(&target).unwrap() == bytes);
}

#[test]
fn a_regular_file_without_force_is_refused_naming_force() {
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = disk_image(dir.path(), 2 * MIB);
    let target = dir.path().join("card.img");
    fs::write(&target, b"keep me").unwrap();
    cairn_flash()
        .arg("--yes")
        .arg(&image)
        .arg(&target)
        .assert()
        .code(1)
        .stderr(
            contains("card.img")
                .and(contains("not a block device"))
                .and(contains("--force")),
        );
    assert_eq!(fs::read(&target).unwrap(), b"keep me");
    cairn_flash()
        .args(["--yes", "--force"])
        .arg(&image)
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(contains("is a folder"));
}

#[test]
fn without_a_terminal_and_without_yes_it_refuses_even_when_yes_is_piped_in() {
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = disk_image(dir.path(), 2 * MIB);
    let target = dir.path().join("card.img");
    cairn_flash()
        .arg("--force")
        .arg(&image)
        .arg(&target)
        .write_stdin("yes\n")
        .assert()
        .code(1)
        .stderr(contains("stdin is not a terminal").and(contains("--yes")));
    assert!(!target.exists(), "nothing is created");
}

#[test]
fn a_dry_run_prints_the_checks_the_sha256_and_the_order_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (image, bytes) = disk_image(dir.path(), 3 * MIB);
    let target = dir.path().join("card.img");
    fs::write(&target, vec![0xAB; 4 * MIB]).unwrap();
    let out = cairn_flash()
        .args(["--dry-run", "--force"])
        .arg(&image)
        .arg(&target)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("nothing is written"), "{out}");
    assert!(out.contains(&sha256(&bytes)), "{out}");
    assert!(
        out.contains("GPT disk") && out.contains("regular file"),
        "{out}"
    );
    let order: Vec<&str> = ["1. zeroing the first MiB", "2. zeroing the last MiB"]
        .into_iter()
        .chain(["4. writing the image after its first MiB"])
        .chain(["6. writing the image's first MiB, its partition table, last"])
        .collect();
    for line in order {
        assert!(out.contains(line), "{line:?} missing from:\n{out}");
    }
    assert!(fs::read(&target).unwrap().iter().all(|&b| b == 0xAB));

    let missing = dir.path().join("missing.img");
    cairn_flash()
        .args(["--dry-run", "--force"])
        .arg(&image)
        .arg(&missing)
        .assert()
        .success()
        .stdout(contains("to be created"));
    assert!(!missing.exists());
}

#[test]
fn dev_full_fails_with_exit_1_naming_the_device_and_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = disk_image(dir.path(), 2 * MIB);
    cairn_flash()
        .args(["--force", "--yes"])
        .arg(&image)
        .arg("/dev/full")
        .assert()
        .code(1)
        .stderr(
            contains("/dev/full")
                .and(contains("at byte 0"))
                .and(contains("No space left")),
        );
    cairn_flash()
        .arg("--yes")
        .arg(&image)
        .arg("/dev/full")
        .assert()
        .code(1)
        .stderr(contains("a character device, not a block device"));
}

#[test]
fn random_bytes_and_a_qcow2_image_are_refused_as_no_raw_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes) = disk_image(dir.path(), MIB);
    let random = dir.path().join("random.bin");
    let mut no_signature = bytes.clone();
    no_signature[510] = 0;
    fs::write(&random, &no_signature).unwrap();
    let target = dir.path().join("card.img");
    cairn_flash()
        .args(["--force", "--yes"])
        .arg(&random)
        .arg(&target)
        .assert()
        .code(1)
        .stderr(contains("random.bin").and(contains("not a raw disk image")));

    let qcow2 = dir.path().join("disk-efi.qcow2");
    let mut qcow = bytes;
    qcow[..4].copy_from_slice(b"QFI\xfb");
    fs::write(&qcow2, &qcow).unwrap();
    cairn_flash()
        .args(["--force", "--yes"])
        .arg(&qcow2)
        .arg(&target)
        .assert()
        .code(1)
        .stderr(
            contains("qcow2")
                .and(contains("qemu-img convert"))
                .and(contains("-f raw-efi")),
        );
    assert!(!target.exists());
}

#[test]
fn an_image_flashed_onto_itself_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (image, bytes) = disk_image(dir.path(), 2 * MIB);
    cairn_flash()
        .args(["--force", "--yes"])
        .arg(&image)
        .arg(&image)
        .assert()
        .code(1)
        .stderr(contains("the same file"));
    assert!(fs::read(&image).unwrap() == bytes);
}

#[test]
fn the_help_teaches_what_is_checked_with_examples() {
    cairn_flash().arg("--help").assert().success().stdout(
        contains("mounted")
            .and(contains("running system's root"))
            .and(contains("O_DIRECT"))
            .and(contains("Examples:"))
            .and(contains("--dry-run")),
    );
}

/// The bytes written so far by process `pid` (its `wchar`), if readable.
fn written_by(pid: u32) -> Option<u64> {
    let io = fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("wchar:"))
        .and_then(|n| n.trim().parse().ok())
}

#[test]
fn ctrl_c_stops_between_chunks_and_says_the_first_mib_is_zeroed() {
    let dir = tempfile::tempdir().unwrap();
    // 64 GiB of holes after a disk's first sector: reading it takes far
    // longer than the test waits, and writing it to /dev/null takes no space.
    let image = dir.path().join("huge-efi.raw");
    let (_, head) = disk_image(dir.path(), 4096);
    fs::write(&image, &head).unwrap();
    fs::File::options()
        .write(true)
        .open(&image)
        .unwrap()
        .set_len(64 << 30)
        .unwrap();
    let mut child = common::cli::std_binary()
        .env_remove("RUST_LOG")
        .args(["flash", "--force", "--yes"])
        .arg(&image)
        .arg("/dev/null")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // The first MiB of zeros is written once the flash holds Ctrl-C.
    loop {
        match written_by(child.id()) {
            Some(n) if n >= MIB as u64 => break,
            Some(_) => {}
            None => {
                let _ = child.kill();
                let _ = child.wait();
                eprintln!("skipped: /proc/PID/io is not readable here");
                return;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the flash never started"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let kill = Std::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("interrupted while writing the image after its first MiB")
            && stderr.contains("its first MiB is zeroed")
            && stderr.contains("/dev/null"),
        "{stderr}"
    );
}

/// A loop device over a file, detached when dropped.
struct Loop(String);

impl Loop {
    /// `losetup -f --show FILE`, or None (printing why) where that fails.
    fn attach(file: &Path) -> Option<Loop> {
        let out = Std::new("losetup")
            .args(["-f", "--show"])
            .arg(file)
            .output();
        match out {
            Ok(out) if out.status.success() => Some(Loop(
                String::from_utf8_lossy(&out.stdout).trim().to_string(),
            )),
            Ok(out) => {
                eprintln!(
                    "skipped: losetup -f --show failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("skipped: cannot run losetup: {e}");
                None
            }
        }
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Std::new("losetup").args(["-d", &self.0]).status();
    }
}

/// A mounted file system, unmounted when dropped.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Std::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_loop_device_is_written_and_verified_past_the_page_cache() {
    let dir = tempfile::tempdir().unwrap();
    let (image, bytes) = disk_image(dir.path(), 3 * MIB + 4096);
    let backing = dir.path().join("card.bin");
    fs::write(&backing, vec![0xAB; 8 * MIB]).unwrap();
    let Some(dev) = Loop::attach(&backing) else {
        return;
    };
    cairn_flash()
        .args(["-v", "--yes"])
        .arg(&image)
        .arg(&dev.0)
        .assert()
        .success()
        .stdout(contains(format!("verified {}", dev.0)).and(contains(sha256(&bytes))))
        .stderr(contains("read back"));
    drop(dev);
    let written = fs::read(&backing).unwrap();
    assert!(written[..bytes.len()] == bytes[..]);
    assert!(written[7 * MIB..].iter().all(|&b| b == 0));
}

#[test]
fn a_loop_device_smaller_than_the_image_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = disk_image(dir.path(), 3 * MIB);
    let backing = dir.path().join("small.bin");
    fs::write(&backing, vec![0xCD; MIB]).unwrap();
    let Some(dev) = Loop::attach(&backing) else {
        return;
    };
    cairn_flash()
        .arg("--yes")
        .arg(&image)
        .arg(&dev.0)
        .assert()
        .code(1)
        .stderr(
            contains(dev.0.as_str())
                .and(contains("holds 1048576 bytes"))
                .and(contains("larger card")),
        );
    drop(dev);
    assert!(fs::read(&backing).unwrap().iter().all(|&b| b == 0xCD));
}

#[test]
fn a_loop_device_with_a_mounted_file_system_is_refused_naming_the_mount_point() {
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = disk_image(dir.path(), 3 * MIB);
    let backing = dir.path().join("fs.bin");
    fs::File::create(&backing)
        .unwrap()
        .set_len(8 * MIB as u64)
        .unwrap();
    match Std::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(&backing)
        .output()
    {
        Ok(out) if out.status.success() => {}
        other => {
            eprintln!("skipped: mkfs.ext4 does not work here: {other:?}");
            return;
        }
    }
    let Some(dev) = Loop::attach(&backing) else {
        return;
    };
    let at = dir.path().join("mnt");
    fs::create_dir(&at).unwrap();
    let mounted = Std::new("mount").arg(&dev.0).arg(&at).output().unwrap();
    if !mounted.status.success() {
        eprintln!(
            "skipped: mount failed: {}",
            String::from_utf8_lossy(&mounted.stderr).trim()
        );
        return;
    }
    let _mounted = Mounted(at.clone());
    cairn_flash()
        .arg("--yes")
        .arg(&image)
        .arg(&dev.0)
        .assert()
        .code(1)
        .stderr(
            contains("is in use")
                .and(contains(format!("mounted on {}", at.display())))
                .and(contains("unmount it first")),
        );
    // ext4 writes to its device while mounted, so only the image's marks
    // are looked for.
    assert_ne!(&fs::read(&backing).unwrap()[512..520], b"EFI PART");
}
