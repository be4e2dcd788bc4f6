use std::io::Read;

use super::*;
use crate::fstree::{Contents, Entry, Kind};

fn tree() -> (Tree, ContentId) {
    let mut tree = Tree::new(Contents::new(None).expect("contents"));
    tree.add_file("sbin/init", &mut &b"#!init"[..], 0o755, 0, 0)
        .expect("add");
    tree.insert(
        "init",
        Entry {
            kind: Kind::Symlink("sbin/init".into()),
            mode: 0o777,
            uid: 0,
            gid: 0,
        },
    )
    .expect("add");
    tree.add_file("etc/hostname", &mut &b"cairn\n"[..], 0o644, 0, 0)
        .expect("add");
    let kernel = tree
        .contents()
        .add_bytes(&[0x4d, 0x5a, 1, 2, 3])
        .expect("kernel");
    (tree, kernel)
}

fn build(dir: &Path, tree: &Tree, kernel: &ContentId, how: Compression) -> Vec<Written> {
    let req = Request {
        rootfs: tree,
        kernel: Some(Kernel {
            image: kernel,
            cmdline: "console=ttyS0",
            release: "",
        }),
        dir,
        name: "sys",
        mtime: 0,
        compression: how,
        arch: crate::arch::Arch::Amd64,
        stub: None,
        boot_manager: None,
        version: "0",
        syslinux: None,
        rpi: None,
        rpi_key: None,
        disk: Default::default(),
    };
    write(&req, Format::KernelInitrd, &|_| {}).expect("write")
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn kernel_initrd_writes_three_files_and_nothing_else() {
    let (tree, kernel) = tree();
    let dir = tempfile::tempdir().unwrap();
    let written = build(dir.path(), &tree, &kernel, Compression::Gzip);
    assert_eq!(
        names(dir.path()),
        ["sys-cmdline", "sys-initrd.img", "sys-kernel"]
    );
    assert_eq!(written.len(), 3);
    assert_eq!(
        std::fs::read(dir.path().join("sys-kernel")).unwrap(),
        [0x4d, 0x5a, 1, 2, 3]
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("sys-cmdline")).unwrap(),
        "console=ttyS0"
    );
    let initrd = std::fs::read(dir.path().join("sys-initrd.img")).unwrap();
    assert_eq!(written[1].size, initrd.len() as u64);
}

#[test]
fn the_initrd_is_a_gzip_cpio_with_the_tree_and_a_console() {
    let (tree, kernel) = tree();
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), &tree, &kernel, Compression::Gzip);
    let gz = std::fs::File::open(dir.path().join("sys-initrd.img")).unwrap();
    let mut cpio = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut cpio)
        .unwrap();
    let text = String::from_utf8_lossy(&cpio);
    let order: Vec<usize> = [
        "dev\0",
        "dev/console\0",
        "etc/hostname\0",
        "init\0",
        "sbin/init\0",
        "TRAILER!!!\0",
    ]
    .iter()
    .map(|n| text.find(n).unwrap_or_else(|| panic!("{n} missing")))
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}

#[test]
fn zstd_and_gzip_initrds_hold_the_same_archive() {
    let (tree, kernel) = tree();
    let plain = tempfile::tempdir().unwrap();
    build(plain.path(), &tree, &kernel, Compression::None);
    let zstd = tempfile::tempdir().unwrap();
    build(zstd.path(), &tree, &kernel, Compression::Zstd);
    let mut decoded = Vec::new();
    ruzstd::decoding::StreamingDecoder::new(
        std::fs::File::open(zstd.path().join("sys-initrd.img")).unwrap(),
    )
    .unwrap()
    .read_to_end(&mut decoded)
    .unwrap();
    assert_eq!(
        decoded,
        std::fs::read(plain.path().join("sys-initrd.img")).unwrap()
    );
}

#[test]
fn the_same_tree_written_twice_gives_identical_bytes() {
    let (tree, kernel) = tree();
    for how in [Compression::Gzip, Compression::Zstd] {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let first = build(a.path(), &tree, &kernel, how);
        let second = build(b.path(), &tree, &kernel, how);
        let hashes = |w: &[Written]| w.iter().map(|w| w.sha256.clone()).collect::<Vec<_>>();
        assert_eq!(hashes(&first), hashes(&second), "{how:?}");
    }
}

#[test]
fn a_console_in_the_tree_is_not_written_twice() {
    let (mut tree, kernel) = tree();
    tree.insert(
        "dev/console",
        Entry {
            kind: Kind::CharDevice(5, 1),
            mode: 0o620,
            uid: 0,
            gid: 5,
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), &tree, &kernel, Compression::None);
    let cpio = std::fs::read(dir.path().join("sys-initrd.img")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&cpio)
            .matches("dev/console\0")
            .count(),
        1
    );
}

#[test]
fn without_a_kernel_nothing_is_written_and_the_config_is_blamed() {
    let (tree, _) = tree();
    let dir = tempfile::tempdir().unwrap();
    let req = Request {
        rootfs: &tree,
        kernel: None,
        dir: dir.path(),
        name: "sys",
        mtime: 0,
        compression: Compression::Gzip,
        arch: crate::arch::Arch::Amd64,
        stub: None,
        boot_manager: None,
        version: "0",
        syslinux: None,
        rpi: None,
        rpi_key: None,
        disk: Default::default(),
    };
    let err = write(&req, Format::KernelInitrd, &|_| {}).unwrap_err();
    assert!(matches!(err, OutputError::NoKernel));
    assert!(names(dir.path()).is_empty());
}

#[test]
fn a_failed_initrd_leaves_no_temporary_file() {
    let (tree, kernel) = tree();
    let dir = tempfile::tempdir().unwrap();
    let req = Request {
        rootfs: &tree,
        kernel: Some(Kernel {
            image: &kernel,
            cmdline: "",
            release: "",
        }),
        dir: dir.path(),
        name: "sys",
        mtime: u64::from(u32::MAX) + 1,
        compression: Compression::Zstd,
        arch: crate::arch::Arch::Amd64,
        stub: None,
        boot_manager: None,
        version: "0",
        syslinux: None,
        rpi: None,
        rpi_key: None,
        disk: Default::default(),
    };
    let err = write(&req, Format::KernelInitrd, &|_| {}).unwrap_err();
    assert!(matches!(err, OutputError::Mtime { .. }), "{err}");
    assert_eq!(names(dir.path()), ["sys-kernel"]);
}

#[test]
fn tar_writes_the_root_filesystem_alone() {
    let (tree, _) = tree();
    let dir = tempfile::tempdir().unwrap();
    let req = Request {
        rootfs: &tree,
        kernel: None,
        dir: dir.path(),
        name: "sys",
        mtime: 0,
        compression: Compression::Gzip,
        arch: crate::arch::Arch::Amd64,
        stub: None,
        boot_manager: None,
        version: "0",
        syslinux: None,
        rpi: None,
        rpi_key: None,
        disk: Default::default(),
    };
    let written = write(&req, Format::Tar, &|_| {}).unwrap();
    assert_eq!(names(dir.path()), ["sys.tar"]);
    let mut archive = tar::Archive::new(std::fs::File::open(&written[0].path).unwrap());
    let paths: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        paths,
        ["etc/", "etc/hostname", "init", "sbin/", "sbin/init"]
    );
}
