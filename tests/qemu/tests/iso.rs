//! `-f iso-efi` booted (x86_64): OVMF boots the image from a CD drive
//! through its El Torito EFI entry, the UKI inside starts with the whole
//! root as its initrd, and the services run.

use std::time::Duration;

use cairn_qemu_tests::{Arch, Format, Guest, Options, build_config_as};

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
    let built = build_config_as("iso", SYSTEM, Arch::Amd64, Format::IsoEfi)
        .unwrap_or_else(|e| panic!("{e}"));
    let options = Options {
        limit: Duration::from_secs(400),
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
