//! Entry path normalization: the one place that decides whether a path in a
//! package stays inside the package's root.

/// `./usr/bin/` -> `usr/bin`; `/etc//x` -> `etc/x`; the root -> `""`.
/// `None` when a `..` component would leave the root or the path is not text
/// that can name a file (a NUL byte).
pub fn normalize(raw: &str) -> Option<String> {
    if raw.contains('\0') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            // Packages never need `..`; refusing it outright (rather than
            // resolving it) keeps a path's meaning obvious to every reader.
            ".." => return None,
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn leading_dots_and_slashes_are_dropped() {
        assert_eq!(normalize("./usr/bin/").as_deref(), Some("usr/bin"));
        assert_eq!(normalize("/etc//passwd").as_deref(), Some("etc/passwd"));
        assert_eq!(normalize("./").as_deref(), Some(""));
        assert_eq!(normalize("a/./b").as_deref(), Some("a/b"));
    }

    #[test]
    fn parent_components_are_refused() {
        assert_eq!(normalize("../etc/passwd"), None);
        assert_eq!(normalize("./usr/../../x"), None);
        assert_eq!(normalize("usr/.."), None);
    }

    #[test]
    fn names_that_merely_contain_dots_are_kept() {
        assert_eq!(
            normalize("./usr/share/..data").as_deref(),
            Some("usr/share/..data")
        );
        assert_eq!(normalize("a/...").as_deref(), Some("a/..."));
    }
}
