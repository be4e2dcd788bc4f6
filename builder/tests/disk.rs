//! `cairn build -f raw-efi | qcow2-efi | uki | squashfs` through the binary,
//! each output checked by the host's own tools: sgdisk, fsck.fat, mtools,
//! unsquashfs, veritysetup, qemu-img and objdump. The UEFI stub is Debian's
//! (systemd-boot-efi on the host); its own PE file stands in for the kernel.

mod common;

use std::os::unix::fs::FileExt;
use std::process::Command;

use common::cli::Env;
use common::host::{partition, tool, word};
use predicates::prelude::*;

use common::uefi::{SYSTEM, system};

#[test]
fn raw_efi_disk_passes_sgdisk_fsck_unsquashfs_and_veritysetup() {
    let env = Env::new();
    let config = system(&env);
    env.cairn()
        .args(["build", "--offline", "--arch", "amd64", "-o", "out"])
        .arg(&config)
        .assert()
        .success()
        .stderr(predicate::str::contains("built system-efi.raw"));
    let disk = env.path("out/system-efi.raw");
    let gpt = tool(Command::new("sgdisk").arg("-v").arg(&disk));
    assert!(gpt.contains("No problems found"), "{gpt}");

    let esp = env.path("esp.img");
    partition(&disk, 1, &esp);
    tool(Command::new("fsck.fat").arg("-n").arg(&esp));
    // systemd-boot at the boot path picks the UKI from EFI/Linux.
    let listing = tool(
        Command::new("mdir")
            .args(["-/", "-b", "-i"])
            .arg(&esp)
            .arg("::/"),
    );
    for f in [
        "::/EFI/BOOT/BOOTX64.EFI",
        "::/EFI/Linux/cairn-0.efi",
        "::/loader/loader.conf",
    ] {
        assert!(listing.contains(f), "{f} missing:\n{listing}");
    }
    let manager = env.path("bootx64.efi");
    tool(
        Command::new("mcopy")
            .args(["-n", "-i"])
            .arg(&esp)
            .arg("::/EFI/BOOT/BOOTX64.EFI")
            .arg(&manager),
    );
    let manager = std::fs::read(&manager).expect("the boot manager");
    let debian =
        std::fs::read("/usr/lib/systemd/boot/efi/systemd-bootx64.efi").expect("systemd-boot");
    assert!(manager == debian, "BOOTX64.EFI is Debian's systemd-boot");
    let conf = env.path("loader.conf");
    tool(
        Command::new("mcopy")
            .args(["-n", "-i"])
            .arg(&esp)
            .arg("::/loader/loader.conf")
            .arg(&conf),
    );
    let conf = std::fs::read_to_string(&conf).expect("loader.conf");
    assert!(
        conf.contains("timeout 0") && conf.contains("editor no"),
        "{conf}"
    );
    let uki = env.path("uki.efi");
    tool(
        Command::new("mcopy")
            .args(["-n", "-i"])
            .arg(&esp)
            .arg("::/EFI/Linux/cairn-0.efi")
            .arg(&uki),
    );
    let osrel = env.path("osrel");
    tool(
        Command::new("objcopy")
            .args(["-O", "binary", "--only-section=.osrel"])
            .arg(&uki)
            .arg(&osrel),
    );
    let osrel = std::fs::read_to_string(&osrel).expect("os-release");
    assert!(
        osrel.contains("IMAGE_VERSION=0\n") && osrel.contains("IMAGE_ID=system\n"),
        "{osrel}"
    );
    let sections = tool(Command::new("objdump").arg("-h").arg(&uki));
    for s in [".osrel", ".cmdline", ".initrd", ".cairn", ".linux"] {
        assert!(sections.contains(s), "{s} missing:\n{sections}");
    }
    let cmdline_file = env.path("cmdline");
    tool(
        Command::new("objcopy")
            .args(["-O", "binary", "--only-section=.cmdline"])
            .arg(&uki)
            .arg(&cmdline_file),
    );
    let cmdline = std::fs::read_to_string(&cmdline_file).expect("cmdline");
    assert!(cmdline.starts_with("console=ttyS0 "), "{cmdline}");

    let root = env.path("root.img");
    partition(&disk, 2, &root);
    let listing = tool(Command::new("unsquashfs").arg("-l").arg(&root));
    assert!(listing.contains("squashfs-root/etc/motd"), "{listing}");
    assert!(listing.contains("squashfs-root/sbin/init"), "{listing}");
    let roothash = word(&cmdline, "roothash=");
    let verity: Vec<&str> = word(&cmdline, "cairn.verity=").split(',').collect();
    let data_blocks: u64 = verity[0].parse().expect("data blocks");
    let hash_offset = format!("--hash-offset={}", data_blocks * 4096);
    tool(
        Command::new("veritysetup")
            .args(["verify", &hash_offset])
            .arg(&root)
            .arg(&root)
            .arg(roothash),
    );
    let partuuid = word(&cmdline, "cairn.root=PARTUUID=");
    let info = tool(Command::new("sgdisk").args(["-i", "2"]).arg(&disk));
    assert!(
        info.to_lowercase().contains(partuuid),
        "the command line's PARTUUID {partuuid} is root A's:\n{info}"
    );

    // A flipped byte in the squashfs is caught by the hash tree.
    let file = std::fs::OpenOptions::new()
        .write(true)
        .read(true)
        .open(&root)
        .expect("root");
    file.write_all_at(b"\xff", 100).expect("flip");
    let bad = Command::new("veritysetup")
        .args(["verify", &hash_offset])
        .arg(&root)
        .arg(&root)
        .arg(roothash)
        .output()
        .expect("veritysetup");
    assert!(
        !bad.status.success(),
        "a tampered root must fail verification"
    );
}

