//! Running the host's own tools on cairn's outputs, and reading disks the
//! way they are laid out.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::process::Command;

/// Runs `cmd`, which must succeed; returns its stdout and stderr.
pub fn tool(cmd: &mut Command) -> String {
    let out = cmd.output().expect("host tool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// Partition `n` (1-based) of a GPT disk, copied to its own file.
pub fn partition(disk: &Path, n: u64, to: &Path) -> Vec<u8> {
    let file = std::fs::File::open(disk).expect("disk");
    let mut entry = [0u8; 128];
    file.read_exact_at(&mut entry, 1024 + (n - 1) * 128)
        .expect("entry");
    let first = u64::from_le_bytes(entry[32..40].try_into().expect("8"));
    let last = u64::from_le_bytes(entry[40..48].try_into().expect("8"));
    let mut bytes = vec![0u8; ((last + 1 - first) * 512) as usize];
    file.read_exact_at(&mut bytes, first * 512).expect("read");
    std::fs::write(to, &bytes).expect("write");
    bytes
}

/// The value of `word=` on a command line.
pub fn word<'a>(cmdline: &'a str, key: &str) -> &'a str {
    cmdline
        .split_whitespace()
        .find_map(|w| w.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {cmdline}"))
}
