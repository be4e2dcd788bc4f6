//! Pushing: blobs first, then child manifests, then the top-level manifest
//! under the target's tag, then the signature artifact under its `.sig` tag.
//! Registries refuse a manifest whose blobs they lack, so the order matters.

use std::io::Read;

use oci_client::errors::OciDistributionError;
use oci_spec::image::MediaType;

use super::digest::Digest;
use super::manifest::Manifest;
use super::reference::ImageRef;
use super::registry::{Result, Session};
use super::store::{Store, StoreError, descriptor_digest};
use crate::ui::Step;

/// Blobs larger than this get their own progress bar.
const BIG_BLOB: u64 = 1 << 20;
const CHUNK: usize = 256 * 1024;

pub(super) async fn push(
    s: &Session,
    store: &Store,
    source: &ImageRef,
    target: &ImageRef,
) -> Result<Digest> {
    s.client
        .store_auth_if_needed(target.as_oci().resolve_registry(), &s.auth)
        .await;
    let top = local_digest(store, source)?;
    let label = if source == target {
        format!("push {target}")
    } else {
        format!("push {source} as {target}")
    };
    let step = Step::spinner(label);
    let outcome = push_image(s, store, source, target, &top).await;
    match &outcome {
        Ok(0) => step.finish("registry had every blob"),
        Ok(n) => step.finish(&format!(
            "{n} blob{} uploaded",
            if *n == 1 { "" } else { "s" }
        )),
        Err(_) => step.abandon(),
    }
    outcome.map(|_| top)
}

/// The digest `source` names in the store: its own digest if it has one.
fn local_digest(store: &Store, source: &ImageRef) -> Result<Digest> {
    if let Some(d) = source.digest()
        && store.contains(&d)
    {
        return Ok(d);
    }
    let name = source.store_name();
    match store.lookup(&name)? {
        Some(desc) => Ok(descriptor_digest(&desc)),
        None => Err(StoreError::UnknownImage {
            store: store.root().to_path_buf(),
            name,
        }
        .into()),
    }
}

async fn push_image(
    s: &Session,
    store: &Store,
    source: &ImageRef,
    target: &ImageRef,
    top: &Digest,
) -> Result<usize> {
    require_complete(s, store, source, target, top).await?;
    let mut uploaded = push_tree(s, store, target, top, target.as_oci()).await?;
    if let Some(sig) = store.lookup(&source.signature_name(top))? {
        let tagged = target.with_tag(&top.signature_tag());
        let sig_digest = descriptor_digest(&sig);
        uploaded += push_tree(s, store, target, &sig_digest, tagged.as_oci()).await?;
    }
    Ok(uploaded)
}

