use super::*;

fn tree() -> Tree {
    Tree::new(Contents::new(None).unwrap())
}

fn file(t: &mut Tree, path: &str, text: &str) -> String {
    t.add_file(path, &mut text.as_bytes(), 0o644, 0, 0).unwrap()
}

fn link(target: &str) -> Entry {
    Entry {
        kind: Kind::Symlink(target.into()),
        mode: 0o777,
        uid: 0,
        gid: 0,
    }
}

fn paths(t: &Tree) -> Vec<&str> {
    t.iter().map(|(p, _)| p).collect()
}

#[test]
fn parents_come_before_children_and_missing_parents_are_created() {
    let mut t = tree();
    file(&mut t, "a.b", "1");
    file(&mut t, "/a/b/c", "2");
    file(&mut t, "./a/a", "3");
    assert_eq!(paths(&t), ["a", "a/a", "a/b", "a/b/c", "a.b"]);
    assert_eq!(t.get("a").unwrap().kind, Kind::Dir);
}

#[test]
fn a_parent_symlink_is_followed_inside_the_tree() {
    let mut t = tree();
    t.insert("usr/lib", Entry::dir(0o755)).unwrap();
    t.insert("lib", link("usr/lib")).unwrap();
    assert_eq!(file(&mut t, "lib/libc.so.6", "x"), "usr/lib/libc.so.6");
    // An absolute target with `..` stays inside the root.
    t.insert("bin", link("/../../usr/bin")).unwrap();
    assert_eq!(file(&mut t, "bin/sh", "x"), "usr/bin/sh");
    // A directory over a symlink keeps the symlink.
    t.insert("lib", Entry::dir(0o755)).unwrap();
    assert!(matches!(t.get("lib").unwrap().kind, Kind::Symlink(_)));
}

#[test]
fn paths_escaping_the_root_and_symlink_loops_are_refused() {
    let mut t = tree();
    assert!(matches!(
        t.add_file("../etc/passwd", &mut &b""[..], 0o644, 0, 0),
        Err(TreeError::Escapes { .. })
    ));
    t.insert("x", link("y")).unwrap();
    t.insert("y", link("x")).unwrap();
    assert!(matches!(
        t.resolve("x/z"),
        Err(TreeError::SymlinkLoop { .. })
    ));
}

#[test]
fn later_entries_replace_earlier_ones_and_a_file_replaces_a_whole_directory() {
    let mut t = tree();
    file(&mut t, "etc/x/y", "1");
    file(&mut t, "etc/x", "2");
    assert_eq!(paths(&t), ["etc", "etc/x"]);
    assert!(matches!(t.get("etc/x").unwrap().kind, Kind::File(_)));
    assert!(matches!(
        t.add_file("etc/x/z", &mut &b""[..], 0o644, 0, 0),
        Err(TreeError::NotADirectory { .. })
    ));
}

#[test]
fn identical_contents_are_stored_once() {
    let mut t = tree();
    file(&mut t, "a", "same");
    file(&mut t, "b", "same");
    let count = std::fs::read_dir(t.contents().root()).unwrap().count();
    assert_eq!(count, 1);
}

#[test]
fn drop_keep_and_move_work_on_subtrees() {
    let mut t = tree();
    file(&mut t, "usr/share/doc/x/copyright", "c");
    file(&mut t, "usr/lib/systemd/boot/efi/linuxx64.efi.stub", "s");
    file(&mut t, "usr/lib/systemd/boot/efi/systemd-bootx64.efi", "b");
    file(&mut t, "boot/vmlinuz-6.1.0-56-amd64", "k");
    let globs = [Glob::new("usr/share/doc").unwrap()];
    assert_eq!(t.drop_matching(&globs), 3);
    t.move_one(&Glob::new("boot/vmlinuz-*").unwrap(), "/kernel")
        .unwrap();
    t.keep_only(&[
        Glob::new("**/linux*.efi.stub").unwrap(),
        Glob::new("kernel").unwrap(),
    ]);
    assert_eq!(
        paths(&t),
        [
            "kernel",
            "usr",
            "usr/lib",
            "usr/lib/systemd",
            "usr/lib/systemd/boot",
            "usr/lib/systemd/boot/efi",
            "usr/lib/systemd/boot/efi/linuxx64.efi.stub",
        ]
    );
}

#[test]
fn move_needs_exactly_one_match() {
    let mut t = tree();
    file(&mut t, "boot/config-1", "a");
    file(&mut t, "boot/config-2", "b");
    let err = t
        .move_one(&Glob::new("boot/config-*").unwrap(), "config")
        .unwrap_err();
    assert!(
        err.to_string().contains("boot/config-1, boot/config-2"),
        "{err}"
    );
    let err = t
        .move_one(&Glob::new("boot/nothing-*").unwrap(), "x")
        .unwrap_err();
    assert!(err.to_string().contains("matches nothing"), "{err}");
}

#[test]
fn pack_replaces_a_subtree_by_a_tar_that_unpacks_over_the_root() {
    let mut t = tree();
    file(&mut t, "lib/modules/6.1/kernel/a.ko", "module");
    file(&mut t, "lib/firmware/x", "fw");
    t.pack("lib/modules", "kernel.tar", 0).unwrap();
    assert_eq!(
        paths(&t),
        ["kernel.tar", "lib", "lib/firmware", "lib/firmware/x"]
    );
    let Kind::File(id) = &t.get("kernel.tar").unwrap().kind else {
        panic!("not a file")
    };
    let out = std::process::Command::new("tar")
        .arg("-tf")
        .arg(t.contents().path(id))
        .output()
        .unwrap();
    let listing = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        listing.lines().collect::<Vec<_>>(),
        [
            "lib/",
            "lib/modules/",
            "lib/modules/6.1/",
            "lib/modules/6.1/kernel/",
            "lib/modules/6.1/kernel/a.ko"
        ]
    );
}
