//! Raspberry Pi cards (`-f rpi`) booted on QEMU's raspi3b under TCG, as
//! `cairn run qemu CARD` does it: the kernel, initramfs, device tree and
//! cmdline.txt come out of the card's FAT partition, the card is the SD
//! card, and the init finds its root by the MBR PARTUUID and verifies it.
//! QEMU 7.2 (Debian 12) has no raspi4b, so a Pi 4 card is checked by its
//! structure in builder/tests/rpi.rs.

use std::os::unix::fs::FileExt;
use std::time::Duration;

use cairn_qemu_tests::{Arch, Built, Format, Guest, Options, build_config_as};

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

fn in_order(log: &str, markers: &[&str]) {
    let mut from = 0;
    for m in markers {
        match log[from..].find(m) {
            Some(at) => from += at + m.len(),
            None => panic!("{m:?} missing or out of order in:\n{log}"),
        }
    }
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
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(bad.target())
        .expect("open copy");
    let mut entry = [0u8; 16];
    file.read_exact_at(&mut entry, 446 + 16)
        .expect("MBR entry 2");
    let root = u64::from(u32::from_le_bytes(entry[8..12].try_into().expect("4"))) * 512;
    let mut bytes_used = [0u8; 8];
    file.read_exact_at(&mut bytes_used, root + 40)
        .expect("squashfs superblock");
    let at = root + u64::from_le_bytes(bytes_used) / 2;
    let mut b = [0u8; 1];
    file.read_exact_at(&mut b, at).expect("read");
    file.write_all_at(&[b[0] ^ 0x01], at).expect("flip");
    drop(file);
    let mut guest = Guest::boot(&bad, &Options::default()).unwrap_or_else(|e| panic!("{e}"));
    let line = guest
        .wait_for("FATAL", BOOT)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        line.contains("verif"),
        "the fatal line names verification: {line}"
    );
    let _ = guest.wait_exit(Duration::from_secs(60));
    let log = guest.log();
    assert!(
        !log.contains("pi onboot one"),
        "no container may run on a tampered root:\n{log}"
    );
}
