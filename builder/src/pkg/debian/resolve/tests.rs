//! Resolution on small hand-written indexes.

use super::resolve;
use crate::pkg::debian::DebianError;
use crate::pkg::debian::index::Index;
use crate::pkg::debian::packages::parse_packages;

/// `name version arch [field: value]...` per line; filename and hash are
/// derived from the name and version.
fn index(suite: &str, arch: &str, spec: &str) -> Index {
    let mut text = String::new();
    for (i, line) in spec
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let mut parts = line.split(';');
        let head: Vec<&str> = parts.next().unwrap_or("").split_whitespace().collect();
        let (name, version, pkg_arch) = (head[0], head[1], head[2]);
        text.push_str(&format!(
            "Package: {name}\nVersion: {version}\nArchitecture: {pkg_arch}\nFilename: pool/main/{name}_{version}_{pkg_arch}.deb\nSize: {}\nSHA256: {:064x}\n",
            100 + i,
            i + 1
        ));
        for field in parts {
            text.push_str(field.trim());
            text.push('\n');
        }
        text.push('\n');
    }
    Index {
        suite: suite.into(),
        component: "main".into(),
        arch: arch.into(),
        packages: parse_packages(&text).expect("synthetic index"),
    }
}

fn names(indexes: &[Index], arch: &str, want: &[&str], exclude: &[&str]) -> Vec<String> {
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    let exclude: Vec<String> = exclude.iter().map(|s| s.to_string()).collect();
    resolve(indexes, arch, &want, &exclude)
        .expect("resolve")
        .into_iter()
        .map(|d| format!("{}={}", d.name, d.version))
        .collect()
}

fn base() -> Vec<Index> {
    vec![
        index(
            "bookworm",
            "amd64",
            "runc 1.1.5 amd64; Depends: libc6 (>= 2.34), libseccomp2 (>= 2.5.0)
             libc6 2.36-9 amd64; Depends: libgcc-s1
             libgcc-s1 12.2.0-14 amd64; Depends: gcc-12-base (= 12.2.0-14), libc6 (>= 2.35)
             gcc-12-base 12.2.0-14 amd64
             libseccomp2 2.5.4-1 amd64; Depends: libc6 (>= 2.28)
             tool 1.0 amd64; Depends: debconf (>= 0.5) | debconf-2.0, mawk | awk
             debconf 1.5.82 all; Depends: perl-base
             perl-base 5.36 amd64
             mawk 1.3.4 amd64; Provides: awk
             gawk 5.2 amd64; Provides: awk
             app 1 amd64; Depends: awk
             py 1 all; Depends: python3:any (>= 3.11)
             python3 3.11.2 amd64
             old 1 amd64; Depends: libc6 (>= 3.0)
             foreign 1 amd64; Depends: libc6:arm64",
        ),
        index(
            "bookworm-security",
            "amd64",
            "libc6 2.36-9+deb12u4 amd64; Depends: libgcc-s1",
        ),
        index(
            "bookworm",
            "arm64",
            "runc 1.1.5 arm64; Depends: libc6\n libc6 2.36-9 arm64",
        ),
    ]
}

#[test]
fn the_closure_follows_depends_and_takes_the_highest_version_of_any_suite() {
    let got = names(&base(), "amd64", &["runc"], &[]);
    assert_eq!(
        got,
        [
            "gcc-12-base=12.2.0-14",
            "libc6=2.36-9+deb12u4",
            "libgcc-s1=12.2.0-14",
            "libseccomp2=2.5.4-1",
            "runc=1.1.5"
        ]
    );
    let locked = resolve(&base(), "amd64", &["runc".into()], &[]).expect("resolve");
    let libc = locked.iter().find(|d| d.name == "libc6").expect("libc6");
    assert_eq!(libc.suite, "bookworm-security");
    assert_eq!(libc.filename, "pool/main/libc6_2.36-9+deb12u4_amd64.deb");
}

#[test]
fn each_architecture_resolves_from_its_own_index() {
    assert_eq!(
        names(&base(), "arm64", &["runc"], &[]),
        ["libc6=2.36-9", "runc=1.1.5"]
    );
}

#[test]
fn excluded_packages_are_cut_with_their_dependencies() {
    let got = names(&base(), "amd64", &["tool"], &["debconf"]);
    assert_eq!(got, ["mawk=1.3.4", "tool=1.0"]);
    let got = names(&base(), "amd64", &["tool"], &[]);
    assert!(got.contains(&"perl-base=5.36".to_string()), "{got:?}");
}

#[test]
fn virtual_packages_resolve_through_provides_preferring_chosen_ones() {
    let got = names(&base(), "amd64", &["app"], &[]);
    assert_eq!(got, ["app=1", "gawk=5.2"], "first provider by name");
    let got = names(&base(), "amd64", &["app", "mawk"], &[]);
    assert_eq!(got, ["app=1", "mawk=1.3.4"], "a requested provider wins");
}

#[test]
fn any_qualifiers_and_version_constraints_are_honoured() {
    assert_eq!(
        names(&base(), "amd64", &["py"], &[]),
        ["py=1", "python3=3.11.2"]
    );
}

#[test]
fn an_unmet_version_constraint_names_the_package_and_the_constraint() {
    let err = resolve(&base(), "amd64", &["old".into()], &[]).expect_err("unmet");
    let msg = err.to_string();
    assert!(matches!(err, DebianError::Unsatisfiable { .. }), "{err:?}");
    assert!(
        msg.contains("old 1 (amd64) depends on libc6 (>= 3.0)"),
        "{msg}"
    );
    assert!(msg.contains("libc6 is at version 2.36-9+deb12u4"), "{msg}");
    assert!(msg.contains("amd64"), "{msg}");
}

#[test]
fn a_dependency_on_another_architecture_is_unsatisfiable() {
    let err = resolve(&base(), "amd64", &["foreign".into()], &[]).expect_err("arch");
    assert!(err.to_string().contains("libc6:arm64"), "{err}");
}

#[test]
fn an_unknown_package_is_named_with_its_architecture_and_close_names() {
    let err = resolve(&base(), "arm64", &["rnuc".into()], &[]).expect_err("unknown");
    let msg = err.to_string();
    assert!(msg.contains("rnuc") && msg.contains("arm64"), "{msg}");
    assert!(msg.contains("did you mean runc"), "{msg}");
    let err = resolve(&base(), "amd64", &["libseccomp".into()], &[]).expect_err("prefix");
    assert!(err.to_string().contains("libseccomp2"), "{err}");
}

#[test]
fn resolution_is_deterministic() {
    let want = ["tool", "app", "runc", "py"];
    let first = names(&base(), "amd64", &want, &[]);
    for _ in 0..5 {
        assert_eq!(names(&base(), "amd64", &want, &[]), first);
    }
}
