//! `cairn validate`: every problem as FILE:LINE:COL, exit 1; `FILE: ok`, exit 0.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn cairn() -> Command {
    let mut cmd = common::cli::binary();
    cmd.env_remove("CAIRN_STORE").env_remove("RUST_LOG");
    cmd
}

/// Writes `name` with `bytes` into a fresh temp dir.
fn config(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write config");
    (dir, path)
}

/// Runs `cairn validate` on one config given as text; expects exit 1.
fn refused(text: &[u8]) -> String {
    let (_dir, path) = config("c.yml", text);
    let out = cairn()
        .arg("validate")
        .arg(&path)
        .output()
        .expect("run cairn");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    stderr.replace(&path.display().to_string(), "c.yml")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

#[test]
fn a_valid_config_prints_ok_and_exits_zero() {
    let (_dir, path) = config("c.yml", b"init: [cairn/init:latest]\n");
    cairn()
        .arg("validate")
        .arg(&path)
        .assert()
        .code(0)
        .stderr(predicate::str::ends_with(format!(
            "{}: ok\n",
            path.display()
        )));
}

#[test]
fn unknown_key_is_reported_with_line_and_suggestion() {
    let err = refused(b"services:\n  - name: getty\n    image: cairn/getty:latest\n    capabilites: [CAP_SYS_ADMIN]\n");
    assert!(err.starts_with("error: 1 problem in c.yml:\n"), "{err}");
    assert!(err.contains("c.yml:4:5: services[0].capabilites: unknown key `capabilites`; did you mean `capabilities`?"), "{err}");
}

#[test]
fn wrong_type_is_reported_with_expected_and_found() {
    let err = refused(b"onboot:\n  - name: a\n    image: cairn/a:1\n    command: /bin/true\n");
    assert!(
        err.contains(
            "c.yml:4:14: onboot[0].command: expected a list, found the string \"/bin/true\""
        ),
        "{err}"
    );
}

#[test]
fn duplicate_service_names_are_refused() {
    let err = refused(b"services:\n  - name: getty\n    image: cairn/getty:1\n  - name: getty\n    image: cairn/getty:2\n");
    assert!(
        err.contains(
            "c.yml:4:5: services[1].name: duplicate service name `getty` (first used at c.yml:2:5)"
        ),
        "{err}"
    );
}

#[test]
fn contents_and_source_together_are_refused() {
    let err = refused(b"files:\n  - path: etc/motd\n    contents: hello\n    source: motd.txt\n");
    assert!(
        err.contains(
            "c.yml:4:13: files[0].source: `contents` and `source` cannot be used together"
        ),
        "{err}"
    );
}

#[test]
fn bad_image_reference_is_explained() {
    let err = refused(b"init:\n  - cairn/Init:latest\n");
    assert!(
        err.contains("c.yml:2:5: init[0]: \"cairn/Init:latest\" is not a valid image reference"),
        "{err}"
    );
}

#[test]
fn bad_mode_is_refused() {
    let err = refused(b"files:\n  - path: a\n    contents: x\n    mode: \"999\"\n  - path: b\n    contents: x\n    mode: rwx\n");
    assert!(
        err.contains("c.yml:4:11: files[0].mode: mode \"999\" is not an octal number"),
        "{err}"
    );
    assert!(
        err.contains("c.yml:7:11: files[1].mode: mode \"rwx\" is not an octal number"),
        "{err}"
    );
}

#[test]
fn malformed_yaml_is_reported_with_position() {
    let err = refused(b"services:\n  - name: a\n    image: [unclosed\n");
    assert!(err.contains("c.yml:4:1: malformed YAML"), "{err}");
}

#[test]
fn non_utf8_input_is_refused() {
    let err = refused(b"kernel:\n  cmdline: \"\xc3\x28\"\n");
    assert!(
        err.contains("c.yml:2:13: the file is not UTF-8 text"),
        "{err}"
    );
}

#[test]
fn empty_file_is_refused() {
    let err = refused(b"# only a comment\n");
    assert!(err.contains("c.yml:1:1: the file is empty"), "{err}");
}

#[test]
fn alias_bomb_is_refused() {
    let mut text = String::from(
        "a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n",
    );
    for (prev, cur) in ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        .windows(2)
        .map(|w| (w[0], w[1]))
    {
        text.push_str(&format!("{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
    }
    let err = refused(text.as_bytes());
    assert!(
        err.contains("counting every alias expansion; this looks like an alias bomb"),
        "{err}"
    );
}

#[test]
fn every_problem_in_one_file_is_listed() {
    let err = refused(
        b"kernel:\n  image: cairn/kernel:latest\n  cmdlin: x\nonboot:\n  - image: cairn/dhcpcd:latest\nservices:\n  - name: getty\n    image: cairn/getty:latest\n    readonly: yes\nfiles:\n  - contents: x\n",
    );
    assert!(err.starts_with("error: 4 problems in c.yml:\n"), "{err}");
    let lines: Vec<&str> = err.lines().skip(1).collect();
    assert_eq!(
        lines,
        [
            "c.yml:3:3: kernel.cmdlin: unknown key `cmdlin`; did you mean `cmdline`?",
            "c.yml:5:5: onboot[0]: `name` is missing; every container needs a unique name",
            "c.yml:9:15: services[0].readonly: expected true or false, found the string \"yes\"",
            "c.yml:11:5: files[0]: `path` is missing; say where the file goes, e.g. `path: etc/motd`",
        ]
    );
}

#[test]
fn two_files_are_merged_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = dir.path().join("base.yml");
    let extra = dir.path().join("extra.yml");
    std::fs::write(&base, "kernel:\n  image: cairn/kernel:latest\nservices:\n  - name: getty\n    image: cairn/getty:latest\n").expect("write");
    std::fs::write(&extra, "kernel:\n  cmdline: console=ttyS0\nservices:\n  - name: sshd\n    image: cairn/sshd:latest\n").expect("write");
    cairn()
        .arg("validate")
        .arg(&base)
        .arg(&extra)
        .assert()
        .code(0)
        .stderr(predicate::str::contains(format!(
            "{} + {}: ok",
            base.display(),
            extra.display()
        )));

    std::fs::write(
        &extra,
        "services:\n  - name: getty\n    image: cairn/getty:2\n",
    )
    .expect("write");
    let out = cairn()
        .arg("validate")
        .arg(&base)
        .arg(&extra)
        .output()
        .expect("run cairn");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let want = format!(
        "{}:2:5: services[0].name: duplicate service name `getty` (first used at {}:4:5)",
        extra.display(),
        base.display()
    );
    assert!(err.contains(&want), "{err}");
}

#[test]
fn a_missing_file_is_named() {
    cairn()
        .args(["validate", "/nonexistent/cairn.yml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot read config file /nonexistent/cairn.yml",
        ));
}

#[test]
fn linuxkit_configs_validate_unchanged() {
    let dir = fixture("linuxkit");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3);
    for file in &files {
        cairn()
            .arg("validate")
            .arg(file)
            .assert()
            .code(0)
            .stderr(predicate::str::contains(": ok"));
    }
}

#[test]
fn the_minimal_example_validates() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/minimal.yml");
    cairn().arg("validate").arg(&example).assert().code(0);
}
