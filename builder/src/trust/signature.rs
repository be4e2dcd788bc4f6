//! Signing an image in the local store and verifying its signatures.
//!
//! Verification trusts nothing in the artifact but the signature itself:
//! every blob is re-read with its digest checked, the payload must verify
//! with one of the given keys, and the signed payload (not the unsigned
//! manifest around it) must name this repository and this digest.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::Signature;
use oci_spec::image::{Descriptor, MediaType};

use super::TrustError;
use super::artifact::{Desc, EMPTY_BLOB, SIGNATURE_MEDIA_TYPE, SignatureManifest};
use super::key::{PublicKey, SigningKey};
use super::payload::Payload;
use crate::oci::manifest::{self, Manifest};
use crate::oci::store::descriptor_digest;
use crate::oci::{Digest, ImageRef, Store, StoreError};

type Result<T> = std::result::Result<T, TrustError>;

/// What `sign` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The store name of the image.
    pub image: String,
    /// The signed index or manifest digest.
    pub digest: Digest,
    /// The signing key's id.
    pub key: String,
    /// The store name of the signature artifact.
    pub signature_name: String,
    /// The digest of the signature artifact's manifest.
    pub artifact: Digest,
}

/// A signature that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub image: String,
    pub digest: Digest,
    /// The id of the key whose signature verified.
    pub key: String,
}

/// The descriptor of the index or manifest an image reference points to in
/// the store: its pinned digest if it has one, else its name.
pub fn resolve(store: &Store, image: &ImageRef) -> Result<Descriptor> {
    let name = image.store_name();
    let store_err = |source| TrustError::Store {
        image: name.clone(),
        source,
    };
    if let Some(digest) = image.digest()
        && store.contains(&digest)
    {
        let bytes = store.read_blob(&digest).map_err(store_err)?;
        let media_type = Manifest::parse(&bytes)
            .map_err(|source| {
                store_err(StoreError::BadManifest {
                    store: store.root().to_path_buf(),
                    digest: digest.clone(),
                    source,
                })
            })?
            .media_type();
        return Ok(manifest::descriptor(
            media_type,
            &digest,
            bytes.len() as u64,
        ));
    }
    store.lookup(&name).map_err(store_err)?.ok_or_else(|| {
        store_err(StoreError::UnknownImage {
            store: store.root().to_path_buf(),
            name: name.clone(),
        })
    })
}

/// Signs the index or manifest `image` points to in the store and files the
/// signature under `image.signature_name(digest)`. Signatures by other keys
/// are kept; this key's earlier signature is replaced.
pub fn sign(store: &Store, image: &ImageRef, key: &SigningKey) -> Result<Signed> {
    let name = image.store_name();
    let store_err = |source| TrustError::Store {
        image: name.clone(),
        source,
    };
    let target = resolve(store, image)?;
    let digest = descriptor_digest(&target);
    let payload = Payload::new(image, &digest)
        .to_bytes()
        .map_err(|e| encode_err(&name, e))?;
    let signature = BASE64.encode(key.sign(&payload).to_bytes());
    store.put_bytes(&payload).map_err(store_err)?;
    store.put_bytes(EMPTY_BLOB).map_err(store_err)?;

    let signature_name = image.signature_name(&digest);
    let mut artifact = match existing_artifact(store, &signature_name) {
        Some(m) => m,
        None => SignatureManifest::new(Desc::new(
            target.media_type().as_ref(),
            digest.clone(),
            target.size(),
        )),
    };
    artifact.add(Desc::signature_layer(
        &payload,
        signature,
        key.public().fingerprint(),
    ));
    let bytes = artifact.to_bytes().map_err(|e| encode_err(&name, e))?;
    let artifact_digest = store.put_bytes(&bytes).map_err(store_err)?;
    let mut descriptor = manifest::descriptor(
        MediaType::ImageManifest,
        &artifact_digest,
        bytes.len() as u64,
    );
    descriptor.set_artifact_type(Some(MediaType::Other(SIGNATURE_MEDIA_TYPE.to_string())));
    store
        .set_name(&signature_name, &descriptor)
        .map_err(store_err)?;
    Ok(Signed {
        image: name.clone(),
        digest,
        key: key.public().fingerprint().to_string(),
        signature_name,
        artifact: artifact_digest,
    })
}

/// An earlier artifact to add to. A damaged one is replaced rather than
/// repaired: its signatures could not be trusted anyway.
fn existing_artifact(store: &Store, signature_name: &str) -> Option<SignatureManifest> {
    let descriptor = store.lookup(signature_name).ok()??;
    let bytes = store.read_blob(&descriptor_digest(&descriptor)).ok()?;
    let artifact: SignatureManifest = serde_json::from_slice(&bytes).ok()?;
    let intact = artifact
        .signatures()
        .all(|l| store.read_blob(&l.digest).is_ok());
    if !intact {
        tracing::warn!("replacing damaged signature artifact {signature_name}");
    }
    intact.then_some(artifact)
}

