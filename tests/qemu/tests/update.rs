//! The lifecycle of a UEFI disk (x86_64, OVMF) after its first flash, each
//! boot a new QEMU on one writable disk that was made 256 MiB larger than
//! the image, as a card or a disk larger than the image would be:
//!
//! 1. version 1 boots: the init grows the data partition to the end of the
//!    disk, formats it ext4 and mounts it on /var/lib before any container,
//!    and a service writes a note there;
//! 2. `cairn update` puts version 2 (`-f update`) into slot B, offline;
//! 3. the next boot starts version 2 from slot B on trial; the note is
//!    still there, nothing is grown or formatted again, and once the
//!    service stayed up the init marks version 2 good;
//! 4. the cold boot after that is version 2 without a counter.
//!
//! Afterwards, on the host, sgdisk finds the grown table sound and e2fsck
//! finds the data partition clean.

use std::process::Command;

use cairn_qemu_tests::disk_file::{boot_writable, copy_of, partition};
use cairn_qemu_tests::{Arch, Format, build_config_as, cairn};

const MIB: u64 = 1 << 20;

fn system(version: &str) -> String {
    format!(
        r#"kernel:
  image: cairn/kernel:latest
  cmdline: "console=ttyS0"
init:
  - cairn/init:latest
  - cairn/runc:latest
  - cairn/containerd:latest
  - cairn/e2fsprogs:latest
version: "{version}"
update:
  good_after: 5
data:
  mount: /var/lib
  size: 32M
services:
  - name: app
    image: cairn/busybox:latest
    binds: ["/var/lib:/var/lib", "/run/cairn:/run/cairn"]
    command: ["/bin/busybox", "sh", "-c", "if [ -f /var/lib/app/note ]; then echo \"note-says-$(cat /var/lib/app/note)\"; else mkdir -p /var/lib/app && echo from-version-one > /var/lib/app/note && sync && echo note-written; fi; for i in $(seq 60); do grep -q '\"counted\":false\\|\"blessed\":true' /run/cairn/boot.json 2>/dev/null && break; sleep 1; done; echo \"boot-json $(cat /run/cairn/boot.json)\"; touch /run/cairn/request/poweroff; sleep 60"]
"#
    )
}

fn tool(cmd: &mut Command) -> String {
    let out = cmd.output().expect("a host tool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?}: {text}");
    text
}

#[test]
fn an_offline_update_boots_on_trial_is_marked_good_and_keeps_the_grown_data_partition() {
    let v1 = build_config_as("app", &system("1"), Arch::Amd64, Format::RawEfi)
        .unwrap_or_else(|e| panic!("{e}"));
    let v2 = build_config_as("app", &system("2"), Arch::Amd64, Format::Update)
        .unwrap_or_else(|e| panic!("{e}"));
    let (dir, disk) = copy_of(&v1, "device");
    let disk_bytes = std::fs::metadata(disk.target()).expect("the disk").len() + 256 * MIB;
    tool(
        Command::new("qemu-img")
            .args(["resize", "-f", "raw"])
            .arg(disk.target())
            .arg(disk_bytes.to_string()),
    );

    let first = boot_writable(
        &disk,
        &[
            "data: grew",
            "mounted on /var/lib",
            "note-written",
            "boot-json {\"entry\":\"cairn-1\",\"counted\":false}",
        ],
    );
    assert!(
        first.find("mounted on /var/lib") < first.find("service app"),
        "the data partition is mounted before the service starts:\n{first}"
    );
    let update = tool(
        Command::new(cairn().unwrap_or_else(|e| panic!("{e}")))
            .arg("update")
            .arg(v2.target())
            .arg(disk.target()),
    );
    assert!(update.contains("version 2 goes to slot 3"), "{update}");
    let trial = boot_writable(
        &disk,
        &[
            "boot: cairn-2 is on trial",
            "note-says-from-version-one",
            "boot: cairn-2 is good",
            "boot-json {\"entry\":\"cairn-2\",\"counted\":true,\"blessed\":true}",
        ],
    );
    assert!(
        !trial.contains("data: grew") && !trial.contains("formatting"),
        "{trial}"
    );
    boot_writable(
        &disk,
        &[
            "note-says-from-version-one",
            "boot-json {\"entry\":\"cairn-2\",\"counted\":false}",
        ],
    );

    let table = tool(Command::new("sgdisk").arg("-v").arg(disk.target()));
    assert!(table.contains("No problems found"), "{table}");
    let (start, end) = partition(&disk.target(), 4);
    assert!(
        end + 2 * MIB > disk_bytes,
        "data ends at {end} of {disk_bytes} bytes"
    );
    let part = dir.path().join("data.img");
    tool(
        Command::new("dd")
            .arg(format!("if={}", disk.target().display()))
            .arg(format!("of={}", part.display()))
            .args([
                "bs=1M",
                &format!("skip={}", start / MIB),
                &format!("count={}", (end - start) / MIB),
                "status=none",
            ]),
    );
    tool(Command::new("e2fsck").args(["-f", "-n"]).arg(&part));
    let label = tool(Command::new("e2label").arg(&part));
    assert_eq!(label.trim(), "cairn-data");
}
