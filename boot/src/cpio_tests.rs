use super::*;

/// One parsed newc entry.
#[derive(Debug, Clone, PartialEq)]
struct Parsed {
    name: String,
    ino: u32,
    mode: u32,
    uid: u32,
    nlink: u32,
    mtime: u32,
    rdev: (u32, u32),
    data: Vec<u8>,
}

/// An independent reading of the format, to check the writer against.
fn parse(bytes: &[u8]) -> Vec<Parsed> {
    let mut out = Vec::new();
    let mut at = 0;
    loop {
        assert_eq!(at % 4, 0, "header at {at} is not aligned");
        assert_eq!(&bytes[at..at + 6], MAGIC);
        let field = |i: usize| {
            let s = std::str::from_utf8(&bytes[at + 6 + 8 * i..at + 14 + 8 * i])
                .expect("well-formed archive");
            u32::from_str_radix(s, 16).expect("well-formed archive")
        };
        let (size, name_len) = (field(6) as usize, field(11) as usize);
        let name_at = at + 110;
        let name = std::str::from_utf8(&bytes[name_at..name_at + name_len - 1])
            .expect("well-formed archive")
            .to_string();
        assert_eq!(bytes[name_at + name_len - 1], 0);
        let data_at = (name_at + name_len).next_multiple_of(4);
        let entry = Parsed {
            name,
            ino: field(0),
            mode: field(1),
            uid: field(2),
            nlink: field(4),
            mtime: field(5),
            rdev: (field(9), field(10)),
            data: bytes[data_at..data_at + size].to_vec(),
        };
        at = (data_at + size).next_multiple_of(4);
        if entry.name == TRAILER {
            assert_eq!(at, bytes.len(), "bytes after the trailer");
            return out;
        }
        out.push(entry);
    }
}

fn archive(write: impl FnOnce(&mut Writer<Vec<u8>>) -> Result<()>) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), 1_700_000_000);
    write(&mut w).expect("well-formed archive");
    w.finish().expect("well-formed archive")
}

fn sample(w: &mut Writer<Vec<u8>>) -> Result<()> {
    w.dir("bin", Meta::root(0o755))?;
    w.file("bin/sh", Meta::root(0o755), 5, &mut &b"hello"[..])?;
    w.char_device("dev/console", Meta::root(0o600), 5, 1)?;
    w.symlink("init", Meta::root(0o777), "bin/sh")
}

#[test]
fn an_empty_archive_is_one_aligned_trailer() {
    let bytes = archive(|_| Ok(()));
    assert_eq!(bytes.len(), 124);
    assert!(parse(&bytes).is_empty());
}

#[test]
fn entries_read_back_with_kinds_data_and_one_mtime() {
    let entries = parse(&archive(sample));
    let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["bin", "bin/sh", "dev", "dev/console", "init"]);
    assert_eq!(entries[0].mode, S_IFDIR | 0o755);
    assert_eq!(entries[1].mode, S_IFREG | 0o755);
    assert_eq!(entries[1].data, b"hello");
    assert_eq!(entries[3].mode, S_IFCHR | 0o600);
    assert_eq!(entries[3].rdev, (5, 1));
    assert_eq!(entries[4].mode, S_IFLNK | 0o777);
    assert_eq!(entries[4].data, b"bin/sh");
    assert!(entries.iter().all(|e| e.mtime == 1_700_000_000));
}

#[test]
fn inode_numbers_count_up_in_write_order() {
    let inos: Vec<u32> = parse(&archive(sample)).iter().map(|e| e.ino).collect();
    assert_eq!(inos, [1, 2, 3, 4, 5]);
}

#[test]
fn missing_parents_are_written_as_root_owned_directories() {
    let entries = parse(&archive(|w| {
        w.file("/usr/lib/x", Meta::root(0o644), 0, &mut io::empty())
    }));
    let names: Vec<_> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["usr", "usr/lib", "usr/lib/x"]);
    assert_eq!(entries[1].mode, S_IFDIR | 0o755);
}

