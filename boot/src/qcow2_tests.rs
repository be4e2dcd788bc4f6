use super::*;
pub(super) use crate::test_bytes::pattern;

use std::process::Command;

const MIB: u64 = 1 << 20;

/// A sparse raw disk of `size` bytes with patterned runs `(offset, len)`.
fn raw_disk(size: u64, runs: &[(u64, usize)]) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    file.as_file().set_len(size).expect("set_len");
    for (i, &(offset, len)) in runs.iter().enumerate() {
        file.as_file()
            .write_at(&pattern(len, i as u64 + 1), offset)
            .expect("write");
    }
    file
}

fn convert(raw: &tempfile::NamedTempFile, cluster_bits: u32) -> (tempfile::NamedTempFile, u64) {
    let mut out = tempfile::NamedTempFile::new().expect("temp file");
    let size = raw.as_file().metadata().expect("metadata").len();
    let written =
        write_clusters(raw.as_file(), size, out.as_file_mut(), cluster_bits).expect("convert");
    assert_eq!(written, out.as_file().metadata().expect("metadata").len());
    (out, written)
}

fn qemu_img(args: &[&str]) -> (bool, String) {
    let out = Command::new("qemu-img")
        .args(args)
        .output()
        .expect("qemu-img (qemu-utils) is installed");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn path(f: &tempfile::NamedTempFile) -> &str {
    f.path().to_str().expect("utf-8 temp path")
}

fn assert_clean_and_identical(raw: &tempfile::NamedTempFile, qcow: &tempfile::NamedTempFile) {
    let (ok, text) = qemu_img(&["check", "-f", "qcow2", path(qcow)]);
    assert!(ok && text.contains("No errors were found"), "{text}");
    let (ok, text) = qemu_img(&["compare", "-f", "raw", "-F", "qcow2", path(raw), path(qcow)]);
    assert!(ok && text.contains("Images are identical"), "{text}");
}

#[test]
fn qemu_img_check_is_clean_and_compare_finds_the_same_contents() {
    let size = 40 * MIB + 3 * 512;
    let raw = raw_disk(
        size,
        &[
            (0, 4096),
            (65_530, 100),
            (5 * MIB, 300_000),
            (size - 512, 512),
        ],
    );
    let (qcow, _) = convert(&raw, CLUSTER_BITS);
    assert_clean_and_identical(&raw, &qcow);
}

#[test]
fn compare_notices_a_changed_byte() {
    let raw = raw_disk(4 * MIB, &[(MIB, 10_000)]);
    let (qcow, _) = convert(&raw, CLUSTER_BITS);
    raw.as_file().write_at(&[0xff], 3 * MIB).expect("write");
    let (ok, text) = qemu_img(&[
        "compare",
        "-f",
        "raw",
        "-F",
        "qcow2",
        path(&raw),
        path(&qcow),
    ]);
    assert!(!ok && text.contains("Content mismatch"), "{text}");
}

#[test]
fn qemu_img_info_shows_the_virtual_size() {
    let size = 7 * MIB + 512;
    let raw = raw_disk(size, &[(MIB, 1)]);
    let (qcow, _) = convert(&raw, CLUSTER_BITS);
    let (ok, text) = qemu_img(&["info", "--output=json", "-f", "qcow2", path(&qcow)]);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!("\"virtual-size\": {size},")),
        "{text}"
    );
    assert!(text.contains("\"cluster-size\": 65536"), "{text}");
    assert!(text.contains("\"compat\": \"1.1\""), "{text}");
}

#[test]
fn sparse_raw_gives_a_small_qcow2() {
    // Data in two clusters, under two different L2 tables (each maps 512 MiB).
    let raw = raw_disk(1024 * MIB, &[(100 * MIB, 512), (700 * MIB, 512)]);
    let (qcow, written) = convert(&raw, CLUSTER_BITS);
    // Header, L1, refcount table and block, two L2 tables, two data clusters.
    assert_eq!(written, 8 * 65536);
    assert_clean_and_identical(&raw, &qcow);
}