#[test]
fn every_disk_format_is_reproducible_and_predict_reads_the_disk() {
    let env = Env::new();
    let config = system(&env);
    for format in ["raw-efi", "qcow2-efi", "uki", "squashfs"] {
        for dir in ["a", "b"] {
            env.cairn()
                .args([
                    "build",
                    "--offline",
                    "--arch",
                    "amd64",
                    "-f",
                    format,
                    "-o",
                    dir,
                ])
                .arg(&config)
                .assert()
                .success();
        }
    }
    let names = [
        "system-efi.qcow2",
        "system-efi.raw",
        "system.efi",
        "system.squashfs",
    ];
    for name in names {
        let a = std::fs::read(env.path("a").join(name)).expect("a");
        let b = std::fs::read(env.path("b").join(name)).expect("b");
        assert!(a == b, "{name} differs between two builds");
    }
    let (raw, qcow2) = (env.path("a/system-efi.raw"), env.path("a/system-efi.qcow2"));
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
    let uki = tool(
        Command::new("objdump")
            .arg("-h")
            .arg(env.path("a/system.efi")),
    );
    assert!(uki.contains(".initrd") && !uki.contains(".cairn"), "{uki}");

    let predicted = env
        .cairn()
        .args(["pcr", "predict", "--json"])
        .arg(&raw)
        .output()
        .expect("predict");
    assert!(
        predicted.status.success(),
        "{}",
        String::from_utf8_lossy(&predicted.stderr)
    );
    let pcrs: serde_json::Value = serde_json::from_slice(&predicted.stdout).expect("json");
    for n in ["4", "11", "15"] {
        assert_eq!(pcrs[n].as_str().map(str::len), Some(64), "PCR {n}: {pcrs}");
    }
    let from_uki = env
        .cairn()
        .args(["pcr", "predict", "--json"])
        .arg(env.path("a/system.efi"))
        .output()
        .expect("predict");
    let uki_pcrs: serde_json::Value = serde_json::from_slice(&from_uki.stdout).expect("json");
    assert_ne!(
        uki_pcrs["11"], pcrs["11"],
        "the disk's UKI has another command line"
    );
}

#[test]
fn a_disk_without_a_stub_image_says_how_to_get_one() {
    let env = Env::new();
    system(&env);
    let config = env.write(
        "nostub.yml",
        &SYSTEM.replace("  stub: 127.0.0.1:5999/cairn/stub:1\n", ""),
    );
    env.cairn()
        .args(["build", "--offline", "--arch", "amd64", "-o", "out"])
        .arg(&config)
        .assert()
        .failure()
        .stderr(predicate::str::contains("cairn/systemd-stub"));
}

