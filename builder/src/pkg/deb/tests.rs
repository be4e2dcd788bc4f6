//! .deb files built in memory: every compression, every entry kind, and
//! paths that try to leave the root.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::ar::build as build_ar;
use super::{DebEntry, DebError, EntryKind, control, for_each_entry};

#[derive(Clone, Copy)]
enum Z {
    None,
    Gz,
    Xz,
    Zst,
}

impl Z {
    fn suffix(self) -> &'static str {
        match self {
            Z::None => "",
            Z::Gz => ".gz",
            Z::Xz => ".xz",
            Z::Zst => ".zst",
        }
    }

    fn compress(self, data: &[u8]) -> Vec<u8> {
        match self {
            Z::None => data.to_vec(),
            Z::Gz => {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                enc.write_all(data).expect("gzip");
                enc.finish().expect("gzip")
            }
            Z::Xz => {
                let opts = lzma_rust2::XzOptions::with_preset(1);
                let mut enc = lzma_rust2::XzWriter::new(Vec::new(), opts).expect("xz");
                enc.write_all(data).expect("xz");
                enc.finish().expect("xz")
            }
            Z::Zst => {
                ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
            }
        }
    }
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(size);
    h
}

/// Writes raw name bytes, bypassing the tar crate's own path checks, so that
/// hostile archives can be built.
fn raw_name(h: &mut tar::Header, name: &str, link: &str) {
    let old = h.as_old_mut();
    old.name = [0; 100];
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    old.linkname = [0; 100];
    old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_cksum();
}

fn data_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |kind, name: &str, link: &str, mode, body: &[u8]| {
        let mut h = header(kind, mode, body.len() as u64);
        raw_name(&mut h, name, link);
        b.append(&h, body).expect("append");
    };
    add(tar::EntryType::Directory, "./", "", 0o755, b"");
    add(tar::EntryType::Directory, "./usr/", "", 0o755, b"");
    add(tar::EntryType::Directory, "./usr/sbin/", "", 0o755, b"");
    add(
        tar::EntryType::Regular,
        "./usr/sbin/tool",
        "",
        0o4755,
        b"#!binary\n",
    );
    add(
        tar::EntryType::Symlink,
        "./usr/sbin/alias",
        "/usr/sbin/tool",
        0o777,
        b"",
    );
    add(
        tar::EntryType::Link,
        "./usr/sbin/same",
        "./usr/sbin/tool",
        0o755,
        b"",
    );
    let mut dev = header(tar::EntryType::Char, 0o600, 0);
    raw_name(&mut dev, "./dev/null", "");
    dev.set_device_major(1).expect("major");
    dev.set_device_minor(3).expect("minor");
    dev.set_cksum();
    b.append(&dev, &b""[..]).expect("append");
    b.into_inner().expect("tar")
}

fn control_tar(text: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = header(tar::EntryType::Regular, 0o644, text.len() as u64);
    raw_name(&mut h, "./control", "");
    b.append(&h, text.as_bytes()).expect("append");
    b.into_inner().expect("tar")
}

const CONTROL: &str =
    "Package: tool\nVersion: 1:2.0-1\nArchitecture: amd64\nDescription: a tool\n more text\n";

fn write_deb(dir: &Path, z: Z, data: &[u8]) -> PathBuf {
    let control_name = format!("control.tar{}", z.suffix());
    let data_name = format!("data.tar{}", z.suffix());
    let control = z.compress(&control_tar(CONTROL));
    let data = z.compress(data);
    let bytes = build_ar(&[
        ("debian-binary", b"2.0\n"),
        (&control_name, &control),
        (&data_name, &data),
    ]);
    let path = dir.join(format!("tool{}.deb", z.suffix()));
    std::fs::write(&path, bytes).expect("write deb");
    path
}

fn entries(deb: &Path) -> Result<Vec<(DebEntry, Vec<u8>)>, DebError> {
    let mut out = Vec::new();
    for_each_entry(deb, &mut |e, r| {
        let mut body = Vec::new();
        r.read_to_end(&mut body).expect("entry body");
        out.push((e.clone(), body));
        Ok(())
    })?;
    Ok(out)
}

