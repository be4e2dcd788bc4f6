//! `cairn build -f rpi` through the binary, with small stand-in images (a
//! kernel image with device trees, a firmware image), each card checked by
//! the host's own tools: sfdisk reads the MBR, fsck.fat and mtools the
//! boot partition, veritysetup the root against cmdline.txt's root hash.
//! The real kernel and firmware boot in tests/qemu/tests/rpi.rs.

mod common;

use std::os::unix::fs::FileExt;
use std::process::Command;

use common::cli::Env;
use common::host::{tool, word};
use predicates::prelude::*;

const SYSTEM: &str = "kernel:
  image: 127.0.0.1:5999/cairn/kernel:1
  cmdline: console=ttyS1,115200
  tar: none
init:
  - 127.0.0.1:5999/cairn/init:1
rpi:
  board: rpi3
  firmware: 127.0.0.1:5999/cairn/rpi-firmware:1
  config:
    - dtoverlay=tpm-slb9670
    - \"[pi3]\"
    - dtparam=spi=on
trust:
  allow_unsigned: [\"127.0.0.1:5999/*\"]
";

const ARM64_IMAGE_MAGIC: &[u8] = b"ARM\x64";

fn images(env: &Env, firmware: &[&str]) {
    let mut kernel = vec![0u8; 4096];
    kernel[0x38..0x3c].copy_from_slice(ARM64_IMAGE_MAGIC);
    common::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/kernel:1",
        &[
            ("kernel", &kernel, 0o644),
            (
                "dtbs/broadcom/bcm2837-rpi-3-b.dtb",
                b"\xd0\x0d\xfe\xed pi3b",
                0o644,
            ),
            (
                "dtbs/broadcom/bcm2837-rpi-3-b-plus.dtb",
                b"\xd0\x0d\xfe\xed pi3b+",
                0o644,
            ),
            (
                "dtbs/broadcom/bcm2711-rpi-4-b.dtb",
                b"\xd0\x0d\xfe\xed pi4b",
                0o644,
            ),
        ],
    );
    let files: Vec<(String, Vec<u8>)> = firmware
        .iter()
        .map(|f| (format!("boot/{f}"), format!("firmware {f}").into_bytes()))
        .collect();
    let files: Vec<(&str, &[u8], u32)> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice(), 0o644))
        .collect();
    common::image::file_image(&env.store, "127.0.0.1:5999/cairn/rpi-firmware:1", &files);
    common::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/init:1",
        &[
            ("sbin/init", b"#!/bin/init", 0o755),
            ("etc/motd", b"a file of the root filesystem\n", 0o644),
        ],
    );
}

const ALL_FIRMWARE: [&str; 5] = [
    "bootcode.bin",
    "start.elf",
    "fixup.dat",
    "start4.elf",
    "fixup4.dat",
];

fn build(env: &Env, yaml: &str, out: &str) -> assert_cmd::assert::Assert {
    let config = env.write("system.yml", yaml);
    env.cairn()
        .args(["build", "--offline", "-f", "rpi", "-o", out])
        .arg(&config)
        .assert()
}

/// Partition `n` of an MBR card: (first byte, length).
fn mbr_partition(card: &std::path::Path, n: u64) -> (u64, u64) {
    let file = std::fs::File::open(card).expect("card");
    let mut entry = [0u8; 16];
    file.read_exact_at(&mut entry, 446 + (n - 1) * 16)
        .expect("entry");
    let first = u32::from_le_bytes(entry[8..12].try_into().expect("4"));
    let sectors = u32::from_le_bytes(entry[12..16].try_into().expect("4"));
    (u64::from(first) * 512, u64::from(sectors) * 512)
}

fn copy_out(card: &std::path::Path, n: u64, to: &std::path::Path) {
    let (start, len) = mbr_partition(card, n);
    let file = std::fs::File::open(card).expect("card");
    let mut bytes = vec![0u8; len as usize];
    file.read_exact_at(&mut bytes, start).expect("read");
    std::fs::write(to, bytes).expect("write");
}

fn mtype(fat: &std::path::Path, name: &str) -> String {
    tool(
        Command::new("mtype")
            .args(["-i"])
            .arg(fat)
            .arg(format!("::/{name}")),
    )
}

