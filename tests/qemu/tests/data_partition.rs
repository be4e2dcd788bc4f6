//! The data partition of a UEFI disk (x86_64, OVMF), booted twice from one
//! writable disk that was made 256 MiB larger than the image, as a flashed
//! card or disk would be: the first boot grows the partition to the end of
//! the disk, formats it ext4 and mounts it on /var/lib before any container
//! runs, and a service writes a note there; the second boot finds the note
//! and neither grows nor formats again. On the host afterwards, sgdisk finds
//! the grown table sound and e2fsck finds the filesystem clean.

use std::process::Command;

use cairn_qemu_tests::disk_file::boot_writable;
use cairn_qemu_tests::{Arch, Built, Format, build_config_as};

const SYSTEM: &str = r#"kernel:
  image: cairn/kernel:latest
  cmdline: "console=ttyS0"
init:
  - cairn/init:latest
  - cairn/runc:latest
  - cairn/containerd:latest
  - cairn/e2fsprogs:latest
data:
  mount: /var/lib
  size: 32M
services:
  - name: keeper
    image: cairn/busybox:latest
    binds: ["/var/lib:/var/lib", "/run/cairn/request:/run/cairn/request"]
    command: ["/bin/busybox", "sh", "-c", "if [ -f /var/lib/keeper/note ]; then echo \"data-found-$(cat /var/lib/keeper/note)\"; else mkdir -p /var/lib/keeper && echo written-by-boot-one > /var/lib/keeper/note && sync && echo data-note-written; fi; touch /run/cairn/request/poweroff; sleep 60"]
"#;

const MIB: u64 = 1 << 20;

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("a host tool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_data_partition_grows_is_formatted_once_and_keeps_a_file_across_boots() {
    let built = build_config_as("data", SYSTEM, Arch::Amd64, Format::RawEfi)
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let disk = Built {
        dir: dir.path().to_path_buf(),
        ..built.clone()
    };
    std::fs::copy(built.target(), disk.target()).expect("copy the disk");
    let image_size = std::fs::metadata(disk.target()).expect("the disk").len();
    let (ok, out) = run(Command::new("qemu-img")
        .args(["resize", "-f", "raw"])
        .arg(disk.target())
        .arg(format!("{}", image_size + 256 * MIB)));
    assert!(ok, "{out}");

    let first = boot_writable(
        &disk,
        &["data: grew", "mounted on /var/lib", "data-note-written"],
    );
    let second = boot_writable(
        &disk,
        &["mounted on /var/lib", "data-found-written-by-boot-one"],
    );
    assert!(!second.contains("data: grew"), "{second}");
    assert!(!second.contains("mke2fs"), "formatted again:\n{second}");
    assert!(
        first.find("mounted on /var/lib") < first.find("keeper"),
        "{first}"
    );

    let (ok, table) = run(Command::new("sgdisk").arg("-v").arg(disk.target()));
    assert!(ok && table.contains("No problems found"), "{table}");
    let (_, info) = run(Command::new("sgdisk").args(["-i", "4"]).arg(disk.target()));
    let last: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("Last sector:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no last sector:\n{info}"));
    let first_sector: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("First sector:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no first sector:\n{info}"));
    let disk_bytes = image_size + 256 * MIB;
    assert!(
        (last + 1) * 512 + 2 * MIB > disk_bytes,
        "data ends at sector {last} of a {disk_bytes}-byte disk"
    );
    let part = dir.path().join("data.img");
    let (ok, out) = run(Command::new("dd")
        .arg(format!("if={}", disk.target().display()))
        .arg(format!("of={}", part.display()))
        .args([
            "bs=512",
            &format!("skip={first_sector}"),
            &format!("count={}", last + 1 - first_sector),
            "status=none",
        ]));
    assert!(ok, "{out}");
    let (ok, fsck) = run(Command::new("e2fsck").args(["-f", "-n"]).arg(&part));
    assert!(ok, "e2fsck on the data partition:\n{fsck}");
    let (_, label) = run(Command::new("e2label").arg(&part));
    assert_eq!(label.trim(), "cairn-data");
}
