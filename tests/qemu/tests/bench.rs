//! `make bench`: the numbers in docs/benchmarks.md. A benchmark, not a
//! timed test: it asserts nothing about speed and is ignored by `cargo test`.
//!
//! Prints the warm build time of examples/minimal.yml (store filled, outputs
//! rebuilt), the initrd size, and the boot timeline from cairn-init's
//! timestamps (seconds since the kernel started) under TCG.

use std::process::Command;
use std::time::{Duration, Instant};

use cairn_qemu_tests::{Arch, Guest, Options, build, cairn, repo_root, test_store};

/// The seconds of a `[  1.234] cairn-init: ...` line.
fn stamp(line: &str) -> Option<f64> {
    let inner = line.trim().strip_prefix('[')?.split(']').next()?;
    inner.trim().parse().ok()
}

#[test]
#[ignore = "a benchmark: make bench"]
fn minimal_build_time_initrd_size_and_boot_timeline() {
    let arch = Arch::Amd64;
    let built = build("examples/minimal.yml", arch).unwrap_or_else(|e| panic!("{e}"));
    let out = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let status = Command::new(cairn().expect("cairn"))
        .arg("--store")
        .arg(test_store())
        .args(["-q", "build", "--offline", "-f", "kernel+initrd", "-o"])
        .arg(out.path())
        .arg(repo_root().join("examples/minimal.yml"))
        .status()
        .expect("cairn build");
    assert!(status.success());
    let build_time = started.elapsed();
    let initrd = std::fs::metadata(built.initrd()).expect("initrd").len();
    println!(
        "warm build of examples/minimal.yml: {:.1}s",
        build_time.as_secs_f64()
    );
    println!("initrd: {:.1} MiB (gzip)", initrd as f64 / 1048576.0);

    let mut guest = Guest::boot(&built, &Options::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut timeline = Vec::new();
    for (label, marker) in [
        ("kernel start -> init", "cairn-init: starting"),
        ("-> ready (mounts, modules, lo)", "cairn-init: ready"),
        ("-> first onboot starts", "cairn-init: onboot 000-"),
        ("-> containerd ready", "cairn-init: containerd is ready"),
        (
            "-> getty service started",
            "cairn-init: service getty started",
        ),
    ] {
        let line = guest
            .wait_for(marker, Duration::from_secs(180))
            .unwrap_or_else(|e| panic!("{e}"));
        timeline.push((label, stamp(&line).unwrap_or(f64::NAN)));
    }
    guest.quit().unwrap_or_else(|e| panic!("{e}"));
    println!("boot timeline (TCG, 1024 MiB, 2 CPUs), seconds since kernel start:");
    for (label, t) in timeline {
        println!("  {label:<34} {t:>7.3}");
    }
}
