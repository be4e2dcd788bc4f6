//! The partitions of a disk image as `sgdisk` reads them: an ESP, root A,
//! an empty root B of the same size and the data partition last;
//! `--disk-size` gives the data partition the rest; `data:` mistakes are
//! reported at their line.

mod common;

use std::process::Command;

use common::cli::Env;
use common::host::tool;
use common::uefi::system;
use predicates::prelude::*;

const MIB: u64 = 1 << 20;

/// `sgdisk -i N`: the partition's name, type name and size in sectors.
fn part(disk: &std::path::Path, n: u32) -> (String, String, u64) {
    let info = tool(
        Command::new("sgdisk")
            .args(["-i", &n.to_string()])
            .arg(disk),
    );
    let field = |key: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in:\n{info}"))
            .trim()
            .to_string()
    };
    let size: u64 = field("Partition size:")
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a size in sectors");
    (
        field("Partition name:"),
        field("Partition GUID code:"),
        size,
    )
}

#[test]
fn a_uefi_disk_has_an_esp_two_equal_root_slots_and_the_data_partition_last() {
    let env = Env::new();
    let config = system(&env);
    env.cairn()
        .args(["build", "--offline", "--arch", "amd64", "-o", "out"])
        .arg(&config)
        .assert()
        .success();
    let disk = env.path("out/system-efi.raw");
    let gpt = tool(Command::new("sgdisk").arg("-v").arg(&disk));
    assert!(gpt.contains("No problems found"), "{gpt}");
    let (esp, a, b, data) = (
        part(&disk, 1),
        part(&disk, 2),
        part(&disk, 3),
        part(&disk, 4),
    );
    assert_eq!(esp.0, "'esp'");
    assert_eq!((a.0.as_str(), b.0.as_str()), ("'root-a'", "'root-b'"));
    assert!(a.1.contains("Linux x86-64 root"), "{a:?}");
    assert_eq!(a.1, b.1, "both slots are root partitions");
    assert_eq!(a.2, b.2, "the slots are the same size");
    assert_eq!(data.0, "'data'");
    assert!(data.1.contains("Linux filesystem"), "{data:?}");
    assert_eq!(data.2 * 512, 64 * MIB, "the default data partition");
    let last = tool(Command::new("sgdisk").arg("-p").arg(&disk));
    let numbers: Vec<&str> = last
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<u32>().is_ok())
        .collect();
    assert_eq!(numbers.last(), Some(&"4"), "data is last:\n{last}");
    // Root B and data are holes in the file: the disk costs what it holds.
    let meta = std::fs::metadata(&disk).expect("the disk");
    use std::os::unix::fs::MetadataExt as _;
    assert!(
        meta.blocks() * 512 < meta.len(),
        "{} of {}",
        meta.blocks() * 512,
        meta.len()
    );
}

#[test]
fn disk_size_gives_the_data_partition_the_rest_and_too_small_a_size_is_refused() {
    let env = Env::new();
    let config = system(&env);
    env.cairn()
        .args([
            "build",
            "--offline",
            "--arch",
            "amd64",
            "-o",
            "out",
            "--disk-size",
            "1G",
        ])
        .arg(&config)
        .assert()
        .success();
    let disk = env.path("out/system-efi.raw");
    assert_eq!(std::fs::metadata(&disk).expect("the disk").len(), 1 << 30);
    let data = part(&disk, 4);
    assert!(data.2 * 512 > 800 * MIB, "{data:?}");
    let gpt = tool(Command::new("sgdisk").arg("-v").arg(&disk));
    assert!(gpt.contains("No problems found"), "{gpt}");

    env.cairn()
        .args([
            "build",
            "--offline",
            "--arch",
            "amd64",
            "-o",
            "small",
            "--disk-size",
            "20M",
        ])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "--disk-size 20.0 MiB is too small",
        ))
        .stderr(predicate::str::contains("at least"));
    assert!(!env.path("small/system-efi.raw").exists());
    env.cairn()
        .args(["build", "--offline", "-o", "x", "--disk-size", "lots"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("K, M, G or T"));
}

