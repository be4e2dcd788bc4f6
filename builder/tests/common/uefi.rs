//! A small UEFI system in the test store: Debian's systemd-stub (from the
//! host's systemd-boot-efi) as the UKI stub, its own PE file standing in for
//! the kernel, and an init image with two files.

use super::cli::Env;

const STUB: &str = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";
const BOOT_MANAGER: &str = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi";

pub const SYSTEM: &str = "kernel:
  image: 127.0.0.1:5999/cairn/kernel:1
  cmdline: console=ttyS0
  tar: none
  stub: 127.0.0.1:5999/cairn/stub:1
init:
  - 127.0.0.1:5999/cairn/init:1
trust:
  allow_unsigned: [\"127.0.0.1:5999/*\"]
";

pub fn system(env: &Env) -> std::path::PathBuf {
    let stub =
        std::fs::read(STUB).expect("Debian's systemd-stub (make deps installs systemd-boot-efi)");
    let manager = std::fs::read(BOOT_MANAGER).expect("Debian's systemd-boot (systemd-boot-efi)");
    super::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/kernel:1",
        &[("kernel", &stub, 0o644)],
    );
    super::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/stub:1",
        &[
            ("usr/lib/systemd/boot/efi/linuxx64.efi.stub", &stub, 0o644),
            (
                "usr/lib/systemd/boot/efi/systemd-bootx64.efi",
                &manager,
                0o644,
            ),
        ],
    );
    super::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/init:1",
        &[
            ("sbin/init", b"#!/bin/init", 0o755),
            ("etc/motd", b"a file of the root filesystem\n", 0o644),
        ],
    );
    env.write("system.yml", SYSTEM)
}