#[test]
fn a_pi3_card_has_an_mbr_the_firmware_a_config_txt_and_a_root_veritysetup_accepts() {
    let env = Env::new();
    images(&env, &ALL_FIRMWARE);
    build(&env, SYSTEM, "out")
        .success()
        .stderr(predicate::str::contains("built system-rpi3.img"));
    let card = env.path("out/system-rpi3.img");

    let table = tool(Command::new("sfdisk").arg("--dump").arg(&card));
    assert!(table.contains("label: dos"), "{table}");
    assert!(table.contains("type=c, bootable"), "{table}");
    assert!(table.contains("type=83"), "{table}");

    let boot = env.path("boot.img");
    copy_out(&card, 1, &boot);
    tool(Command::new("fsck.fat").arg("-n").arg(&boot));
    let listing = tool(
        Command::new("mdir")
            .args(["-b", "-i"])
            .arg(&boot)
            .arg("::/"),
    );
    for name in [
        "bootcode.bin",
        "start.elf",
        "fixup.dat",
        "config.txt",
        "cmdline.txt",
        "vmlinuz",
        "initrd.img",
        "bcm2837-rpi-3-b.dtb",
        "bcm2837-rpi-3-b-plus.dtb",
    ] {
        assert!(
            listing.to_lowercase().contains(&name.to_lowercase()),
            "{name} missing:\n{listing}"
        );
    }
    assert!(
        !listing.contains("start4"),
        "a Pi 4 file on a Pi 3 card:\n{listing}"
    );
    assert!(!listing.contains("bcm2711"), "{listing}");

    let config = mtype(&boot, "config.txt");
    for line in [
        "arm_64bit=1",
        "kernel=vmlinuz",
        "initramfs initrd.img followkernel",
        "cmdline=cmdline.txt",
        "enable_uart=1",
        "upstream_kernel=1",
        "dtoverlay=tpm-slb9670",
    ] {
        assert!(
            config.lines().any(|l| l == line),
            "{line} missing:\n{config}"
        );
    }
    // The user's filter comes after everything cairn sets.
    let filter = config.find("[pi3]").expect("filter");
    assert!(config.find("kernel=vmlinuz").expect("kernel") < filter);

    let cmdline = mtype(&boot, "cmdline.txt");
    assert!(cmdline.starts_with("console=ttyS1,115200 "), "{cmdline}");
    let partuuid = word(&cmdline, "cairn.root=PARTUUID=");
    let id = tool(Command::new("sfdisk").arg("--disk-id").arg(&card));
    assert_eq!(
        format!("{}-02", id.trim().trim_start_matches("0x")),
        partuuid,
        "the PARTUUID names the card's signature and partition 2"
    );

    let root = env.path("root.img");
    copy_out(&card, 2, &root);
    // The hash area (superblock first) follows the squashfs, as
    // veritysetup's own format has it.
    let data_blocks: u64 = word(&cmdline, "cairn.verity=")
        .split(',')
        .next()
        .and_then(|b| b.parse().ok())
        .expect("data blocks");
    tool(
        Command::new("veritysetup")
            .arg("verify")
            .arg(format!("--hash-offset={}", data_blocks * 4096))
            .arg(&root)
            .arg(&root)
            .arg(word(&cmdline, "roothash=")),
    );
}

#[test]
fn a_pi_card_is_byte_identical_across_two_builds() {
    let env = Env::new();
    images(&env, &ALL_FIRMWARE);
    build(&env, SYSTEM, "one").success();
    build(&env, SYSTEM, "two").success();
    let one = std::fs::read(env.path("one/system-rpi3.img")).expect("one");
    let two = std::fs::read(env.path("two/system-rpi3.img")).expect("two");
    assert!(one == two, "two builds of one config differ");
}

#[test]
fn a_pi4_card_carries_the_pi4_firmware_and_device_tree() {
    let env = Env::new();
    images(&env, &ALL_FIRMWARE);
    build(&env, &SYSTEM.replace("board: rpi3", "board: rpi4"), "out")
        .success()
        .stderr(predicate::str::contains("built system-rpi4.img"));
    let boot = env.path("boot.img");
    copy_out(&env.path("out/system-rpi4.img"), 1, &boot);
    let listing = tool(
        Command::new("mdir")
            .args(["-b", "-i"])
            .arg(&boot)
            .arg("::/"),
    );
    for name in ["start4.elf", "fixup4.dat", "bcm2711-rpi-4-b.dtb"] {
        assert!(
            listing.to_lowercase().contains(name),
            "{name} missing:\n{listing}"
        );
    }
    assert!(!listing.contains("bootcode"), "{listing}");
}

