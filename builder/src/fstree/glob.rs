//! Path globs for `drop`, `keep`, `move` and `foreignElf`: `*` and `?` match
//! within one path component, `**` matches any number of components. A
//! pattern matches a path, and dropping or keeping a path includes its subtree.

use std::fmt;

/// A validated, normalized glob over tree paths (no leading `/`).
#[derive(Clone, PartialEq, Eq)]
pub struct Glob {
    text: String,
    parts: Vec<String>,
}

impl Glob {
    pub fn new(text: &str) -> Result<Glob, String> {
        let trimmed = text.trim_start_matches('/');
        let parts: Vec<String> = trimmed
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .map(str::to_string)
            .collect();
        if parts.is_empty() {
            return Err(format!("glob {text:?} matches the whole tree; name a path"));
        }
        if parts.iter().any(|p| p == "..") {
            return Err(format!("glob {text:?} may not contain `..`"));
        }
        if let Some(p) = parts
            .iter()
            .find(|p| p.contains("**") && p.as_str() != "**")
        {
            return Err(format!(
                "glob {text:?}: `**` must be a whole path component, not part of {p:?}"
            ));
        }
        Ok(Glob {
            text: parts.join("/"),
            parts,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern matches `path` itself (a normalized tree path).
    pub fn matches(&self, path: &str) -> bool {
        let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        match_parts(&self.parts, &comps)
    }

    /// Whether the pattern matches `path` or one of its ancestors.
    pub fn covers(&self, path: &str) -> bool {
        let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        (1..=comps.len()).any(|n| match_parts(&self.parts, &comps[..n]))
    }
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Glob({:?})", self.text)
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn match_parts(pattern: &[String], path: &[&str]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| match_parts(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((comp, tail)) => {
                match_component(first.as_bytes(), comp.as_bytes()) && match_parts(rest, tail)
            }
            None => false,
        },
    }
}

fn match_component(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| match_component(rest, &text[i..])),
        Some((b'?', rest)) => !text.is_empty() && match_component(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && match_component(rest, &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Glob {
        Glob::new(s).unwrap()
    }

    #[test]
    fn stars_match_within_one_component() {
        assert!(g("boot/vmlinuz-*").matches("boot/vmlinuz-6.1.0-56-amd64"));
        assert!(!g("boot/*").matches("boot/a/b"));
        assert!(g("usr/lib/linux-image-?.*").matches("usr/lib/linux-image-6.1"));
        assert!(g("/usr/share/doc").matches("usr/share/doc"));
    }

    #[test]
    fn double_star_spans_components() {
        assert!(g("**/*.efi.stub").matches("usr/lib/systemd/boot/efi/linuxx64.efi.stub"));
        assert!(g("usr/**/doc").matches("usr/doc"));
        assert!(!g("usr/**/doc").matches("usr/share/docs"));
    }

    #[test]
    fn a_pattern_covers_the_subtree_of_what_it_matches() {
        assert!(g("usr/share/man").covers("usr/share/man/man1/ls.1.gz"));
        assert!(!g("usr/share/man").covers("usr/share/manual"));
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(Glob::new("/").is_err());
        assert!(Glob::new("a/../b").is_err());
        assert!(Glob::new("a/x**").is_err());
    }
}
