//! Small test images written straight into a store, so tests need no network.
//!
//! ```ignore
//! let store = cairn::oci::Store::open(dir.path())?;
//! let img = common::image::create(&store, "127.0.0.1:5000/test/hello:1", &["amd64", "arm64"], 2, 1024);
//! // img.index is the digest of the multi-arch index named "127.0.0.1:5000/test/hello:1".
//! ```

use cairn::oci::manifest::descriptor;
use cairn::oci::{Digest, Store};
use oci_spec::image::MediaType;
use serde_json::json;

/// One platform's image inside a test index.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    pub arch: String,
    pub manifest: Digest,
    pub config: Digest,
    pub layers: Vec<Digest>,
}

impl PlatformImage {
    /// The manifest, config and layer digests.
    pub fn blobs(&self) -> Vec<Digest> {
        let mut all = vec![self.manifest.clone(), self.config.clone()];
        all.extend(self.layers.iter().cloned());
        all
    }
}

/// A multi-arch image created by [`create`].
#[derive(Debug, Clone)]
pub struct TestImage {
    /// The store name the index was given (normalized).
    pub name: String,
    /// The digest of the OCI image index.
    pub index: Digest,
    pub platforms: Vec<PlatformImage>,
}

impl TestImage {
    pub fn platform(&self, arch: &str) -> &PlatformImage {
        self.platforms
            .iter()
            .find(|p| p.arch == arch)
            .unwrap_or_else(|| panic!("test image has no {arch} platform"))
    }
}

/// One layer blob as it goes into an image: its bytes, media type and the
/// digest of its uncompressed tar (the diff id).
#[derive(Debug, Clone)]
pub struct LayerBlob {
    pub bytes: Vec<u8>,
    pub media_type: &'static str,
    pub diff_id: Digest,
}

impl LayerBlob {
    /// An uncompressed tar layer.
    pub fn tar(tar: Vec<u8>) -> LayerBlob {
        LayerBlob {
            diff_id: Digest::of(&tar),
            bytes: tar,
            media_type: "application/vnd.oci.image.layer.v1.tar",
        }
    }

    /// A gzip layer of a tar with these files, bottom first.
    pub fn gzip_files(files: &[(&str, &[u8])]) -> LayerBlob {
        use std::io::Write;
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, path, *data)
                .expect("tar entry");
        }
        let tar = builder.into_inner().expect("tar");
        let diff_id = Digest::of(&tar);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).expect("gzip");
        LayerBlob {
            bytes: gz.finish().expect("gzip"),
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip",
            diff_id,
        }
    }
}

/// Writes an OCI image index with one linux image per `archs` entry, each
/// with `layers` uncompressed tar layers holding one file of `layer_size`
/// bytes, and names it `name` (normalized like any image reference).
/// Contents depend on `name`, so two images with different names share no layers.
pub fn create(
    store: &Store,
    name: &str,
    archs: &[&str],
    layers: usize,
    layer_size: usize,
) -> TestImage {
    let platforms = archs
        .iter()
        .map(|arch| {
            let blobs = (0..layers)
                .map(|i| {
                    let file = format!("{arch}-{i}.txt");
                    LayerBlob::tar(tar_with_file(
                        &file,
                        &filler(&format!("{name} {file}"), layer_size),
                    ))
                })
                .collect();
            (arch.to_string(), blobs)
        })
        .collect();
    create_with_layers(store, name, platforms)
}

/// Writes an OCI image index with one linux image per platform entry, made of
/// the given layers, and names it `name`.
pub fn create_with_layers(
    store: &Store,
    name: &str,
    platforms_in: Vec<(String, Vec<LayerBlob>)>,
) -> TestImage {
    let reference: cairn::oci::ImageRef = name.parse().expect("test image name");
    let mut platforms = Vec::new();
    let mut entries = Vec::new();
    for (arch, blobs) in platforms_in {
        let mut layer_descs = Vec::new();
        let mut layer_digests = Vec::new();
        let mut diff_ids = Vec::new();
        for blob in blobs {
            let d = store.put_bytes(&blob.bytes).expect("store layer");
            diff_ids.push(blob.diff_id.to_string());
            layer_descs.push(json!({
                "mediaType": blob.media_type,
                "digest": d.to_string(),
                "size": blob.bytes.len(),
            }));
            layer_digests.push(d);
        }
        let config = serde_json::to_vec(&json!({
            "architecture": arch,
            "os": "linux",
            "config": {"Cmd": ["/bin/true"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }))
        .expect("config json");
        let config_digest = store.put_bytes(&config).expect("store config");
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest.to_string(),
                "size": config.len(),
            },
            "layers": layer_descs,
        }))
        .expect("manifest json");
        let manifest_digest = store.put_bytes(&manifest).expect("store manifest");
        entries.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest.to_string(),
            "size": manifest.len(),
            "platform": {"architecture": arch, "os": "linux"},
        }));
        platforms.push(PlatformImage {
            arch: arch.clone(),
            manifest: manifest_digest,
            config: config_digest,
            layers: layer_digests,
        });
    }
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": entries,
    }))
    .expect("index json");
    let index_digest = store.put_bytes(&index).expect("store index");
    let desc = descriptor(MediaType::ImageIndex, &index_digest, index.len() as u64);
    store
        .set_name(&reference.store_name(), &desc)
        .expect("name the test image");
    TestImage {
        name: reference.store_name(),
        index: index_digest,
        platforms,
    }
}

