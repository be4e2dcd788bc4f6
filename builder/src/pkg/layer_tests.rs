use std::process::Command;

use super::*;
use crate::fstree::{Contents, Entry, Kind};

fn sample() -> Tree {
    let mut t = Tree::new(Contents::new(None).unwrap());
    let long = format!("usr/{}/{}", "d".repeat(120), "f".repeat(120));
    t.add_file(&long, &mut &b"long"[..], 0o644, 0, 0).unwrap();
    t.add_file("bin/tool", &mut &b"#!/bin/sh\n"[..], 0o4755, 0, 0)
        .unwrap();
    t.add_file("home/u/big-id", &mut &b"x"[..], 0o600, 3_000_000, 100)
        .unwrap();
    let target = format!("/{}", "t".repeat(150));
    t.insert(
        "bin/link",
        Entry {
            kind: Kind::Symlink(target),
            mode: 0o777,
            uid: 0,
            gid: 0,
        },
    )
    .unwrap();
    t.insert(
        "dev/null",
        Entry {
            kind: Kind::CharDevice(1, 3),
            mode: 0o666,
            uid: 0,
            gid: 0,
        },
    )
    .unwrap();
    t
}

fn tar_bytes(t: &Tree, mtime: u64) -> Vec<u8> {
    let mut out = Vec::new();
    write_tar(&mut out, t.iter(), t.contents(), mtime).unwrap();
    out
}

#[test]
fn the_same_tree_gives_the_same_layer_and_another_mtime_another_one() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_layer(&Store::open(dir.path().join("a")).unwrap(), &sample(), 0).unwrap();
    let b = write_layer(&Store::open(dir.path().join("b")).unwrap(), &sample(), 0).unwrap();
    assert_eq!(a, b);
    let c = write_layer(
        &Store::open(dir.path().join("c")).unwrap(),
        &sample(),
        1_700_000_000,
    )
    .unwrap();
    assert_ne!(a.diff_id, c.diff_id);
}

#[test]
fn the_layer_blob_is_gzip_without_time_or_name_and_its_diff_id_is_the_tar() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s")).unwrap();
    let t = sample();
    let layer = write_layer(&store, &t, 0).unwrap();
    let blob = std::fs::read(store.blob_path(&layer.digest)).unwrap();
    assert_eq!(&blob[..4], &[0x1f, 0x8b, 8, 0], "no FNAME flag");
    assert_eq!(&blob[4..8], &[0, 0, 0, 0], "no mtime");
    assert_eq!(layer.size, blob.len() as u64);
    assert_eq!(layer.diff_id, Digest::of(&tar_bytes(&t, 0)));
}

#[test]
fn gnu_tar_reads_long_names_big_ids_modes_and_devices() {
    let t = sample();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("l.tar");
    std::fs::write(&file, tar_bytes(&t, 1_000)).unwrap();
    let out = Command::new("tar")
        .args(["--numeric-owner", "--full-time", "-tvf"])
        .arg(&file)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8(out.stdout).unwrap();
    let long = format!("usr/{}/{}", "d".repeat(120), "f".repeat(120));
    assert!(listing.contains(&long), "{listing}");
    assert!(
        listing.contains(&format!("bin/link -> /{}", "t".repeat(150))),
        "{listing}"
    );
    assert!(listing.contains("-rwsr-xr-x 0/0"), "{listing}");
    assert!(listing.contains("3000000/100"), "{listing}");
    assert!(
        listing.contains("crw-rw-rw- 0/0") && listing.contains("1,3"),
        "{listing}"
    );
    assert!(listing.contains("1970-01-01 00:16:40"), "{listing}");
    assert!(!listing.contains("PaxHeaders"), "{listing}");
}
