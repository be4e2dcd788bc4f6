//! The fake's files, mounts and root: files and directories in maps,
//! mounts and renames recorded, failures scripted.

use super::*;
use crate::sys::Files;

impl Files for Fake {
    fn mkdir(&mut self, path: &str) -> io::Result<()> {
        self.call(format!("mkdir {path}"));
        if path == "/sys" {
            return Err(Errno::EXIST.into());
        }
        Ok(())
    }

    fn mount(&mut self, m: &Mount<'_>) -> io::Result<()> {
        self.call(format!("mount {} {} {}", m.fstype, m.target, m.data));
        self.mount_flags.push((m.target.to_string(), m.flags));
        if m.flags.bits() & MS_REMOUNT != 0 && self.failing_remounts.contains(m.target) {
            return Err(Errno::PERM.into());
        }
        match self.failing_mounts.get(m.target) {
            Some(errno) => Err((*errno).into()),
            None => Ok(()),
        }
    }

    fn read_file(&mut self, path: &str) -> io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| Errno::NOENT.into())
    }

    fn write_file(&mut self, path: &str, contents: &str) -> io::Result<()> {
        self.call(format!("write {path}"));
        self.files.insert(path.into(), contents.into());
        Ok(())
    }

    fn exists(&mut self, path: &str) -> bool {
        self.files.contains_key(path)
            || self.dirs.contains_key(path)
            || self.blocks.contains_key(path)
    }

    fn remove_file(&mut self, path: &str) -> io::Result<()> {
        self.call(format!("rm {path}"));
        self.files.remove(path);
        Ok(())
    }

    fn list_dir(&mut self, path: &str) -> io::Result<Vec<String>> {
        let mut names = self.dirs.get(path).cloned().ok_or(Errno::NOENT)?;
        names.sort();
        Ok(names)
    }

    fn read_at(&mut self, path: &str, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let data = self.blocks.get(path).ok_or(Errno::NOENT)?;
        let start = usize::try_from(offset)
            .map_err(|_| Errno::INVAL)?
            .min(data.len());
        let end = (start + buf.len()).min(data.len());
        if let Some(bad) = self.bad_bytes.get(path)
            && (offset..offset + buf.len() as u64).contains(bad)
        {
            return Err(Errno::IO.into());
        }
        buf[..end - start].copy_from_slice(&data[start..end]);
        Ok(end - start)
    }

    fn rename(&mut self, from: &str, to: &str) -> io::Result<()> {
        self.call(format!("rename {from} {to}"));
        if let Some(errno) = self.failing_renames.get(from) {
            return Err((*errno).into());
        }
        let contents = self.files.remove(from).ok_or(Errno::NOENT)?;
        self.files.insert(to.into(), contents);
        // A listed directory lists the new name, as the kernel's would.
        let split = |p: &str| {
            p.rsplit_once('/')
                .map(|(d, n)| (d.to_string(), n.to_string()))
        };
        if let (Some((from_dir, from_name)), Some((to_dir, to_name))) = (split(from), split(to)) {
            if let Some(names) = self.dirs.get_mut(&from_dir) {
                names.retain(|n| *n != from_name);
            }
            if let Some(names) = self.dirs.get_mut(&to_dir)
                && !names.contains(&to_name)
            {
                names.push(to_name);
            }
        }
        Ok(())
    }

    fn sync_path(&mut self, path: &str) -> io::Result<()> {
        self.call(format!("fsync {path}"));
        Ok(())
    }

    fn unmount(&mut self, path: &str) -> io::Result<()> {
        self.call(format!("umount {path}"));
        Ok(())
    }

    fn unmount_all(&mut self) {
        self.call("unmount_all".into());
    }

    fn sync(&mut self) {
        self.call("sync".into());
    }

    fn root_fstype(&mut self) -> io::Result<String> {
        Ok(self.root_fstype.clone())
    }

    fn move_root(&mut self, new_root: &str) -> io::Result<u64> {
        self.call(format!("move_root {new_root}"));
        Ok(42)
    }

    fn switch_root(&mut self, new_root: &str) -> io::Error {
        self.call(format!("switch_root {new_root}"));
        Errno::INVAL.into()
    }
}
