//! Assembly from small OCI images written straight into a temporary store:
//! layers (whiteouts, hard links, xattrs, escapes), bundles and their
//! config.json, files, volumes and the kernel module closure.

use std::io::{Read, Write};
use std::path::Path;

use cairn::assemble::{Arch, AssembleError, System, assemble};
use cairn::config;
use cairn::fstree::{Kind, Tree};
use cairn::oci::manifest::descriptor;
use cairn::oci::{Digest, ImageRef, Store};
use cairn::plan::{self, Plan};
use oci_spec::image::MediaType;
use proptest::arbitrary::Arbitrary;
use serde_json::{Value, json};

/// One tar entry of a test layer.
enum E<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Link(&'a str, &'a str),
    Hard(&'a str, &'a str),
    /// A file with PAX xattrs.
    Xattr(&'a str, &'a [u8], &'a str, &'a [u8]),
}

/// Writes names and link names raw, so tests can build hostile layers that
/// the `tar` crate's checked setters would refuse.
fn header(name: &str, kind: tar::EntryType, size: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

fn layer(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        match e {
            E::File(p, data) | E::Xattr(p, data, _, _) => {
                if let E::Xattr(_, _, key, value) = e {
                    let key = format!("SCHILY.xattr.{key}");
                    b.append_pax_extensions([(key.as_str(), *value)])
                        .expect("test step");
                }
                let mut h = header(p, tar::EntryType::Regular, data.len() as u64, 0o755);
                h.set_cksum();
                b.append(&h, *data).expect("test step");
            }
            E::Dir(p) => {
                let mut h = header(p, tar::EntryType::Directory, 0, 0o755);
                h.set_cksum();
                b.append(&h, &[][..]).expect("test step");
            }
            E::Link(p, target) | E::Hard(p, target) => {
                let kind = match e {
                    E::Link(..) => tar::EntryType::Symlink,
                    _ => tar::EntryType::Link,
                };
                let mut h = header(p, kind, 0, 0o777);
                h.as_old_mut().linkname[..target.len()].copy_from_slice(target.as_bytes());
                h.set_cksum();
                b.append(&h, &[][..]).expect("test step");
            }
        }
    }
    b.into_inner().expect("test step")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).expect("test step");
    e.finish().expect("test step")
}

/// Stores an image with these layers and image config; returns its
/// platform manifest digest.
fn image(store: &Store, layers: &[Vec<u8>], config: Value) -> Digest {
    let mut descs = Vec::new();
    for l in layers {
        let d = store.put_bytes(l).expect("test step");
        descs.push(json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d.to_string(), "size": l.len()}));
    }
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux", "config": config,
        "rootfs": {"type": "layers", "diff_ids": []},
    }))
    .expect("test step");
    let c = store.put_bytes(&config).expect("test step");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": c.to_string(), "size": config.len()},
        "layers": descs,
    }))
    .expect("test step");
    store.put_bytes(&manifest).expect("test step")
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    work: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("test step");
        let store = Store::open(dir.path().join("store")).expect("test step");
        Fixture {
            _dir: dir,
            store,
            work: tempfile::tempdir().expect("test step"),
        }
    }

    /// Stores the image under `name`, as a pull would.
    fn add(&mut self, name: &str, layers: &[Vec<u8>], config: Value) {
        let d = image(&self.store, layers, config);
        let size = self
            .store
            .blob_path(&d)
            .metadata()
            .expect("test step")
            .len();
        let image: ImageRef = name.parse().expect("test step");
        let desc = descriptor(MediaType::ImageManifest, &d, size);
        self.store
            .set_name(&image.store_name(), &desc)
            .expect("test step");
    }

    /// The verified plan for `yaml`; the test images are unsigned, so the
    /// config is given `--allow-unsigned '*'`.
    fn plan(&self, yaml: &str) -> Plan {
        let path = self.work.path().join("system.yml");
        std::fs::write(&path, yaml).expect("test step");
        let config = config::load(&[path]).expect("test step");
        let allow = ["*".to_string()];
        let request = plan::Request {
            config: &config,
            arch: Arch::Amd64,
            stub: None,
            syslinux: None,
            rpi: None,
            allow_unsigned: &allow,
            tolerate_missing: false,
        };
        let survey = plan::survey(&self.store, None, &request).expect("test step");
        survey.into_plan().expect("test step")
    }

    fn build(&self, yaml: &str) -> Result<System, AssembleError> {
        assemble(&self.plan(yaml), self.work.path())
    }
}