/// Checks that `digest` of `image` carries a valid signature by one of `keys`.
pub fn verify(
    store: &Store,
    image: &ImageRef,
    digest: &Digest,
    keys: &[PublicKey],
) -> Result<Verified> {
    let name = image.store_name();
    let expected = describe_keys(keys);
    if keys.is_empty() {
        return Err(TrustError::NoKeys {
            image: name,
            digest: digest.clone(),
            covered_by: "verification was asked for".into(),
        });
    }
    let signature_name = image.signature_name(digest);
    let tampered = |reason: String| TrustError::Tampered {
        image: name.clone(),
        digest: digest.clone(),
        signature_name: signature_name.clone(),
        expected: expected.clone(),
        reason,
    };
    let read = |d: &Digest| {
        store.read_blob(d).map_err(|source| match source {
            StoreError::Io { .. } => TrustError::Store {
                image: name.clone(),
                source,
            },
            other => tampered(other.to_string()),
        })
    };

    let Some(descriptor) = store
        .lookup(&signature_name)
        .map_err(|source| TrustError::Store {
            image: name.clone(),
            source,
        })?
    else {
        return Err(TrustError::Unsigned {
            image: name,
            digest: digest.clone(),
            signature_name,
            expected,
        });
    };
    let artifact: SignatureManifest =
        serde_json::from_slice(&read(&descriptor_digest(&descriptor))?)
            .map_err(|e| tampered(format!("not a signature manifest: {e}")))?;

    let mut failure: Option<TrustError> = None;
    let mut other_keys: Vec<String> = Vec::new();
    for layer in artifact.signatures() {
        let claimed = layer.claimed_key();
        let candidates: Vec<&PublicKey> = keys
            .iter()
            .filter(|k| claimed.is_none_or(|c| c == k.fingerprint()))
            .collect();
        if candidates.is_empty() {
            other_keys.push(claimed.unwrap_or("an unnamed key").to_string());
            continue;
        }
        let outcome =
            check_layer(layer, &candidates, &read, &name, digest).and_then(|(key, payload)| {
                if payload.is_for(image, digest) {
                    Ok(key)
                } else {
                    Err(TrustError::OtherImage {
                        image: name.clone(),
                        digest: digest.clone(),
                        key: key.describe(),
                        signed_image: payload.reference,
                        signed_digest: payload.digest,
                    })
                }
            });
        match outcome {
            Ok(key) => {
                return Ok(Verified {
                    image: name.clone(),
                    digest: digest.clone(),
                    key: key.fingerprint().to_string(),
                });
            }
            Err(e) => {
                failure.get_or_insert(e);
            }
        }
    }
    Err(failure.unwrap_or_else(|| match other_keys.is_empty() {
        true => tampered("it holds no signatures".into()),
        false => TrustError::OtherKey {
            image: name.clone(),
            digest: digest.clone(),
            found: other_keys.join(", "),
            expected: expected.clone(),
        },
    }))
}

/// Verifies one signature layer with the keys it may be from; returns the
/// key that verified and the (now trusted) payload.
fn check_layer<'k>(
    layer: &Desc,
    candidates: &[&'k PublicKey],
    read: &dyn Fn(&Digest) -> Result<Vec<u8>>,
    image: &str,
    digest: &Digest,
) -> Result<(&'k PublicKey, Payload)> {
    let payload = read(&layer.digest)?;
    let bad = |key: String| TrustError::BadSignature {
        image: image.to_string(),
        digest: digest.clone(),
        key,
    };
    let signature = layer
        .signature()
        .and_then(|s| BASE64.decode(s).ok())
        .and_then(|b| Signature::from_slice(&b).ok());
    let verified = signature
        .and_then(|sig| candidates.iter().find(|k| k.verifies(&payload, &sig)))
        .copied();
    let Some(key) = verified else {
        let keys: Vec<PublicKey> = candidates.iter().map(|k| (*k).clone()).collect();
        return Err(bad(describe_keys(&keys)));
    };
    let payload = Payload::parse(&payload).map_err(|_| bad(key.describe()))?;
    Ok((key, payload))
}

fn describe_keys(keys: &[PublicKey]) -> String {
    match keys {
        [one] => one.describe(),
        many => format!(
            "one of {}",
            many.iter()
                .map(PublicKey::describe)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn encode_err(image: &str, e: serde_json::Error) -> TrustError {
    TrustError::Encode {
        image: image.to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
#[path = "signature_tests.rs"]
pub(crate) mod tests;
