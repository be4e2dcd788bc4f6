//! `cairn build -f update` and `cairn update UPDATE DISK` on a disk image,
//! checked with sgdisk, fsck.fat, mtools and the bytes themselves: the
//! update lands in the inactive slot with the GUID its UKI pins and its UKI
//! on the ESP with a boot counter; every refusal leaves the disk as it was.

mod common;

use std::process::Command;

use common::cli::Env;
use common::host::{partition, tool};
use common::uefi::system;
use predicates::prelude::*;
use sha2::{Digest as _, Sha256};

fn digest(path: &std::path::Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("a file")))
}

fn esp_listing(env: &Env, disk: &std::path::Path) -> String {
    let esp = env.path("esp.img");
    partition(disk, 1, &esp);
    tool(Command::new("fsck.fat").arg("-n").arg(&esp));
    tool(
        Command::new("mdir")
            .args(["-b", "-i"])
            .arg(&esp)
            .arg("::/EFI/Linux"),
    )
}

/// `cairn build --offline --arch amd64 ARGS CONFIG`, which must succeed.
fn build(env: &Env, config: &std::path::Path, args: &[&str]) {
    env.cairn()
        .args(["build", "--offline", "--arch", "amd64"])
        .args(args)
        .arg(config)
        .assert()
        .success();
}

#[test]
fn an_update_goes_to_the_inactive_slot_with_its_uki_on_trial() {
    let env = Env::new();
    let config = system(&env);
    let build = |args: &[&str]| build(&env, &config, args);
    build(&["-o", "v1", "--image-version", "1"]);
    build(&["-o", "v2", "-f", "update", "--image-version", "2"]);
    let manifest = env.path("v2/system.update.json");
    let text = std::fs::read_to_string(&manifest).expect("the manifest");
    let m: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(m["version"], "2");
    assert_eq!(m["arch"], "amd64");
    assert_eq!(m["name"], "system");
    let disk = env.path("v1/system-efi.raw");
    let before = digest(&disk);

    env.cairn()
        .args(["update", "--dry-run"])
        .arg(&manifest)
        .arg(&disk)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "running cairn-1.efi from slot 2; version 2 goes to slot 3 as EFI/Linux/cairn-2+3.efi",
        ));
    assert_eq!(digest(&disk), before, "--dry-run writes nothing");
    env.cairn()
        .arg("update")
        .arg(&manifest)
        .arg(&disk)
        .assert()
        .success()
        .stdout(predicate::str::contains("updated slot 3"));

    let gpt = tool(Command::new("sgdisk").arg("-v").arg(&disk));
    assert!(gpt.contains("No problems found"), "{gpt}");
    let info = tool(Command::new("sgdisk").args(["-i", "3"]).arg(&disk));
    let guid = m["root"]["partuuid"]
        .as_str()
        .expect("partuuid")
        .to_uppercase();
    assert!(
        info.contains(&guid),
        "slot 3 has the GUID the UKI pins:\n{info}"
    );
    let slot = env.path("slot3.img");
    partition(&disk, 3, &slot);
    let root = std::fs::read(env.path("v2/system.update.root")).expect("the root");
    let written = std::fs::read(&slot).expect("slot 3");
    assert!(
        written[..root.len()] == root[..],
        "slot 3 holds the update's root"
    );
    let listing = esp_listing(&env, &disk);
    assert!(
        listing.contains("cairn-1.efi") && listing.contains("cairn-2+3.efi"),
        "{listing}"
    );
    let uki = env.path("new.efi");
    let esp = env.path("esp.img");
    tool(
        Command::new("mcopy")
            .args(["-n", "-i"])
            .arg(&esp)
            .arg("::/EFI/Linux/cairn-2+3.efi")
            .arg(&uki),
    );
    assert_eq!(digest(&uki), digest(&env.path("v2/system.update.efi")));

    // Until version 2 is judged, its fallback's slot stays untouched.
    build(&["-o", "v3", "-f", "update", "--image-version", "3"]);
    let after = digest(&disk);
    env.cairn()
        .arg("update")
        .arg(env.path("v3/system.update.json"))
        .arg(&disk)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cairn-2+3.efi is still on trial"));
    assert_eq!(digest(&disk), after);
}

