//! The library's layers as its `use` lines show them: the CLI edge sits on
//! top, so no module outside `cli/` (and `main.rs`) may import from it, and
//! the leaf modules (`arch`, `exit`) import no other module of the crate.

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

#[test]
fn nothing_below_the_cli_imports_from_it_and_the_leaves_import_nothing() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    for path in &files {
        let rel = path.strip_prefix(&src).expect("under src");
        let text = std::fs::read_to_string(path).expect("source");
        let in_cli = rel.starts_with("cli") || rel == Path::new("main.rs");
        if !in_cli && text.contains("crate::cli::") {
            wrong.push(format!("{} imports from cli/", rel.display()));
        }
        let leaf = rel == Path::new("arch.rs") || rel == Path::new("exit.rs");
        if leaf && (text.contains("crate::") || text.contains("super::")) {
            wrong.push(format!(
                "{} is a leaf but names another module",
                rel.display()
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(files.len() > 50, "only {} sources found", files.len());
}
