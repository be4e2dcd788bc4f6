//! The initramfs of a disk image: only what cairn-init needs before the
//! verity-checked root is mounted (the init itself, the kernel modules and
//! their load list), so the UKI stays small and the firmware measures little.
//! Everything else, the same init included, is in the squashfs root.

use std::collections::BTreeSet;

use super::OutputError;
use super::compress::{self, Compression};
use super::initrd;
use crate::fstree::Tree;

/// Paths of the root filesystem the early init reads.
const NEEDED: [&str; 3] = ["init", "sbin/init", "etc/cairn/modules"];
/// Folders it needs whole.
const NEEDED_TREES: [&str; 1] = ["lib/modules"];

/// The entries of `tree` the disk initramfs holds, as stored in the tree:
/// every symlink on the way to a needed path is kept, so `lib -> usr/lib`
/// layouts work the same in the initramfs.
pub fn selection(tree: &Tree) -> BTreeSet<String> {
    let mut keep = BTreeSet::new();
    for path in NEEDED.iter().chain(NEEDED_TREES.iter()) {
        keep_path(tree, path, &mut keep);
    }
    for dir in NEEDED_TREES {
        let Ok(real) = tree.resolve(dir) else {
            continue;
        };
        let under = format!("{real}/");
        for (path, _) in tree.iter() {
            if path.starts_with(&under) {
                keep.insert(path.to_string());
            }
        }
    }
    keep.retain(|p| tree.get(p).is_some());
    keep
}

/// Keeps `path`, every symlink and folder it goes through, and what it
/// points to.
fn keep_path(tree: &Tree, path: &str, keep: &mut BTreeSet<String>) {
    let parts: Vec<&str> = path.split('/').collect();
    for i in 1..=parts.len() {
        let parent = parts[..i - 1].join("/");
        let Ok(real_parent) = tree.resolve(&parent) else {
            return;
        };
        let stored = if real_parent.is_empty() {
            parts[i - 1].to_string()
        } else {
            format!("{real_parent}/{}", parts[i - 1])
        };
        keep_prefixes(&stored, keep);
        if let Ok(real) = tree.resolve(&stored) {
            keep_prefixes(&real, keep);
        }
    }
}

fn keep_prefixes(path: &str, keep: &mut BTreeSet<String>) {
    let mut at = 0;
    while let Some(i) = path[at..].find('/') {
        keep.insert(path[..at + i].to_string());
        at += i + 1;
    }
    if !path.is_empty() {
        keep.insert(path.to_string());
    }
}

/// The disk initramfs of `tree` as a compressed newc cpio, in memory (it
/// holds a few MB of modules and the init).
pub fn initramfs(tree: &Tree, mtime: u64, how: Compression) -> Result<Vec<u8>, OutputError> {
    let keep = selection(tree);
    let path = std::path::PathBuf::from("initramfs");
    compress::compress(Vec::new(), how, &path, |w| {
        initrd::write_entries(
            w,
            tree.iter().filter(|(p, _)| keep.contains(*p)),
            tree.contents(),
            mtime,
            &|_| {},
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fstree::{Contents, Entry, Kind};

    fn symlink(tree: &mut Tree, path: &str, target: &str) {
        tree.insert(
            path,
            Entry {
                kind: Kind::Symlink(target.into()),
                mode: 0o777,
                uid: 0,
                gid: 0,
            },
        )
        .expect("symlink");
    }

    #[test]
    fn selection_keeps_the_init_modules_and_the_symlinks_leading_there() {
        let mut tree = Tree::new(Contents::new(None).expect("contents"));
        tree.add_file("usr/sbin/init", &mut &b"init"[..], 0o755, 0, 0)
            .expect("add");
        tree.add_file(
            "usr/lib/modules/6.1/kernel/a.ko",
            &mut &b"ko"[..],
            0o644,
            0,
            0,
        )
        .expect("add");
        tree.add_file("usr/bin/containerd", &mut &b"big"[..], 0o755, 0, 0)
            .expect("add");
        tree.add_file("etc/cairn/modules", &mut &b"kernel/a.ko\n"[..], 0o644, 0, 0)
            .expect("add");
        tree.add_file("etc/cairn/system.json", &mut &b"{}"[..], 0o644, 0, 0)
            .expect("add");
        symlink(&mut tree, "sbin", "usr/sbin");
        symlink(&mut tree, "lib", "usr/lib");
        symlink(&mut tree, "init", "sbin/init");
        let keep: Vec<String> = selection(&tree).into_iter().collect();
        assert_eq!(
            keep,
            [
                "etc",
                "etc/cairn",
                "etc/cairn/modules",
                "init",
                "lib",
                "sbin",
                "usr",
                "usr/lib",
                "usr/lib/modules",
                "usr/lib/modules/6.1",
                "usr/lib/modules/6.1/kernel",
                "usr/lib/modules/6.1/kernel/a.ko",
                "usr/sbin",
                "usr/sbin/init",
            ]
        );
    }
}