#[test]
fn updates_that_are_not_newer_damaged_or_for_another_system_are_refused() {
    let env = Env::new();
    let config = system(&env);
    let build = |args: &[&str]| build(&env, &config, args);
    build(&["-o", "v5", "--image-version", "5"]);
    build(&["-o", "u5", "-f", "update", "--image-version", "5"]);
    build(&["-o", "u4", "-f", "update", "--image-version", "4.9"]);
    build(&["-o", "u6", "-f", "update", "--image-version", "6"]);
    build(&[
        "-o",
        "other",
        "-f",
        "update",
        "--image-version",
        "7",
        "--name",
        "other",
    ]);
    let disk = env.path("v5/system-efi.raw");
    let before = digest(&disk);
    let refused = |manifest: std::path::PathBuf, why: &str| {
        env.cairn()
            .arg("update")
            .arg(&manifest)
            .arg(&disk)
            .assert()
            .code(1)
            .stderr(predicate::str::contains(why));
        assert_eq!(digest(&disk), before, "{why}: the disk was changed");
    };
    refused(
        env.path("u5/system.update.json"),
        "version 5 is not newer than 5",
    );
    refused(
        env.path("u4/system.update.json"),
        "version 4.9 is not newer than 5",
    );
    refused(
        env.path("other/other.update.json"),
        "is for system \"other\"",
    );

    let manifest = env.path("u6/system.update.json");
    let text = std::fs::read_to_string(&manifest).expect("the manifest");
    std::fs::write(&manifest, text.replace("\"amd64\"", "\"arm64\"")).expect("edit");
    refused(
        manifest.clone(),
        "the update is for arm64, the disk is amd64",
    );
    std::fs::write(&manifest, &text).expect("restore");
    let root = env.path("u6/system.update.root");
    let mut bytes = std::fs::read(&root).expect("the root");
    bytes[5000] ^= 1;
    std::fs::write(&root, bytes).expect("flip");
    env.cairn()
        .arg("update")
        .arg(&manifest)
        .arg(&disk)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("its SHA-256 is"))
        .stderr(predicate::str::contains("fetch it again"));
    assert_eq!(digest(&disk), before);
}

#[test]
fn an_update_whose_uki_cannot_fit_the_esp_is_refused_before_any_write() {
    let env = Env::new();
    let config = system(&env);
    let text = std::fs::read_to_string(&config).expect("the config");
    let mut noise = vec![0u8; 40 << 20];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    // Version 1 carries the noise in its root only (large slots, a small
    // UKI); version 2 as its init, which the UKI carries too: its UKI
    // outgrows the ESP sized for version 1, while its root fits the slot.
    common::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/blob:1",
        &[("usr/share/blob", &noise, 0o644)],
    );
    common::image::file_image(
        &env.store,
        "127.0.0.1:5999/cairn/init:2",
        &[("sbin/init", &noise, 0o755)],
    );
    let v1 = env.write(
        "system.yml",
        &text.replace(
            "  - 127.0.0.1:5999/cairn/init:1\n",
            "  - 127.0.0.1:5999/cairn/init:1\n  - 127.0.0.1:5999/cairn/blob:1\n",
        ),
    );
    build(&env, &v1, &["-o", "v1", "--image-version", "1"]);
    let v2 = env.write("system.yml", &text.replace("cairn/init:1", "cairn/init:2"));
    build(
        &env,
        &v2,
        &["-o", "v2", "-f", "update", "--image-version", "2"],
    );
    let disk = env.path("v1/system-efi.raw");
    let before = digest(&disk);
    env.cairn()
        .arg("update")
        .arg(env.path("v2/system.update.json"))
        .arg(&disk)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "bytes free once the old UKI is gone",
        ));
    assert_eq!(digest(&disk), before);
}
