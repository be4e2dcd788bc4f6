//! Reads archives written by [`cairn_boot::cpio`] with the host's GNU cpio,
//! an independent implementation. Skipped with a note when cpio is missing.

use std::io::{self, Write};
use std::process::{Command, Stdio};

use cairn_boot::cpio::{Meta, Writer};

fn host_cpio() -> bool {
    let found = Command::new("cpio").arg("--version").output().is_ok();
    if !found {
        eprintln!("skipped: no `cpio` on this host (Debian package cpio)");
    }
    found
}

fn sample() -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), 1_000_000);
    w.dir("etc", Meta::root(0o755)).expect("test setup");
    w.file("etc/hostname", Meta::root(0o644), 6, &mut &b"cairn\n"[..])
        .expect("test setup");
    let mut group = w.link_group(2);
    w.linked_file(
        &mut group,
        "sbin/a",
        Meta::root(0o755),
        4,
        &mut &b"abcd"[..],
    )
    .expect("test setup");
    w.linked_file(
        &mut group,
        "sbin/b",
        Meta::root(0o755),
        4,
        &mut &b"abcd"[..],
    )
    .expect("test setup");
    w.symlink("sbin/init", Meta::root(0o777), "a")
        .expect("test setup");
    w.finish().expect("test setup")
}

fn run_cpio(args: &[&str], dir: &std::path::Path, input: &[u8]) -> String {
    let mut child = Command::new("cpio")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("test setup");
    child
        .stdin
        .take()
        .expect("test setup")
        .write_all(input)
        .expect("test setup");
    let out = child.wait_with_output().expect("test setup");
    assert!(
        out.status.success(),
        "cpio {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("test setup")
}

#[test]
fn gnu_cpio_lists_every_entry_in_order() {
    if !host_cpio() {
        return;
    }
    let dir = tempfile::tempdir().expect("test setup");
    let listing = run_cpio(&["-t", "--quiet"], dir.path(), &sample());
    let names: Vec<&str> = listing.lines().collect();
    assert_eq!(
        names,
        [
            "etc",
            "etc/hostname",
            "sbin",
            "sbin/a",
            "sbin/b",
            "sbin/init"
        ]
    );
}

#[test]
fn gnu_cpio_extracts_contents_hard_links_and_symlinks() {
    if !host_cpio() {
        return;
    }
    let dir = tempfile::tempdir().expect("test setup");
    run_cpio(&["-i", "-d", "--quiet"], dir.path(), &sample());
    let root = dir.path();
    assert_eq!(
        std::fs::read(root.join("etc/hostname")).expect("test setup"),
        b"cairn\n"
    );
    assert_eq!(
        std::fs::read(root.join("sbin/a")).expect("test setup"),
        b"abcd"
    );
    use std::os::unix::fs::MetadataExt;
    let (a, b) = (
        std::fs::metadata(root.join("sbin/a")).expect("test setup"),
        std::fs::metadata(root.join("sbin/b")).expect("test setup"),
    );
    assert_eq!(a.ino(), b.ino(), "sbin/a and sbin/b are one file");
    assert_eq!(
        std::fs::read_link(root.join("sbin/init")).expect("test setup"),
        std::path::Path::new("a")
    );
    let _ = io::stdout().flush();
}
