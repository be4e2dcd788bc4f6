//! The local image store: an OCI image layout on disk.
//!
//! `oci-layout`, `index.json` and `blobs/sha256/<hex>`. Image names live in
//! `index.json` as the `org.opencontainers.image.ref.name` annotation holding
//! the whole normalized reference (`docker.io/library/alpine:3.20`), so one
//! store holds images from many repositories.
//!
//! Blobs are written to `tmp/` and renamed into place only after their digest
//! matches, so a crash or a bad download never leaves a corrupt blob. Changes
//! to `index.json` take an exclusive lock and are also written by rename.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageIndex, ImageIndexBuilder, MediaType};

use super::digest::{Digest, HashingWriter};
use super::manifest::Manifest;
use crate::exit::{Classify, ErrorClass};

/// The annotation holding an image's name in `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Errors of the local store. Each names the store path involved.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot use image store {path}: check that the folder is writable")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not a valid OCI image layout index; repair or remove it")]
    BadIndex {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("blob {actual} does not match the expected digest {expected}; it was not stored")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error(
        "blob {digest} is corrupt in store {store} (its content hashes to {actual}); run `cairn rm` on the image and pull it again"
    )]
    CorruptBlob {
        store: PathBuf,
        digest: Digest,
        actual: Digest,
    },
    #[error("blob {digest} is missing from store {store}; pull the image again")]
    MissingBlob { store: PathBuf, digest: Digest },
    #[error("blob {digest} in store {store} is not a manifest or index cairn understands")]
    BadManifest {
        store: PathBuf,
        digest: Digest,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "image {name} is not in store {store}; run `cairn pull {name}` or `cairn images` to see what is there"
    )]
    UnknownImage { store: PathBuf, name: String },
}

impl Classify for StoreError {
    fn class(&self) -> ErrorClass {
        match self {
            StoreError::Io { .. } => ErrorClass::Environment,
            _ => ErrorClass::User,
        }
    }
}

type Result<T> = std::result::Result<T, StoreError>;

/// Temporary files older than this are leftovers of a crashed write.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(3600);

/// One name in the store and the descriptor it points to.
#[derive(Debug, Clone)]
pub struct Named {
    pub name: String,
    pub descriptor: Descriptor,
}

/// What `gc` removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GcReport {
    pub removed_blobs: usize,
    pub freed_bytes: u64,
    pub kept_blobs: usize,
}

