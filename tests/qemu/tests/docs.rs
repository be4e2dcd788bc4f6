//! Every system config shown in the docs (a ```yaml block with a top-level
//! `kernel:`) is built with the real packages, so an example that names a
//! program its image does not have, or a key cairn does not know, fails
//! here and not in a reader's first build.

use std::path::Path;

use cairn_qemu_tests::{Arch, build_config, repo_root};

/// `(file, line, text)` of each ```yaml block in a Markdown file.
fn yaml_blocks(root: &Path, path: &Path) -> Vec<(String, usize, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let name = path
        .strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string();
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (n, line) in text.lines().enumerate() {
        match (&mut current, line.trim_start()) {
            (None, l) if l.starts_with("```yaml") => current = Some((n + 2, String::new())),
            (Some(_), l) if l.starts_with("```") => {
                if let Some((at, body)) = current.take() {
                    out.push((name.clone(), at, body));
                }
            }
            (Some((_, body)), _) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

#[test]
fn every_system_config_in_the_docs_builds() {
    let root = repo_root()
        .canonicalize()
        .expect("the repository root exists");
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .expect("docs/ is readable")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut built = 0;
    let mut failures = Vec::new();
    for file in &files {
        for (name, line, yaml) in yaml_blocks(&root, file) {
            if !yaml.lines().any(|l| l.starts_with("kernel:")) {
                continue;
            }
            let system = format!("doc-{line}");
            match build_config(&system, &yaml, Arch::Amd64) {
                Ok(_) => built += 1,
                Err(e) => failures.push(format!("{name}:{line}: {e}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(built >= 1, "no system config found in the docs");
}
