//! A built disk as a file on the host: copies a test may boot writable
//! (the cached build stays as built) and where a GPT partition lies.

use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::build::Built;

/// The byte range of partition `n` (1-based) of a GPT disk.
pub fn partition(disk: &Path, n: u64) -> (u64, u64) {
    let file = std::fs::File::open(disk).expect("open disk");
    let mut entry = [0u8; 128];
    file.read_exact_at(&mut entry, 1024 + (n - 1) * 128)
        .expect("read GPT entry");
    let first = u64::from_le_bytes(entry[32..40].try_into().expect("8 bytes"));
    let last = u64::from_le_bytes(entry[40..48].try_into().expect("8 bytes"));
    (first * 512, (last + 1) * 512)
}

/// A copy of `built`'s disk under `name` in a temporary folder.
pub fn copy_of(built: &Built, name: &str) -> (tempfile::TempDir, Built) {
    let dir = tempfile::tempdir().expect("tmp");
    let copy = Built {
        dir: dir.path().to_path_buf(),
        name: name.to_string(),
        ..built.clone()
    };
    std::fs::copy(built.target(), copy.target()).expect("copy the disk");
    (dir, copy)
}

/// Boots `disk` writable (its writes kept, as a device's are), waits for
/// each of `markers` in turn and for QEMU to exit; returns the console.
/// A guest CPU stall boots it once more (`retry_on_stall`).
pub fn boot_writable(disk: &Built, markers: &[&str]) -> String {
    use std::time::Duration;
    let options = crate::Options {
        limit: Duration::from_secs(400),
        args: vec!["--writable".into()],
        ..crate::Options::default()
    };
    crate::retry_on_stall("a writable disk's boot", || {
        let mut guest = crate::Guest::boot(disk, &options)?;
        for marker in markers {
            guest.wait_for(marker, Duration::from_secs(300))?;
        }
        guest.wait_exit(Duration::from_secs(120))?;
        Ok(guest.log())
    })
    .unwrap_or_else(|e| panic!("{e}"))
}
