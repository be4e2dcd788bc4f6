//! Refusals, hard links and shared data, checked on the writer's output
//! (and with unsquashfs where the result is a tree).

use std::io::{self, Cursor};

use super::test_reader::superblock;
use super::tests::{BLOCK, content, image_file, unsquashfs};
use super::*;
use crate::cpio::Meta;

fn writer() -> Writer<Cursor<Vec<u8>>> {
    Writer::new(Cursor::new(Vec::new()), Options::default()).expect("default options")
}

#[test]
fn entries_out_of_order_are_refused() {
    let mut w = writer();
    w.dir("b", Meta::root(0o755), &[]).expect("first entry");
    let err = w.dir("a", Meta::root(0o755), &[]).unwrap_err();
    assert!(matches!(err, SquashfsError::OutOfOrder { .. }), "{err}");
    let err = w.dir("b", Meta::root(0o755), &[]).unwrap_err();
    assert!(matches!(err, SquashfsError::OutOfOrder { .. }), "{err}");
    let err = w.dir("", Meta::root(0o755), &[]).unwrap_err();
    assert!(matches!(err, SquashfsError::OutOfOrder { .. }), "{err}");
}

#[test]
fn bad_paths_names_and_entries_under_files_are_refused() {
    let mut w = writer();
    for bad in ["../etc", "a/../b", "a\0b"] {
        let err = w.dir(bad, Meta::root(0o755), &[]);
        assert!(matches!(err, Err(SquashfsError::BadPath { .. })), "{bad:?}");
    }
    let err = w.fifo(".", Meta::root(0o644), &[]);
    assert!(matches!(err, Err(SquashfsError::BadPath { .. })));
    let err = w.fifo(&"x".repeat(257), Meta::root(0o644), &[]);
    assert!(matches!(err, Err(SquashfsError::NameTooLong { .. })));
    w.fifo("a", Meta::root(0o644), &[]).expect("a fifo");
    let err = w.fifo("a/b", Meta::root(0o644), &[]);
    assert!(matches!(err, Err(SquashfsError::ParentNotDir { .. })));
}

#[test]
fn a_file_shorter_or_longer_than_announced_is_refused() {
    let mut w = writer();
    let err = w.file(
        "short",
        Meta::root(0o644),
        200_000,
        &mut &[1u8; 150_000][..],
        &[],
    );
    assert!(matches!(
        err,
        Err(SquashfsError::SizeMismatch {
            expected: 200_000,
            got: 150_000,
            ..
        })
    ));
    let mut w = writer();
    let err = w.file("long", Meta::root(0o644), 2, &mut &b"abc"[..], &[]);
    assert!(matches!(err, Err(SquashfsError::SizeMismatch { .. })));
}

#[test]
fn xattrs_outside_the_three_prefixes_and_bad_block_sizes_are_refused() {
    let mut w = writer();
    let err = w.fifo("f", Meta::root(0o644), &[("system.posix_acl_access", b"x")]);
    assert!(matches!(err, Err(SquashfsError::BadXattr { .. })));
    let opts = Options {
        block_size: 1000,
        ..Options::default()
    };
    let err = Writer::new(Cursor::new(Vec::new()), opts).err();
    assert!(matches!(
        err,
        Some(SquashfsError::BadBlockSize { block_size: 1000 })
    ));
}

#[test]
fn hard_links_share_one_inode_with_its_link_count() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut w = writer();
    let mut group = w.link_group(2);
    w.linked_file(
        &mut group,
        "bin/a",
        Meta::root(0o755),
        3,
        &mut &b"abc"[..],
        &[],
    )
    .expect("first name");
    w.linked_file(
        &mut group,
        "sbin/a",
        Meta::root(0o755),
        3,
        &mut io::empty(),
        &[],
    )
    .expect("second name");
    let err = w.linked_file(
        &mut group,
        "sbin/b",
        Meta::root(0o755),
        3,
        &mut io::empty(),
        &[],
    );
    assert!(matches!(
        err,
        Err(SquashfsError::LinkOverflow { nlink: 2, .. })
    ));
    let (out, _) = w.finish().expect("a well-formed tree");
    let image = image_file(dir.path(), &out.into_inner());
    let dest = dir.path().join("out");
    unsquashfs(&image, &["-q", "-n", "-d", dest.to_str().expect("utf-8")]);
    use std::os::unix::fs::MetadataExt;
    let a = std::fs::metadata(dest.join("bin/a")).expect("bin/a");
    let b = std::fs::metadata(dest.join("sbin/a")).expect("sbin/a");
    assert_eq!((a.ino(), a.nlink()), (b.ino(), 2));
    assert_eq!(std::fs::read(dest.join("sbin/a")).expect("sbin/a"), b"abc");
}

#[test]
fn files_with_the_same_bytes_share_one_copy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let big = content(3 * BLOCK + 5, 9);
    let small = content(700, 10);
    let image = |copies: usize| {
        let mut w = writer();
        for i in 0..copies {
            let meta = Meta::root(0o644);
            w.file(
                &format!("{i}big"),
                meta,
                big.len() as u64,
                &mut &big[..],
                &[],
            )
            .expect("big");
            w.file(&format!("{i}small"), meta, 700, &mut &small[..], &[])
                .expect("small");
        }
        w.finish().expect("a well-formed tree").0.into_inner()
    };
    let (one, three) = (image(1), image(3));
    assert!(
        three.len() < one.len() + 8192,
        "{} vs {}",
        three.len(),
        one.len()
    );
    let path = image_file(dir.path(), &three);
    let out = dir.path().join("out");
    unsquashfs(&path, &["-q", "-n", "-d", out.to_str().expect("utf-8")]);
    for i in 0..3 {
        assert!(std::fs::read(out.join(format!("{i}big"))).expect("big") == big);
        assert_eq!(
            std::fs::read(out.join(format!("{i}small"))).expect("small"),
            small
        );
    }
}

#[test]
fn a_dropped_duplicate_at_the_end_leaves_zeros_not_its_bytes() {
    // Longer than a batch of blocks, so part of the copy is written first.
    let big = content(40 * BLOCK, 11);
    let mut w = writer();
    w.file("a", Meta::root(0o644), big.len() as u64, &mut &big[..], &[])
        .expect("a");
    w.file("b", Meta::root(0o644), big.len() as u64, &mut &big[..], &[])
        .expect("b");
    let (out, len) = w.finish().expect("a well-formed tree");
    let image = out.into_inner();
    assert_eq!(image.len() as u64, len);
    assert_eq!(len % 4096, 0);
    let sb = superblock(&image);
    assert!(
        len > sb.bytes_used + 4096,
        "the second copy's place is kept"
    );
    assert!(image[sb.bytes_used as usize..].iter().all(|b| *b == 0));
}
