use super::*;
pub(super) use crate::test_bytes::pattern;

use std::io::{Read, Seek, SeekFrom};
use std::process::Command;

/// A file holding `data` followed by the hash area built for it.
fn disk_with_tree(data: &[u8]) -> (tempfile::NamedTempFile, Params) {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(data).expect("write data");
    let handle = file.reopen().expect("reopen");
    let params = build(&handle, 0, data.len() as u64, file.as_file_mut()).expect("build");
    (file, params)
}

fn veritysetup(args: &[&str]) -> std::process::Output {
    Command::new("veritysetup")
        .args(args)
        .output()
        .expect("veritysetup (cryptsetup-bin) is installed")
}

fn verify(file: &tempfile::NamedTempFile, params: &Params) -> std::process::Output {
    let path = file.path().to_str().expect("utf-8 temp path");
    veritysetup(&[
        "verify",
        &format!("--hash-offset={}", params.hash_offset),
        path,
        path,
        &hex::encode(params.root_hash),
    ])
}

fn uuid_text(u: &[u8; 16]) -> String {
    let h = hex::encode(u);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[test]
fn veritysetup_verify_accepts_the_built_tree() {
    let data = pattern(5 * 1024 * 1024 + 3 * 4096, 1);
    let (file, params) = disk_with_tree(&data);
    let out = verify(&file, &params);
    assert!(
        out.status.success(),
        "veritysetup verify failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn flipped_byte_makes_veritysetup_verify_fail() {
    let data = pattern(3 * 1024 * 1024, 2);
    let (file, params) = disk_with_tree(&data);
    file.as_file()
        .write_at(&[data[777_777] ^ 0x40], 777_777)
        .expect("flip");
    let out = verify(&file, &params);
    assert!(
        !out.status.success(),
        "veritysetup verify accepted corrupted data"
    );
}

#[test]
fn flipped_byte_in_the_tree_makes_veritysetup_verify_fail() {
    let data = pattern(1024 * 1024, 3);
    let (file, params) = disk_with_tree(&data);
    let at = params.hash_offset + BLOCK + 100;
    file.as_file().write_at(&[0xff], at).expect("flip");
    assert!(!verify(&file, &params).status.success());
}

/// veritysetup given our salt and UUID must write exactly our hash area.
fn assert_matches_veritysetup_format(file: &mut tempfile::NamedTempFile, data_bytes: u64) {
    let handle = file.reopen().expect("reopen");
    let mut ours = Vec::new();
    let params = build(&handle, 0, data_bytes, &mut ours).expect("build");
    assert_eq!(ours.len() as u64, hash_area_size(data_bytes));
    let path = file.path().to_str().expect("utf-8 temp path").to_string();
    let out = veritysetup(&[
        "format",
        &format!("--salt={}", hex::encode(params.salt)),
        &format!("--uuid={}", uuid_text(&uuid(&params.salt))),
        &format!("--hash-offset={data_bytes}"),
        &path,
        &path,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "Root hash:      \t{}",
            hex::encode(params.root_hash)
        )),
        "veritysetup's root hash differs:\n{stdout}"
    );
    let mut theirs = Vec::new();
    let f = file.as_file_mut();
    f.seek(SeekFrom::Start(data_bytes)).expect("seek");
    f.read_to_end(&mut theirs).expect("read");
    assert_eq!(theirs.len(), ours.len(), "hash area sizes differ");
    assert!(
        theirs == ours,
        "hash area differs from veritysetup format's"
    );
}

#[test]
fn hash_area_equals_veritysetup_format_byte_for_byte() {
    for blocks in [1u64, 2, 128, 129, 300] {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(&pattern((blocks * BLOCK) as usize, blocks))
            .expect("write");
        assert_matches_veritysetup_format(&mut file, blocks * BLOCK);
    }
}

#[test]
fn three_level_tree_equals_veritysetup_format() {
    // 128 * 128 + 1 blocks need a third level; mostly sparse zeros.
    let blocks = PER_BLOCK * PER_BLOCK + 1;
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.as_file().set_len(blocks * BLOCK).expect("set_len");
    for b in [0, 5000, blocks - 1] {
        file.as_file()
            .write_at(&pattern(BLOCK as usize, b + 9), b * BLOCK)
            .expect("write");
    }
    assert_eq!(level_sizes(blocks), vec![129, 2, 1]);
    assert_matches_veritysetup_format(&mut file, blocks * BLOCK);
}

#[test]
fn in_memory_tree_equals_the_file_build() {
    let data = pattern(700 * 4096, 4);
    let (file, params) = disk_with_tree(&data);
    let (tree_bytes, root) = tree(&data, &params.salt).expect("tree");
    assert_eq!(root, params.root_hash);
    let mut area = Vec::new();
    file.reopen()
        .expect("reopen")
        .read_to_end(&mut area)
        .expect("read");
    assert_eq!(&area[data.len() + BLOCK as usize..], tree_bytes.as_slice());
}

#[test]
fn single_block_root_is_the_salted_hash_of_that_block() {
    let data = pattern(4096, 5);
    let salt = [7u8; 32];
    let (tree_bytes, root) = tree(&data, &salt).expect("tree");
    assert!(tree_bytes.is_empty());
    let expect: [u8; 32] = Sha256::new()
        .chain_update(salt)
        .chain_update(&data)
        .finalize()
        .into();
    assert_eq!(root, expect);
}

#[test]
fn size_that_is_not_whole_blocks_is_an_error() {
    let file = tempfile::tempfile().expect("temp file");
    file.set_len(8192).expect("set_len");
    for bytes in [0, 4095, 4097, 8000] {
        let err = build(&file, 0, bytes, &mut Vec::new()).expect_err("unaligned accepted");
        assert!(
            matches!(err, VerityError::Unaligned { bytes: b } if b == bytes),
            "{err}"
        );
    }
    assert!(matches!(
        tree(&[0; 100], &[0; 32]),
        Err(VerityError::Unaligned { bytes: 100 })
    ));
}

#[test]
fn data_file_shorter_than_the_size_given_is_a_read_error() {
    let file = tempfile::tempfile().expect("temp file");
    file.set_len(4 * 4096).expect("set_len");
    let err = build(&file, 0, 8 * 4096, &mut Vec::new()).expect_err("short file accepted");
    assert!(matches!(err, VerityError::Read { .. }), "{err}");
}

#[test]
fn two_builds_give_identical_bytes() {
    let data = pattern(2 * 1024 * 1024, 6);
    let (a, pa) = disk_with_tree(&data);
    let (b, pb) = disk_with_tree(&data);
    assert_eq!(pa, pb);
    assert_eq!(
        std::fs::read(a.path()).expect("read"),
        std::fs::read(b.path()).expect("read")
    );
}

#[test]
fn salt_depends_on_the_data() {
    let (_, a) = disk_with_tree(&pattern(8192, 7));
    let (_, b) = disk_with_tree(&pattern(8192, 8));
    assert_ne!(a.salt, b.salt);
}

#[test]
fn data_may_start_inside_a_bigger_file() {
    let data = pattern(64 * 4096, 10);
    let mut file = tempfile::tempfile().expect("temp file");
    file.write_all(&[0xAA; 12345]).expect("write");
    file.write_all(&data).expect("write");
    let at_offset = build(&file, 12345, data.len() as u64, &mut Vec::new()).expect("build");
    let (_, alone) = disk_with_tree(&data);
    assert_eq!(at_offset, alone);
}

#[test]
fn table_and_cmdline_name_the_hash_start_after_the_superblock() {
    let p = Params {
        data_blocks: 1000,
        hash_offset: 1000 * 4096,
        salt: [0x11; 32],
        root_hash: [0x22; 32],
    };
    let (root, salt) = ("22".repeat(32), "11".repeat(32));
    assert_eq!(
        p.table("/dev/vda2"),
        format!("0 8000 verity 1 /dev/vda2 /dev/vda2 4096 4096 1000 1001 sha256 {root} {salt}")
    );
    assert_eq!(
        p.cmdline(),
        format!("roothash={root} cairn.verity=1000,1001,{salt}")
    );
    let line = format!("console=ttyS0 {} panic=-1", p.cmdline());
    assert_eq!(Params::from_cmdline(&line).expect("parse"), p);
}

#[test]
fn malformed_cmdline_words_are_refused() {
    let salt = "11".repeat(32);
    let root = "22".repeat(32);
    assert!(matches!(
        Params::from_cmdline(&format!("cairn.verity=1,2,{salt}")),
        Err(CmdlineError::Missing { word: "roothash" })
    ));
    for bad in [
        format!("roothash={root} cairn.verity=1,0,{salt}"),
        format!("roothash={root} cairn.verity=0,2,{salt}"),
        format!("roothash={root} cairn.verity=1,2,{salt},3"),
        format!("roothash={root} cairn.verity=1,2,abc"),
        format!("roothash=xyz cairn.verity=1,2,{salt}"),
        format!("roothash={root} cairn.verity=x,2,{salt}"),
    ] {
        assert!(
            matches!(
                Params::from_cmdline(&bad),
                Err(CmdlineError::Malformed { .. })
            ),
            "accepted {bad}"
        );
    }
}
