//! Raspberry Pi cards (`-f rpi`) booted on QEMU's raspi3b under TCG, as
//! `cairn run qemu CARD` does it: the kernel, initramfs, device tree and
//! cmdline.txt come out of the card's FAT partition, the card is the SD
//! card, and the init finds its root by the MBR PARTUUID and verifies it.
//! QEMU 7.2 (Debian 12) has no raspi4b: a Pi 4 card's structure is checked
//! in builder/tests/rpi.rs, and here its own kernel, initramfs and root boot
//! on raspi3b with the Pi 3 device tree (`cairn run qemu --dtb`).

use std::os::unix::fs::FileExt;
use std::process::Command;
use std::time::Duration;

use cairn_qemu_tests::{
    Arch, Built, Format, Guest, Options, build_as, build_config_as, cairn,
    fatal_before_any_container, flip_squashfs_byte, in_order, test_store,
};

const BOOT: Duration = Duration::from_secs(240);

/// The mini UART (ttyS1) is the console, as on a real board's GPIO header.
const PI: &str = r#"kernel:
  image: cairn/kernel:latest
  cmdline: "console=ttyS1,115200"
init:
  - cairn/init:latest
  - cairn/runc:latest
  - cairn/containerd:latest
onboot:
  - name: first
    image: cairn/busybox:latest
    command: ["/bin/busybox", "echo", "pi onboot one"]
  - name: second
    image: cairn/busybox:latest
    command: ["/bin/busybox", "echo", "pi onboot two"]
services:
  - name: stopper
    image: cairn/busybox:latest
    binds: ["/run/cairn/request:/run/cairn/request"]
    command: ["/bin/busybox", "sh", "-c", "echo pi service up; sleep 3; touch /run/cairn/request/poweroff; sleep 60"]
rpi:
  board: rpi3
"#;

