//! Leaving the initramfs: its files move into a tmpfs one at a time (each is
//! deleted as soon as it is copied, so RAM never holds two copies), then the
//! tmpfs is moved over `/` and the init executes itself from it.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;

use rustix::fs::{FileType, Gid, Mode, Uid};
use rustix::mount::UnmountFlags;

/// The init, as docs/rootfs-layout.md places it.
const SELF: &str = "/sbin/init";

/// The filesystem type of the mount at `/`, from mountinfo's text.
pub fn root_fstype(mountinfo: &str) -> Option<String> {
    mountinfo.lines().find_map(|line| {
        let mut fields = line.split(' ');
        let mount_point = fields.nth(4)?;
        if mount_point != "/" {
            return None;
        }
        // After the optional fields, " - " then the filesystem type.
        let mut rest = line.split(" - ").nth(1)?.split(' ');
        rest.next().map(str::to_string)
    })
}

/// Moves everything under `from` that lives on `from`'s filesystem into
/// `to` (which must exist), keeping modes, owners, symlinks, device nodes,
/// hard links and extended attributes. Returns the entries moved.
pub fn move_tree(from: &Path, to: &Path) -> io::Result<u64> {
    let dev = fs::symlink_metadata(from)?.dev();
    let mut links = HashMap::new();
    let mut count = 0;
    move_dir(from, to, dev, &mut links, &mut count)?;
    Ok(count)
}

fn move_dir(
    from: &Path,
    to: &Path,
    dev: u64,
    links: &mut HashMap<u64, std::path::PathBuf>,
    count: &mut u64,
) -> io::Result<()> {
    let mut names: Vec<OsString> = fs::read_dir(from)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<_>>()?;
    names.sort();
    for name in names {
        let (src, dst) = (from.join(&name), to.join(&name));
        let meta = fs::symlink_metadata(&src)?;
        if meta.dev() != dev {
            // Another filesystem mounted here (the new root itself, /proc, ...).
            continue;
        }
        let ft = meta.file_type();
        if ft.is_dir() {
            fs::DirBuilder::new()
                .mode(meta.mode() & 0o7777)
                .create(&dst)?;
            move_dir(&src, &dst, dev, links, count)?;
            fs::remove_dir(&src)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src)?, &dst)?;
            fs::remove_file(&src)?;
        } else if let Some(first) = links.get(&meta.ino()) {
            fs::hard_link(first, &dst)?;
            fs::remove_file(&src)?;
            *count += 1;
            continue;
        } else if ft.is_file() {
            fs::copy(&src, &dst)?;
            fs::remove_file(&src)?;
        } else {
            let kind = FileType::from_raw_mode(meta.mode());
            rustix::fs::mknodat(
                rustix::fs::CWD,
                &dst,
                kind,
                Mode::from_raw_mode(meta.mode() & 0o7777),
                meta.rdev(),
            )?;
            fs::remove_file(&src)?;
        }
        copy_attributes(&meta, &dst, ft.is_symlink())?;
        if meta.nlink() > 1 && !ft.is_dir() {
            links.insert(meta.ino(), dst);
        }
        *count += 1;
    }
    Ok(())
}

/// Owner, then mode (chown clears set-id bits). A newc cpio carries no
/// extended attributes, so an initramfs has none to keep.
fn copy_attributes(meta: &fs::Metadata, dst: &Path, symlink: bool) -> io::Result<()> {
    rustix::fs::chownat(
        rustix::fs::CWD,
        dst,
        Some(Uid::from_raw(meta.uid())),
        Some(Gid::from_raw(meta.gid())),
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )?;
    if !symlink {
        fs::set_permissions(dst, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    }
    Ok(())
}

/// Moves `new_root` over `/` and executes the init from it; returns only on
/// failure. /proc and /dev of the initramfs are detached first: the init
/// mounts them again in the new root.
pub fn switch_root(new_root: &str) -> io::Error {
    let attempt = || -> io::Result<()> {
        for m in ["/proc", "/dev"] {
            let _ = rustix::mount::unmount(m, UnmountFlags::DETACH);
        }
        rustix::process::chdir(new_root)?;
        rustix::mount::mount_move(".", "/")?;
        rustix::process::chroot(".")?;
        rustix::process::chdir("/")?;
        Ok(())
    };
    if let Err(e) = attempt() {
        return e;
    }
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    std::process::Command::new(SELF).args(args).exec()
}

#[cfg(test)]
#[path = "root_tests.rs"]
mod tests;