#[test]
fn predict_refuses_a_file_that_is_no_image() {
    let env = Env::new();
    let junk = env.write("junk.raw", "not a disk");
    env.cairn()
        .args(["pcr", "predict"])
        .arg(&junk)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("neither a UKI nor a GPT disk"));
}

#[test]
fn kernel_squashfs_writes_a_verified_root_image_and_a_command_line_that_finds_it() {
    let env = Env::new();
    let config = system(&env);
    for out in ["out", "again"] {
        env.cairn()
            .args([
                "build",
                "--offline",
                "--arch",
                "amd64",
                "-f",
                "kernel+squashfs",
                "-o",
                out,
            ])
            .arg(&config)
            .assert()
            .success();
    }
    for f in [
        "system-kernel",
        "system-initrd.img",
        "system-cmdline",
        "system-squashfs.img",
    ] {
        let (a, b) = (
            env.path(&format!("out/{f}")),
            env.path(&format!("again/{f}")),
        );
        assert_eq!(
            std::fs::read(&a).expect("output"),
            std::fs::read(&b).expect("output"),
            "{f} differs"
        );
    }
    let cmdline = std::fs::read_to_string(env.path("out/system-cmdline")).expect("cmdline");
    assert!(cmdline.contains(" cairn.root=disk "), "{cmdline}");
    let image = env.path("out/system-squashfs.img");
    let listing = tool(Command::new("unsquashfs").arg("-l").arg(&image));
    assert!(listing.contains("squashfs-root/etc/motd"), "{listing}");
    let verity: Vec<&str> = word(&cmdline, "cairn.verity=").split(',').collect();
    let data_blocks: u64 = verity[0].parse().expect("data blocks");
    tool(
        Command::new("veritysetup")
            .args(["verify", &format!("--hash-offset={}", data_blocks * 4096)])
            .arg(&image)
            .arg(&image)
            .arg(word(&cmdline, "roothash=")),
    );
    // The initrd is a disk's small one: the init, not the root's files.
    let listing = tool(
        Command::new("sh")
            .arg("-c")
            .arg("zcat \"$0\" | cpio -t")
            .arg(env.path("out/system-initrd.img")),
    );
    assert!(listing.contains("sbin/init"), "{listing}");
    assert!(!listing.contains("etc/motd"), "{listing}");
}

#[test]
fn iso_efi_is_an_el_torito_efi_image_whose_esp_holds_the_uki() {
    let env = Env::new();
    let config = system(&env);
    for out in ["out", "again"] {
        env.cairn()
            .args([
                "build",
                "--offline",
                "--arch",
                "amd64",
                "-f",
                "iso-efi",
                "-o",
                out,
            ])
            .arg(&config)
            .assert()
            .success();
    }
    let iso = env.path("out/system-efi.iso");
    assert_eq!(
        std::fs::read(&iso).expect("iso"),
        std::fs::read(env.path("again/system-efi.iso")).expect("iso"),
        "two builds differ"
    );
    let report = tool(Command::new("xorriso").arg("-indev").arg(&iso).args([
        "-report_el_torito",
        "plain",
        "-report_system_area",
        "plain",
    ]));
    assert!(
        report.contains("El Torito boot img :   1  UEFI  y   none"),
        "{report}"
    );
    assert!(
        report.contains("MBR partition path :   1  /EFI.IMG"),
        "{report}"
    );
    let esp = env.path("esp.img");
    tool(
        Command::new("xorriso")
            .args(["-osirrox", "on", "-indev"])
            .arg(&iso)
            .args(["-extract", "/EFI.IMG"])
            .arg(&esp),
    );
    tool(Command::new("fsck.fat").arg("-n").arg(&esp));
    let uki = env.path("uki.efi");
    tool(
        Command::new("mcopy")
            .args(["-n", "-i"])
            .arg(&esp)
            .arg("::/EFI/BOOT/BOOTX64.EFI")
            .arg(&uki),
    );
    let sections = tool(Command::new("objdump").arg("-h").arg(&uki));
    assert!(
        sections.contains(".initrd") && sections.contains(".linux"),
        "{sections}"
    );
    // pcr predict reads the UKI out of the ISO too.
    env.cairn()
        .args(["pcr", "predict"])
        .arg(&iso)
        .assert()
        .success()
        .stdout(predicate::str::contains("11"));
}
