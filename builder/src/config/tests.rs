use std::path::Path;

use super::*;

fn diags(text: &str) -> Vec<String> {
    match parse(Path::new("t.yml"), text) {
        Ok(_) => Vec::new(),
        Err(LoadError::Invalid(d)) => d.iter().map(ToString::to_string).collect(),
        Err(e) => vec![e.to_string()],
    }
}

fn one(text: &str) -> String {
    let d = diags(text);
    assert_eq!(d.len(), 1, "expected one problem, got {d:#?}");
    d[0].clone()
}

fn ok(text: &str) -> Config {
    match parse(Path::new("dir/t.yml"), text) {
        Ok(c) => c,
        Err(e) => panic!("config should be valid: {e}"),
    }
}

#[test]
fn unknown_key_is_reported_with_line_and_suggestion() {
    let d = one("services:\n  - name: a\n    image: alpine\n    capabilites: [CAP_NET_ADMIN]\n");
    assert_eq!(
        d,
        "t.yml:4:5: services[0].capabilites: unknown key `capabilites`; did you mean `capabilities`?"
    );
}

#[test]
fn unknown_key_without_a_close_match_lists_the_known_keys() {
    let d = one("kernel:\n  image: k\n  zzz: 1\n");
    assert!(d.contains("expected one of: `image`, `cmdline`"), "{d}");
}

#[test]
fn wrong_type_names_what_was_expected_and_found() {
    let d = one("init: cairn/init:latest\n");
    assert_eq!(
        d,
        "t.yml:1:7: init: expected a list, found the string \"cairn/init:latest\""
    );
}

#[test]
fn a_number_where_text_is_expected_suggests_quotes() {
    let d = one("kernel:\n  image: k\n  cmdline: 12\n");
    assert!(d.contains("write it in quotes (\"12\")"), "{d}");
}

#[test]
fn a_nul_in_the_kernel_command_line_is_reported_at_its_line() {
    let d = one("kernel:\n  image: k\n  cmdline: \"console=ttyS0\\0 init=/bin/sh\"\n");
    assert!(d.starts_with("t.yml:3:"), "{d}");
    assert!(
        d.contains("kernel.cmdline") && d.contains("control character '\\0'"),
        "{d}"
    );
}

#[test]
fn every_problem_in_a_file_is_listed() {
    let d = diags(
        "onboot:\n  - name: a\n    image: x\n    net: [1]\n    bogus: 1\n  - image: y\nfiles:\n  - path: a\n    mode: rwx\n    contents: x\n",
    );
    assert_eq!(d.len(), 4, "{d:#?}");
    assert!(d[0].starts_with("t.yml:4:10: onboot[0].net: expected a string"));
    assert!(d[1].starts_with("t.yml:5:5: onboot[0].bogus: unknown key"));
    assert!(d[2].starts_with("t.yml:6:5: onboot[1]: `name` is missing"));
    assert!(d[3].starts_with("t.yml:9:11: files[0].mode: mode \"rwx\""));
}

#[test]
fn duplicate_service_names_are_refused_but_onboot_may_repeat() {
    let d = one("services:\n  - {name: a, image: x}\n  - {name: a, image: y}\n");
    assert!(
        d.contains("duplicate service name `a` (first used at t.yml:2:5)"),
        "{d}"
    );
    ok("onboot:\n  - {name: a, image: x}\n  - {name: a, image: y}\n");
}

#[test]
fn files_refuse_exclusive_combinations() {
    for (fields, bad) in [
        ("contents: x, source: y", "`contents` and `source`"),
        ("directory: true, contents: x", "`directory` and `contents`"),
        ("source: y, metadata: yaml", "`source` and `metadata`"),
        ("symlink: /a, contents: x", "`symlink` and `contents`"),
    ] {
        let d = one(&format!("files:\n  - {{path: a, {fields}}}\n"));
        assert!(d.contains(bad), "{fields}: {d}");
    }
    let d = one("files:\n  - {path: a}\n");
    assert!(d.contains("says nothing about what to create"), "{d}");
    let d = one("files:\n  - {path: a, metadata: toml}\n");
    assert!(d.contains("use `yaml` or `json`"), "{d}");
    let d = one("files:\n  - {path: ../etc/x, contents: x}\n");
    assert!(d.contains("contains `..`"), "{d}");
}