#[test]
fn all_zero_raw_holds_only_metadata() {
    let raw = raw_disk(64 * MIB, &[]);
    let (qcow, written) = convert(&raw, CLUSTER_BITS);
    assert_eq!(written, 4 * 65536);
    assert_clean_and_identical(&raw, &qcow);
}

#[test]
fn many_clusters_need_several_refcount_blocks_and_table_clusters() {
    // 512-byte clusters make a 12 MiB disk span 384 L2 tables, about a
    // hundred refcount blocks and a two-cluster refcount table.
    let raw = raw_disk(12 * MIB, &[(0, 12 * MIB as usize)]);
    let plan = Plan::new(scan(raw.as_file(), 12 * MIB, 512).expect("scan"), 9);
    assert!(
        plan.refcount_table_clusters > 1 && plan.refcount_blocks > 90,
        "{plan:?}"
    );
    let (qcow, written) = convert(&raw, 9);
    assert_eq!(written, plan.total_clusters * 512);
    assert_clean_and_identical(&raw, &qcow);
}

#[test]
fn refcount_blocks_cover_every_cluster_at_the_boundaries() {
    // Around the counts where one more block or table cluster is needed.
    for data in [32_760u64, 32_761, 32_762, 32_763, 65_530, 65_531, 8_380_000] {
        let plan = Plan::new(vec![true; data as usize], CLUSTER_BITS);
        let per_block = 65536 * 8 / 16;
        assert!(
            plan.refcount_blocks * per_block >= plan.total_clusters,
            "{data}"
        );
        assert!(
            plan.refcount_table_clusters * 8192 >= plan.refcount_blocks,
            "{data}"
        );
        assert!(
            (plan.refcount_blocks - 1) * per_block < plan.total_clusters,
            "{data}"
        );
    }
}

#[test]
fn same_raw_gives_identical_bytes() {
    let raw = raw_disk(20 * MIB, &[(0, 1000), (9 * MIB, 70_000)]);
    let (a, _) = convert(&raw, CLUSTER_BITS);
    let (b, _) = convert(&raw, CLUSTER_BITS);
    assert!(std::fs::read(a.path()).expect("read") == std::fs::read(b.path()).expect("read"));
}

#[test]
fn public_write_uses_64k_clusters() {
    let raw = raw_disk(2 * MIB, &[(MIB, 8)]);
    let mut out = Vec::new();
    let written = write(raw.as_file(), 2 * MIB, &mut out).expect("write");
    assert_eq!(written, out.len() as u64);
    assert_eq!(&out[..8], b"QFI\xfb\0\0\0\x03");
    assert_eq!(out[23], 16);
}

#[test]
fn size_not_whole_sectors_is_refused() {
    let raw = raw_disk(MIB, &[]);
    let err = write(raw.as_file(), MIB - 1, &mut Vec::new()).expect_err("accepted");
    assert!(
        matches!(err, Qcow2Error::Size { bytes } if bytes == MIB - 1),
        "{err}"
    );
}

#[test]
fn raw_shorter_than_the_size_given_is_a_read_error() {
    let raw = raw_disk(MIB, &[]);
    let err = write(raw.as_file(), 2 * MIB, &mut Vec::new()).expect_err("accepted");
    assert!(matches!(err, Qcow2Error::Read { .. }), "{err}");
}

#[test]
fn a_blank_disk_is_a_few_clusters_that_qemu_img_sees_as_empty_and_full_size() {
    let size = 10 << 30;
    let mut out = tempfile::NamedTempFile::new().expect("temp file");
    let written = blank(size, out.as_file_mut()).expect("blank");
    assert!(written < 8 << 16, "{written} bytes for an empty disk");
    let (ok, text) = qemu_img(&["check", "-f", "qcow2", path(&out)]);
    assert!(ok && text.contains("No errors were found"), "{text}");
    let (ok, text) = qemu_img(&["info", "--output=json", path(&out)]);
    assert!(
        ok && text.contains(&format!("\"virtual-size\": {size}")),
        "{text}"
    );
    assert!(matches!(
        blank(1000, &mut Vec::new()),
        Err(Qcow2Error::Size { .. })
    ));
}
