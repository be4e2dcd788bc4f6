//! `-f iso-efi` booted (x86_64): OVMF boots the image from a CD drive
//! through its El Torito EFI entry, and from a disk (a USB stick it was
//! written to) through its MBR's ESP partition; the UKI inside starts with
//! the whole root as its initrd, the services run, and the PCRs of a CD
//! boot equal `cairn pcr predict`.

use std::time::Duration;

use cairn_qemu_tests::{Arch, Format, Guest, Options, booted_pcrs, build_config_as, predict};

const SYSTEM: &str = r#"kernel:
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
    command: ["/bin/busybox", "sh", "-c", "echo hello-from-the-iso; touch /run/cairn/request/poweroff; sleep 60"]
"#;

#[test]
fn an_iso_efi_image_boots_from_a_cd_through_uefi_firmware() {
    boots(false);
}

#[test]
fn an_iso_efi_image_written_to_a_stick_boots_from_its_mbr_esp() {
    boots(true);
}

/// A whole-root UKI has no PCR 15 plan (its root is measured into PCR 11
/// with the rest of the UKI), so the service prints the PCRs at once.
const MEASURED: &str = r#"kernel:
  image: cairn/kernel:latest
  cmdline: "console=ttyS0"
init:
  - cairn/init:latest
  - cairn/runc:latest
  - cairn/containerd:latest
services:
  - name: pcrs
    image: cairn/busybox:latest
    binds: ["/run/cairn/request:/run/cairn/request"]
    command:
      - /bin/busybox
      - sh
      - -c
      - >-
        for p in 4 11 15; do echo "pcr-$p=$(cat /sys/class/tpm/tpm0/pcr-sha256/$p 2>/dev/null || echo none)"; done;
        echo pcrs-done; sleep 2; touch /run/cairn/request/poweroff; sleep 60
"#;

#[test]
fn an_iso_efi_image_booted_from_a_cd_has_the_predicted_pcrs() {
    let built = build_config_as("iso-measured", MEASURED, Arch::Amd64, Format::IsoEfi)
        .unwrap_or_else(|e| panic!("{e}"));
    let predicted = predict(&built.target());
    let booted = booted_pcrs(&built);
    for n in ["4", "11"] {
        assert_eq!(
            booted.get(n),
            predicted.get(n),
            "PCR {n}: booted {booted:?}, predicted {predicted:?}"
        );
    }
    assert_eq!(predicted.get("15"), None, "{predicted:?}");
    assert_eq!(
        booted.get("15").map(String::as_str),
        Some("0".repeat(64).as_str()),
        "nothing extends PCR 15 on a whole-root boot"
    );
}

fn boots(as_disk: bool) {
    let built = build_config_as("iso", SYSTEM, Arch::Amd64, Format::IsoEfi)
        .unwrap_or_else(|e| panic!("{e}"));
    let options = Options {
        limit: Duration::from_secs(400),
        as_disk,
        ..Options::default()
    };
    let mut guest = Guest::boot(&built, &options).unwrap_or_else(|e| panic!("{e}"));
    for marker in [
        "cairn-init: starting",
        "hello-from-the-iso",
        "reboot: Power down",
    ] {
        guest
            .wait_for(marker, Duration::from_secs(300))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(
        !guest.log().contains("cairn-init: fatal"),
        "{}",
        guest.log()
    );
}
