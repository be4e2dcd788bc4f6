//! `bindNS`: a bind mount of `/proc/PID/ns/KIND` on a file keeps the
//! namespace alive after its last process, and lets later containers join
//! it by path (config.json `linux.namespaces[].path`), as `ip netns` does.

use std::fs::OpenOptions;
use std::io;
use std::path::Path;

use rustix::mount::UnmountFlags;

pub fn bind(pid: u32, kind: &str, path: &str) -> io::Result<()> {
    let target = Path::new(path);
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // A restarted service's earlier namespace is still bound there: let it
    // go. Namespace files are never directories, so a mounted directory
    // named by mistake is left alone (and the bind below fails).
    if std::fs::symlink_metadata(target).is_ok_and(|m| !m.is_dir()) {
        let _ = rustix::mount::unmount(target, UnmountFlags::DETACH);
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(target)?;
    rustix::mount::mount_bind(format!("/proc/{pid}/ns/{kind}").as_str(), target)?;
    Ok(())
}
