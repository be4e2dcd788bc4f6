//! Paths inside an image, the one way every writer and the builder's tree
//! read them: relative to the image root, `/`-separated, with no empty, `.`
//! or `..` parts. `..` is refused rather than resolved: no file of an image
//! needs it, and refusing it keeps each path's meaning plain to a reader.

/// `./usr/bin/` -> `usr/bin`; `/etc//x` -> `etc/x`; the root -> `""`. None
/// when a `..` part would leave the root or a NUL makes it no file name.
pub fn normalize(raw: &str) -> Option<String> {
    if raw.contains('\0') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The folder holding a normalized path (`""` for one at the root).
pub fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

/// Whether the normalized `path` lies below the folder `dir` (not `dir`
/// itself; nothing is below `""` by this test).
pub fn is_under(path: &str, dir: &str) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dots_and_slashes_are_dropped_and_the_root_is_empty() {
        assert_eq!(normalize("./usr/bin/").as_deref(), Some("usr/bin"));
        assert_eq!(normalize("/etc//passwd").as_deref(), Some("etc/passwd"));
        assert_eq!(normalize("./").as_deref(), Some(""));
        assert_eq!(normalize("a/./b").as_deref(), Some("a/b"));
    }

    #[test]
    fn parent_parts_and_nul_are_refused() {
        assert_eq!(normalize("../etc/passwd"), None);
        assert_eq!(normalize("./usr/../../x"), None);
        assert_eq!(normalize("usr/.."), None);
        assert_eq!(normalize("etc/pass\0wd"), None);
    }

    #[test]
    fn below_means_strictly_inside_the_folder() {
        assert!(is_under("usr/bin/sh", "usr"));
        assert!(!is_under("usr", "usr"));
        assert!(!is_under("usrx/a", "usr"));
        assert_eq!(parent_of("usr/bin/sh"), "usr/bin");
        assert_eq!(parent_of("etc"), "");
    }
}