#[test]
fn every_compression_yields_the_same_normalized_entries() {
    let dir = tempfile::tempdir().expect("tempdir");
    for z in [Z::None, Z::Gz, Z::Xz, Z::Zst] {
        let deb = write_deb(dir.path(), z, &data_tar());
        let got = entries(&deb).expect("entries");
        let paths: Vec<&str> = got.iter().map(|(e, _)| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "usr",
                "usr/sbin",
                "usr/sbin/tool",
                "usr/sbin/alias",
                "usr/sbin/same",
                "dev/null"
            ]
        );
        let (tool, body) = &got[2];
        assert_eq!(tool.kind, EntryKind::File);
        assert_eq!(tool.mode, 0o4755);
        assert_eq!(tool.size, 9);
        assert_eq!(body, b"#!binary\n");
        assert_eq!(got[3].0.kind, EntryKind::Symlink("/usr/sbin/tool".into()));
        assert_eq!(got[4].0.kind, EntryKind::Hardlink("usr/sbin/tool".into()));
        assert_eq!(got[5].0.kind, EntryKind::CharDevice(1, 3));
        assert_eq!(got[0].0.kind, EntryKind::Dir);
    }
}

#[test]
fn the_control_file_names_package_version_and_architecture() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deb = write_deb(dir.path(), Z::Xz, &data_tar());
    let info = control(&deb).expect("control");
    assert_eq!(info.package, "tool");
    assert_eq!(info.version, "1:2.0-1");
    assert_eq!(info.architecture, "amd64");
}

fn hostile(name: &str, link: &str, kind: tar::EntryType) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = header(kind, 0o644, 0);
    raw_name(&mut h, name, link);
    b.append(&h, &b""[..]).expect("append");
    b.into_inner().expect("tar")
}

#[test]
fn an_entry_that_climbs_out_of_the_root_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deb = write_deb(
        dir.path(),
        Z::Gz,
        &hostile("./../etc/passwd", "", tar::EntryType::Regular),
    );
    let err = entries(&deb).expect_err("escape");
    assert!(matches!(err, DebError::UnsafePath { .. }), "{err:?}");
    assert!(err.to_string().contains("../etc/passwd"), "{err}");
}

#[test]
fn a_hard_link_to_a_file_outside_the_root_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tar = hostile("./usr/x", "../../etc/shadow", tar::EntryType::Link);
    let deb = write_deb(dir.path(), Z::None, &tar);
    let err = entries(&deb).expect_err("escape");
    assert!(matches!(err, DebError::UnsafePath { .. }), "{err:?}");
}

#[test]
fn an_absolute_hard_link_target_is_read_relative_to_the_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tar = hostile("./usr/x", "/usr/y", tar::EntryType::Link);
    let deb = write_deb(dir.path(), Z::None, &tar);
    let got = entries(&deb).expect("entries");
    assert_eq!(got[0].0.kind, EntryKind::Hardlink("usr/y".into()));
}

#[test]
fn a_file_that_is_not_a_deb_is_refused_with_its_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fake.deb");
    std::fs::write(&path, b"<html>404</html>").expect("write");
    let err = entries(&path).expect_err("not a deb");
    assert!(matches!(err, DebError::Format { .. }), "{err:?}");
    assert!(err.to_string().contains("fake.deb"), "{err}");
}

#[test]
fn an_unknown_compression_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = build_ar(&[("debian-binary", b"2.0\n"), ("data.tar.lz4", b"....")]);
    let path = dir.path().join("odd.deb");
    std::fs::write(&path, bytes).expect("write");
    let err = entries(&path).expect_err("lz4");
    assert!(err.to_string().contains("data.tar.lz4"), "{err}");
}

#[test]
fn a_callback_error_stops_the_walk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let deb = write_deb(dir.path(), Z::Zst, &data_tar());
    let mut seen = 0;
    let err = for_each_entry(&deb, &mut |e, _| {
        seen += 1;
        Err(DebError::Entry {
            deb: deb.clone(),
            entry: e.path.clone(),
            source: "disk full".into(),
        })
    })
    .expect_err("stops");
    assert_eq!(seen, 1);
    assert!(err.to_string().contains("usr"), "{err}");
}
