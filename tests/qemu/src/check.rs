//! What boot tests check on a console log or do to an image.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Duration;

use crate::{Built, Guest, Options};

/// Panics unless every marker is in `log`, each after the one before.
pub fn in_order(log: &str, markers: &[&str]) {
    let mut from = 0;
    for m in markers {
        match log[from..].find(m) {
            Some(at) => from += at + m.len(),
            None => panic!("{m:?} missing or out of order in:\n{log}"),
        }
    }
}

/// Flips one bit in the middle of the squashfs that starts at byte `root`
/// of the image at `path` (well before its end and its hash tree), as a
/// damaged or tampered root would have it.
pub fn flip_squashfs_byte(path: &Path, root: u64) {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open the image copy");
    // bytes_used, at offset 40 of the squashfs superblock.
    let mut bytes_used = [0u8; 8];
    file.read_exact_at(&mut bytes_used, root + 40)
        .expect("squashfs superblock");
    let at = root + u64::from_le_bytes(bytes_used) / 2;
    let mut b = [0u8; 1];
    file.read_exact_at(&mut b, at).expect("read");
    file.write_all_at(&[b[0] ^ 0x01], at).expect("flip");
}

/// Boots `built`, whose root was tampered with, and checks that the init
/// stops with a FATAL line about verification, that QEMU then ends, and
/// that `container_marker` (a line a container would print) never shows.
pub fn fatal_before_any_container(built: &Built, container_marker: &str, boot: Duration) {
    let mut guest = Guest::boot(built, &Options::default()).unwrap_or_else(|e| panic!("{e}"));
    let line = guest
        .wait_for("FATAL", boot)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        line.contains("verif"),
        "the fatal line names verification: {line}"
    );
    let status = guest.wait_exit(Duration::from_secs(120));
    let log = guest.log();
    assert!(
        status.is_ok(),
        "the guest powers off after the fatal error:\n{log}"
    );
    assert!(
        !log.contains(container_marker),
        "no container may run on a tampered root:\n{log}"
    );
}