/// A handle on a store folder.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Store {
    /// `$XDG_CACHE_HOME/cairn/store`, else `~/.cache/cairn/store`.
    pub fn default_root() -> PathBuf {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(|| PathBuf::from(".cache"));
        cache.join("cairn").join("store")
    }

    /// Opens a store, creating an empty layout if the folder has none.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store> {
        let store = Store { root: root.into() };
        for dir in [store.blob_dir(), store.tmp_dir()] {
            fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        }
        let layout = store.root.join("oci-layout");
        if !layout.exists() {
            store.write_atomic(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        let index = store.index_path();
        if !index.exists() {
            store.save_index(&empty_index())?;
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_dir(&self) -> PathBuf {
        self.root.join("blobs").join("sha256")
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blob_dir().join(digest.hex())
    }

    pub fn contains(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Opens a blob for streaming reads. The caller verifies the digest if it
    /// reads the whole blob; [`Store::read_blob`] does that for small blobs.
    pub fn open_blob(&self, digest: &Digest) -> Result<File> {
        let path = self.blob_path(digest);
        File::open(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => StoreError::MissingBlob {
                store: self.root.clone(),
                digest: digest.clone(),
            },
            _ => StoreError::Io { path, source },
        })
    }

    /// Reads a whole blob and checks its digest.
    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        let path = self.blob_path(digest);
        self.open_blob(digest)?
            .read_to_end(&mut bytes)
            .map_err(io_err(&path))?;
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(StoreError::CorruptBlob {
                store: self.root.clone(),
                digest: digest.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Reads and parses a manifest or index blob.
    pub fn read_manifest(&self, digest: &Digest) -> Result<Manifest> {
        let bytes = self.read_blob(digest)?;
        Manifest::parse(&bytes).map_err(|source| StoreError::BadManifest {
            store: self.root.clone(),
            digest: digest.clone(),
            source,
        })
    }

    /// Stores bytes as a blob and returns their digest.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Digest> {
        let mut w = self.writer(None)?;
        w.write_all(bytes).map_err(io_err(&self.tmp_dir()))?;
        w.commit()
    }

    /// A streaming writer for a new blob. With `expected`, `commit` refuses
    /// content with another digest and leaves the store unchanged.
    pub fn writer(&self, expected: Option<Digest>) -> Result<BlobWriter> {
        let dir = self.tmp_dir();
        let file = tempfile::NamedTempFile::new_in(&dir).map_err(io_err(&dir))?;
        Ok(BlobWriter {
            store: self.clone(),
            expected,
            inner: HashingWriter::new(file),
        })
    }

    /// Every name in the store, sorted.
    pub fn names(&self) -> Result<Vec<Named>> {
        let index = self.load_index()?;
        let mut out: Vec<Named> = index
            .manifests()
            .iter()
            .filter_map(|d| {
                let name = d.annotations().as_ref()?.get(REF_NAME)?.clone();
                Some(Named {
                    name,
                    descriptor: d.clone(),
                })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The descriptor a name points to.
    pub fn lookup(&self, name: &str) -> Result<Option<Descriptor>> {
        Ok(self
            .names()?
            .into_iter()
            .find(|n| n.name == name)
            .map(|n| n.descriptor))
    }

    /// Points `name` at `descriptor`, replacing what it pointed to before.
    /// The blob must already be in the store.
    pub fn set_name(&self, name: &str, descriptor: &Descriptor) -> Result<()> {
        let digest = descriptor_digest(descriptor);
        if !self.contains(&digest) {
            return Err(StoreError::MissingBlob {
                store: self.root.clone(),
                digest,
            });
        }
        let mut named = descriptor.clone();
        let mut annotations = named.annotations().clone().unwrap_or_default();
        annotations.insert(REF_NAME.to_string(), name.to_string());
        named.set_annotations(Some(annotations));
        self.update_index(|entries| {
            entries.insert(name.to_string(), named);
        })
    }

    /// Removes a name; returns whether it existed.
    pub fn remove_name(&self, name: &str) -> Result<bool> {
        let mut existed = false;
        self.update_index(|entries| existed = entries.remove(name).is_some())?;
        Ok(existed)
    }

    /// Deletes every blob not reachable from a name, and stale temporary files.
    /// A signature artifact (a `.sig` name whose manifest has a subject) is
    /// kept while the image it signs is reachable from another name; once
    /// that image is gone, its name is removed too.
    pub fn gc(&self) -> Result<GcReport> {
        self.drop_orphan_signatures()?;
        let _lock = self.lock()?;
        let roots = self
            .names()?
            .iter()
            .map(|n| descriptor_digest(&n.descriptor))
            .collect();
        let live = self.reachable(roots);
        let mut report = GcReport::default();
        let dir = self.blob_dir();
        for entry in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let entry = entry.map_err(io_err(&dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let keep = format!("sha256:{name}")
                .parse::<Digest>()
                .is_ok_and(|d| live.contains(&d));
            if keep {
                report.kept_blobs += 1;
                continue;
            }
            let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
            fs::remove_file(entry.path()).map_err(io_err(&entry.path()))?;
            report.removed_blobs += 1;
            report.freed_bytes += size;
        }
        // A pull running now writes into tmp/: only files left by a crash
        // long ago are removed.
        let tmp = self.tmp_dir();
        for entry in fs::read_dir(&tmp).map_err(io_err(&tmp))?.flatten() {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TMP);
            if stale {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(report)
    }

    /// Every blob reachable from `roots` through manifests and indexes.
    fn reachable(&self, roots: Vec<Digest>) -> BTreeSet<Digest> {
        let mut live = BTreeSet::new();
        let mut todo = roots;
        while let Some(digest) = todo.pop() {
            if !live.insert(digest.clone()) || !self.contains(&digest) {
                continue;
            }
            // Only manifests and indexes refer onwards; other blobs fail to parse.
            if let Ok(bytes) = self.read_blob(&digest)
                && let Ok(m) = Manifest::parse(&bytes)
            {
                todo.extend(m.children());
            }
        }
        live
    }

    /// The digest a signature artifact signs, if `name` is one.
    fn signature_subject(&self, name: &str, digest: &Digest) -> Option<Digest> {
        if !name.ends_with(".sig") {
            return None;
        }
        match self.read_manifest(digest).ok()? {
            Manifest::Image(m) => m.subject().as_ref().map(descriptor_digest),
            Manifest::Index(_) => None,
        }
    }

    /// Removes the names of signature artifacts whose subject no other name reaches.
    fn drop_orphan_signatures(&self) -> Result<()> {
        let mut roots = Vec::new();
        let mut signatures = Vec::new();
        for n in self.names()? {
            let digest = descriptor_digest(&n.descriptor);
            match self.signature_subject(&n.name, &digest) {
                Some(subject) => signatures.push((n.name, subject)),
                None => roots.push(digest),
            }
        }
        let live = self.reachable(roots);
        for (name, subject) in signatures {
            if !live.contains(&subject) {
                self.remove_name(&name)?;
            }
        }
        Ok(())
    }

    fn load_index(&self) -> Result<ImageIndex> {
        let path = self.index_path();
        let bytes = fs::read(&path).map_err(io_err(&path))?;
        serde_json::from_slice(&bytes).map_err(|source| StoreError::BadIndex { path, source })
    }

    fn save_index(&self, index: &ImageIndex) -> Result<()> {
        let mut bytes =
            serde_json::to_vec_pretty(index).map_err(|source| StoreError::BadIndex {
                path: self.index_path(),
                source,
            })?;
        bytes.push(b'\n');
        self.write_atomic(&self.index_path(), &bytes)
    }

    /// Applies a change to the named entries under the store lock. Unnamed
    /// entries written by other tools are kept as they are.
    fn update_index(&self, change: impl FnOnce(&mut BTreeMap<String, Descriptor>)) -> Result<()> {
        let _lock = self.lock()?;
        let index = self.load_index()?;
        let mut named = BTreeMap::new();
        let mut unnamed = Vec::new();
        for d in index.manifests() {
            match d.annotations().as_ref().and_then(|a| a.get(REF_NAME)) {
                Some(name) => {
                    named.insert(name.clone(), d.clone());
                }
                None => unnamed.push(d.clone()),
            }
        }
        change(&mut named);
        unnamed.extend(named.into_values());
        let mut index = index;
        index.set_manifests(unnamed);
        self.save_index(&index)
    }

    fn lock(&self) -> Result<File> {
        let path = self.root.join(".lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(|e| io_err(&path)(e.into()))?;
        Ok(file)
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let dir = self.tmp_dir();
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(io_err(&dir))?;
        tmp.write_all(bytes).map_err(io_err(tmp.path()))?;
        tmp.as_file().sync_all().map_err(io_err(path))?;
        tmp.persist(path).map_err(|e| io_err(path)(e.error))?;
        Ok(())
    }
}

/// A blob being written. Dropped without `commit`, it leaves nothing behind.
#[derive(Debug)]
pub struct BlobWriter {
    store: Store,
    expected: Option<Digest>,
    inner: HashingWriter<tempfile::NamedTempFile>,
}

impl BlobWriter {
    pub fn written(&self) -> u64 {
        self.inner.written()
    }

    /// Checks the digest and moves the blob into place.
    pub fn commit(self) -> Result<Digest> {
        let (actual, file) = self.inner.finish();
        if let Some(expected) = self.expected
            && expected != actual
        {
            return Err(StoreError::DigestMismatch { expected, actual });
        }
        let target = self.store.blob_path(&actual);
        file.as_file().sync_all().map_err(io_err(&target))?;
        file.persist(&target)
            .map_err(|e| io_err(&target)(e.error))?;
        Ok(actual)
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The digest a descriptor names. Descriptors in the store come from
/// `set_name`, which only accepts digests cairn parsed, so this cannot fail
/// for them; a foreign index entry with another algorithm maps to a digest
/// no blob has.
pub fn descriptor_digest(d: &Descriptor) -> Digest {
    d.digest()
        .to_string()
        .parse()
        .unwrap_or_else(|_| Digest::of(d.digest().to_string().as_bytes()))
}

fn empty_index() -> ImageIndex {
    ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(Vec::new())
        .build()
        .unwrap_or_default()
}

/// A named single-platform image with one layer, for tests of code that
/// reads images back: its manifest, config and layer digests.
#[cfg(test)]
pub(crate) fn one_layer_image(store: &Store, layer: &[u8], name: &str) -> (Digest, Digest, Digest) {
    let config = store.put_bytes(b"{}").expect("config");
    let layer_digest = store.put_bytes(layer).expect("layer");
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer_digest}","size":{}}}]}}"#,
        layer.len()
    );
    let m = store.put_bytes(manifest.as_bytes()).expect("manifest");
    let desc =
        crate::oci::manifest::descriptor(MediaType::ImageManifest, &m, manifest.len() as u64);
    store.set_name(name, &desc).expect("name");
    (m, config, layer_digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s")).unwrap();
        (dir, store)
    }

    #[test]
    fn new_store_is_an_oci_layout() {
        let (_d, s) = store();
        let layout = fs::read_to_string(s.root().join("oci-layout")).unwrap();
        assert!(layout.contains("1.0.0"));
        assert!(s.names().unwrap().is_empty());
    }

    #[test]
    fn blob_with_wrong_digest_is_never_stored() {
        let (_d, s) = store();
        let wanted = Digest::of(b"good");
        let mut w = s.writer(Some(wanted.clone())).unwrap();
        w.write_all(b"evil").unwrap();
        assert!(matches!(w.commit(), Err(StoreError::DigestMismatch { .. })));
        assert!(!s.contains(&wanted));
        assert!(!s.contains(&Digest::of(b"evil")));
        assert_eq!(fs::read_dir(s.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn corrupted_blob_is_detected_on_read() {
        let (_d, s) = store();
        let d = s.put_bytes(b"content").unwrap();
        fs::write(s.blob_path(&d), b"tampered").unwrap();
        assert!(matches!(
            s.read_blob(&d),
            Err(StoreError::CorruptBlob { .. })
        ));
    }

    #[test]
    fn names_point_at_blobs_and_gc_keeps_only_reachable_ones() {
        let (_d, s) = store();
        let orphan = s.put_bytes(b"orphan").unwrap();
        let (m, config, layer) = one_layer_image(&s, b"layer", "docker.io/library/x:1");
        assert_eq!(
            descriptor_digest(&s.lookup("docker.io/library/x:1").unwrap().unwrap()),
            m
        );
        let report = s.gc().unwrap();
        assert_eq!(report.removed_blobs, 1);
        assert!(!s.contains(&orphan));
        assert!(s.contains(&layer) && s.contains(&config) && s.contains(&m));
        assert!(s.remove_name("docker.io/library/x:1").unwrap());
        assert_eq!(s.gc().unwrap().removed_blobs, 3);
    }

    #[test]
    fn gc_keeps_a_signature_while_its_image_is_named_and_drops_it_after() {
        let (_d, s) = store();
        let config = s.put_bytes(b"{}").unwrap();
        let image = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":2}},"layers":[]}}"#
        );
        let image_digest = s.put_bytes(image.as_bytes()).unwrap();
        let payload = s.put_bytes(b"signature").unwrap();
        let sig = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dev.cairn.signature.v1+json","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"{config}","size":2}},"layers":[{{"mediaType":"application/vnd.dev.cairn.signature.v1+json","digest":"{payload}","size":9}}],"subject":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{image_digest}","size":{}}}}}"#,
            image.len()
        );
        let sig_digest = s.put_bytes(sig.as_bytes()).unwrap();
        let name = "example.org/a/b:1";
        let sig_name = format!("example.org/a/b:{}", image_digest.signature_tag());
        s.set_name(
            name,
            &crate::oci::manifest::descriptor(
                MediaType::ImageManifest,
                &image_digest,
                image.len() as u64,
            ),
        )
        .unwrap();
        s.set_name(
            &sig_name,
            &crate::oci::manifest::descriptor(
                MediaType::ImageManifest,
                &sig_digest,
                sig.len() as u64,
            ),
        )
        .unwrap();
        assert_eq!(s.gc().unwrap().removed_blobs, 0);
        assert!(s.lookup(&sig_name).unwrap().is_some());
        s.remove_name(name).unwrap();
        let report = s.gc().unwrap();
        assert_eq!(report.removed_blobs, 4);
        assert!(s.lookup(&sig_name).unwrap().is_none());
        assert!(!s.contains(&payload));
    }
}
