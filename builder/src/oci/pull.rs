//! Pulling: manifests, then the blobs of the chosen platforms, then the
//! signature artifact. Each blob streams into a store writer that commits
//! only when the digest matches, so an interrupted or forged download leaves
//! nothing behind.

use std::collections::HashSet;
use std::io::Write;

use futures_util::StreamExt;
use oci_client::errors::{DigestError, OciDistributionError};
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, OCI_IMAGE_INDEX_MEDIA_TYPE,
    OCI_IMAGE_MEDIA_TYPE,
};
use oci_spec::image::Descriptor;

use super::digest::Digest;
use super::manifest::{Manifest, descriptor};
use super::manifest_get::{Got, MAX_MANIFEST};
use super::platform;
use super::reference::ImageRef;
use super::registry::{Pulled, RegistryError, Result, Session};
use super::store::{Store, StoreError, descriptor_digest};
use crate::ui::Step;

const ACCEPTED: &[&str] = &[
    OCI_IMAGE_MEDIA_TYPE,
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
];

/// Blobs larger than this get their own progress bar.
const BIG_BLOB: u64 = 1 << 20;

/// What one pull fetched, for the summary line.
#[derive(Default)]
pub(super) struct Tally {
    blobs: usize,
    bytes: u64,
}

pub(super) async fn pull(
    s: &Session,
    store: &Store,
    image: &ImageRef,
    platforms: &[&str],
) -> Result<Pulled> {
    s.client
        .store_auth_if_needed(image.as_oci().resolve_registry(), &s.auth)
        .await;
    let step = Step::spinner(format!("pull {image}"));
    let mut tally = Tally::default();
    let outcome = pull_image(s, store, image, platforms, &mut tally).await;
    match &outcome {
        Ok(_) if tally.blobs == 0 => step.finish("up to date"),
        Ok(_) => step.finish(&format!(
            "{} new blob{}, {}",
            tally.blobs,
            if tally.blobs == 1 { "" } else { "s" },
            crate::oci::human_bytes(tally.bytes)
        )),
        Err(_) => step.abandon(),
    }
    outcome
}

async fn pull_image(
    s: &Session,
    store: &Store,
    image: &ImageRef,
    platforms: &[&str],
    tally: &mut Tally,
) -> Result<Pulled> {
    let top = fetch_manifest(s, store, image, image.as_oci(), image.digest(), tally).await?;
    let mut chosen = Vec::new();
    if let Manifest::Index(index) = &top.manifest {
        for wanted in platforms {
            let found: Vec<&Descriptor> = index
                .manifests()
                .iter()
                .filter(|d| platform::matches(d, wanted))
                .collect();
            if found.is_empty() {
                return Err(RegistryError::PlatformMissing {
                    image: image.to_string(),
                    wanted: platform::arch_part(wanted).to_string(),
                    available: platform::list(index),
                });
            }
            chosen.extend(found.into_iter().cloned());
        }
        if platforms.is_empty() {
            chosen = index.manifests().clone();
        }
    }
    let mut seen = HashSet::new();
    for child in &chosen {
        fetch_tree(s, store, image, child, &mut seen, tally).await?;
    }
    if let Manifest::Image(m) = &top.manifest {
        for blob in std::iter::once(m.config()).chain(m.layers().iter()) {
            fetch_blob(s, store, image, blob, tally).await?;
        }
    }
    let media_type = top.manifest.media_type();
    let desc = descriptor(media_type.clone(), &top.digest, top.size);
    let name = image.store_name();
    store.set_name(&name, &desc)?;
    super::signature_pull::pull_signature(s, store, image, &top.digest, tally).await?;
    Ok(Pulled {
        name,
        digest: top.digest,
        media_type: media_type.to_string(),
    })
}

/// How deep image indexes may nest below the top one (real images use one
/// or two levels: platforms, then attestations).
const MAX_INDEX_DEPTH: usize = 8;
/// How many manifests one pull may fetch below the top index.
const MAX_MANIFESTS: usize = 1024;

/// A manifest blob now in the store.
pub(super) struct Fetched {
    pub digest: Digest,
    pub size: u64,
    pub manifest: Manifest,
}

