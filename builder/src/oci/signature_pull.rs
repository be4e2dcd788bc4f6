//! Fetching an image's signature artifact after the image. Registries with
//! the referrers API list it by subject; others (Debian's docker-registry
//! 2.8 among them) only have the `sha256-<hex>.sig` tag cairn also pushes.

use super::digest::Digest;
use super::manifest::{Manifest, descriptor};
use super::manifest_get::{Got, MAX_MANIFEST, get_referrers};
use super::pull::{Tally, fetch_blob, fetch_manifest};
use super::reference::ImageRef;
use super::registry::{RegistryError, Result, SIGNATURE_ARTIFACT_TYPE, Session};
use super::store::{Store, descriptor_digest};

/// The newest signature artifact a referrers index lists; an answer that is
/// not an index lists none (the signature tag is tried next).
fn last_referrer(bytes: &[u8]) -> Option<Digest> {
    #[derive(serde::Deserialize)]
    struct Entry {
        digest: String,
    }
    #[derive(serde::Deserialize)]
    struct Index {
        #[serde(default)]
        manifests: Vec<Entry>,
    }
    let index: Index = serde_json::from_slice(bytes).ok()?;
    index.manifests.last()?.digest.parse().ok()
}

/// Fetches the signature artifact of `subject` through the referrers API,
/// falling back to the `sha256-<hex>.sig` tag, and names it for the local
/// image. No signature is not an error here; the trust policy decides.
pub(super) async fn pull_signature(
    s: &Session,
    store: &Store,
    image: &ImageRef,
    subject: &Digest,
    tally: &mut Tally,
) -> Result<()> {
    let subject_ref = image.as_oci().clone_with_digest(subject.to_string());
    let referrers = s
        .retry(|| get_referrers(s, &subject_ref, SIGNATURE_ARTIFACT_TYPE))
        .await;
    let by_referrers = match referrers {
        Ok(Got::Body { bytes, .. }) => last_referrer(&bytes),
        Ok(Got::TooBig { size }) => {
            return Err(RegistryError::Unsupported {
                image: image.to_string(),
                reason: format!(
                    "the list of signatures of {subject} (referrers API) from registry {} is {size} bytes or more, over the {} MiB cairn reads for it; it is refused unread",
                    s.registry,
                    MAX_MANIFEST >> 20
                ),
            });
        }
        Err(e) if super::registry::is_transient(&e) => {
            return Err(s.error(image, "signature list", e));
        }
        Err(e) => {
            tracing::debug!(error = %e, "referrers API unusable; trying the signature tag");
            None
        }
    };
    let fetched = match by_referrers {
        Some(d) => {
            let reference = image.as_oci().clone_with_digest(d.to_string());
            fetch_manifest(s, store, image, &reference, Some(d), tally).await?
        }
        None => {
            let tagged = image.with_tag(&subject.signature_tag());
            match fetch_manifest(s, store, image, tagged.as_oci(), None, tally).await {
                Ok(f) => f,
                Err(RegistryError::NotFound { .. }) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    };
    let Manifest::Image(m) = &fetched.manifest else {
        return Ok(());
    };
    let signs_subject = m
        .subject()
        .as_ref()
        .is_some_and(|d| descriptor_digest(d) == *subject);
    if !signs_subject {
        tracing::warn!(image = %image, "ignoring a signature artifact whose subject is another image");
        return Ok(());
    }
    for blob in std::iter::once(m.config()).chain(m.layers().iter()) {
        fetch_blob(s, store, image, blob, tally).await?;
    }
    let desc = descriptor(fetched.manifest.media_type(), &fetched.digest, fetched.size);
    store.set_name(&image.signature_name(subject), &desc)?;
    Ok(())
}