/// An index whose platforms the store lacks can only be pushed where the
/// registry already has them (e.g. back to where it came from): otherwise the
/// registry refuses the index, and retrying cannot help.
async fn require_complete(
    s: &Session,
    store: &Store,
    source: &ImageRef,
    target: &ImageRef,
    top: &Digest,
) -> Result<()> {
    let Manifest::Index(index) = store.read_manifest(top)? else {
        return Ok(());
    };
    let mut missing = Vec::new();
    for child in index.manifests() {
        let d = descriptor_digest(child);
        if store.contains(&d) {
            continue;
        }
        let remote = target.as_oci().clone_with_digest(d.to_string());
        if s.client
            .fetch_manifest_digest(&remote, &s.auth)
            .await
            .is_err()
        {
            let platform = child.platform().as_ref().map_or_else(
                || d.to_string(),
                |p| format!("{}/{}", p.os(), p.architecture()),
            );
            missing.push(platform);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(super::RegistryError::IncompleteIndex {
        image: source.to_string(),
        target: target.to_string(),
        missing: missing.join(", "),
    })
}

/// Pushes a manifest and what it refers to; the manifest goes to `reference`
/// (a tag or a digest). Children of an index missing from the store (other
/// platforms never pulled) are skipped.
async fn push_tree(
    s: &Session,
    store: &Store,
    target: &ImageRef,
    digest: &Digest,
    reference: &oci_client::Reference,
) -> Result<usize> {
    let bytes = store.read_blob(digest)?;
    let manifest = Manifest::parse(&bytes).map_err(|source| StoreError::BadManifest {
        store: store.root().to_path_buf(),
        digest: digest.clone(),
        source,
    })?;
    let mut uploaded = 0;
    match &manifest {
        Manifest::Index(index) => {
            for child in index.manifests() {
                let d = descriptor_digest(child);
                if !store.contains(&d) {
                    tracing::debug!(%d, "child manifest not in the store; not pushed");
                    continue;
                }
                let by_digest = target.as_oci().clone_with_digest(d.to_string());
                uploaded += Box::pin(push_tree(s, store, target, &d, &by_digest)).await?;
            }
        }
        Manifest::Image(m) => {
            for blob in std::iter::once(m.config()).chain(m.layers().iter()) {
                if push_blob(s, store, target, &descriptor_digest(blob)).await? {
                    uploaded += 1;
                }
            }
        }
    }
    let media_type = manifest.media_type();
    push_manifest(s, target, reference, bytes, &media_type).await?;
    Ok(uploaded)
}

async fn push_manifest(
    s: &Session,
    target: &ImageRef,
    reference: &oci_client::Reference,
    bytes: Vec<u8>,
    media_type: &MediaType,
) -> Result<()> {
    let what = format!("manifest {reference}");
    let content_type = media_type.to_string();
    let body = bytes::Bytes::from(bytes);
    s.retry(|| {
        let body = body.clone();
        let content_type = &content_type;
        async move {
            let header = content_type.parse().map_err(|_| {
                OciDistributionError::GenericError(Some(format!(
                    "media type {content_type} cannot be sent in an HTTP header"
                )))
            })?;
            s.client.push_manifest_raw(reference, body, header).await
        }
    })
    .await
    .map_err(|e| s.error(target, &what, e))?;
    Ok(())
}

/// Uploads a blob unless the registry has it; returns whether it uploaded.
async fn push_blob(s: &Session, store: &Store, target: &ImageRef, digest: &Digest) -> Result<bool> {
    let what = format!("blob {digest}");
    let wanted = digest.to_string();
    let exists = s
        .retry(|| s.client.blob_exists(target.as_oci(), &wanted))
        .await
        .map_err(|e| s.error(target, &what, e))?;
    if exists {
        return Ok(false);
    }
    let path = store.blob_path(digest);
    let size = std::fs::metadata(&path)
        .map_err(|_| StoreError::MissingBlob {
            store: store.root().to_path_buf(),
            digest: digest.clone(),
        })?
        .len();
    // The body stream must be 'static, so big blobs show a spinner rather than a byte count.
    let step = (size > BIG_BLOB).then(|| {
        Step::spinner(format!(
            "  blob {} ({})",
            &digest.hex()[..12],
            super::human_bytes(size)
        ))
    });
    let result = s
        .retry(|| {
            let path = path.clone();
            let wanted = &wanted;
            async move {
                let file = std::fs::File::open(&path)?;
                s.client
                    .push_blob_stream(target.as_oci(), file_stream(file), wanted, Some(size))
                    .await
            }
        })
        .await;
    match result {
        Ok(_) => {
            if let Some(step) = step {
                step.finish("done");
            }
            Ok(true)
        }
        Err(e) => {
            if let Some(step) = step {
                step.abandon();
            }
            Err(s.error(target, &what, e))
        }
    }
}

/// A file as a stream of chunks for the HTTP body.
fn file_stream(
    file: std::fs::File,
) -> impl futures_util::Stream<Item = std::result::Result<bytes::Bytes, OciDistributionError>>
+ Send
+ 'static {
    futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf) {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(bytes::Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e.into()), None)),
        }
    })
}