/// Fetches a manifest by tag or digest (or reads it from the store when the
/// digest is known and present) and stores it after checking its digest.
pub(super) async fn fetch_manifest(
    s: &Session,
    store: &Store,
    image: &ImageRef,
    reference: &oci_client::Reference,
    expected: Option<Digest>,
    tally: &mut Tally,
) -> Result<Fetched> {
    if let Some(d) = &expected
        && store.contains(d)
    {
        let bytes = store.read_blob(d)?;
        return parsed(s, image, d.clone(), &bytes);
    }
    let what = format!("manifest {reference}");
    let pulled = s
        .retry(|| super::manifest_get::get(s, reference, ACCEPTED))
        .await;
    let (bytes, header_digest) = match pulled {
        Ok(Got::Body { bytes, digest }) => (bytes, digest),
        Ok(Got::TooBig { size }) => {
            return Err(RegistryError::Unsupported {
                image: image.to_string(),
                reason: format!(
                    "{what} from registry {} is {size} bytes or more, over the {} MiB cairn reads for a manifest; it is refused unread",
                    s.registry,
                    MAX_MANIFEST >> 20
                ),
            });
        }
        Err(OciDistributionError::DigestError(DigestError::VerificationError {
            expected,
            actual,
        })) => return Err(mismatch_from_strings(s, image, &expected, &actual)),
        Err(e) => return Err(s.error(image, &what, e)),
    };
    let actual = Digest::of(&bytes);
    let want = match expected.or_else(|| header_digest.parse().ok()) {
        Some(d) => d,
        None => actual.clone(),
    };
    if want != actual {
        return Err(s.mismatch(image, want, actual));
    }
    if !store.contains(&want) {
        let mut w = store.writer(Some(want.clone()))?;
        w.write_all(&bytes).map_err(|e| store_io(store, e))?;
        w.commit()?;
        tally.blobs += 1;
        tally.bytes += bytes.len() as u64;
    }
    parsed(s, image, want, &bytes)
}

fn parsed(s: &Session, image: &ImageRef, digest: Digest, bytes: &[u8]) -> Result<Fetched> {
    let manifest = Manifest::parse(bytes).map_err(|source| RegistryError::BadManifest {
        image: image.to_string(),
        registry: s.registry.clone(),
        digest: digest.clone(),
        source,
    })?;
    Ok(Fetched {
        digest,
        size: bytes.len() as u64,
        manifest,
    })
}

/// Fetches a child manifest and everything below it.
async fn fetch_tree(
    s: &Session,
    store: &Store,
    image: &ImageRef,
    desc: &Descriptor,
    seen: &mut HashSet<Digest>,
    tally: &mut Tally,
) -> Result<()> {
    // Each manifest is fetched once however often indexes point at it, and
    // indexes nest only so deep: a hostile index cannot make the walk
    // exponential or endless.
    let mut todo = vec![(desc.clone(), 1)];
    while let Some((desc, depth)) = todo.pop() {
        let digest = descriptor_digest(&desc);
        if !seen.insert(digest.clone()) {
            continue;
        }
        if seen.len() > MAX_MANIFESTS {
            return Err(RegistryError::Unsupported {
                image: image.to_string(),
                reason: format!("its indexes name more than {MAX_MANIFESTS} manifests"),
            });
        }
        let reference = image.as_oci().clone_with_digest(digest.to_string());
        let fetched = fetch_manifest(s, store, image, &reference, Some(digest), tally).await?;
        match &fetched.manifest {
            Manifest::Index(_) if depth >= MAX_INDEX_DEPTH => {
                return Err(RegistryError::Unsupported {
                    image: image.to_string(),
                    reason: format!("its indexes nest deeper than {MAX_INDEX_DEPTH} levels"),
                });
            }
            Manifest::Index(i) => {
                todo.extend(i.manifests().iter().map(|d| (d.clone(), depth + 1)));
            }
            Manifest::Image(m) => {
                for blob in std::iter::once(m.config()).chain(m.layers().iter()) {
                    fetch_blob(s, store, image, blob, tally).await?;
                }
            }
        }
    }
    Ok(())
}

/// How one download attempt failed.
enum Failure {
    /// Worth another try: the connection or the server failed.
    Transient(Box<OciDistributionError>),
    Fatal(RegistryError),
}