#[test]
fn modes_must_be_octal_and_in_range() {
    let cfg = ok(
        "files:\n  - {path: a, contents: x, mode: 0644}\n  - {path: b, contents: x, mode: \"0755\"}\n",
    );
    assert_eq!(cfg.files[0].mode.as_deref(), Some("0644"));
    assert!(
        one("files:\n  - {path: a, contents: x, mode: \"999\"}\n").contains("not an octal number")
    );
    assert!(one("files:\n  - {path: a, contents: x, mode: \"77777\"}\n").contains("out of range"));
    assert!(one("files:\n  - {path: a, contents: x, mode: true}\n").contains("expected a string"));
}

#[test]
fn bad_image_references_explain_themselves() {
    let d = one("onboot:\n  - name: a\n    image: Alpine:latest\n");
    assert!(
        d.starts_with(
            "t.yml:3:12: onboot[0].image: \"Alpine:latest\" is not a valid image reference"
        ),
        "{d}"
    );
    let d = one("init:\n  - \"@pkg:../pkg/init\"\n");
    assert!(d.contains("LinuxKit template"), "{d}");
}

#[test]
fn uid_and_gid_take_numbers_or_names() {
    let cfg = ok("services:\n  - {name: a, image: x, uid: 100, gid: a, additionalGids: [1, b]}\n");
    assert_eq!(cfg.services[0].uid, Some(Id::Num(100)));
    assert_eq!(cfg.services[0].gid, Some(Id::Name("a".into())));
    assert!(one("services:\n  - {name: a, image: x, uid: -1}\n").contains("out of range"));
    assert!(
        one("services:\n  - {name: a, image: x, uid: [1]}\n")
            .contains("expected a number or a name")
    );
}

#[test]
fn malformed_yaml_points_at_the_problem() {
    let d = one("services:\n  - name: a\n   image: b\n");
    assert!(d.starts_with("t.yml:3:"), "{d}");
    assert!(d.contains("malformed YAML"), "{d}");
}

#[test]
fn empty_files_and_comment_only_files_are_refused() {
    assert!(one("").contains("t.yml:1:1: the file is empty"));
    assert!(one("# nothing here\n\n").contains("the file is empty"));
    assert!(one("---\n").contains("the file is empty"));
}

#[test]
fn non_utf8_input_reports_the_position_of_the_bad_byte() {
    let text = b"kernel:\n  cmdline: \"ab\xff\"\n";
    let err = load_bytes(&[(Path::new("t.yml"), text)])
        .map(|_| ())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("t.yml:2:15: the file is not UTF-8"),
        "{err}"
    );
}

#[test]
fn duplicate_keys_are_errors() {
    let d = one("kernel:\n  image: a\n  image: b\n");
    assert!(
        d.contains("t.yml:3:3: duplicate key `image` (first set at line 2:3)"),
        "{d}"
    );
}

#[test]
fn merge_keys_fill_in_what_the_mapping_does_not_set() {
    let cfg = ok(
        "onboot:\n  - &base {name: a, image: cairn/x:1, readonly: true}\nservices:\n  - <<: *base\n    name: b\n    readonly: false\n",
    );
    let s = &cfg.services[0];
    assert_eq!(
        (s.name.as_deref(), s.image.as_deref(), s.readonly),
        (Some("b"), Some("cairn/x:1"), Some(false))
    );
}

#[test]
fn alias_bombs_fail_fast() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let d = one(&text);
    assert!(d.contains("alias bomb"), "{d}");
}

#[test]
fn aliases_of_one_long_string_are_charged_by_size() {
    let mut text = format!("a: &a {}\nb: [", "x".repeat(2_000_000));
    text.push_str(&vec!["*a"; 100_000].join(","));
    text.push_str("]\n");
    let d = one(&text);
    assert!(d.contains("alias bomb"), "{d}");
}

#[test]
fn a_large_file_without_aliases_is_not_called_a_bomb() {
    let text = format!("a: [{}]\n", vec!["x"; 250_000].join(","));
    let d = one(&text);
    assert!(d.contains("too large") && !d.contains("bomb"), "{d}");
}

