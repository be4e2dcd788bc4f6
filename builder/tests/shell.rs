//! `cairn completions` and `cairn man`, which `make install` installs.

mod common;

use common::cli::Env;
use predicates::prelude::*;

#[test]
fn completions_are_printed_for_each_shell() {
    let env = Env::new();
    for (shell, marker) in [
        ("bash", "complete -F _cairn"),
        ("zsh", "#compdef cairn"),
        ("fish", "complete -c cairn"),
    ] {
        env.cairn()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains(marker).and(predicate::str::contains("build")));
    }
    env.cairn()
        .args(["completions", "tcsh"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bash"));
}

#[test]
fn man_pages_are_written_for_cairn_and_each_command() {
    let env = Env::new();
    env.cairn().args(["man", "pages"]).assert().success();
    let page = std::fs::read_to_string(env.path("pages/cairn-build.1")).expect("cairn-build.1");
    assert!(page.contains(".TH cairn-build"), "{page}");
    assert!(env.path("pages/cairn.1").exists());
    assert!(env.path("pages/cairn-run-qemu.1").exists());
}
