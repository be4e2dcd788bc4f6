//! An update applied offline with `cairn update`, booted (x86_64, OVMF),
//! each boot a new QEMU on one writable disk: version 1 boots and writes a
//! note to the data partition; version 2 (`-f update`) goes into slot B;
//! the next boot starts version 2 on trial, the init marks it good and the
//! note is still there; the boot after that is version 2 without a counter.

use std::process::Command;

use cairn_qemu_tests::disk_file::{boot_writable, copy_of};
use cairn_qemu_tests::{Arch, Format, build_config_as, cairn};

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
services:
  - name: app
    image: cairn/busybox:latest
    binds: ["/var/lib:/var/lib", "/run/cairn:/run/cairn"]
    command: ["/bin/busybox", "sh", "-c", "if [ -f /var/lib/app/note ]; then echo \"note-says-$(cat /var/lib/app/note)\"; else mkdir -p /var/lib/app && echo from-version-one > /var/lib/app/note && sync && echo note-written; fi; for i in $(seq 60); do grep -q '\"counted\":false\\|\"blessed\":true' /run/cairn/boot.json 2>/dev/null && break; sleep 1; done; echo \"boot-json $(cat /run/cairn/boot.json)\"; touch /run/cairn/request/poweroff; sleep 60"]
"#
    )
}

#[test]
fn an_offline_update_boots_on_trial_is_marked_good_and_keeps_the_data() {
    let v1 = build_config_as("app", &system("1"), Arch::Amd64, Format::RawEfi)
        .unwrap_or_else(|e| panic!("{e}"));
    let v2 = build_config_as("app", &system("2"), Arch::Amd64, Format::Update)
        .unwrap_or_else(|e| panic!("{e}"));
    let (_dir, disk) = copy_of(&v1, "device");

    boot_writable(
        &disk,
        &[
            "note-written",
            "boot-json {\"entry\":\"cairn-1\",\"counted\":false}",
        ],
    );
    let out = Command::new(cairn().unwrap_or_else(|e| panic!("{e}")))
        .arg("update")
        .arg(v2.target())
        .arg(disk.target())
        .output()
        .expect("cairn update");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("version 2 goes to slot 3"),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    boot_writable(
        &disk,
        &[
            "root: /dev/vda3",
            "boot: cairn-2 is on trial",
            "note-says-from-version-one",
            "boot: cairn-2 is good",
            "boot-json {\"entry\":\"cairn-2\",\"counted\":true,\"blessed\":true}",
        ],
    );
    boot_writable(
        &disk,
        &[
            "note-says-from-version-one",
            "boot-json {\"entry\":\"cairn-2\",\"counted\":false}",
        ],
    );
}