fn text(tree: &Tree, path: &str) -> String {
    let entry = tree
        .get(path)
        .unwrap_or_else(|| panic!("{path} is missing"));
    let Kind::File(id) = &entry.kind else {
        panic!("{path} is not a file")
    };
    let mut s = String::new();
    tree.contents()
        .open(id)
        .expect("test step")
        .read_to_string(&mut s)
        .expect("test step");
    s
}

fn json_at(tree: &Tree, path: &str) -> Value {
    serde_json::from_str(&text(tree, path)).expect("test step")
}

#[test]
fn whiteouts_remove_lower_entries_and_opaque_dirs_clear_earlier_content() {
    let mut f = Fixture::new();
    let lower = layer(&[
        E::File("etc/a", b"a"),
        E::File("etc/b", b"b"),
        E::File("d/x", b"x"),
        E::File("d/y", b"y"),
    ]);
    let upper = gzip(&layer(&[
        E::File("etc/.wh.a", b""),
        E::Dir("d"),
        E::File("d/.wh..wh..opq", b""),
        E::File("d/z", b"z"),
    ]));
    f.add("base", &[lower, upper], json!({}));
    let sys = f.build("init: [base]\n").expect("test step");
    let t = &sys.rootfs;
    assert!(t.get("etc/a").is_none());
    assert_eq!(text(t, "etc/b"), "b");
    assert!(t.get("d/x").is_none() && t.get("d/y").is_none());
    assert_eq!(text(t, "d/z"), "z");
    assert!(t.get("etc/.wh.a").is_none());
}

#[test]
fn hard_links_and_file_capabilities_are_kept() {
    let mut f = Fixture::new();
    let cap = b"\x01\x00\x00\x02\x00\x20\x00\x00";
    f.add(
        "base",
        &[layer(&[
            E::Xattr("bin/ping", b"elf", "security.capability", cap),
            E::Hard("bin/ping6", "bin/ping"),
        ])],
        json!({}),
    );
    let sys = f.build("init: [base]\n").expect("test step");
    let t = &sys.rootfs;
    assert_eq!(
        t.get("bin/ping").expect("test step").kind,
        t.get("bin/ping6").expect("test step").kind
    );
    assert_eq!(
        t.xattrs("bin/ping").expect("test step")["security.capability"],
        cap
    );
    assert_eq!(
        t.xattrs("bin/ping6").expect("test step")["security.capability"],
        cap
    );
    let mut out = Vec::new();
    cairn::fstree::tar::write_tree_tar(&mut out, t, 0).expect("test step");
    let mut archive = tar::Archive::new(out.as_slice());
    let mut seen = false;
    for e in archive.entries().expect("test step") {
        let mut e = e.expect("test step");
        if e.path().expect("test step") == Path::new("bin/ping") {
            let exts: Vec<(String, Vec<u8>)> = e
                .pax_extensions()
                .expect("test step")
                .expect("test step")
                .map(|x| x.expect("test step"))
                .map(|x| {
                    (
                        x.key().expect("test step").to_string(),
                        x.value_bytes().to_vec(),
                    )
                })
                .collect();
            assert!(exts.contains(&("SCHILY.xattr.security.capability".into(), cap.to_vec())));
            seen = true;
        }
    }
    assert!(seen);
}

