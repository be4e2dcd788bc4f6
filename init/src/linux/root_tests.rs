use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

use super::*;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cairn-init-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

#[test]
fn the_root_filesystem_type_is_read_from_mountinfo() {
    let info = "1 1 0:2 / / rw - rootfs rootfs rw\n\
                22 1 0:21 / /proc rw,nosuid shared:5 - proc proc rw\n";
    assert_eq!(root_fstype(info).as_deref(), Some("rootfs"));
    let switched = "30 29 0:25 / / rw,relatime shared:1 master:2 - tmpfs tmpfs rw,size=100%\n";
    assert_eq!(root_fstype(switched).as_deref(), Some("tmpfs"));
    assert_eq!(root_fstype("22 1 0:21 / /proc rw - proc proc rw\n"), None);
}

#[test]
fn moving_a_tree_keeps_files_modes_symlinks_and_hard_links_and_empties_the_source() {
    let base = scratch("move");
    let (from, to) = (base.join("from"), base.join("to"));
    fs::create_dir_all(from.join("usr/bin")).expect("mkdir");
    fs::create_dir_all(&to).expect("mkdir");
    fs::write(from.join("usr/bin/tool"), b"#!/bin/sh\n").expect("write");
    fs::set_permissions(from.join("usr/bin/tool"), fs::Permissions::from_mode(0o750))
        .expect("chmod");
    fs::hard_link(from.join("usr/bin/tool"), from.join("usr/bin/alias")).expect("link");
    std::os::unix::fs::symlink("usr/bin", from.join("bin")).expect("symlink");
    fs::set_permissions(from.join("usr"), fs::Permissions::from_mode(0o711)).expect("chmod");

    let moved = move_tree(&from, &to).expect("move");

    assert_eq!(moved, 5);
    assert_eq!(fs::read_dir(&from).expect("read").count(), 0);
    assert_eq!(
        fs::read(to.join("usr/bin/tool")).expect("read"),
        b"#!/bin/sh\n"
    );
    let tool = fs::metadata(to.join("usr/bin/tool")).expect("stat");
    assert_eq!(tool.mode() & 0o7777, 0o750);
    assert_eq!(tool.nlink(), 2);
    assert_eq!(
        tool.ino(),
        fs::metadata(to.join("usr/bin/alias")).expect("stat").ino()
    );
    assert_eq!(
        fs::read_link(to.join("bin")).expect("readlink"),
        PathBuf::from("usr/bin")
    );
    assert_eq!(
        fs::metadata(to.join("usr")).expect("stat").mode() & 0o7777,
        0o711
    );
    fs::remove_dir_all(&base).expect("clean up");
}
