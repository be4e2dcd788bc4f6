//! The library's layers as its `use` lines show them: the CLI edge sits on
//! top, so no module outside `cli/` (and `main.rs`) may import from it, and
//! the leaf modules (`arch`, `exit`, `size`) import no other module of the crate.
//! Every top-level module has a rank in the pipeline and may name only
//! modules of a lower rank, so no import circle crosses a stage.

use std::path::{Path, PathBuf};

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

/// Every source file of the library: its path under `src/` and its text.
fn library() -> Vec<(PathBuf, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    assert!(files.len() > 50, "only {} sources found", files.len());
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("source");
            (
                path.strip_prefix(&src).expect("under src").to_path_buf(),
                text,
            )
        })
        .collect()
}

#[test]
fn nothing_below_the_cli_imports_from_it_and_the_leaves_import_nothing() {
    let mut wrong = Vec::new();
    for (rel, text) in library() {
        let in_cli = rel.starts_with("cli") || rel == Path::new("main.rs");
        if !in_cli && text.contains("crate::cli::") {
            wrong.push(format!("{} imports from cli/", rel.display()));
        }
        let leaf = ["arch.rs", "exit.rs", "size.rs"]
            .iter()
            .any(|l| rel == Path::new(l));
        if leaf && (text.contains("crate::") || text.contains("super::")) {
            wrong.push(format!(
                "{} is a leaf but names another module",
                rel.display()
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Each module and its rank: the leaves at 0, then the pipeline from the
/// store through config and trust to the plan, assembly and outputs.
const RANKS: &[(&str, u8)] = &[
    ("arch", 0),
    ("exit", 0),
    ("ui", 0),
    ("cleanup", 0),
    ("size", 0),
    ("fstree", 1),
    ("oci", 1),
    ("config", 2),
    ("trust", 2),
    ("kernel", 2),
    ("plan", 3),
    ("assemble", 4),
    ("output", 5),
    ("flash", 5),
    ("pkg", 5),
    ("run", 6),
    ("update", 6),
    ("cli", 7),
];

fn rank(module: &str) -> Option<u8> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

#[test]
fn every_stage_names_only_the_stages_before_it() {
    let mut wrong = Vec::new();
    for (rel, text) in library() {
        let first = rel.components().next().expect("a component");
        let name = first.as_os_str().to_string_lossy();
        let module = name.trim_end_matches(".rs");
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(own) = rank(module) else {
            wrong.push(format!("{module} has no rank in RANKS"));
            continue;
        };
        for (at, _) in text.match_indices("crate::") {
            let named: String = text[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if named == module {
                continue;
            }
            match rank(&named) {
                Some(r) if r < own => {}
                _ => wrong.push(format!(
                    "{} ({module}, rank {own}) names crate::{named}",
                    rel.display()
                )),
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "{wrong:#?}");
}