#[test]
fn entries_escaping_the_root_are_refused_naming_image_layer_and_path() {
    for (entries, path) in [
        (vec![E::File("../evil", b"x")], "../evil"),
        (
            vec![E::Link("a", "/etc"), E::File("a/passwd", b"x")],
            "a/passwd",
        ),
        (
            vec![
                E::File("etc/passwd", b"x"),
                E::Hard("h", "../../etc/passwd"),
            ],
            "../../etc/passwd",
        ),
        (
            vec![E::Link("a", "/etc"), E::Hard("h", "a/passwd")],
            "a/passwd",
        ),
    ] {
        let mut f = Fixture::new();
        f.add("evil", &[layer(&entries)], json!({}));
        let err = f.build("init: [evil]\n").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, AssembleError::Escapes { .. }), "{msg}");
        assert!(
            msg.contains("image evil") && msg.contains("sha256:") && msg.contains(path),
            "{msg}"
        );
    }
}

#[test]
fn a_layer_whose_bytes_do_not_match_its_digest_is_refused() {
    let mut f = Fixture::new();
    let l = layer(&[E::File("x", b"x")]);
    let d = f.store.put_bytes(&l).expect("test step");
    f.add("base", std::slice::from_ref(&l), json!({}));
    // Changed after the plan checked it: assembly hashes every layer again.
    let plan = f.plan("init: [base]\n");
    let mut bad = l;
    bad[600] ^= 1;
    std::fs::write(f.store.blob_path(&d), bad).expect("test step");
    let err = assemble(&plan, f.work.path()).unwrap_err();
    assert!(matches!(err, AssembleError::LayerDigest { .. }), "{err}");
}

const LABEL: &str = r#"{"capabilities": ["CAP_NET_ADMIN"], "binds": ["/etc/resolv.conf:/etc/resolv.conf"], "readonly": true, "net": "new"}"#;

#[test]
fn bundles_merge_the_label_with_the_yaml_like_linuxkit() {
    let mut f = Fixture::new();
    f.add(
        "init",
        &[layer(&[E::File("sbin/init", b"init")])],
        json!({}),
    );
    let app = layer(&[
        E::File("bin/app", b"app"),
        E::File(
            "etc/passwd",
            b"root:x:0:0::/:/bin/sh\nwww-data:x:33:33::/:/bin/sh\n",
        ),
    ]);
    f.add("app", std::slice::from_ref(&app), json!({"Entrypoint": ["/bin/app"], "Cmd": ["--serve"], "Env": ["A=1"], "Labels": {"org.mobyproject.config": LABEL}}));
    f.add("tool", &[app], json!({"Cmd": ["/bin/app", "once"]}));
    let yaml = "init: [init]\n\
onboot:\n  - {name: first, image: tool}\n  - {name: second, image: tool, command: [/bin/app, two], capabilities: [all]}\n\
services:\n  - name: web\n    image: app\n    capabilities.add: [CAP_SYS_ADMIN]\n    binds.add: [/var:/var:ro]\n    env: [B=2]\n    uid: www-data\n    restart: {policy: on-failure, initialDelayMs: 500}\n";
    let sys = f.build(yaml).expect("test step");
    let t = &sys.rootfs;
    assert!(
        t.get("containers/onboot/000-first/rootfs/bin/app")
            .is_some()
    );
    assert!(t.get("containers/onboot/001-second/config.json").is_some());
    let first = json_at(t, "containers/onboot/000-first/config.json");
    assert_eq!(first["process"]["args"], json!(["/bin/app", "once"]));
    assert_eq!(first["process"]["capabilities"]["bounding"], json!([]));
    assert_eq!(first["root"], json!({"path": "rootfs", "readonly": false}));
    let second = json_at(t, "containers/onboot/001-second/config.json");
    assert_eq!(second["process"]["args"], json!(["/bin/app", "two"]));
    assert_eq!(
        second["process"]["capabilities"]["effective"]
            .as_array()
            .expect("test step")
            .len(),
        41
    );

    let web = json_at(t, "containers/services/web/config.json");
    assert_eq!(web["process"]["args"], json!(["/bin/app", "--serve"]));
    assert_eq!(
        web["process"]["capabilities"]["bounding"],
        json!(["CAP_NET_ADMIN", "CAP_SYS_ADMIN"])
    );
    assert_eq!(web["process"]["env"][0], "B=2");
    assert!(
        web["process"]["env"][1]
            .as_str()
            .expect("test step")
            .starts_with("PATH=")
    );
    assert_eq!(web["process"]["user"]["uid"], 33);
    assert_eq!(web["root"]["readonly"], true);
    let mounts = web["mounts"].as_array().expect("test step");
    let dests: Vec<&str> = mounts
        .iter()
        .map(|m| m["destination"].as_str().expect("test step"))
        .collect();
    assert_eq!(
        dests,
        [
            "/dev",
            "/dev/pts",
            "/etc/resolv.conf",
            "/proc",
            "/sys",
            "/sys/fs/cgroup",
            "/var"
        ]
    );
    assert_eq!(mounts[6]["options"], json!(["ro", "rbind"]));
    assert_eq!(mounts[2]["options"], json!(["rw", "rbind", "rshared"]));
    assert!(
        mounts[0]["options"]
            .as_array()
            .expect("test step")
            .contains(&json!("ro"))
    );
    let ns: Vec<&str> = web["linux"]["namespaces"]
        .as_array()
        .expect("test step")
        .iter()
        .map(|n| n["type"].as_str().expect("test step"))
        .collect();
    assert_eq!(ns, ["network", "pid", "mount"]);
    let runtime = json_at(t, "containers/services/web/runtime.json");
    assert_eq!(
        runtime["restart"],
        json!({"policy": "on-failure", "initialDelayMs": 500, "maxDelayMs": 30000})
    );
    assert!(
        json_at(t, "containers/onboot/000-first/runtime.json")
            .get("restart")
            .is_none()
    );

    let system = json_at(t, "etc/cairn/system.json");
    assert_eq!(system["services"], json!(["web"]));
    assert_eq!(
        t.get("init").expect("test step").kind,
        Kind::Symlink("sbin/init".into())
    );
    assert_eq!(text(t, "etc/hostname"), "cairn\n");
    assert_eq!(
        sys.images
            .iter()
            .map(|i| i.section.as_str())
            .collect::<Vec<_>>(),
        ["init[0]", "onboot[0]", "onboot[1]", "services[0]"]
    );
}

