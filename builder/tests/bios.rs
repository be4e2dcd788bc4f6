//! `cairn build -f raw-bios | qcow2-bios | iso-bios` through the binary,
//! each output checked by the host's tools: sgdisk, xorriso, unsquashfs,
//! veritysetup and qemu-img. ISOLINUX is Debian's (isolinux and
//! syslinux-common on the host); a file stands in for the kernel.

mod common;

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;

use common::cli::Env;
use common::host::{partition, tool, word};
use predicates::prelude::*;

const ISOLINUX: &str = "/usr/lib/ISOLINUX/isolinux.bin";
const HYBRID_MBR: &str = "/usr/lib/ISOLINUX/isohdpfx.bin";
const LDLINUX: &str = "/usr/lib/syslinux/modules/bios/ldlinux.c32";
const KERNEL: &[u8] = b"a stand-in for the kernel image";

const SYSTEM: &str = "kernel:
  image: 127.0.0.1:5999/cairn/kernel:1
  cmdline: console=ttyS0
  tar: none
  syslinux: 127.0.0.1:5999/cairn/syslinux:1
init:
  - 127.0.0.1:5999/cairn/init:1
trust:
  allow_unsigned: [\"127.0.0.1:5999/*\"]
";

fn host_file(path: &str) -> Vec<u8> {
    std::fs::read(path).expect("Debian's isolinux and syslinux-common (make deps installs them)")
}

fn system(env: &Env) -> std::path::PathBuf {
    common::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/kernel:1",
        &[("kernel", KERNEL, 0o644)],
    );
    let (isolinux, hybrid, ldlinux) = (
        host_file(ISOLINUX),
        host_file(HYBRID_MBR),
        host_file(LDLINUX),
    );
    common::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/syslinux:1",
        &[
            ("usr/lib/ISOLINUX/isolinux.bin", &isolinux, 0o644),
            ("usr/lib/ISOLINUX/isohdpfx.bin", &hybrid, 0o644),
            ("usr/lib/syslinux/modules/bios/ldlinux.c32", &ldlinux, 0o644),
        ],
    );
    common::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/init:1",
        &[
            ("sbin/init", b"#!/bin/init", 0o755),
            ("etc/motd", b"a file of the root filesystem\n", 0o644),
        ],
    );
    env.write("system.yml", SYSTEM)
}

fn build(env: &Env, config: &Path, format: &str, out: &str) {
    env.cairn()
        .args([
            "build",
            "--offline",
            "--arch",
            "amd64",
            "-f",
            format,
            "-o",
            out,
        ])
        .arg(config)
        .assert()
        .success();
}

/// A file of an ISO 9660 volume (an ISO image, or a disk that carries one).
fn extract(image: &Path, file: &str, to: &Path) -> Vec<u8> {
    tool(
        Command::new("xorriso")
            .args(["-osirrox", "on", "-indev"])
            .arg(image)
            .args(["-extract", file])
            .arg(to),
    );
    std::fs::read(to).expect("extracted")
}

#[test]
fn raw_bios_disk_boots_isolinux_from_its_mbr_and_names_a_verified_root() {
    let env = Env::new();
    let config = system(&env);
    build(&env, &config, "raw-bios", "out");
    let disk = env.path("out/system-bios.raw");
    let gpt = tool(Command::new("sgdisk").arg("-v").arg(&disk));
    assert!(gpt.contains("No problems found"), "{gpt}");
    let boot = tool(Command::new("sgdisk").args(["-i", "1"]).arg(&disk));
    assert!(boot.contains("BIOS boot partition"), "{boot}");
    assert!(boot.contains("'bios-boot'"), "{boot}");

    // The protective MBR starts ISOLINUX: syslinux's code, then where
    // ISOLINUX is, in 512-byte sectors, inside the BIOS boot partition.
    let bytes = std::fs::read(&disk).expect("disk");
    assert_eq!(bytes[..432], host_file(HYBRID_MBR)[..432]);
    assert_eq!(bytes[450], 0xee, "the partition entry stays protective");
    let sector = u64::from_le_bytes(bytes[432..440].try_into().expect("8"));
    let at = (sector * 512) as usize;
    let isolinux = host_file(ISOLINUX);
    assert_eq!(bytes[at..at + 8], isolinux[..8]);
    assert_eq!(bytes[at + 64..at + isolinux.len()], isolinux[64..]);
    assert!(sector >= 2048, "ISOLINUX lies in the BIOS boot partition");

    let config_text = extract(&disk, "/ISOLINUX/ISOLINUX.CFG", &env.path("isolinux.cfg"));
    let config_text = String::from_utf8(config_text).expect("utf-8");
    assert!(
        config_text.starts_with("SERIAL 0 115200\n"),
        "{config_text}"
    );
    let append = config_text
        .lines()
        .find_map(|l| l.trim().strip_prefix("APPEND "))
        .unwrap_or_else(|| panic!("no APPEND in {config_text}"));
    assert!(append.starts_with("console=ttyS0 "), "{append}");
    assert_eq!(
        extract(&disk, "/KERNEL", &env.path("kernel")),
        KERNEL,
        "the kernel file is the kernel image's"
    );
    assert_eq!(
        extract(&disk, "/ISOLINUX/LDLINUX.C32", &env.path("ldlinux.c32")),
        host_file(LDLINUX)
    );
    let initrd = env.path("initrd.img");
    extract(&disk, "/INITRD.IMG", &initrd);
    let listing = tool(
        Command::new("sh")
            .arg("-c")
            .arg("zcat \"$0\" | cpio -t")
            .arg(&initrd),
    );
    assert!(listing.contains("sbin/init"), "{listing}");
    assert!(
        !listing.contains("etc/motd"),
        "only the early init: {listing}"
    );

    let root = env.path("root.img");
    partition(&disk, 2, &root);
    let files = tool(Command::new("unsquashfs").arg("-l").arg(&root));
    assert!(files.contains("squashfs-root/etc/motd"), "{files}");
    let verity: Vec<&str> = word(append, "cairn.verity=").split(',').collect();
    let data_blocks: u64 = verity[0].parse().expect("data blocks");
    tool(
        Command::new("veritysetup")
            .args(["verify", &format!("--hash-offset={}", data_blocks * 4096)])
            .arg(&root)
            .arg(&root)
            .arg(word(append, "roothash=")),
    );
    let partuuid = word(append, "cairn.root=PARTUUID=");
    let info = tool(Command::new("sgdisk").args(["-i", "2"]).arg(&disk));
    assert!(
        info.to_lowercase().contains(partuuid),
        "the command line's PARTUUID {partuuid} is root A's:\n{info}"
    );

    // A BIOS measures nothing cairn predicts: predict says so.
    env.cairn()
        .args(["pcr", "predict"])
        .arg(&disk)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("BIOS"));
}

