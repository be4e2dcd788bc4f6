//! Edits a root filesystem needs beyond what packages do: removing entries
//! (OCI whiteouts) and extended attributes (file capabilities).

use super::{Entry, Tree, TreePath, Xattrs, is_under, normalize};

impl Tree {
    /// Removes `path` and everything under it; false when nothing was there.
    /// Symlinks on the way are not followed: the caller names the entry.
    pub fn remove(&mut self, path: &str) -> bool {
        let Ok(norm) = normalize(path) else {
            return false;
        };
        let key = TreePath(norm.clone());
        let found = self.entries.remove(&key).is_some();
        self.xattrs.remove(&key);
        let before = self.entries.len();
        self.remove_subtree(&norm);
        found || before != self.entries.len()
    }

    /// Removes the entries strictly under `dir` for which `drop` says so.
    pub fn remove_under(&mut self, dir: &str, mut drop: impl FnMut(&str) -> bool) {
        let Ok(dir) = normalize(dir) else { return };
        self.entries
            .retain(|k, _| !((dir.is_empty() || is_under(&k.0, &dir)) && drop(&k.0)));
        self.prune_xattrs();
    }

    /// Sets the extended attributes of an existing entry (none clears them).
    pub fn set_xattrs(&mut self, path: &str, xattrs: Xattrs) -> bool {
        let Ok(norm) = normalize(path) else {
            return false;
        };
        let key = TreePath(norm);
        if !self.entries.contains_key(&key) {
            return false;
        }
        if xattrs.is_empty() {
            self.xattrs.remove(&key);
        } else {
            self.xattrs.insert(key, xattrs);
        }
        true
    }

    pub fn xattrs(&self, path: &str) -> Option<&Xattrs> {
        self.xattrs.get(&TreePath(normalize(path).ok()?))
    }

    /// Every entry with its extended attributes, parents before children.
    pub fn iter_with_xattrs(&self) -> impl Iterator<Item = (&str, &Entry, Option<&Xattrs>)> {
        self.entries
            .iter()
            .map(|(k, v)| (k.0.as_str(), v, self.xattrs.get(k)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Contents, Kind};
    use super::*;

    #[test]
    fn removing_an_entry_removes_its_subtree_and_attributes() {
        let mut t = Tree::new(Contents::new(None).unwrap());
        t.add_file("a/b/c", &mut &b"x"[..], 0o644, 0, 0).unwrap();
        t.add_file("a/d", &mut &b"y"[..], 0o644, 0, 0).unwrap();
        assert!(t.set_xattrs("a/b/c", Xattrs::from([("user.x".into(), b"1".to_vec())])));
        assert!(t.remove("a/b"));
        assert!(t.get("a/b/c").is_none() && t.xattrs("a/b/c").is_none());
        assert!(matches!(t.get("a/d").unwrap().kind, Kind::File(_)));
        assert!(!t.remove("nothing"));
        t.remove_under("a", |p| p == "a/d");
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn replacing_an_entry_drops_its_attributes() {
        let mut t = Tree::new(Contents::new(None).unwrap());
        t.add_file("f", &mut &b"x"[..], 0o644, 0, 0).unwrap();
        t.set_xattrs("f", Xattrs::from([("user.x".into(), b"1".to_vec())]));
        t.add_file("f", &mut &b"z"[..], 0o644, 0, 0).unwrap();
        assert!(t.xattrs("f").is_none());
    }
}