pub(super) async fn fetch_blob(
    s: &Session,
    store: &Store,
    image: &ImageRef,
    desc: &Descriptor,
    tally: &mut Tally,
) -> Result<()> {
    let digest = descriptor_digest(desc);
    if store.contains(&digest) {
        tracing::debug!(%digest, "blob already in the store");
        return Ok(());
    }
    let size = desc.size();
    tracing::info!(%digest, size, "fetching blob of {image}");
    let mut pause = super::registry::FIRST_BACKOFF;
    let mut tries = 1;
    loop {
        let step = (size > BIG_BLOB)
            .then(|| Step::bytes(format!("  blob {}", &digest.hex()[..12]), Some(size)));
        match download(s, store, image, &digest, size, step.as_ref()).await {
            Ok(n) => {
                if let Some(step) = step {
                    step.finish("done");
                }
                tally.blobs += 1;
                tally.bytes += n;
                return Ok(());
            }
            Err(Failure::Transient(e)) if tries < super::registry::TRIES => {
                if let Some(step) = step {
                    step.abandon();
                }
                tracing::info!(%digest, error = %e, "blob download failed; retrying in {pause:?}");
                tokio::time::sleep(pause).await;
                pause *= 2;
                tries += 1;
            }
            Err(Failure::Transient(e)) => {
                if let Some(step) = step {
                    step.abandon();
                }
                return Err(s.error(image, &format!("blob {digest}"), *e));
            }
            Err(Failure::Fatal(e)) => {
                if let Some(step) = step {
                    step.abandon();
                }
                return Err(e);
            }
        }
    }
}

/// One attempt at streaming a blob into the store.
async fn download(
    s: &Session,
    store: &Store,
    image: &ImageRef,
    digest: &Digest,
    size: u64,
    step: Option<&Step>,
) -> std::result::Result<u64, Failure> {
    let wanted = digest.to_string();
    let mut stream = match s
        .client
        .pull_blob_stream(image.as_oci(), wanted.as_str())
        .await
    {
        Ok(stream) => stream,
        Err(e) if super::registry::is_transient(&e) => return Err(Failure::Transient(Box::new(e))),
        Err(e) => return Err(Failure::Fatal(s.error(image, &format!("blob {digest}"), e))),
    };
    let mut w = store
        .writer(Some(digest.clone()))
        .map_err(|e| Failure::Fatal(e.into()))?;
    let limit = size;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => {
                w.write_all(&bytes)
                    .map_err(|e| Failure::Fatal(store_io(store, e)))?;
                if let Some(step) = step {
                    step.inc(bytes.len() as u64);
                }
                // More bytes than the manifest announced cannot be the blob.
                if w.written() > limit {
                    return commit(s, image, w);
                }
            }
            // The library's own digest check fails at the end of the stream;
            // the writer's check below reports it with both digests.
            Err(e) if is_verification(&e) || w.written() == limit => return commit(s, image, w),
            Err(e) => {
                return Err(Failure::Transient(Box::new(OciDistributionError::IoError(
                    e,
                ))));
            }
        }
    }
    commit(s, image, w)
}

fn commit(
    s: &Session,
    image: &ImageRef,
    w: super::store::BlobWriter,
) -> std::result::Result<u64, Failure> {
    let n = w.written();
    match w.commit() {
        Ok(_) => Ok(n),
        Err(StoreError::DigestMismatch { expected, actual }) => {
            Err(Failure::Fatal(s.mismatch(image, expected, actual)))
        }
        Err(e) => Err(Failure::Fatal(e.into())),
    }
}

fn is_verification(e: &std::io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<DigestError>().is_some())
}

fn store_io(store: &Store, source: std::io::Error) -> RegistryError {
    RegistryError::Store(StoreError::Io {
        path: store.root().join("tmp"),
        source,
    })
}

fn mismatch_from_strings(
    s: &Session,
    image: &ImageRef,
    expected: &str,
    actual: &str,
) -> RegistryError {
    let parse = |d: &str| d.parse().unwrap_or_else(|_| Digest::of(d.as_bytes()));
    s.mismatch(image, parse(expected), parse(actual))
}