#[test]
fn files_and_volumes_follow_linuxkit() {
    let mut f = Fixture::new();
    f.add(
        "init",
        &[layer(&[E::File("sbin/init", b"init"), E::Dir("etc")])],
        json!({}),
    );
    f.add("data", &[layer(&[E::File("seed", b"s")])], json!({}));
    f.add(
        "app",
        &[layer(&[E::File("bin/app", b"a")])],
        json!({"Cmd": ["/bin/app"]}),
    );
    std::fs::write(f.work.path().join("motd.txt"), "hello\n").expect("test step");
    let yaml = "init: [init]\n\
services:\n  - {name: app, image: app, binds: [\"cache:/cache\", \"seed:/seed:ro\"]}\n\
volumes:\n  - {name: cache}\n  - {name: seed, image: data, readonly: true}\n\
files:\n  - {path: etc/motd, source: motd.txt, mode: \"0644\"}\n  - {path: /srv/www/index.html, contents: hi, uid: app}\n  - {path: var/lib/x, directory: true}\n  - {path: etc/hostname, contents: box}\n  - {path: bin/sh, symlink: /bin/busybox}\n  - {path: etc/none, source: missing.txt, optional: true}\n";
    let sys = f.build(yaml).expect("test step");
    let t = &sys.rootfs;
    assert_eq!(text(t, "etc/motd"), "hello\n");
    assert_eq!(t.get("etc/motd").expect("test step").mode, 0o644);
    assert_eq!(
        t.get("etc").expect("test step").mode,
        0o755,
        "an existing directory keeps its mode"
    );
    let www = t.get("srv/www").expect("test step");
    assert_eq!((www.mode, www.uid), (0o700, 100));
    assert_eq!(t.get("srv/www/index.html").expect("test step").mode, 0o600);
    assert_eq!(t.get("var/lib/x").expect("test step").mode, 0o700);
    assert_eq!(text(t, "etc/hostname"), "box");
    assert!(t.get("etc/none").is_none());
    assert_eq!(text(t, "containers/volumes/seed/lower/seed"), "s");
    assert!(t.get("containers/volumes/cache/merged").is_some());
    let app = json_at(t, "containers/services/app/config.json");
    let sources: Vec<&str> = app["mounts"]
        .as_array()
        .expect("test step")
        .iter()
        .map(|m| m["source"].as_str().expect("test step"))
        .collect();
    assert!(
        sources.contains(&"/containers/volumes/cache/merged"),
        "{sources:?}"
    );
    assert!(
        sources.contains(&"/containers/volumes/seed/merged"),
        "{sources:?}"
    );

    let rw = yaml.replace("seed:/seed:ro", "seed:/seed");
    let err = f.build(&rw).unwrap_err().to_string();
    assert!(err.contains("read-only"), "{err}");
}

