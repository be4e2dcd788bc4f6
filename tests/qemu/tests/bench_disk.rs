//! `make bench`, disk part: the numbers of docs/benchmarks.md for UEFI disk
//! images. A benchmark, not a timed test: ignored by `cargo test`, asserts
//! nothing about speed.
//!
//! Prints the warm `cairn build -f raw-efi examples/minimal.yml` time and
//! peak memory (the release binary when `make build` made one), the size of
//! its inputs and outputs, dm-verity hashing throughput against
//! `openssl speed -evp sha256` on every core, and the boot timeline from
//! QEMU's start (firmware included) to the first service under TCG.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use cairn_qemu_tests::{Arch, Format, Guest, Options, build_as, cairn, repo_root, test_store};

fn release_or_debug() -> std::path::PathBuf {
    let release = repo_root().join("target/release/cairn");
    if release.exists() {
        release
    } else {
        cairn().unwrap_or_else(|e| panic!("{e}"))
    }
}

#[test]
#[ignore = "a benchmark: make bench"]
fn raw_efi_build_time_memory_and_sizes() {
    // Fills the store (packages) first; the measured build is the warm one.
    let built = build_as("examples/minimal.yml", Arch::Amd64, Format::RawEfi)
        .unwrap_or_else(|e| panic!("{e}"));
    let bin = release_or_debug();
    let out = tempfile::tempdir().expect("tmp");
    let timing = out.path().join("time.txt");
    let started = Instant::now();
    let status = Command::new("/usr/bin/time")
        .arg("-v")
        .arg("-o")
        .arg(&timing)
        .arg(&bin)
        .arg("--store")
        .arg(test_store())
        .args(["-q", "build", "--offline", "-f", "raw-efi", "-o"])
        .arg(out.path())
        .arg(repo_root().join("examples/minimal.yml"))
        .status()
        .expect("cairn build");
    assert!(status.success());
    let wall = started.elapsed();
    let rss = std::fs::read_to_string(&timing)
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let disk = std::fs::metadata(built.target()).expect("disk").len();
    println!("binary: {}", bin.display());
    println!(
        "warm build -f raw-efi examples/minimal.yml: {:.1}s, peak RSS {:.0} MiB",
        wall.as_secs_f64(),
        rss as f64 / 1024.0
    );
    println!("disk image: {:.1} MiB", disk as f64 / 1048576.0);
}

/// MB/s of `openssl speed -evp sha256 -bytes 4096` with one process per core.
fn openssl_sha256(cores: usize) -> f64 {
    let out = Command::new("openssl")
        .args(["speed", "-evp", "sha256", "-bytes", "4096", "-seconds", "3"])
        .args(["-multi", &cores.to_string()])
        .output()
        .expect("openssl speed");
    let text = String::from_utf8_lossy(&out.stdout);
    // The last line: "sha256  <kB/s for 4096-byte blocks>k" (all processes).
    text.lines()
        .rev()
        .find_map(|l| {
            let l = l.trim();
            (l.starts_with("sha256") || l.starts_with("evp")).then(|| {
                l.split_whitespace()
                    .last()
                    .and_then(|v| v.trim_end_matches('k').parse::<f64>().ok())
            })?
        })
        .map(|kb| kb * 1000.0 / 1e6)
        .unwrap_or(f64::NAN)
}

#[test]
#[ignore = "a benchmark: make bench"]
fn verity_hashing_against_the_machines_sha256_limit() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut data = tempfile::tempfile().expect("tmp");
    let chunk: Vec<u8> = (0..1 << 20)
        .map(|i: u32| i.wrapping_mul(2654435761) as u8)
        .collect();
    let mib = 512;
    for _ in 0..mib {
        data.write_all(&chunk).expect("write");
    }
    let bytes = (mib as u64) << 20;
    let mut best = f64::MAX;
    for _ in 0..3 {
        let mut sink = std::io::sink();
        let started = Instant::now();
        cairn_boot::verity::build_with_salt(&data, 0, bytes, &[7; 32], &mut sink).expect("verity");
        best = best.min(started.elapsed().as_secs_f64());
    }
    let ours = bytes as f64 / best / 1e6;
    let limit = openssl_sha256(cores);
    println!(
        "dm-verity tree over {mib} MiB: {ours:.0} MB/s on {cores} cores; openssl sha256 (4096-byte blocks, {cores} processes): {limit:.0} MB/s; ratio {:.2}",
        ours / limit
    );
}

#[test]
#[ignore = "a benchmark: make bench"]
fn raw_efi_boot_timeline_from_firmware_to_first_service() {
    let built = build_as("examples/minimal.yml", Arch::Amd64, Format::RawEfi)
        .unwrap_or_else(|e| panic!("{e}"));
    let opts = Options {
        tpm: true,
        ..Options::default()
    };
    let mut guest = Guest::boot(&built, &opts).unwrap_or_else(|e| panic!("{e}"));
    for (label, marker) in [
        ("firmware + stub -> kernel", "Linux version"),
        ("-> init starts", "cairn-init: starting"),
        ("-> root verified", "verity"),
        ("-> containerd ready", "cairn-init: containerd is ready"),
        ("-> getty started", "cairn-init: service getty started"),
    ] {
        guest
            .wait_for(marker, Duration::from_secs(240))
            .unwrap_or_else(|e| panic!("{e}"));
        println!(
            "{label:<32} {:>6.1}s (wall, TCG)",
            guest.started.elapsed().as_secs_f64()
        );
    }
    guest.quit().unwrap_or_else(|e| panic!("{e}"));
}