#[test]
fn iso_bios_is_a_hybrid_isolinux_image_with_the_whole_root() {
    let env = Env::new();
    let config = system(&env);
    build(&env, &config, "iso-bios", "out");
    let iso = env.path("out/system-bios.iso");
    let report = tool(Command::new("xorriso").arg("-indev").arg(&iso).args([
        "-report_el_torito",
        "plain",
        "-report_system_area",
        "plain",
    ]));
    for line in [
        "El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4",
        "El Torito img path :   1  /ISOLINUX/ISOLINUX.BIN",
        "El Torito img opts :   1  boot-info-table isohybrid-suitable",
        "System area summary: MBR isohybrid",
        "MBR partition      :   1   0x80  0x17            0",
    ] {
        assert!(report.contains(line), "{line:?} missing in:\n{report}");
    }
    let initrd = env.path("initrd.img");
    extract(&iso, "/INITRD.IMG", &initrd);
    let listing = tool(
        Command::new("sh")
            .arg("-c")
            .arg("zcat \"$0\" | cpio -t")
            .arg(&initrd),
    );
    assert!(listing.contains("etc/motd"), "the whole root: {listing}");
    let config_text = extract(&iso, "/ISOLINUX/ISOLINUX.CFG", &env.path("isolinux.cfg"));
    let config_text = String::from_utf8(config_text).expect("utf-8");
    assert!(
        config_text.contains("APPEND console=ttyS0\n"),
        "the config's command line as it is: {config_text}"
    );
}

#[test]
fn every_bios_format_is_reproducible_and_qcow2_holds_the_raw_disk() {
    let env = Env::new();
    let config = system(&env);
    for format in ["raw-bios", "qcow2-bios", "iso-bios"] {
        for dir in ["a", "b"] {
            build(&env, &config, format, dir);
        }
    }
    for name in ["system-bios.raw", "system-bios.qcow2", "system-bios.iso"] {
        let a = std::fs::read(env.path("a").join(name)).expect("a");
        let b = std::fs::read(env.path("b").join(name)).expect("b");
        assert!(a == b, "{name} differs between two builds");
    }
    let (raw, qcow2) = (
        env.path("a/system-bios.raw"),
        env.path("a/system-bios.qcow2"),
    );
    tool(
        Command::new("qemu-img")
            .args(["check", "-f", "qcow2"])
            .arg(&qcow2),
    );
    let same = tool(
        Command::new("qemu-img")
            .args(["compare", "-f", "raw", "-F", "qcow2"])
            .arg(&raw)
            .arg(&qcow2),
    );
    assert!(same.contains("identical"), "{same}");
    let file = std::fs::File::open(&raw).expect("raw");
    let mut signature = [0u8; 2];
    file.read_exact_at(&mut signature, 510).expect("mbr");
    assert_eq!(signature, [0x55, 0xaa]);
}

#[test]
fn bios_formats_are_refused_for_arm64_before_anything_is_resolved() {
    let env = Env::new();
    let config = system(&env);
    env.cairn()
        .args([
            "build",
            "--offline",
            "-f",
            "raw-bios",
            "--arch",
            "arm64",
            "-o",
            "out",
        ])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("x86_64").and(predicate::str::contains("raw-efi")));
}

#[test]
fn a_bios_disk_without_a_syslinux_image_says_how_to_get_one() {
    let env = Env::new();
    system(&env);
    let config = env.write(
        "nosyslinux.yml",
        &SYSTEM.replace("  syslinux: 127.0.0.1:5999/cairn/syslinux:1\n", ""),
    );
    env.cairn()
        .args([
            "build",
            "--offline",
            "--arch",
            "amd64",
            "-f",
            "raw-bios",
            "-o",
            "out",
        ])
        .arg(&config)
        .assert()
        .failure()
        .stderr(predicate::str::contains("cairn/syslinux"));
}

#[test]
fn a_syslinux_image_without_isolinux_is_refused_by_name() {
    let env = Env::new();
    let config = system(&env);
    common::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/syslinux:1",
        &[(
            "usr/lib/ISOLINUX/isohdpfx.bin",
            &host_file(HYBRID_MBR),
            0o644,
        )],
    );
    env.cairn()
        .args([
            "build",
            "--offline",
            "--arch",
            "amd64",
            "-f",
            "iso-bios",
            "-o",
            "out",
        ])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("usr/lib/ISOLINUX/isolinux.bin"));
}
