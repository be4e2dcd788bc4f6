//! systemd-boot's boot counting on a UEFI disk (x86_64, OVMF), booted from
//! one writable disk as a fleet device would be, each boot a new QEMU: v2's
//! UKI pins a root this disk does not have, so it can never come up. Put
//! on the ESP as `cairn-2+2.efi` (newer, so systemd-boot tries it first),
//! it fails twice, then systemd-boot goes back to v1 by itself and leaves
//! `cairn-2+0-2.efi` last. (Blessing a version that comes up is the
//! `update` test's.) The ESP is edited with mtools.

use std::process::Command;

use cairn_qemu_tests::disk_file::{boot_writable, copy_of, partition};
use cairn_qemu_tests::{Arch, Built, Format, build_config_as};

/// A service that stays up until the init has judged the boot, then shows
/// what the init wrote and powers off.
fn system(version: &str, extra: &str) -> String {
    format!(
        r#"kernel:
  image: cairn/kernel:latest
  cmdline: "console=ttyS0"
init:
  - cairn/init:latest
  - cairn/runc:latest
  - cairn/containerd:latest
version: "{version}"
update:
  good_after: 5
services:
  - name: judge
    image: cairn/busybox:latest
    binds: ["/run/cairn:/run/cairn"]
    command: ["/bin/busybox", "sh", "-c", "for i in $(seq 60); do grep -q '\"counted\":false\\|\"blessed\":true' /run/cairn/boot.json 2>/dev/null && break; sleep 1; done; echo \"boot-json $(cat /run/cairn/boot.json)\"; touch /run/cairn/request/poweroff; sleep 60"]
{extra}"#
    )
}

fn build(version: &str, extra: &str) -> Built {
    // One name for every version: systemd-boot orders UKIs by IMAGE_ID
    // (the name) before their version.
    build_config_as(
        "counted",
        &system(version, extra),
        Arch::Amd64,
        Format::RawEfi,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn tool(cmd: &mut Command) -> String {
    let out = cmd.output().expect("a host tool");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The disk's ESP as mtools names it.
fn esp(disk: &Built) -> String {
    let (start, _) = partition(&disk.target(), 1);
    format!("{}@@{start}", disk.target().display())
}

fn esp_files(disk: &Built) -> String {
    tool(Command::new("mdir").args(["-b", "-i", &esp(disk), "::/EFI/Linux"]))
}

/// Copies the UKI of `from`'s ESP onto `to`'s as `name`.
fn add_uki(from: &Built, to: &Built, name: &str) {
    let dir = tempfile::tempdir().expect("tmp");
    let uki = dir.path().join("uki.efi");
    let listing = esp_files(from);
    let source = listing.lines().next().expect("a UKI").trim().to_string();
    tool(
        Command::new("mcopy")
            .args(["-n", "-i", &esp(from), &source])
            .arg(&uki),
    );
    tool(
        Command::new("mcopy")
            .args(["-i", &esp(to)])
            .arg(&uki)
            .arg(format!("::/EFI/Linux/{name}")),
    );
}

#[test]
fn a_version_that_never_comes_up_is_tried_twice_then_the_good_one_boots_again() {
    let v1 = build("1", "");
    let v2 = build(
        "2",
        "files:\n  - {path: etc/v2, contents: \"another root\"}\n",
    );
    let (_dir, disk) = copy_of(&v1, "device");
    add_uki(&v2, &disk, "cairn-2+2.efi");
    for _ in 0..2 {
        let failed = boot_writable(&disk, &["FATAL: no disk has"]);
        assert!(
            !failed.contains("boot-json"),
            "v2 must not come up:\n{failed}"
        );
    }
    let back = boot_writable(
        &disk,
        &["boot-json {\"entry\":\"cairn-1\",\"counted\":false}"],
    );
    let files = esp_files(&disk);
    assert!(
        files.contains("cairn-2+0-2.efi") && files.contains("cairn-1.efi"),
        "{files}\n{back}"
    );
}
