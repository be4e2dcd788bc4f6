//! A data disk through the format and mount packages (x86_64,
//! kernel+initrd): `cairn run qemu --disk FILE,size=64M` creates it, the
//! first boot finds it blank, formats it, mounts
//! it for the whole system and writes a file; the second boot of the same
//! disk leaves it alone and finds the file.

use std::time::Duration;

use cairn_qemu_tests::{Arch, Guest, Options, build_config};

const DATA: &str = r#"kernel:
  image: cairn/kernel:latest
  cmdline: "console=ttyS0"
init:
  - cairn/init:latest
  - cairn/runc:latest
  - cairn/containerd:latest
onboot:
  - name: format
    image: cairn/format:latest
    command: ["/usr/local/bin/format", "/dev/vda"]
  - name: mount
    image: cairn/mount:latest
    command: ["/bin/mount", "-t", "ext4", "/dev/vda", "/var/lib/data"]
    runtime:
      mkdir: ["/var/lib/data"]
services:
  - name: keeper
    image: cairn/busybox:latest
    binds: ["/var/lib/data:/data", "/run/cairn/request:/run/cairn/request"]
    command: ["/bin/busybox", "sh", "-c", "if [ -f /data/note ]; then echo found-$(cat /data/note); else echo kept-across-reboots > /data/note && sync && echo wrote-the-note; fi; touch /run/cairn/request/poweroff; sleep 60"]
"#;

fn boot(options: &Options, built: &cairn_qemu_tests::Built) -> String {
    let mut guest = Guest::boot(built, options).unwrap_or_else(|e| panic!("{e}"));
    guest
        .wait_for("reboot: Power down", Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{e}"));
    let log = guest.log();
    assert!(!log.contains("cairn-init: fatal"), "{log}");
    log
}

#[test]
fn a_data_disk_is_formatted_once_and_keeps_its_files_across_reboots() {
    let built = build_config("data-disk", DATA, Arch::Amd64).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    // `cairn run qemu` creates the missing disk, empty, at the size given.
    let disk = dir.path().join("data.img");
    let options = Options {
        limit: Duration::from_secs(400),
        disks: vec![format!("{},size=64M", disk.display())],
        ..Options::default()
    };
    let first = boot(&options, &built);
    assert_eq!(
        std::fs::metadata(&disk).map(|m| m.len()).ok(),
        Some(64 << 20)
    );
    for marker in [
        "format: /dev/vda is blank; writing ext4",
        "onboot 000-format exited with status 0",
        "onboot 001-mount exited with status 0",
        "wrote-the-note",
    ] {
        assert!(first.contains(marker), "{marker:?} missing in:\n{first}");
    }
    let second = boot(&options, &built);
    for marker in [
        "format: /dev/vda already holds data; left alone",
        "onboot 001-mount exited with status 0",
        "found-kept-across-reboots",
    ] {
        assert!(second.contains(marker), "{marker:?} missing in:\n{second}");
    }
    assert!(!second.contains("writing ext4"), "{second}");
}
