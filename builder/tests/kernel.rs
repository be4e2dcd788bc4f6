//! `cairn kernel check` on .config files and on kernel packages in the store.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use cairn::oci::manifest::descriptor;
use cairn::oci::{Digest, Store};
use common::cli::Env;
use oci_spec::image::MediaType;
use predicates::prelude::*;
use serde_json::json;

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

/// A gzip-compressed tar layer holding `files` at the image root.
fn gzip_layer(files: &[(&str, &[u8])]) -> (Vec<u8>, Digest) {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        builder
            .append_data(&mut header, name, *data)
            .expect("tar entry");
    }
    let tar = builder.into_inner().expect("tar");
    let diff_id = Digest::of(&tar);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).expect("gzip");
    (gz.finish().expect("gzip"), diff_id)
}

/// The files of each layer, bottom first.
type Layers<'a> = Vec<Vec<(&'a str, &'a [u8])>>;

/// Writes a multi-arch image with one platform per entry, named `name`.
fn kernel_image(store: &Store, name: &str, platforms: &[(&str, Layers)]) {
    let reference: cairn::oci::ImageRef = name.parse().expect("image name");
    let mut entries = Vec::new();
    for (arch, layers) in platforms {
        let mut descs = Vec::new();
        let mut diff_ids = Vec::new();
        for files in layers {
            let (blob, diff_id) = gzip_layer(files);
            let d = store.put_bytes(&blob).expect("store layer");
            diff_ids.push(diff_id.to_string());
            descs.push(json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": d.to_string(),
                "size": blob.len(),
            }));
        }
        let config = serde_json::to_vec(&json!({
            "architecture": arch,
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }))
        .expect("config json");
        let config_digest = store.put_bytes(&config).expect("store config");
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest.to_string(),
                "size": config.len(),
            },
            "layers": descs,
        }))
        .expect("manifest json");
        let digest = store.put_bytes(&manifest).expect("store manifest");
        entries.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest.to_string(),
            "size": manifest.len(),
            "platform": {"architecture": arch, "os": "linux"},
        }));
    }
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": entries,
    }))
    .expect("index json");
    let digest = store.put_bytes(&index).expect("store index");
    let desc = descriptor(MediaType::ImageIndex, &digest, index.len() as u64);
    store
        .set_name(&reference.store_name(), &desc)
        .expect("name the image");
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
