//! `-f kernel+squashfs` booted (x86_64): `cairn run qemu NAME` attaches
//! NAME-squashfs.img read-only as the first disk, the small initrd's init
//! finds it by its squashfs, verifies every block under dm-verity and
//! switches to it, and the services run; a flipped byte in the image stops
//! the boot before any container.

use std::time::Duration;

use cairn_qemu_tests::{Arch, Format, Guest, Options, build_config_as, retry_on_stall};

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
    command: ["/bin/busybox", "sh", "-c", "echo hello-from-the-squashfs-root; touch /run/cairn/request/poweroff; sleep 60"]
"#;

fn options() -> Options {
    Options {
        limit: Duration::from_secs(300),
        ..Options::default()
    }
}

#[test]
fn a_kernel_squashfs_system_boots_from_its_verified_image() {
    let built = build_config_as("ksq", SYSTEM, Arch::Amd64, Format::KernelSquashfs)
        .unwrap_or_else(|e| panic!("{e}"));
    let image = built.dir.join("ksq-squashfs.img");
    assert!(image.exists(), "{}", image.display());
    retry_on_stall("the kernel+squashfs boot", || {
        let mut guest = Guest::boot(&built, &options())?;
        for marker in [
            "root: /dev/vda (the whole disk)",
            "root verified",
            "hello-from-the-squashfs-root",
            "reboot: Power down",
        ] {
            guest.wait_for(marker, Duration::from_secs(240))?;
        }
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}"));

    // The same system with one byte of its image flipped: refused.
    let dir = tempfile::tempdir().expect("a temporary folder");
    for f in [
        "ksq-kernel",
        "ksq-initrd.img",
        "ksq-cmdline",
        "ksq-squashfs.img",
    ] {
        std::fs::copy(built.dir.join(f), dir.path().join(f)).expect("copy the outputs");
    }
    let copy = dir.path().join("ksq-squashfs.img");
    let mut bytes = std::fs::read(&copy).expect("read the image");
    bytes[70_000] ^= 0x40;
    std::fs::write(&copy, bytes).expect("write the image");
    let broken = cairn_qemu_tests::Built {
        dir: dir.path().to_path_buf(),
        ..built.clone()
    };
    let guest = retry_on_stall("the tampered kernel+squashfs boot", || {
        let mut guest = Guest::boot(&broken, &options())?;
        guest.wait_for("reboot: Power down", Duration::from_secs(240))?;
        Ok(guest)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let log = guest.log();
    assert!(log.contains("verity"), "{log}");
    assert!(!log.contains("hello-from-the-squashfs-root"), "{log}");
}