/// `len` bytes that differ for each seed and do not compress.
fn filler(seed: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block = Digest::of(seed.as_bytes());
    while out.len() < len {
        out.extend_from_slice(&hex::decode(block.hex()).expect("hex"));
        block = Digest::of(block.hex().as_bytes());
    }
    out.truncate(len);
    out
}

/// A ustar archive holding one regular file, with fixed metadata.
fn tar_with_file(name: &str, data: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    let put =
        |h: &mut [u8; 512], at: usize, bytes: &[u8]| h[at..at + bytes.len()].copy_from_slice(bytes);
    put(&mut header, 0, name.as_bytes());
    put(&mut header, 100, b"0000644\0");
    put(&mut header, 108, b"0000000\0");
    put(&mut header, 116, b"0000000\0");
    put(
        &mut header,
        124,
        format!("{:011o}\0", data.len()).as_bytes(),
    );
    put(&mut header, 136, b"00000000000\0");
    put(&mut header, 148, b"        ");
    header[156] = b'0';
    put(&mut header, 257, b"ustar\0");
    put(&mut header, 263, b"00");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    put(&mut header, 148, format!("{sum:06o}\0 ").as_bytes());
    let mut out = header.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512 + 1024, 0);
    out
}

/// The OCI empty descriptor's content, `{}`.
const EMPTY_JSON: &[u8] = b"{}";

/// Writes a stand-in signature artifact for `subject` the way the trust
/// module lays them out (artifactType, empty config, one layer per
/// signature, `subject`), named `image.signature_name(subject)`. The payload
/// is not a real signature: it is for transport tests only.
pub fn add_signature_artifact(store: &Store, image: &str, subject: &Digest) -> Digest {
    let reference: cairn::oci::ImageRef = image.parse().expect("image name");
    let subject_bytes = store.read_blob(subject).expect("subject in store");
    let subject_type = match cairn::oci::manifest::Manifest::parse(&subject_bytes) {
        Ok(cairn::oci::manifest::Manifest::Index(_)) => "application/vnd.oci.image.index.v1+json",
        _ => "application/vnd.oci.image.manifest.v1+json",
    };
    let empty = store.put_bytes(EMPTY_JSON).expect("store empty config");
    let payload = format!("signature of {subject}").into_bytes();
    let layer = store.put_bytes(&payload).expect("store signature");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": cairn::oci::registry::SIGNATURE_ARTIFACT_TYPE,
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "digest": empty.to_string(),
            "size": EMPTY_JSON.len(),
        },
        "layers": [{
            "mediaType": cairn::oci::registry::SIGNATURE_ARTIFACT_TYPE,
            "digest": layer.to_string(),
            "size": payload.len(),
        }],
        "subject": {
            "mediaType": subject_type,
            "digest": subject.to_string(),
            "size": subject_bytes.len(),
        },
    }))
    .expect("signature manifest json");
    let digest = store
        .put_bytes(&manifest)
        .expect("store signature manifest");
    let desc = descriptor(MediaType::ImageManifest, &digest, manifest.len() as u64);
    store
        .set_name(&reference.signature_name(subject), &desc)
        .expect("name the signature");
    digest
}

/// A two-platform image whose one layer holds `files` (path, bytes, mode).
pub fn file_image(store: &Store, name: &str, files: &[(&str, &[u8], u32)]) {
    let mut layer = tar::Builder::new(Vec::new());
    for (path, data, mode) in files {
        let mut h = tar::Header::new_ustar();
        h.set_path(path).expect("path");
        h.set_size(data.len() as u64);
        h.set_mode(*mode);
        h.set_mtime(0);
        h.set_cksum();
        layer.append(&h, *data).expect("append");
    }
    let layer = layer.into_inner().expect("tar");
    let layer_digest = store.put_bytes(&layer).expect("layer");
    let mut manifests = Vec::new();
    for arch in ["amd64", "arm64"] {
        let config = serde_json::to_vec(&json!({
            "architecture": arch, "os": "linux", "config": {},
            "rootfs": {"type": "layers", "diff_ids": [layer_digest.to_string()]},
        }))
        .expect("config");
        let config_digest = store.put_bytes(&config).expect("config blob");
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": config_digest.to_string(), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": layer_digest.to_string(), "size": layer.len()}],
        }))
        .expect("manifest");
        let digest = store.put_bytes(&manifest).expect("manifest blob");
        manifests.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest.to_string(), "size": manifest.len(),
            "platform": {"architecture": arch, "os": "linux"},
        }));
    }
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }))
    .expect("index");
    let digest = store.put_bytes(&index).expect("index blob");
    let reference: cairn::oci::ImageRef = name.parse().expect("name");
    store
        .set_name(
            &reference.store_name(),
            &descriptor(MediaType::ImageIndex, &digest, index.len() as u64),
        )
        .expect("set name");
}
