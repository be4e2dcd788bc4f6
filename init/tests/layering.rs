//! The init's modules as its `use` lines show them: every top-level module
//! has a rank, from the role traits at the bottom to the orchestrator and
//! the real system calls at the top, and names only modules of a lower
//! rank, so no import circle joins two of them. Test code (the fake, the
//! `*_tests.rs` files and `#[cfg(test)]` blocks) may name anything.

use std::path::{Path, PathBuf};

const RANKS: &[(&str, u8)] = &[
    ("sys", 0),
    ("fatal", 0),
    ("log", 1),
    ("signals", 1),
    ("mounts", 2),
    ("tpm", 2),
    ("request", 2),
    ("modules", 2),
    ("measure_boot", 3),
    ("disk", 4),
    ("services", 4),
    ("stage1", 5),
    ("data", 5),
    ("bless", 5),
    ("boot", 6),
    ("linux", 7),
];

fn rank(module: &str) -> Option<u8> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules `code` names through `crate::`, grouped
/// `crate::{a, b::c}` imports included.
fn named_modules(code: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + 7..];
        match rest.strip_prefix('{') {
            Some(group) => {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                out.extend(group.split(',').map(ident).filter(|n| !n.is_empty()));
            }
            None => out.push(ident(rest)),
        }
    }
    out
}

#[test]
fn every_init_module_names_only_modules_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 30, "only {} sources found", files.len());
    let mut wrong = Vec::new();
    for path in &files {
        let rel = path.strip_prefix(&src).expect("under src");
        let name = rel.to_string_lossy();
        let module = name.split(['/', '.']).next().unwrap_or_default();
        let is_test = module == "fake" || name.ends_with("tests.rs");
        if is_test || module == "main" {
            continue;
        }
        let Some(own) = rank(module) else {
            wrong.push(format!("{module} has no rank in RANKS"));
            continue;
        };
        let text = std::fs::read_to_string(path).expect("source");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for named in named_modules(code) {
            if named == module {
                continue;
            }
            match rank(&named) {
                Some(r) if r < own => {}
                _ => wrong.push(format!(
                    "{name} ({module}, rank {own}) names crate::{named}"
                )),
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "{wrong:#?}");
}
