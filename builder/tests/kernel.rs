//! `cairn kernel check` on .config files and on kernel packages in the store.

mod common;

use common::image::LayerBlob;

use std::path::{Path, PathBuf};

use cairn::oci::Store;
use common::cli::Env;
use predicates::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kernel")
        .join(name)
}

fn fragment(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kernel-configs")
        .join(name)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read fixture")
}

#[test]
fn debians_amd64_kernel_passes_with_its_modules_listed_in_load_order() {
    let env = Env::new();
    env.cairn()
        .args(["kernel", "check", "--arch", "amd64", "--config"])
        .arg(fixture("debian-6.1-amd64.config"))
        .assert()
        .success()
        .stdout(
            predicate::str::contains("  DM_VERITY   ")
                .and(predicate::str::contains("module dm-verity")),
        )
        .stdout(predicate::str::contains(
            "modules the init must load, in order: virtio virtio_pci virtio_blk virtio_net \
             virtio_console squashfs dm-mod dm-verity overlay",
        ))
        .stdout(
            predicate::str::contains("DM_INIT").and(predicate::str::contains("missing (wanted")),
        )
        .stdout(predicate::str::contains("ok: every required option is set"));
}

#[test]
fn debians_arm64_kernel_passes_including_the_raspberry_pi_drivers() {
    let env = Env::new();
    env.cairn()
        .args(["kernel", "check", "--arch", "arm64", "--config"])
        .arg(fixture("debian-6.1-arm64.config"))
        .assert()
        .success()
        .stdout(predicate::str::contains("raspberry-pi: "))
        .stdout(predicate::str::is_match(r"MMC_BCM2835 +module bcm2835").expect("regex"))
        .stdout(predicate::str::is_match(r"TCG_TIS +missing \(wanted").expect("regex"));
}

#[test]
fn a_kernel_without_dm_verity_fails_and_names_the_option() {
    let env = Env::new();
    env.cairn()
        .args(["kernel", "check", "--arch", "amd64", "--config"])
        .arg(fixture("no-dm-verity-amd64.config"))
        .assert()
        .code(1)
        .stdout(predicate::str::is_match(r"DM_VERITY +MISSING: ").expect("regex"))
        .stderr(predicate::str::contains(
            "the kernel lacks 1 required option(s) for amd64: DM_VERITY (immutable-root)",
        ));
}

#[test]
fn a_module_where_built_in_is_required_fails() {
    let env = Env::new();
    let text = String::from_utf8(read(&fixture("debian-6.1-amd64.config"))).expect("utf-8");
    let config = env.write(
        "devtmpfs-m.config",
        &text.replace("DEVTMPFS=y", "DEVTMPFS=m"),
    );
    env.cairn()
        .args(["kernel", "check", "--arch", "amd64", "--config"])
        .arg(config)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "DEVTMPFS is a module, must be built in (boot)",
        ));
}

#[test]
fn the_fragments_for_own_kernels_pass_with_nothing_to_load_or_miss() {
    let env = Env::new();
    for (arch, file) in [("amd64", "x86_64.config"), ("arm64", "arm64.config")] {
        env.cairn()
            .args(["kernel", "check", "--arch", arch, "--config"])
            .arg(fragment(file))
            .assert()
            .success()
            .stdout(predicate::str::contains("modules the init must load: none"))
            .stdout(predicate::str::contains(
                "ok: every required option is set\n",
            ));
    }
}

#[test]
fn a_file_that_is_not_a_kernel_config_is_refused() {
    let env = Env::new();
    let path = env.write("notes.txt", "hello\n");
    env.cairn()
        .args(["kernel", "check", "--config"])
        .arg(path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("has no CONFIG_ lines"));
}