fn kernel_image(f: &mut Fixture) {
    let dep = "kernel/a.ko: kernel/b.ko kernel/c.ko\nkernel/b.ko: kernel/c.ko\nkernel/c.ko:\nkernel/drivers/virtio_blk.ko: kernel/virtio.ko\nkernel/virtio.ko:\nkernel/unused.ko:\n";
    let v = "lib/modules/6.1.0-test";
    let inner = layer(&[
        E::File(&format!("{v}/kernel/a.ko"), b"a"),
        E::File(&format!("{v}/kernel/b.ko"), b"b"),
        E::File(&format!("{v}/kernel/c.ko"), b"c"),
        E::File(&format!("{v}/kernel/virtio.ko"), b"v"),
        E::File(&format!("{v}/kernel/drivers/virtio_blk.ko"), b"vb"),
        E::File(&format!("{v}/kernel/unused.ko"), b"u"),
        E::File(&format!("{v}/modules.dep"), dep.as_bytes()),
        E::File(&format!("{v}/modules.builtin"), b"kernel/fs/ext4.ko\n"),
    ]);
    f.add(
        "kernel",
        &[gzip(&layer(&[
            E::File("kernel", b"bzImage"),
            E::File("kernel.tar", &inner),
        ]))],
        json!({}),
    );
}

#[test]
fn only_needed_kernel_modules_go_in_with_their_dependencies_first() {
    let mut f = Fixture::new();
    kernel_image(&mut f);
    let sys = f
        .build("kernel: {image: kernel, cmdline: console=ttyS0, modules: [a, ext4]}\n")
        .expect("test step");
    let k = sys.kernel.as_ref().expect("test step");
    assert_eq!(
        (k.version.as_str(), k.cmdline.as_str()),
        ("6.1.0-test", "console=ttyS0")
    );
    let mut bytes = String::new();
    sys.rootfs
        .contents()
        .open(&k.kernel)
        .expect("test step")
        .read_to_string(&mut bytes)
        .expect("test step");
    assert_eq!(bytes, "bzImage");
    let t = &sys.rootfs;
    assert_eq!(
        text(t, "etc/cairn/modules"),
        "kernel/virtio.ko\nkernel/drivers/virtio_blk.ko\nkernel/c.ko\nkernel/b.ko\nkernel/a.ko\n"
    );
    assert!(t.get("lib/modules/6.1.0-test/kernel/unused.ko").is_none());
    assert_eq!(text(t, "lib/modules/6.1.0-test/kernel/b.ko"), "b");
    assert!(!text(t, "lib/modules/6.1.0-test/modules.dep").contains("unused"));
    assert!(t.get("kernel").is_none() && t.get("kernel.tar").is_none());

    let err = f
        .build("kernel: {image: kernel, modules: [nope]}\n")
        .unwrap_err();
    assert!(
        matches!(&err, AssembleError::UnknownModule { module, .. } if module == "nope"),
        "{err}"
    );
}

