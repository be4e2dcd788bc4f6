//! Disk images for the run module's tests, made with the host's own tools
//! (sgdisk, qemu-img) so the readers are checked against real output.

use std::path::{Path, PathBuf};
use std::process::Command;

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("host tool is installed (make deps)");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An 8 MiB raw GPT disk with an ESP and one partition per type in `roots`.
pub fn gpt_disk(dir: &Path, name: &str, roots: &[&str]) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(8 << 20))
        .expect("disk file");
    let mut cmd = Command::new("sgdisk");
    cmd.args(["-n", "1:2048:+1M", "-t", "1:ef00"]);
    for (i, kind) in roots.iter().enumerate() {
        let n = i + 2;
        cmd.args(["-n", &format!("{n}:0:+1M"), "-t", &format!("{n}:{kind}")]);
    }
    run(cmd.arg(&path));
    path
}

/// `raw` converted to qcow2 with extra `qemu-img convert` arguments.
pub fn qcow2_of(raw: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let path = raw.with_file_name(name);
    run(Command::new("qemu-img")
        .args(["convert", "-O", "qcow2"])
        .args(extra)
        .arg(raw)
        .arg(&path));
    path
}
