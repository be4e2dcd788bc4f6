//! The `-bios` formats booted by QEMU's PC BIOS (SeaBIOS), x86_64 only:
//! `iso-bios` from a CD drive through its El Torito entry, `raw-bios` and
//! `qcow2-bios` from a disk through the hybrid MBR code, ISOLINUX and then
//! the init, which checks the dm-verity root named on ISOLINUX's command
//! line before anything runs from it.

use std::time::Duration;

use cairn_qemu_tests::{Arch, Format, Guest, Options, build_config_as};

fn system(marker: &str) -> String {
    format!(
        r#"kernel:
  image: cairn/kernel:latest
  cmdline: "console=ttyS0"
init:
  - cairn/init:latest
  - cairn/runc:latest
  - cairn/containerd:latest
services:
  - name: hello
    image: cairn/busybox:latest
    binds: ["/run/cairn/request:/run/cairn/request"]
    command: ["/bin/busybox", "sh", "-c", "echo {marker}; touch /run/cairn/request/poweroff; sleep 60"]
"#
    )
}

/// Boots `format` and waits for `loader` lines, the init, `root` lines,
/// the service's `marker` and the power-off, in that order.
fn boots(format: Format, marker: &str, loader: &[&str], root: &[&str]) {
    boots_with(format, false, marker, loader, root);
}

fn boots_with(format: Format, as_disk: bool, marker: &str, loader: &[&str], root: &[&str]) {
    let built = build_config_as("bios", &system(marker), Arch::Amd64, format)
        .unwrap_or_else(|e| panic!("{e}"));
    let options = Options {
        limit: Duration::from_secs(400),
        as_disk,
        ..Options::default()
    };
    let mut guest = Guest::boot(&built, &options).unwrap_or_else(|e| panic!("{e}"));
    let order = (loader.iter().copied())
        .chain(["cairn-init: starting"])
        .chain(root.iter().copied())
        .chain([marker, "reboot: Power down"]);
    for marker in order {
        guest
            .wait_for(marker, Duration::from_secs(300))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let log = guest.log();
    assert!(log.contains("SeaBIOS"), "not booted by the BIOS:\n{log}");
    assert!(!log.contains("cairn-init: fatal"), "{log}");
}

#[test]
fn an_iso_bios_image_boots_from_a_cd_through_isolinux() {
    boots(
        Format::IsoBios,
        "hello-from-the-bios-iso",
        &["ISOLINUX 6"],
        &[],
    );
}

#[test]
fn an_iso_bios_image_written_to_a_stick_boots_through_its_hybrid_mbr() {
    boots_with(
        Format::IsoBios,
        true,
        "hello-from-the-bios-stick",
        &["Booting from Hard Disk", "ISOLINUX 6"],
        &[],
    );
}

#[test]
fn a_raw_bios_disk_boots_through_its_mbr_and_verifies_its_root() {
    boots(
        Format::RawBios,
        "hello-from-the-bios-disk",
        &["Booting from Hard Disk", "ISOLINUX 6"],
        &["verity: root verified"],
    );
}

#[test]
fn a_qcow2_bios_disk_boots_like_the_raw_one() {
    boots(
        Format::Qcow2Bios,
        "hello-from-the-qcow2-bios-disk",
        &["Booting from Hard Disk"],
        &["verity: root verified"],
    );
}