#[test]
fn the_same_inputs_give_the_same_tree() {
    let mut f = Fixture::new();
    f.add(
        "app",
        &[layer(&[E::File("bin/app", b"a")])],
        json!({"Cmd": ["/bin/app"], "Labels": {"org.mobyproject.config": LABEL}}),
    );
    let yaml = "services:\n  - {name: app, image: app, capabilities: [all]}\n";
    let tar_of = |sys: &System| {
        let mut out = Vec::new();
        cairn::fstree::tar::write_tree_tar(&mut out, &sys.rootfs, 0).expect("test step");
        out
    };
    let a = tar_of(&f.build(yaml).expect("test step"));
    let b = tar_of(&f.build(yaml).expect("test step"));
    assert_eq!(a, b);
}

/// A layer of raw tar bytes: a header for `name` as given (long names go
/// in a GNU long-name entry), with PAX records before it when given.
fn raw_layer(name: &str, pax: &[(&str, &str)], data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    if !pax.is_empty() {
        b.append_pax_extensions(pax.iter().map(|(k, v)| (*k, v.as_bytes())))
            .expect("test step");
    }
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o4755);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, name, data).expect("test step");
    b.into_inner().expect("test step")
}

fn refused(layer: Vec<u8>) -> AssembleError {
    let mut f = Fixture::new();
    f.add("hostile", &[layer], json!({}));
    f.build("init: [hostile]\n")
        .expect_err("a hostile layer is refused")
}

#[test]
fn a_whiteout_that_names_nothing_is_refused_not_applied_to_its_folder() {
    let mut f = Fixture::new();
    let base = layer(&[E::File("etc/passwd", b"root")]);
    f.add(
        "hostile",
        &[base, layer(&[E::File("etc/.wh.", b"")])],
        json!({}),
    );
    let err = f.build("init: [hostile]\n").unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, AssembleError::Escapes { .. }), "{msg}");
    assert!(
        msg.contains("etc/.wh.") && msg.contains("whiteout"),
        "{msg}"
    );
    let top = layer(&[E::File(".wh.", b"")]);
    assert!(matches!(refused(top), AssembleError::Escapes { .. }));
}

#[test]
fn a_uid_beyond_32_bits_is_refused_not_wrapped_to_root() {
    for (key, value) in [("uid", "4294967296"), ("gid", "4294967296"), ("uid", "-1")] {
        let err = refused(raw_layer("bin/su", &[(key, value)], b"x"));
        let msg = err.to_string();
        assert!(
            msg.contains("fits 32 bits") && msg.contains("bin/su"),
            "{key}={value}: {msg}"
        );
    }
    let mut f = Fixture::new();
    f.add(
        "ok",
        &[raw_layer("bin/su", &[("uid", "4294967295")], b"x")],
        json!({}),
    );
    let system = f.build("init: [ok]\n").expect("the largest uid fits");
    assert_eq!(system.rootfs.get("bin/su").expect("su").uid, u32::MAX);
}

#[test]
fn paths_longer_than_linux_allows_are_refused_before_any_work_on_them() {
    // 5000 components of one byte: 9999 bytes, refused as a whole.
    let deep = vec!["a"; 5000].join("/");
    let msg = refused(raw_layer(&deep, &[], b"x")).to_string();
    assert!(
        msg.contains("longer than Linux allows (4096 bytes)"),
        "{msg}"
    );
    let long_name = format!("etc/{}", "n".repeat(256));
    let msg = refused(raw_layer(&long_name, &[], b"x")).to_string();
    assert!(msg.contains("255 bytes"), "{msg}");
    // Deep but within PATH_MAX is fine, and linear: 2000 levels.
    let mut f = Fixture::new();
    let ok = vec!["d"; 2000].join("/");
    f.add("deep", &[raw_layer(&ok, &[], b"x")], json!({}));
    let system = f.build("init: [deep]\n").expect("a deep but legal path");
    assert!(system.rootfs.get(&ok).is_some());
}

#[test]
fn a_malformed_layer_is_bad_input_naming_the_layer_not_a_machine_fault() {
    use cairn::exit::{Classify, ErrorClass};
    let mut bytes = layer(&[E::File("etc/motd", b"hello")]);
    // A broken header checksum: the tar reader cannot parse it.
    bytes[148..156].copy_from_slice(b"0000000\0");
    let err = refused(bytes);
    let msg = err.to_string();
    assert!(matches!(err, AssembleError::LayerMalformed { .. }), "{msg}");
    assert!(
        msg.contains("malformed") && msg.contains("sha256:"),
        "{msg}"
    );
    assert_eq!(err.class(), ErrorClass::User);
    let gz = gzip(&layer(&[E::File("etc/motd", b"hello")]));
    let cut = gz[..gz.len() / 2].to_vec();
    assert_eq!(refused(cut).class(), ErrorClass::User);
}