#[test]
fn an_image_and_a_config_file_together_are_a_usage_error() {
    let env = Env::new();
    env.cairn()
        .args(["kernel", "check", "cairn/kernel:latest", "--config"])
        .arg(fixture("debian-6.1-amd64.config"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot be used with"));
}

/// The host's own kernel, when its config is readable: reported, never failed
/// (hosts run all kinds of kernels).
#[test]
fn the_host_kernel_config_is_reported_when_present() {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let candidates = [
        PathBuf::from(format!("/boot/config-{}", release.trim())),
        PathBuf::from("/proc/config.gz"),
    ];
    let Some(config) = candidates.iter().find(|p| p.is_file()) else {
        eprintln!("no host kernel config to check");
        return;
    };
    let env = Env::new();
    let out = env
        .cairn()
        .args(["kernel", "check", "--config"])
        .arg(config)
        .output()
        .expect("run cairn");
    eprintln!(
        "host kernel {}: exit {:?}\n{}",
        config.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(matches!(out.status.code(), Some(0 | 1)));
}

// Kernel packages in the store.

/// The files of each layer, bottom first.
type Layers<'a> = Vec<Vec<(&'a str, &'a [u8])>>;

/// Writes a multi-arch image with one platform per entry, named `name`.
fn kernel_image(store: &Store, name: &str, platforms: &[(&str, Layers)]) {
    let platforms = platforms
        .iter()
        .map(|(arch, layers)| {
            let blobs = layers.iter().map(|f| LayerBlob::gzip_files(f)).collect();
            (arch.to_string(), blobs)
        })
        .collect();
    common::image::create_with_layers(store, name, platforms);
}

#[test]
fn a_kernel_package_is_checked_by_its_config_for_each_architecture() {
    let env = Env::new();
    let amd64 = read(&fixture("debian-6.1-amd64.config"));
    let arm64 = read(&fixture("debian-6.1-arm64.config"));
    // A failing config underneath shows the upper layer's is the one read.
    let broken = read(&fixture("no-dm-verity-amd64.config"));
    let layers = |config| -> Layers {
        vec![
            vec![("config", &broken), ("kernel", b"not a kernel")],
            vec![("kernel.tar", b"modules"), ("./config", config)],
        ]
    };
    kernel_image(
        &env.store,
        "cairn/kernel:latest",
        &[("amd64", layers(&amd64)), ("arm64", layers(&arm64))],
    );
    for arch in ["amd64", "arm64"] {
        env.cairn()
            .args(["kernel", "check", "cairn/kernel:latest", "--arch", arch])
            .assert()
            .success()
            .stdout(predicate::str::contains(format!(
                "kernel config cairn/kernel:latest /config for {arch}"
            )))
            .stdout(predicate::str::contains("module dm-verity"));
    }
}

#[test]
fn the_last_layer_with_a_config_wins() {
    let env = Env::new();
    let good = read(&fixture("debian-6.1-amd64.config"));
    let broken = read(&fixture("no-dm-verity-amd64.config"));
    kernel_image(
        &env.store,
        "test/kernel:1",
        &[(
            "amd64",
            vec![
                vec![("config", &good)],
                vec![("config", &broken)],
                vec![("unrelated", b"x")],
            ],
        )],
    );
    env.cairn()
        .args(["kernel", "check", "test/kernel:1", "--arch", "amd64"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("DM_VERITY (immutable-root)"));
}

#[test]
fn a_config_deleted_by_a_whiteout_is_not_found() {
    let env = Env::new();
    let good = read(&fixture("debian-6.1-amd64.config"));
    kernel_image(
        &env.store,
        "test/kernel:gone",
        &[(
            "amd64",
            vec![vec![("config", &good)], vec![(".wh.config", b"")]],
        )],
    );
    env.cairn()
        .args(["kernel", "check", "test/kernel:gone", "--arch", "amd64"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("has no /config"));
}

#[test]
fn an_image_without_config_or_not_in_the_store_is_a_clear_error() {
    let env = Env::new();
    kernel_image(
        &env.store,
        "test/busybox:1",
        &[("amd64", vec![vec![("bin/busybox", b"\x7fELF")]])],
    );
    env.cairn()
        .args(["kernel", "check", "test/busybox:1", "--arch", "amd64"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is it a kernel package?"));
    env.cairn()
        .args(["kernel", "check", "test/busybox:1", "--arch", "arm64"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cannot use kernel package"));
    env.cairn()
        .args(["kernel", "check", "cairn/nothing:latest"])
        .assert()
        .stderr(predicate::str::contains(
            "cannot use kernel package docker.io/cairn/nothing:latest",
        ));
}
