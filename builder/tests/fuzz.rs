//! cairn's readers of outside input on hostile bytes: the YAML config
//! loader, the OCI manifest parser and the .deb reader, each fed valid
//! inputs with random bytes changed or cut, and noise. Refusing is fine;
//! a panic is a bug. `make test` runs a few hundred cases per reader;
//! `make test-slow` runs `PROPTEST_CASES` of them. (Layers are fuzzed
//! through assembly in tests/assemble.rs.)

use std::io::Write;
use std::path::Path;

use proptest::prelude::*;
use proptest::sample::Index;

fn mutated(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = seed.len();
    (
        prop::collection::vec((any::<Index>(), any::<u8>()), 0..24),
        prop::option::of(any::<Index>()),
    )
        .prop_map(move |(patches, cut)| {
            let mut bytes = seed.clone();
            for (at, value) in patches {
                bytes[at.index(len)] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(len + 1));
            }
            bytes
        })
}

fn example() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/minimal.yml");
    std::fs::read(root).expect("examples/minimal.yml")
}

const INDEX: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","size":7,"platform":{"architecture":"amd64","os":"linux"}}]}"#;
const MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","size":9}]}"#;

fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        b.append_data(&mut h, path, *data).expect("tar");
    }
    let tar = b.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).expect("gzip");
    gz.finish().expect("gzip")
}

/// A small but real .deb: an ar archive of debian-binary, control.tar.gz
/// and data.tar.gz.
fn deb() -> Vec<u8> {
    let members: [(&str, Vec<u8>); 3] = [
        ("debian-binary", b"2.0\n".to_vec()),
        (
            "control.tar.gz",
            tar_gz(&[(
                "./control",
                b"Package: fuzz\nVersion: 1.0-1\nArchitecture: amd64\n",
            )]),
        ),
        (
            "data.tar.gz",
            tar_gz(&[
                ("./usr/bin/fuzz", b"#!/bin/sh\n"),
                ("./etc/fuzz.conf", b"a=1\n"),
            ]),
        ),
    ];
    let mut out = b"!<arch>\n".to_vec();
    for (name, data) in members {
        out.extend(
            format!(
                "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                0,
                0,
                0,
                100644,
                data.len()
            )
            .as_bytes(),
        );
        out.extend(&data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

proptest! {
    #[test]
    fn the_config_loader_survives_a_changed_example(bytes in mutated(example())) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = cairn::config::parse(Path::new("fuzz.yml"), &text);
    }

    #[test]
    fn the_config_loader_survives_noise(text in "[ -~\n\t:{}\\[\\]&*!|>'\"%@`#,?-]{0,2000}") {
        let _ = cairn::config::parse(Path::new("fuzz.yml"), &text);
    }

    #[test]
    fn the_manifest_parser_survives_changed_manifests(
        index in mutated(INDEX.as_bytes().to_vec()),
        manifest in mutated(MANIFEST.as_bytes().to_vec()),
    ) {
        for bytes in [index, manifest] {
            if let Ok(m) = cairn::oci::manifest::Manifest::parse(&bytes) {
                let _ = m.children();
                let _ = m.media_type();
            }
        }
    }

    #[test]
    fn the_deb_reader_survives_a_changed_package(bytes in mutated(deb())) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fuzz.deb");
        std::fs::write(&path, &bytes).expect("write");
        let _ = cairn::pkg::deb::control(&path);
        let _ = cairn::pkg::deb::for_each_entry(&path, &mut |_, r| {
            std::io::copy(r, &mut std::io::sink()).map(|_| ()).map_err(|source| {
                cairn::pkg::deb::DebError::Read {
                    deb: path.clone(),
                    member: "data.tar".into(),
                    source,
                }
            })
        });
    }
}

#[test]
fn the_seeds_are_valid_so_mutations_reach_past_the_first_check() {
    assert!(
        cairn::config::parse(
            Path::new("minimal.yml"),
            &String::from_utf8_lossy(&example())
        )
        .is_ok()
    );
    assert!(cairn::oci::manifest::Manifest::parse(INDEX.as_bytes()).is_ok());
    assert!(cairn::oci::manifest::Manifest::parse(MANIFEST.as_bytes()).is_ok());
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("seed.deb");
    std::fs::write(&path, deb()).expect("write");
    cairn::pkg::deb::control(&path).expect("the seed's control");
    let mut seen = 0;
    cairn::pkg::deb::for_each_entry(&path, &mut |_, _| {
        seen += 1;
        Ok(())
    })
    .expect("the seed's data");
    assert!(seen >= 2, "{seen} entries");
}
