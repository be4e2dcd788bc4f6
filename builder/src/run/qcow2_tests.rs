use super::*;
use crate::arch::Arch;
use crate::run::gpt::{ROOT_ARM64, root_arch};
use crate::run::test_disks::{gpt_disk, qcow2_of};

/// The first `len` guest bytes read through the qcow2 tables.
fn guest_bytes(path: &std::path::Path, len: usize) -> Vec<u8> {
    let mut q = Qcow2::open(File::open(path).unwrap()).unwrap();
    let mut buf = vec![0xaa; len];
    q.read_exact_at(0, &mut buf).unwrap();
    buf
}

#[test]
fn guest_bytes_read_through_the_tables_equal_the_raw_disk_qemu_img_converted() {
    let dir = tempfile::tempdir().unwrap();
    let raw = gpt_disk(dir.path(), "d.raw", &[ROOT_ARM64]);
    let want = std::fs::read(&raw).unwrap();
    // 512-byte clusters put the GPT across many clusters and L2 tables; v2
    // images have no zero flag.
    for (name, extra) in [
        ("default.qcow2", &[][..]),
        ("small.qcow2", &["-o", "cluster_size=512"][..]),
        ("v2.qcow2", &["-o", "compat=0.10"][..]),
    ] {
        let q = qcow2_of(&raw, name, extra);
        assert_eq!(guest_bytes(&q, want.len()), want, "{name}");
        let mut image = Qcow2::open(File::open(&q).unwrap()).unwrap();
        assert_eq!(image.size(), want.len() as u64);
        assert_eq!(root_arch(&mut image).unwrap(), Some(Arch::Arm64), "{name}");
    }
}

#[test]
fn reads_past_the_guest_disk_end_fail() {
    let dir = tempfile::tempdir().unwrap();
    let raw = gpt_disk(dir.path(), "d.raw", &[ROOT_ARM64]);
    let q = qcow2_of(&raw, "d.qcow2", &[]);
    let mut image = Qcow2::open(File::open(&q).unwrap()).unwrap();
    let mut buf = [0u8; 16];
    let err = image.read_exact_at(image.size() - 8, &mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[test]
fn compressed_images_and_extended_l2_are_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let raw = gpt_disk(dir.path(), "d.raw", &[ROOT_ARM64]);
    let compressed = qcow2_of(&raw, "c.qcow2", &["-c"]);
    let mut image = Qcow2::open(File::open(&compressed).unwrap()).unwrap();
    let err = root_arch(&mut image).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
    let extended = qcow2_of(&raw, "x.qcow2", &["-o", "extended_l2=on"]);
    let err = Qcow2::open(File::open(&extended).unwrap()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
}

#[test]
fn an_image_with_a_backing_file_is_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let raw = gpt_disk(dir.path(), "d.raw", &[ROOT_ARM64]);
    let top = dir.path().join("top.qcow2");
    let ok = std::process::Command::new("qemu-img")
        .args(["create", "-f", "qcow2", "-F", "raw", "-b"])
        .arg(&raw)
        .arg(&top)
        .output()
        .unwrap();
    assert!(ok.status.success());
    let err = Qcow2::open(File::open(&top).unwrap()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::Unsupported);
}

#[test]
fn a_file_without_the_magic_is_not_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk");
    std::fs::write(&path, [0u8; 512]).unwrap();
    let err = Qcow2::open(File::open(&path).unwrap()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
}