#[test]
fn data_needs_a_mount_point_a_size_it_can_read_and_mke2fs_in_the_init() {
    let env = Env::new();
    let config = system(&env);
    let text = std::fs::read_to_string(&config).expect("the config");
    let bad = env.write(
        "bad.yml",
        &format!("{text}data:\n  mount: /run/data\n  size: 4M\n"),
    );
    env.cairn()
        .args(["build", "--offline", "--arch", "amd64", "-o", "out"])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad.yml:12"))
        .stderr(predicate::str::contains(
            "/run, which the init mounts itself",
        ))
        .stderr(predicate::str::contains("bad.yml:12:9: data.size"))
        .stderr(predicate::str::contains("at least 16M"));

    let no_mkfs = env.write("nomkfs.yml", &format!("{text}data:\n  mount: /var/lib\n"));
    env.cairn()
        .args(["build", "--offline", "--arch", "amd64", "-o", "out"])
        .arg(&no_mkfs)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nomkfs.yml:11"))
        .stderr(predicate::str::contains(
            "add cairn/e2fsprogs:latest to `init`",
        ));
    assert!(!env.path("out/nomkfs-efi.raw").exists());

    common::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/e2fsprogs:1",
        &[("usr/sbin/mke2fs", b"#!/bin/mke2fs", 0o755)],
    );
    let good = env.write(
        "good.yml",
        &format!(
            "{}data:\n  mount: /var/lib\n  size: 256M\n",
            text.replace(
                "  - 127.0.0.1:5999/cairn/init:1\n",
                "  - 127.0.0.1:5999/cairn/init:1\n  - 127.0.0.1:5999/cairn/e2fsprogs:1\n"
            )
        ),
    );
    env.cairn()
        .args(["build", "--offline", "--arch", "amd64", "-o", "out"])
        .arg(&good)
        .assert()
        .success();
    let data = part(&env.path("out/good-efi.raw"), 4);
    assert_eq!(data.2 * 512, 256 * MIB);
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
        .arg(&good)
        .assert()
        .success();
    let listing = tool(
        Command::new("tar")
            .arg("xOf")
            .arg(env.path("out/good.tar"))
            .arg("etc/cairn/system.json"),
    );
    assert!(listing.contains("\"mount\": \"/var/lib\""), "{listing}");
}

#[test]
fn the_version_names_the_uki_and_a_bad_one_is_reported_at_its_line() {
    let env = Env::new();
    let config = system(&env);
    let text = std::fs::read_to_string(&config).expect("the config");
    let versioned = env.write("v.yml", &format!("{text}version: \"2.10\"\n"));
    let esp_files = |disk: &str| {
        let esp = env.path("esp.img");
        common::host::partition(&env.path(disk), 1, &esp);
        tool(
            Command::new("mdir")
                .args(["-/", "-b", "-i"])
                .arg(&esp)
                .arg("::/EFI/Linux"),
        )
    };
    env.cairn()
        .args(["build", "--offline", "--arch", "amd64", "-o", "out"])
        .arg(&versioned)
        .assert()
        .success();
    assert!(esp_files("out/v-efi.raw").contains("cairn-2.10.efi"));
    env.cairn()
        .args([
            "build",
            "--offline",
            "--arch",
            "amd64",
            "-o",
            "out",
            "--image-version",
            "3",
        ])
        .arg(&versioned)
        .assert()
        .success();
    let listing = esp_files("out/v-efi.raw");
    assert!(
        listing.contains("cairn-3.efi") && !listing.contains("2.10"),
        "{listing}"
    );
    env.cairn()
        .args(["pcr", "predict"])
        .arg(env.path("out/v-efi.raw"))
        .assert()
        .success()
        .stdout(predicate::str::contains("entry cairn-3.efi"));
    env.cairn()
        .args(["pcr", "predict", "--entry", "cairn-9.efi"])
        .arg(env.path("out/v-efi.raw"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("it has cairn-3.efi"));

    let bad = env.write("bad.yml", &format!("{text}version: 2.x\n"));
    env.cairn()
        .args(["build", "--offline", "--arch", "amd64", "-o", "out"])
        .arg(&bad)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad.yml:10:10: version"))
        .stderr(predicate::str::contains("numbers joined by dots"));
    env.cairn()
        .args(["build", "--offline", "-o", "out", "--image-version", "v3"])
        .arg(&config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not a version"));
}
