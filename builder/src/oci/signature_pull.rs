//! Fetching an image's signature artifact after the image. Registries with
//! the referrers API list it by subject; others (Debian's docker-registry
//! 2.8 among them) only have the `sha256-<hex>.sig` tag cairn also pushes.

use super::digest::Digest;
use super::manifest::{Manifest, descriptor};
use super::pull::{Tally, fetch_blob, fetch_manifest};
use super::reference::ImageRef;
use super::registry::{RegistryError, Result, SIGNATURE_ARTIFACT_TYPE, Session};
use super::store::{Store, descriptor_digest};

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
        .retry(|| {
            s.client
                .pull_referrers(&subject_ref, Some(SIGNATURE_ARTIFACT_TYPE))
        })
        .await;
    let by_referrers = match referrers {
        Ok(index) => index
            .manifests
            .last()
            .and_then(|entry| entry.digest.parse::<Digest>().ok()),
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