#[test]
fn a_firmware_image_without_a_file_the_board_needs_is_refused_and_nothing_is_written() {
    let env = Env::new();
    images(&env, &["bootcode.bin", "fixup.dat"]);
    build(&env, SYSTEM, "out")
        .code(1)
        .stderr(predicate::str::contains("/boot/start.elf"))
        .stderr(predicate::str::contains("rpi.firmware"));
    let left: Vec<_> = std::fs::read_dir(env.path("out"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn a_kernel_without_the_boards_device_tree_is_refused_naming_it() {
    let env = Env::new();
    images(&env, &ALL_FIRMWARE);
    let mut kernel = vec![0u8; 4096];
    kernel[0x38..0x3c].copy_from_slice(ARM64_IMAGE_MAGIC);
    common::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/kernel:1",
        &[("kernel", &kernel, 0o644)],
    );
    build(&env, SYSTEM, "out")
        .code(1)
        .stderr(predicate::str::contains("bcm2837-rpi-3-b.dtb"));
}

#[test]
fn a_pi_card_for_amd64_or_without_a_board_is_refused() {
    let env = Env::new();
    images(&env, &ALL_FIRMWARE);
    let config = env.write("system.yml", SYSTEM);
    env.cairn()
        .args([
            "build",
            "--offline",
            "-f",
            "rpi",
            "--arch",
            "amd64",
            "-o",
            "out",
        ])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("arm64"));
    build(&env, &SYSTEM.replace("  board: rpi3\n", ""), "out")
        .code(1)
        .stderr(predicate::str::contains("rpi.board"));
}

#[test]
fn a_config_txt_line_that_replaces_the_kernel_is_refused_with_its_line() {
    let env = Env::new();
    let config = env.write(
        "system.yml",
        &SYSTEM.replace("    - dtparam=spi=on", "    - kernel=mine.img"),
    );
    env.cairn()
        .args(["validate"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("system.yml:13"))
        .stderr(predicate::str::contains("rpi.config[2]"))
        .stderr(predicate::str::contains("`kernel`"));
    let bad_board = env.write("bad.yml", &SYSTEM.replace("board: rpi3", "board: rpi5"));
    env.cairn()
        .args(["validate"])
        .arg(&bad_board)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("rpi.board"))
        .stderr(predicate::str::contains("rpi3 or rpi4"));
}

#[test]
fn pcr_predict_on_a_card_gives_pcr_15_and_says_what_a_pi_cannot_measure() {
    let env = Env::new();
    images(&env, &ALL_FIRMWARE);
    build(&env, SYSTEM, "out").success();
    env.cairn()
        .args(["pcr", "predict", "out/system-rpi3.img"])
        .assert()
        .success()
        .stdout(predicate::str::contains("15   "))
        .stdout(predicate::str::contains("no UEFI firmware"))
        .stdout(predicate::str::contains("PCR 4, 7 and 11"));
    let json = env
        .cairn()
        .args(["pcr", "predict", "--json", "out/system-rpi3.img"])
        .output()
        .expect("predict");
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(v.as_object().map(|o| o.len()), Some(1), "{v}");
    assert_eq!(v["15"].as_str().map(str::len), Some(64), "{v}");
}

/// The fixture key of the boot.sig tests: made for tests only.
fn test_key() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rpi-sign/rsa2048.pem")
}

/// `-f rpi --rpi-boot-key` with the test key, at a fixed SOURCE_DATE_EPOCH.
fn build_signed(env: &Env, yaml: &str) -> assert_cmd::assert::Assert {
    let config = env.write("system.yml", yaml);
    env.cairn()
        .args([
            "build",
            "--offline",
            "-f",
            "rpi",
            "-o",
            "out",
            "--rpi-boot-key",
        ])
        .arg(test_key())
        .arg(&config)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .assert()
}