#[test]
fn a_files_source_that_is_a_fifo_or_a_device_is_refused_and_a_big_file_streams() {
    let mut f = Fixture::new();
    f.add("base", &[layer(&[E::File("etc/motd", b"hi")])], json!({}));
    let fifo = f.work.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    for (source, kind) in [
        (fifo.to_str().expect("utf-8"), "a FIFO"),
        ("/dev/zero", "a device"),
    ] {
        let yaml = format!(
            "init: [base]\nfiles:\n  - path: etc/x\n    source: {source}\n    optional: true\n"
        );
        let err = f.build(&yaml).expect_err("a non-regular source is refused");
        let chain = format!("{err}: {}", std::error::Error::source(&err).expect("cause"));
        assert!(matches!(err, AssembleError::FileSource { .. }), "{chain}");
        assert!(
            chain.contains(kind) && chain.contains("files[0]"),
            "{chain}"
        );
    }
    // 64 MiB, written sparse: streamed into the tree, not read whole.
    let big = f.work.path().join("big.img");
    std::fs::File::create(&big)
        .and_then(|file| file.set_len(64 << 20))
        .expect("big file");
    let yaml = format!(
        "init: [base]\nfiles:\n  - path: var/big.img\n    source: {}\n",
        big.display()
    );
    let system = f.build(&yaml).expect("a big regular file is fine");
    let Some(Kind::File(id)) = system.rootfs.get("var/big.img").map(|e| e.kind.clone()) else {
        panic!("var/big.img is missing");
    };
    assert_eq!(id.size, 64 << 20);
}

#[test]
fn a_pax_header_claiming_gigabytes_is_refused_before_the_reader_holds_it() {
    use cairn::exit::{Classify, ErrorClass};
    let mut h = tar::Header::new_ustar();
    h.set_path("././@PaxHeader").expect("test step");
    h.set_size(2 << 30);
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_cksum();
    let mut bytes = h.as_bytes().to_vec();
    // The claimed records: 2 GiB of them would follow; 2 MiB are here.
    bytes.extend(std::iter::repeat_n(b'a', 2 << 20));
    let err = refused(gzip(&bytes));
    let chain = format!("{err}: {}", std::error::Error::source(&err).expect("cause"));
    assert!(
        matches!(err, AssembleError::LayerMalformed { .. }),
        "{chain}"
    );
    assert!(chain.contains("claims 2147483648 bytes"), "{chain}");
    assert_eq!(err.class(), ErrorClass::User);
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
    ))]
    /// A valid layer with random bytes changed or cut, gzipped or not: assembly
    /// refuses it or builds a tree, and never panics.
    #[test]
    fn assembly_survives_a_changed_layer(
        patches in proptest::collection::vec((proptest::sample::Index::arbitrary(), proptest::arbitrary::any::<u8>()), 0..24),
        cut in proptest::option::of(proptest::sample::Index::arbitrary()),
        compress in proptest::arbitrary::any::<bool>(),
    ) {
        let mut bytes = layer(&[
            E::Dir("etc"),
            E::File("etc/motd", b"hello"),
            E::Link("bin", "usr/bin"),
            E::Hard("etc/motd2", "etc/motd"),
            E::Xattr("usr/bin/ping", b"x", "security.capability", b"\x01\x02"),
            E::File("etc/.wh.gone", b""),
        ]);
        let len = bytes.len();
        for (at, value) in patches {
            bytes[at.index(len)] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(len + 1));
        }
        if compress {
            bytes = gzip(&bytes);
        }
        let mut f = Fixture::new();
        f.add("fuzz", &[bytes], json!({}));
        let _ = f.build("init: [fuzz]\n");
    }
}