#[test]
fn the_same_entries_give_the_same_bytes() {
    assert_eq!(archive(sample), archive(sample));
}

#[test]
fn entries_out_of_order_are_refused() {
    let mut w = Writer::new(Vec::new(), 0);
    w.dir("b", Meta::root(0o755)).unwrap();
    let err = w.dir("a", Meta::root(0o755)).unwrap_err();
    assert!(matches!(err, CpioError::OutOfOrder { .. }), "{err}");
    let err = w.dir("b", Meta::root(0o755)).unwrap_err();
    assert!(matches!(err, CpioError::OutOfOrder { .. }), "{err}");
}

#[test]
fn a_directory_sorts_before_a_sibling_with_a_longer_name() {
    let names: Vec<String> = parse(&archive(|w| {
        w.file("a/b", Meta::root(0o644), 0, &mut io::empty())?;
        w.file("a.b", Meta::root(0o644), 0, &mut io::empty())
    }))
    .into_iter()
    .map(|e| e.name)
    .collect();
    assert_eq!(names, ["a", "a/b", "a.b"]);
}

#[test]
fn an_entry_under_a_file_is_refused() {
    let mut w = Writer::new(Vec::new(), 0);
    w.file("a", Meta::root(0o644), 0, &mut io::empty()).unwrap();
    let err = w.file("a/b", Meta::root(0o644), 0, &mut io::empty());
    assert!(matches!(err, Err(CpioError::ParentNotDir { .. })));
}

#[test]
fn paths_with_dot_dot_or_nothing_are_refused() {
    let mut w = Writer::new(Vec::new(), 0);
    for bad in ["../etc", "a/../b", "/", ""] {
        let err = w.dir(bad, Meta::root(0o755));
        assert!(matches!(err, Err(CpioError::BadPath { .. })), "{bad}");
    }
}

#[test]
fn a_file_shorter_or_longer_than_announced_is_refused() {
    let mut w = Writer::new(Vec::new(), 0);
    let err = w.file("short", Meta::root(0o644), 10, &mut &b"abc"[..]);
    assert!(matches!(
        err,
        Err(CpioError::SizeMismatch {
            expected: 10,
            got: 3,
            ..
        })
    ));
    let mut w = Writer::new(Vec::new(), 0);
    let err = w.file("long", Meta::root(0o644), 2, &mut &b"abc"[..]);
    assert!(matches!(err, Err(CpioError::SizeMismatch { .. })));
}

#[test]
fn hard_links_share_an_inode_and_only_the_last_name_carries_data() {
    let entries = parse(&archive(|w| {
        let mut group = w.link_group(2);
        w.linked_file(&mut group, "bin/a", Meta::root(0o755), 3, &mut &b"abc"[..])?;
        w.file("bin/other", Meta::root(0o644), 0, &mut io::empty())?;
        w.linked_file(&mut group, "sbin/a", Meta::root(0o755), 3, &mut &b"abc"[..])?;
        let err = w.linked_file(&mut group, "sbin/b", Meta::root(0o755), 3, &mut &b"abc"[..]);
        assert!(matches!(err, Err(CpioError::LinkOverflow { nlink: 2, .. })));
        Ok(())
    }));
    let a = entries.iter().find(|e| e.name == "bin/a").unwrap();
    let b = entries.iter().find(|e| e.name == "sbin/a").unwrap();
    assert_eq!((a.ino, a.nlink, a.data.len()), (b.ino, 2, 0));
    assert_eq!(b.data, b"abc");
}

#[test]
fn owners_are_kept_numerically() {
    let entries = parse(&archive(|w| {
        w.dir(
            "home",
            Meta {
                mode: 0o1777,
                uid: 1000,
                gid: 100,
            },
        )
    }));
    assert_eq!(entries[0].uid, 1000);
    assert_eq!(entries[0].mode, S_IFDIR | 0o1777);
}
