use super::*;

fn load(text: &str) -> Result<BuildSpec, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("build.yml"), text).unwrap();
    BuildSpec::load(dir.path()).map_err(|e| {
        let file = dir.path().join("build.yml").display().to_string();
        e.to_string().replace(&file, "build.yml")
    })
}

#[test]
fn a_full_build_yml_parses_and_per_arch_parts_are_appended() {
    let spec = load(
        r#"
name: kernel
debian:
  exclude: [initramfs-tools]
arch:
  amd64:
    debian: { packages: [linux-image-amd64] }
  arm64:
    debian: { packages: [linux-image-arm64] }
    move: [{ from: "usr/lib/linux-image-*", to: dtbs }]
files:
  - { path: /etc/issue, contents: "hi\n", mode: "0600", uid: 1 }
  - { path: /var/empty, directory: true }
  - { path: /bin/sh, symlink: busybox }
move: [{ from: "boot/vmlinuz-*", to: /kernel }]
pack: [{ from: /lib/modules, to: /kernel.tar }]
drop: [boot/System.map-*]
config:
  entrypoint: [/bin/true]
  workingDir: /
label:
  capabilities: [CAP_SYS_ADMIN]
  binds: [/dev:/dev]
  readonly: true
"#,
    )
    .unwrap();
    assert_eq!(spec.archs, Arch::ALL);
    let arm = spec.for_arch(Arch::Arm64);
    assert_eq!(arm.debian.packages, ["linux-image-arm64"]);
    assert_eq!(arm.debian.exclude, ["initramfs-tools"]);
    assert_eq!(arm.debian.components, ["main"]);
    assert_eq!(arm.moves.len(), 2);
    assert_eq!(spec.for_arch(Arch::Amd64).moves.len(), 1);
    assert!(arm.drop.iter().any(|g| g.as_str() == "usr/share/doc"));
    assert_eq!(spec.files[0].mode, Some(0o600));
    assert_eq!(spec.files[0].path, "etc/issue");
    assert_eq!(spec.pack[0].to, "kernel.tar");
    let label = spec.label.unwrap().json;
    assert_eq!(
        label,
        r#"{"binds":["/dev:/dev"],"capabilities":["CAP_SYS_ADMIN"],"readonly":true}"#
    );
}

#[test]
fn unknown_keys_and_bad_values_are_reported_with_file_line_and_column() {
    let err = load("name: x\ndebain:\n  packages: [a]\narchs: [amd64, s390x]\n").unwrap_err();
    assert!(err.contains("build.yml:2:1: debain: unknown key"), "{err}");
    assert!(err.contains("did you mean `debian`"), "{err}");
    assert!(err.contains("build.yml:4:16: archs[1]"), "{err}");
}

#[test]
fn meaning_errors_point_at_the_value() {
    let err =
        load("name: x\nfiles:\n  - path: /a\n    contents: x\n    directory: true\n").unwrap_err();
    assert!(
        err.contains("build.yml:3:5: files[0]: file \"/a\" needs exactly one of"),
        "{err}"
    );
    let err = load("name: x\nfiles:\n  - { path: /a, contents: x, mode: \"999\" }\n").unwrap_err();
    assert!(
        err.contains("build.yml:3:5") && err.contains("not an octal number"),
        "{err}"
    );
    let err = load("name: x\nfiles:\n  - { path: ../a, contents: x }\n").unwrap_err();
    assert!(err.contains("leaves the package root"), "{err}");
    let err = load("name: x\nlabel:\n  capabilites: [CAP_NET_ADMIN]\n").unwrap_err();
    assert!(
        err.contains("build.yml:3:3: label") && err.contains("capabilities"),
        "{err}"
    );
    let err = load("name: Big\n").unwrap_err();
    assert!(err.contains("build.yml:1:7: name: package name"), "{err}");
    let err = load("archs: [amd64]\n").unwrap_err();
    assert!(err.contains("build.yml:1:1: name: missing"), "{err}");
    let err = load("name: x\nfiles:\n  - { path: /a, contents: x, mode: 0644 }\n").unwrap_err();
    assert!(err.contains("quotes"), "{err}");
}

#[test]
fn debian_package_names_outside_debians_grammar_are_refused_by_field() {
    let err = load(
        "name: bad\ndebian:\n  packages: [busybox-static, ../../etc/passwd]\narch:\n  arm64:\n    debian: { exclude: [Bad_Name] }\n",
    )
    .unwrap_err();
    assert!(
        err.contains("debian.packages[1]") && err.contains("not a Debian package name"),
        "{err}"
    );
    assert!(err.contains("arch.arm64.debian.exclude[0]"), "{err}");
    assert!(load("name: ok\ndebian:\n  packages: [dhcpcd:any, g++-12]\n").is_ok());
}