#[test]
fn deep_nesting_is_refused_without_recursion() {
    let text = format!("init:\n{}x\n", "- ".repeat(100));
    assert!(one(&text).contains("t.yml:2:127: lists and mappings nest deeper than 64 levels"));
    let text = format!("init: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert!(one(&text).starts_with("t.yml:1:"));
}

#[test]
fn a_second_document_is_refused() {
    assert!(one("init: []\n---\ninit: []\n").contains("second YAML document"));
}

#[test]
fn trust_keys_resolve_paths_against_the_config_directory() {
    let cfg = ok(
        "trust:\n  org: [cairn]\n  keys:\n    - {name: dev, path: keys/dev.pub, images: [\"cairn/*\"]}\n    - {pem: \"-----BEGIN PUBLIC KEY-----\\nx\\n-----END PUBLIC KEY-----\\n\", images: [\"*\"]}\n",
    );
    assert_eq!(cfg.trust.org, vec!["cairn"]);
    assert_eq!(
        cfg.trust.keys[0].source,
        KeySource::Path("dir/keys/dev.pub".into())
    );
    assert_eq!(cfg.trust.keys[0].name.as_deref(), Some("dev"));
    assert!(matches!(cfg.trust.keys[1].source, KeySource::Pem(_)));
    assert!(one("trust:\n  keys:\n    - {images: [a]}\n").contains("needs `path`"));
    assert!(
        one("trust:\n  keys:\n    - {path: a, pem: b, images: [a]}\n")
            .contains("each name a key; keep one")
    );
    assert!(
        one("trust:\n  keys:\n    - {path: a, development: true}\n")
            .contains("each name a key; keep one")
    );
    assert!(one("trust:\n  keys:\n    - {development: false}\n").contains("names no key"));
    let dev = ok(
        "trust:\n  keys:\n    - {development: true, images: [\"cairn/*\"]}\n  allow_unsigned: [\"127.0.0.1:5000/*\"]\n",
    );
    assert_eq!(dev.trust.keys[0].source, KeySource::Development);
    assert_eq!(dev.trust.allow_unsigned, vec!["127.0.0.1:5000/*"]);
    assert!(one("trust:\n  allow_unsigned: [\"\"]\n").contains("trust.allow_unsigned[0]"));
    assert!(
        one("trust:\n  keys:\n    - {path: a, images: [\"a b\"]}\n")
            .contains("not an image pattern")
    );
    let org_only = b"trust:\n  org: [acme]\n  keys:\n    - {path: a}\n";
    let cfg = parse(Path::new("c.yml"), std::str::from_utf8(org_only).unwrap()).unwrap();
    assert!(cfg.trust.keys[0].images.is_empty());
}

#[test]
fn kernel_fields_are_replaced_and_lists_appended_when_merging() {
    let a = b"kernel: {image: cairn/kernel:1, cmdline: a}\ninit: [cairn/init:1]\nservices: [{name: s, image: x}]\n";
    let b = b"kernel: {cmdline: b}\ninit: [cairn/runc:1]\nservices: [{name: t, image: y}]\n";
    let cfg = load_bytes(&[(Path::new("a.yml"), a), (Path::new("b.yml"), b)]).unwrap();
    let k = cfg.kernel.as_ref().unwrap();
    assert_eq!(
        (k.image.as_deref(), k.cmdline.as_deref()),
        (Some("cairn/kernel:1"), Some("b"))
    );
    assert_eq!(cfg.init, vec!["cairn/init:1", "cairn/runc:1"]);
    assert_eq!(cfg.services.len(), 2);
    assert_eq!(cfg.services[1].location.file, Path::new("b.yml"));
}

#[test]
fn duplicates_across_merged_files_point_at_both_files() {
    let a = b"services: [{name: s, image: x}]\n";
    let err = load_bytes(&[(Path::new("a.yml"), a), (Path::new("b.yml"), a)]).unwrap_err();
    assert!(
        err.to_string().contains(
            "b.yml:1:12: services[0].name: duplicate service name `s` (first used at a.yml:1:12)"
        ),
        "{err}"
    );
}

#[test]
fn a_file_with_only_a_kernel_cmdline_validates_and_keeps_the_earlier_image() {
    let overlay = ok("kernel:\n  cmdline: x\n");
    assert_eq!(overlay.kernel.unwrap().image, None);
    let a = b"kernel: {image: cairn/kernel:1, cmdline: keep}\n";
    let b = b"kernel: {cmdline: \"\", tar: \"\"}\n";
    let cfg = load_bytes(&[(Path::new("a.yml"), a), (Path::new("b.yml"), b)]).unwrap();
    let k = cfg.kernel.unwrap();
    assert_eq!(k.image.as_deref(), Some("cairn/kernel:1"));
    assert_eq!(k.cmdline.as_deref(), Some("keep"));
    assert_eq!(k.tar.as_deref(), Some(""));
}

#[test]
fn rlimit_keywords_are_case_insensitive_as_in_linuxkit() {
    ok("services:\n  - name: s\n    image: x\n    rlimits: [\"nofile,Unlimited,UNLIMITED\"]\n");
}

#[test]
fn images_lists_every_image_the_build_needs() {
    let cfg = ok(
        "kernel: {image: cairn/kernel:latest}\ninit: [cairn/init:latest, cairn/runc:latest]\nonboot: [{name: dhcpcd, image: cairn/dhcpcd:latest}]\nservices: [{name: getty, image: cairn/getty:latest}]\nvolumes: [{name: v}, {name: w, image: alpine}]\n",
    );
    let uses: Vec<(String, String, String)> = cfg
        .images()
        .into_iter()
        .map(|u| (u.section, u.name, u.image))
        .collect();
    let want = [
        ("kernel", "kernel", "cairn/kernel:latest"),
        ("init[0]", "init", "cairn/init:latest"),
        ("init[1]", "runc", "cairn/runc:latest"),
        ("onboot[0]", "dhcpcd", "cairn/dhcpcd:latest"),
        ("services[0]", "getty", "cairn/getty:latest"),
        ("volumes[1]", "w", "alpine"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(uses, want);
}

#[test]
fn image_labels_parse_as_json_and_may_not_name_the_image() {
    let img = parse_image_label(
        "x",
        r#"{"capabilities":["CAP_SYS_ADMIN"],"binds":["/a:/a"],"readonly":true}"#,
    )
    .unwrap();
    assert_eq!(img.readonly, Some(true));
    let err = parse_image_label("x", r#"{"name":"n"}"#).unwrap_err();
    assert!(
        err.to_string().contains("may not be set in an image label"),
        "{err}"
    );
}

#[test]
fn volume_names_are_checked() {
    assert!(one("volumes: [{name: Vol}]\n").contains("lowercase letters"));
    assert!(one("volumes: [{name: a}, {name: a}]\n").contains("duplicate volume name"));
    assert!(one("volumes: [{name: a, format: oci}]\n").contains("needs an `image`"));
}

mod coverage {
    use super::super::probe::{node_paths, schema_paths};
    use super::super::yaml;

    const FIXTURES: [&str; 3] = [
        include_str!("../../tests/fixtures/config/linuxkit/node.yml"),
        include_str!("../../tests/fixtures/config/linuxkit/isolated.yml"),
        include_str!("../../tests/fixtures/config/linuxkit/storage.yml"),
    ];

    #[test]
    fn the_probe_sees_nested_schema_keys() {
        let schema = schema_paths();
        assert!(
            schema.contains("image[].resources.memory.kernelTCP"),
            "{schema:#?}"
        );
        assert!(schema.contains("image[].capabilities.add"));
        assert!(schema.contains("trust.keys[].pem"));
    }

    #[test]
    fn linuxkit_fixtures_use_every_linuxkit_key() {
        let mut used = std::collections::BTreeSet::new();
        for text in FIXTURES {
            used.extend(node_paths(&yaml::parse(text).unwrap()));
        }
        let missing: Vec<String> = schema_paths()
            .into_iter()
            // cairn additions cannot appear in LinuxKit configs.
            .filter(|p| !p.starts_with("trust.keys") && p != "trust.allow_unsigned")
            .filter(|p| {
                !p.starts_with("rpi")
                    && !p.starts_with("data")
                    && !p.starts_with("update")
                    && p != "version"
            })
            .filter(|p| !["kernel.modules", "kernel.stub", "kernel.syslinux"].contains(&p.as_str()))
            .filter(|p| !p.starts_with("image[].restart"))
            .filter(|p| !used.contains(p))
            .collect();
        assert!(missing.is_empty(), "keys no fixture uses: {missing:#?}");
    }

    #[test]
    fn the_yaml_reference_documents_every_key() {
        let doc = include_str!("../../../docs/yaml-reference.md");
        let missing: Vec<String> = schema_paths()
            .into_iter()
            .filter(|p| {
                let last = p.rsplit(['.', ']']).next().unwrap_or(p);
                let key = ["capabilities.add", "binds.add"]
                    .into_iter()
                    .find(|k| p.ends_with(k))
                    .unwrap_or(last);
                !doc.contains(&format!("`{key}`"))
            })
            .collect();
        assert!(
            missing.is_empty(),
            "keys docs/yaml-reference.md does not mention: {missing:#?}"
        );
    }
}

#[test]
fn files_over_the_size_limit_are_refused_before_parsing() {
    let big = vec![b'#'; MAX_FILE_SIZE as usize + 1];
    let err = load_bytes(&[(Path::new("t.yml"), &big)]).unwrap_err();
    assert!(
        err.to_string()
            .contains("t.yml:1:1: the file is larger than 4 MiB"),
        "{err}"
    );
}

#[test]
fn flow_mappings_with_repeated_keys_are_refused() {
    assert!(one("kernel: {image: a, image: b}\n").contains("duplicate key `image`"));
}

#[test]
fn any_document_type_gets_the_same_strict_loader() {
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        count: Option<u32>,
    }
    let ok: Doc = parse_document(Path::new("d.yml"), b"name: x\ncount: 3\n").unwrap();
    assert_eq!(ok.name, "x");
    let err = parse_document::<Doc>(Path::new("d.yml"), b"name: x\ncuont: 3\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("d.yml:2:1"), "{err}");
    assert!(err.contains("did you mean `count`"), "{err}");
}

#[test]
fn numbers_too_large_for_any_integer_are_out_of_range_not_a_type_mismatch() {
    let d = one(
        "services:\n  - {name: a, image: x, oomScoreAdj: 99999999999999999999999999999999999999999}\n",
    );
    assert!(d.contains("out of range"), "{d}");
    let d = one("services:\n  - {name: a, image: x, oomScoreAdj: .inf}\n");
    assert!(d.contains("expected a whole number"), "{d}");
}

#[test]
fn a_misspelt_capability_is_reported_at_its_line_with_a_suggestion() {
    let d = one(
        "services:\n  - name: a\n    image: alpine\n    capabilities:\n      - CAP_NET_ADMIN\n      - CAP_NET_BIND_SERVCE\n",
    );
    assert!(
        d.starts_with("t.yml:6:9: services[0].capabilities[1]: unknown capability")
            && d.contains("did you mean `CAP_NET_BIND_SERVICE`?"),
        "{d}"
    );
}

#[test]
fn a_tab_in_indentation_is_reported_at_the_line_that_holds_it() {
    let d = one("services:\n  - name: a\n    image: alpine\n\tcommand: [x]\n");
    assert_eq!(
        d,
        "t.yml:4:1: a tab in the indentation; YAML indents with spaces only"
    );
}

#[test]
fn a_column_0_comment_inside_a_block_scalar_is_skipped_as_linuxkit_does() {
    let c = ok(
        "files:\n  - path: etc/resolv.conf\n    contents: |\n#      domain test.local\n      nameserver 10.10.1.101\n",
    );
    assert_eq!(
        c.files[0].contents.as_deref(),
        Some("nameserver 10.10.1.101\n")
    );
    // Positions after the skipped line still name the file's lines.
    let d = one(
        "files:\n  - path: a\n    contents: |\n# note\n      x\n  - path: b\n    directory: true\n    mdoe: \"0644\"\n",
    );
    assert!(d.starts_with("t.yml:8:5: files[1].mdoe"), "{d}");
}
