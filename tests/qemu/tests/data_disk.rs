//! Data disks through the format and mount packages with LinuxKit's
//! interfaces (x86_64, kernel+initrd): `cairn run qemu --disk FILE,size=N`
//! creates three blank disks; the first boot partitions and formats one by
//! name (dos, ext4, a label), one as the first blank disk (gpt, xfs) and
//! one by name as btrfs, mounts them by label and as the first free
//! partition, and writes a file on each; the second boot leaves them all
//! alone and finds the files.

use std::time::Duration;

use cairn_qemu_tests::{Arch, Guest, Options, build_config};

const DATA: &str = r#"kernel:
  image: cairn/kernel:latest
  cmdline: "console=ttyS0"
  modules: [xfs, btrfs]
init:
  - cairn/init:latest
  - cairn/runc:latest
  - cairn/containerd:latest
onboot:
  - name: format
    image: cairn/format:latest
    command: ["/usr/bin/format", "-type", "ext4", "-label", "DATA", "/dev/vda"]
  - name: format-any
    image: cairn/format:latest
    command: ["/usr/bin/format", "-type", "xfs", "-partition", "gpt"]
  - name: format-btrfs
    image: cairn/format:latest
    command: ["/usr/bin/format", "-type", "btrfs", "-label", "BTR", "/dev/vdc"]
  - name: mount
    image: cairn/mount:latest
    command: ["/usr/bin/mountie", "-label", "DATA", "/var/lib/data"]
  - name: mount-btrfs
    image: cairn/mount:latest
    command: ["/usr/bin/mountie", "-label", "BTR", "/var/lib/btr"]
  - name: mount-any
    image: cairn/mount:latest
    command: ["/usr/bin/mountie", "/var/lib/scratch"]
services:
  - name: keeper
    image: cairn/busybox:latest
    binds: ["/var/lib:/var/lib", "/run/cairn/request:/run/cairn/request"]
    command: ["/bin/busybox", "sh", "-c", "if [ -f /var/lib/data/note ]; then echo found-$(cat /var/lib/data/note)-$(cat /var/lib/scratch/note)-$(cat /var/lib/btr/note); else echo kept > /var/lib/data/note && echo also-kept > /var/lib/scratch/note && echo on-btrfs > /var/lib/btr/note && sync && echo wrote-the-notes; fi; touch /run/cairn/request/poweroff; sleep 60"]
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
    // `cairn run qemu` creates the missing disks, empty, at the size given.
    let (disk, scratch, btr) = (
        dir.path().join("data.img"),
        dir.path().join("scratch.qcow2"),
        dir.path().join("btr.img"),
    );
    let options = Options {
        limit: Duration::from_secs(400),
        disks: vec![
            format!("{},size=64M", disk.display()),
            format!("{},size=1G", scratch.display()),
            format!("{},size=256M", btr.display()),
        ],
        ..Options::default()
    };
    let first = boot(&options, &built);
    assert_eq!(
        std::fs::metadata(&disk).map(|m| m.len()).ok(),
        Some(64 << 20)
    );
    for marker in [
        "format: /dev/vda: one dos partition over 64 MiB",
        "format: /dev/vda1 is ext4 labelled DATA",
        "format: /dev/vdb: one gpt partition over 1024 MiB",
        "format: /dev/vdb1 is xfs",
        "mountie: mounted /dev/vda1 (ext4, label DATA) on /var/lib/data",
        "mountie: mounted /dev/vdb1 (xfs) on /var/lib/scratch",
        "format: /dev/vdc1 is btrfs labelled BTR",
        "mountie: mounted /dev/vdc1 (btrfs, label BTR) on /var/lib/btr",
        "wrote-the-notes",
    ] {
        assert!(first.contains(marker), "{marker:?} missing in:\n{first}");
    }
    let second = boot(&options, &built);
    for marker in [
        "format: /dev/vda already holds an MBR partition table; left alone",
        "format: no blank disk found; nothing formatted",
        "mountie: mounted /dev/vda1 (ext4, label DATA) on /var/lib/data",
        "format: /dev/vdc already holds an MBR partition table; left alone",
        "found-kept-also-kept-on-btrfs",
    ] {
        assert!(second.contains(marker), "{marker:?} missing in:\n{second}");
    }
    assert!(!second.contains("partition over"), "{second}");
}