#[test]
fn a_signed_pi4_card_holds_boot_img_and_a_boot_sig_openssl_verifies() {
    let env = Env::new();
    images(&env, &ALL_FIRMWARE);
    build_signed(&env, &SYSTEM.replace("board: rpi3", "board: rpi4")).success();
    let card = env.path("out/system-rpi4.img");
    let outer = env.path("outer.img");
    copy_out(&card, 1, &outer);
    tool(Command::new("fsck.fat").arg("-n").arg(&outer));
    let boot_img = env.path("boot.img");
    tool(
        Command::new("mcopy")
            .args(["-n", "-i"])
            .arg(&outer)
            .arg("::/boot.img")
            .arg(&boot_img),
    );
    let sig = mtype(&outer, "boot.sig");
    let lines: Vec<&str> = sig.lines().collect();
    assert_eq!(lines.len(), 3, "{sig}");
    let digest = tool(Command::new("sha256sum").arg(&boot_img));
    assert_eq!(lines[0], digest.split_whitespace().next().expect("hash"));
    assert_eq!(lines[1], "ts: 1700000000");
    let signature = lines[2].strip_prefix("rsa2048: ").expect("rsa2048 line");
    let raw: Vec<u8> = (0..signature.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&signature[i..i + 2], 16).expect("hex"))
        .collect();
    std::fs::write(env.path("sig.bin"), raw).expect("sig");
    tool(
        Command::new("openssl")
            .args(["rsa", "-pubout", "-in"])
            .arg(test_key())
            .arg("-out")
            .arg(env.path("pub.pem")),
    );
    tool(
        Command::new("openssl")
            .args(["dgst", "-sha256", "-verify"])
            .arg(env.path("pub.pem"))
            .arg("-signature")
            .arg(env.path("sig.bin"))
            .arg(&boot_img),
    );
    // Inside boot.img: every boot file, and a cmdline.txt that pins the root.
    tool(Command::new("fsck.fat").arg("-n").arg(&boot_img));
    let cmdline = mtype(&boot_img, "cmdline.txt");
    assert!(cmdline.contains("roothash="), "{cmdline}");
    let config_txt = mtype(&boot_img, "config.txt");
    assert!(config_txt.contains("kernel=vmlinuz"), "{config_txt}");
    let listing = tool(
        Command::new("mdir")
            .args(["-b", "-i"])
            .arg(&boot_img)
            .arg("::/"),
    );
    for name in [
        "start4.elf",
        "fixup4.dat",
        "vmlinuz",
        "initrd.img",
        "bcm2711-rpi-4-b.dtb",
    ] {
        assert!(listing.to_lowercase().contains(name), "{name}:\n{listing}");
    }
}

#[test]
fn a_boot_key_for_a_pi3_card_is_refused() {
    let env = Env::new();
    images(&env, &ALL_FIRMWARE);
    build_signed(&env, SYSTEM)
        .code(1)
        .stderr(predicate::str::contains("rpi4"));
}

#[test]
fn an_overlay_named_in_rpi_overlays_lands_in_the_overlays_folder_of_the_card() {
    let env = Env::new();
    images(&env, &ALL_FIRMWARE);
    std::fs::create_dir_all(env.path("hats")).expect("dir");
    std::fs::write(env.path("hats/tpm-slb9670.dtbo"), b"an overlay").expect("dtbo");
    let yaml = SYSTEM.replace(
        "  config:\n",
        "  overlays: [hats/tpm-slb9670.dtbo]\n  config:\n",
    );
    build(&env, &yaml, "out").success();
    let boot = env.path("boot.img");
    copy_out(&env.path("out/system-rpi3.img"), 1, &boot);
    tool(Command::new("fsck.fat").arg("-n").arg(&boot));
    assert_eq!(
        mtype(&boot, "overlays/tpm-slb9670.dtbo").as_bytes(),
        b"an overlay"
    );
    std::fs::remove_file(env.path("hats/tpm-slb9670.dtbo")).expect("rm");
    build(&env, &yaml, "out2")
        .code(1)
        .stderr(predicate::str::contains("rpi.overlays[0]"));
    let bad = env.write("bad.yml", &yaml.replace("tpm-slb9670.dtbo", "tpm.dts"));
    env.cairn()
        .args(["validate"])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(".dtbo"));
}
