use std::io::{self, Cursor};
use std::path::Path;
use std::process::Command;

use super::test_reader::{superblock, xattr_sets};
use super::*;
use crate::cpio::{Meta, path_order};

const MTIME: u32 = 1_700_000_000;
pub(super) const BLOCK: usize = 128 * 1024;
const CAPABILITY: &[u8] = &[
    0, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// Bytes that are partly text (compressible) and partly noise (not).
pub(super) fn content(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if (i / 40_000) % 2 == 0 {
                b"squashfs for cairn\n"[i % 19]
            } else {
                x as u8
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Kind {
    Dir,
    File(Vec<u8>),
    Symlink(&'static str),
    Char(u32, u32),
    Block(u32, u32),
    Fifo,
}

#[derive(Debug, Clone)]
struct Entry {
    path: String,
    meta: Meta,
    kind: Kind,
    xattrs: Vec<(&'static str, &'static [u8])>,
}

fn entry(path: &str, mode: u32, kind: Kind) -> Entry {
    Entry {
        path: path.to_string(),
        meta: Meta::root(mode),
        kind,
        xattrs: Vec::new(),
    }
}

/// Name `i` of a big directory: lengths from 1 to 255 bytes.
fn long_name(i: usize) -> String {
    let mut name = format!("{i:03}");
    while name.len() < (i * 37) % 256 {
        name.push(char::from(b'a' + (name.len() % 26) as u8));
    }
    name
}

fn sample() -> Vec<Entry> {
    let mut ping = entry("bin/ping", 0o4755, Kind::File(content(1000, 1)));
    ping.xattrs.push(("security.capability", CAPABILITY));
    let mut own = entry("home/user/notes", 0o640, Kind::File(content(5000, 2)));
    own.meta = Meta {
        mode: 0o640,
        uid: 1000,
        gid: 100,
    };
    own.xattrs.push(("user.x", b"hello"));
    let mut home = entry("home/user", 0o700, Kind::Dir);
    home.meta.uid = 1000;
    home.meta.gid = 1000;
    let mut entries = vec![
        entry("", 0o755, Kind::Dir),
        entry("bin", 0o755, Kind::Dir),
        ping,
        entry("bin/sh", 0o777, Kind::Symlink("busybox")),
        entry("dev/console", 0o600, Kind::Char(5, 1)),
        entry("dev/sda", 0o660, Kind::Block(8, 0)),
        entry("dev/initctl", 0o600, Kind::Fifo),
        entry("etc/empty", 0o644, Kind::File(Vec::new())),
        entry("etc/one-block", 0o644, Kind::File(content(BLOCK, 3))),
        entry("etc/multi", 0o644, Kind::File(content(3 * BLOCK + 777, 4))),
        entry("etc/zeros", 0o644, Kind::File(vec![0; 2 * BLOCK + 100])),
        entry("a/b/c/d/e/deep", 0o644, Kind::File(content(10, 5))),
        home,
        own,
        entry("lib", 0o777, Kind::Symlink("usr/lib")),
        entry("sbin/sticky", 0o1777, Kind::Dir),
    ];
    for i in 0..320 {
        let path = format!("many/{}", long_name(i));
        entries.push(entry(&path, 0o644, Kind::File(content(i * 7, i as u32))));
    }
    entries.sort_by(|a, b| path_order(&a.path, &b.path));
    entries
}

fn write_entry<W: io::Write + io::Seek>(w: &mut Writer<W>, e: &Entry) -> Result<(), SquashfsError> {
    let x = &e.xattrs[..];
    match &e.kind {
        Kind::Dir => w.dir(&e.path, e.meta, x),
        Kind::File(data) => w.file(&e.path, e.meta, data.len() as u64, &mut &data[..], x),
        Kind::Symlink(target) => w.symlink(&e.path, e.meta, target, x),
        Kind::Char(major, minor) => w.char_device(&e.path, e.meta, *major, *minor, x),
        Kind::Block(major, minor) => w.block_device(&e.path, e.meta, *major, *minor, x),
        Kind::Fifo => w.fifo(&e.path, e.meta, x),
    }
}

fn build(entries: &[Entry], compression: Compression) -> Vec<u8> {
    let opts = Options {
        mtime: MTIME,
        compression,
        ..Options::default()
    };
    let mut w = Writer::new(Cursor::new(Vec::new()), opts).expect("valid options");
    for e in entries {
        write_entry(&mut w, e).expect("a well-formed tree");
    }
    let (out, len) = w.finish().expect("a well-formed tree");
    let bytes = out.into_inner();
    assert_eq!(bytes.len() as u64, len);
    bytes
}

pub(super) fn unsquashfs(image: &Path, args: &[&str]) -> String {
    let out = Command::new("unsquashfs")
        .args(args)
        .arg(image)
        .output()
        .expect("unsquashfs is installed (scripts/install-deps)");
    assert!(
        out.status.success(),
        "unsquashfs {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 listing")
}

pub(super) fn image_file(dir: &Path, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join("root.sqfs");
    std::fs::write(&path, bytes).expect("temp dir is writable");
    path
}

/// `ls -l` style mode string of an entry, as unsquashfs prints it.
fn mode_string(e: &Entry) -> String {
    let kind = match e.kind {
        Kind::Dir => 'd',
        Kind::File(_) => '-',
        Kind::Symlink(_) => 'l',
        Kind::Char(..) => 'c',
        Kind::Block(..) => 'b',
        Kind::Fifo => 'p',
    };
    let m = e.meta.mode;
    let mut s = String::from(kind);
    for (shift, special, lower, upper) in [
        (6, 0o4000, 's', 'S'),
        (3, 0o2000, 's', 'S'),
        (0, 0o1000, 't', 'T'),
    ] {
        let bits = (m >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(match (bits & 1 != 0, m & special != 0) {
            (true, true) => lower,
            (false, true) => upper,
            (true, false) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// The entries the image holds, parents the writer created included.
fn expected_listing(entries: &[Entry]) -> Vec<(String, String, String, String)> {
    let mut all: Vec<Entry> = entries.to_vec();
    for e in entries {
        let mut parent = e.path.as_str();
        while let Some((p, _)) = parent.rsplit_once('/') {
            if !all.iter().any(|x| x.path == p) {
                all.push(entry(p, 0o755, Kind::Dir));
            }
            parent = p;
        }
    }
    all.sort_by(|a, b| path_order(&a.path, &b.path));
    all.iter()
        .map(|e| {
            let owner = format!("{}/{}", e.meta.uid, e.meta.gid);
            let size = match &e.kind {
                Kind::File(data) => data.len().to_string(),
                Kind::Symlink(t) => t.len().to_string(),
                Kind::Char(a, b) | Kind::Block(a, b) => format!("{a},{b}"),
                Kind::Fifo => "0".to_string(),
                Kind::Dir => "dir".to_string(),
            };
            let name = match &e.kind {
                Kind::Symlink(t) if e.path.is_empty() => format!("squashfs-root -> {t}"),
                Kind::Symlink(t) => format!("squashfs-root/{} -> {t}", e.path),
                _ if e.path.is_empty() => "squashfs-root".to_string(),
                _ => format!("squashfs-root/{}", e.path),
            };
            (mode_string(e), owner, size, name)
        })
        .collect()
}

/// unsquashfs -lln lines as (mode, uid/gid, size or "maj,min", name).
fn parse_listing(listing: &str) -> Vec<(String, String, String, String)> {
    listing
        .lines()
        .map(|line| {
            let (mode, rest) = line.split_once(' ').expect("mode column");
            let (owner, rest) = rest.trim_start().split_once(' ').expect("owner column");
            let rest = rest.trim_start();
            let (size, rest) = if mode.starts_with(['c', 'b']) {
                let (major, rest) = rest.split_once(',').expect("major,");
                let (minor, rest) = rest.trim_start().split_once(' ').expect("minor");
                (format!("{major},{minor}"), rest)
            } else {
                let (size, rest) = rest.split_once(' ').expect("size column");
                (size.to_string(), rest)
            };
            let size = if mode.starts_with('d') {
                "dir".to_string()
            } else {
                size
            };
            // Skip the date and time columns.
            let name = rest
                .trim_start()
                .splitn(3, ' ')
                .nth(2)
                .expect("name column");
            (mode.to_string(), owner.to_string(), size, name.to_string())
        })
        .collect()
}

#[test]
fn unsquashfs_lists_every_entry_with_its_type_mode_owner_size_and_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    let entries = sample();
    let image = image_file(dir.path(), &build(&entries, Compression::Zstd));
    let listing = unsquashfs(&image, &["-lln", "-UTC"]);
    assert_eq!(parse_listing(&listing), expected_listing(&entries));
}

#[test]
fn unsquashfs_extracts_every_file_with_the_bytes_that_went_in() {
    for compression in [Compression::Zstd, Compression::None] {
        let dir = tempfile::tempdir().expect("temp dir");
        let entries = sample();
        let image = image_file(dir.path(), &build(&entries, compression));
        let out = dir.path().join("out");
        unsquashfs(
            &image,
            &["-q", "-n", "-no-xattrs", "-d", out.to_str().expect("utf-8")],
        );
        let mut files = 0;
        for e in &entries {
            if let Kind::File(data) = &e.kind {
                let got = std::fs::read(out.join(&e.path)).expect("extracted file");
                assert!(got == *data, "{} differs ({compression:?})", e.path);
                files += 1;
            }
        }
        assert!(files > 320);
    }
}

#[test]
fn unsquashfs_reports_zstd_the_block_size_and_the_counts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = image_file(dir.path(), &build(&sample(), Compression::Zstd));
    let stat = unsquashfs(&image, &["-stat", "-UTC"]);
    for line in [
        "Compression zstd",
        "Block size 131072",
        "Filesystem is exportable via NFS",
        "Number of ids 3",
        "Number of xattr ids 2",
    ] {
        assert!(stat.lines().any(|l| l == line), "no {line:?} in\n{stat}");
    }
}

#[test]
fn user_xattrs_come_back_from_unsquashfs_extraction() {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = image_file(dir.path(), &build(&sample(), Compression::Zstd));
    let out = dir.path().join("out");
    unsquashfs(
        &image,
        &["-q", "-n", "-u", "-d", out.to_str().expect("utf-8")],
    );
    let file = out.join("home/user/notes");
    let read = Command::new("python3")
        .args([
            "-c",
            "import os,sys; sys.stdout.buffer.write(os.getxattr(sys.argv[1], 'user.x'))",
        ])
        .arg(&file)
        .output()
        .expect("python3 is installed");
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    assert_eq!(read.stdout, b"hello");
}

#[test]
fn file_capabilities_are_stored_under_the_security_prefix() {
    let image = build(&sample(), Compression::Zstd);
    let sets = xattr_sets(&image);
    let cap = vec![("security.capability".to_string(), CAPABILITY.to_vec())];
    let user = vec![("user.x".to_string(), b"hello".to_vec())];
    assert_eq!(sets, [cap, user]);
}

#[test]
fn identical_xattr_sets_share_one_id() {
    let mut entries = sample();
    for e in entries.iter_mut().filter(|e| e.path.starts_with("many/00")) {
        e.xattrs.push(("user.x", b"hello"));
    }
    let image = build(&entries, Compression::Zstd);
    assert_eq!(xattr_sets(&image).len(), 2);
}

#[test]
fn the_superblock_carries_mtime_counts_and_a_padded_length() {
    let image = build(&sample(), Compression::Zstd);
    let sb = superblock(&image);
    assert_eq!(sb.mkfs_time, MTIME);
    assert_eq!(sb.block_size, 131072);
    assert_eq!(sb.compression, 6);
    // Entries plus the parents written for them (dev, etc, a/b/c/d/e, home, many, sbin).
    assert_eq!(sb.inodes as usize, sample().len() + 10);
    assert_eq!(sb.no_ids, 3);
    assert!(sb.fragments >= 1);
    assert!(sb.bytes_used <= image.len() as u64);
    assert_eq!(image.len() % 4096, 0);
    assert!(image[sb.bytes_used as usize..].iter().all(|b| *b == 0));
    assert!(sb.inode_table_start > 96);
    assert_eq!(
        sb.flags & 0b1011,
        0,
        "compressed inodes, data and fragments"
    );
}

#[test]
fn the_same_calls_give_the_same_bytes() {
    let entries = sample();
    assert!(build(&entries, Compression::Zstd) == build(&entries, Compression::Zstd));
}

#[test]
fn an_empty_tree_is_a_valid_image_with_only_a_root() {
    let dir = tempfile::tempdir().expect("temp dir");
    let image = image_file(dir.path(), &build(&[], Compression::Zstd));
    let listing = unsquashfs(&image, &["-lln"]);
    assert_eq!(listing.lines().count(), 1, "{listing}");
    assert!(listing.starts_with("drwxr-xr-x 0/0"), "{listing}");
}
