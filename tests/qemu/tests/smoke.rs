//! The smallest boot: Debian's kernel and an initrd holding only the current
//! cairn-init, on x86_64 and arm64 under TCG. The init must mount the system
//! and report ready, and QEMU must stop cleanly when asked.
//!
//! The first run builds the kernel package (a 130 MB download per arch,
//! cached under ~/.cache/cairn); later runs take seconds.

use std::time::Duration;

use cairn_qemu_tests::{Arch, Guest, Options, build_config, cairn, ensure_package, test_store};

const SMOKE: &str = "kernel:
  image: cairn/kernel:latest
  cmdline: console=ttyS0 console=ttyAMA0
  tar: none
init:
  - cairn/init:latest
";

fn boots_to_ready_and_stops_cleanly(arch: Arch) {
    let built = build_config("smoke", SMOKE, arch).unwrap_or_else(|e| panic!("{e}"));
    let options = Options {
        mem_mib: 512,
        limit: Duration::from_secs(180),
        ..Options::default()
    };
    let mut guest = Guest::boot(&built, &options).unwrap_or_else(|e| panic!("{e}"));
    for marker in [
        "cairn-init: starting",
        "cairn-init: hostname cairn",
        "cairn-init: ready",
    ] {
        guest
            .wait_for(marker, Duration::from_secs(120))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let booted = guest.started.elapsed();
    guest.quit().unwrap_or_else(|e| panic!("{e}"));
    let status = guest
        .wait_exit(Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        status.success(),
        "cairn run qemu: {status}\n{}",
        guest.log()
    );
    assert!(
        !guest.log().contains("cairn-init: fatal"),
        "{}",
        guest.log()
    );
    eprintln!(
        "{} booted to ready in {:.1}s",
        arch.name(),
        booted.as_secs_f64()
    );
}

#[test]
fn x86_64_kernel_and_cairn_init_boot_to_ready_under_tcg() {
    boots_to_ready_and_stops_cleanly(Arch::Amd64);
}

#[test]
fn arm64_kernel_and_cairn_init_boot_to_ready_under_tcg() {
    boots_to_ready_and_stops_cleanly(Arch::Arm64);
}

/// The kernel package these boots use has every option cairn needs, as a
/// module at least, on both architectures (`cairn kernel check`).
#[test]
fn debian_kernel_package_passes_the_kernel_check_on_both_arches() {
    ensure_package("kernel").unwrap_or_else(|e| panic!("{e}"));
    for arch in ["amd64", "arm64"] {
        let out = std::process::Command::new(cairn().unwrap_or_else(|e| panic!("{e}")))
            .arg("--store")
            .arg(test_store())
            .args(["kernel", "check", "cairn/kernel:latest", "--arch", arch])
            .output()
            .expect("run cairn kernel check");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{arch}: {text}");
        assert!(
            text.contains("dm-verity"),
            "{arch}: modules to load not listed\n{text}"
        );
    }
}