fn built() -> Built {
    build_config_as("pi", PI, Arch::Arm64, Format::Rpi3).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_pi3_card_boots_on_raspi3b_verifies_its_root_runs_its_containers_and_powers_off() {
    let built = built();
    let mut guest = Guest::boot(
        &built,
        &Options {
            limit: Duration::from_secs(400),
            ..Options::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    guest
        .wait_for("pi service up", BOOT)
        .unwrap_or_else(|e| panic!("{e}"));
    let booted = guest.started.elapsed();
    let status = guest
        .wait_exit(Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("{e}"));
    let log = guest.log();
    assert!(status.success(), "cairn run qemu: {status}\n{log}");
    in_order(
        &log,
        &[
            "root: /dev/mmcblk0p2 (PARTUUID ",
            "pi onboot one",
            "pi onboot two",
            "pi service up",
            "reboot: Power down",
        ],
    );
    eprintln!(
        "Pi 3 card: first service up in {:.1}s",
        booted.as_secs_f64()
    );
}

#[test]
fn a_flipped_byte_in_a_pi_cards_root_stops_the_boot_before_any_container() {
    let built = built();
    let dir = tempfile::tempdir().expect("tmp");
    let bad = Built {
        dir: dir.path().to_path_buf(),
        name: "tampered".into(),
        ..built.clone()
    };
    std::fs::copy(built.target(), bad.target()).expect("copy the card");
    let file = std::fs::File::open(bad.target()).expect("open copy");
    let mut entry = [0u8; 16];
    file.read_exact_at(&mut entry, 446 + 16)
        .expect("MBR entry 2");
    let root = u64::from(u32::from_le_bytes(entry[8..12].try_into().expect("4"))) * 512;
    drop(file);
    flip_squashfs_byte(&bad.target(), root);
    fatal_before_any_container(&bad, "pi onboot one", BOOT);
}

/// The file `name` of a card's FAT boot partition.
fn boot_file(card: &std::path::Path, name: &str) -> Vec<u8> {
    boot_file_bytes(&std::fs::read(card).expect("card"), name)
}

#[test]
fn a_pi4_cards_kernel_initramfs_and_root_boot_on_raspi3b_with_the_pi3_device_tree() {
    let pi3 = built();
    let pi4 = build_config_as(
        "pi",
        &PI.replace("board: rpi3", "board: rpi4"),
        Arch::Arm64,
        Format::Rpi4,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for name in [
        "start4.elf",
        "fixup4.dat",
        "bcm2711-rpi-4-b.dtb",
        "config.txt",
    ] {
        assert!(!boot_file(&pi4.target(), name).is_empty(), "{name}");
    }
    let dir = tempfile::tempdir().expect("tmp");
    let dtb = dir.path().join("bcm2837-rpi-3-b.dtb");
    std::fs::write(&dtb, boot_file(&pi3.target(), "bcm2837-rpi-3-b.dtb")).expect("dtb");
    let mut guest = Guest::boot(
        &pi4,
        &Options {
            limit: Duration::from_secs(400),
            args: vec!["--dtb".into(), dtb.display().to_string()],
            ..Options::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    guest
        .wait_for("pi onboot one", BOOT)
        .unwrap_or_else(|e| panic!("{e}"));
    guest.quit().unwrap_or_else(|e| panic!("{e}"));
    let _ = guest.wait_exit(Duration::from_secs(30));
    in_order(
        &guest.log(),
        &[
            "root: /dev/mmcblk0p2 (PARTUUID ",
            "root verified",
            "pi onboot one",
        ],
    );
}

#[test]
fn the_pi_example_builds_the_same_card_twice_with_the_real_packages() {
    // Fills the test store with the example's packages.
    build_as("examples/rpi.yml", Arch::Arm64, Format::Rpi3).unwrap_or_else(|e| panic!("{e}"));
    let cairn = cairn().unwrap_or_else(|e| panic!("{e}"));
    let example = cairn_qemu_tests::repo_root().join("examples/rpi.yml");
    let mut cards = Vec::new();
    for _ in 0..2 {
        let out = tempfile::tempdir().expect("tmp");
        let run = Command::new(&cairn)
            .arg("--store")
            .arg(test_store())
            .args(["-q", "build", "--offline", "-f", "rpi", "--name", "x", "-o"])
            .arg(out.path())
            .arg(&example)
            .output()
            .expect("cairn build runs");
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        cards.push(std::fs::read(out.path().join("x-rpi3.img")).expect("card"));
    }
    assert!(
        cards[0] == cards[1],
        "two builds of examples/rpi.yml differ"
    );
    let config = String::from_utf8_lossy(&boot_file_bytes(&cards[0], "config.txt")).into_owned();
    assert!(config.contains("core_freq=250"), "{config}");
}

fn boot_file_bytes(card: &[u8], name: &str) -> Vec<u8> {
    let table = cairn_boot::mbr::parse(&card[..512]).expect("an MBR");
    let boot = table.boot_fat().expect("a FAT partition 1");
    let part = card[boot.offset() as usize..(boot.offset() + boot.bytes()) as usize].to_vec();
    cairn_boot::fat::read_file(&mut std::io::Cursor::new(part), name).expect(name)
}

#[test]
fn a_card_flashed_onto_a_32_gib_card_boots_with_the_same_partitions_and_root() {
    let built = built();
    let dir = tempfile::tempdir().expect("tmp");
    let card = dir.path().join("sd-32g.img");
    // A 32 GiB card, sparse: only what is written takes room.
    std::fs::File::create(&card)
        .and_then(|f| f.set_len(32 << 30))
        .expect("a sparse 32 GiB file");
    let cairn = cairn().unwrap_or_else(|e| panic!("{e}"));
    let flash = Command::new(&cairn)
        .args(["-q", "flash", "--force", "--yes"])
        .arg(built.target())
        .arg(&card)
        .output()
        .expect("cairn flash runs");
    assert!(
        flash.status.success(),
        "{}",
        String::from_utf8_lossy(&flash.stderr)
    );
    assert!(String::from_utf8_lossy(&flash.stdout).contains("verified"));
    let image = std::fs::read(built.target()).expect("image");
    let file = std::fs::File::open(&card).expect("card");
    let mut head = vec![0u8; image.len()];
    file.read_exact_at(&mut head, 0).expect("read back");
    assert!(
        head == image,
        "the card starts with the image, byte for byte"
    );
    let flashed = Built {
        dir: dir.path().to_path_buf(),
        name: "sd-32g".into(),
        format: Format::Rpi3,
        ..built.clone()
    };
    std::fs::rename(&card, flashed.target()).expect("name it as a card");
    let mut guest = Guest::boot(
        &flashed,
        &Options {
            limit: Duration::from_secs(400),
            ..Options::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    guest
        .wait_for("pi onboot one", BOOT)
        .unwrap_or_else(|e| panic!("{e}"));
    guest.quit().unwrap_or_else(|e| panic!("{e}"));
    let _ = guest.wait_exit(Duration::from_secs(30));
    in_order(
        &guest.log(),
        &[
            "mmcblk0: mmc0:",
            "32.0 GiB",
            "root: /dev/mmcblk0p2",
            "root verified",
        ],
    );
}
