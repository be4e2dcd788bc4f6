//! Everything that can go wrong while handling keys, signatures and policy.
//!
//! Verification failures name the image, the digest and the key(s) that were
//! expected, so the message alone tells the user what to sign or which key to
//! configure.

use std::io;
use std::path::PathBuf;

use crate::exit::{Classify, ErrorClass};
use crate::oci::{Digest, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read key file {path}")]
    KeyRead {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write key file {path}")]
    KeyWrite {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("key file {path} already exists; pass --force to replace it or choose another --out")]
    KeyExists { path: PathBuf },
    #[error(
        "key {origin} is not a PEM key ({reason}); expected a file created by `cairn key generate`"
    )]
    NotPem { origin: String, reason: String },
    #[error(
        "key {origin} is not an ed25519 key (its algorithm is {algorithm}); cairn signs only with ed25519, create one with `cairn key generate`"
    )]
    NotEd25519 { origin: String, algorithm: String },
    #[error(
        "key {origin} is a private key, but a public key is expected here; give the matching .pub file and keep the private key secret"
    )]
    PrivateNotPublic { origin: String },
    #[error(
        "key {origin} is a public key, but signing needs the private key (the .key file written by `cairn key generate`)"
    )]
    PublicNotPrivate { origin: String },
    #[error(
        "key {origin} is a PEM {label:?} block; expected {expected:?} (ed25519 keys as written by `cairn key generate`)"
    )]
    WrongPemLabel {
        origin: String,
        label: String,
        expected: &'static str,
    },
    #[error("key {origin} is malformed: {reason}")]
    BadKey { origin: String, reason: String },

    #[error("cannot look up image {image} and its signatures in the local store")]
    Store {
        image: String,
        #[source]
        source: StoreError,
    },
    #[error(
        "image {image}@{digest} is not signed (no {signature_name} in the local store); expected a signature by {expected}. Sign it with `cairn sign` or pull it together with its signature"
    )]
    Unsigned {
        image: String,
        digest: Digest,
        signature_name: String,
        expected: String,
    },
    #[error(
        "image {image}@{digest} is signed only by {found}, not by the expected {expected}; sign it with the expected key or add this key to the trust policy"
    )]
    OtherKey {
        image: String,
        digest: Digest,
        found: String,
        expected: String,
    },
    #[error(
        "image {image}@{digest}: the signature by {key} does not verify; the signature or its payload was tampered with. Do not use this image; sign it again or pull it again"
    )]
    BadSignature {
        image: String,
        digest: Digest,
        key: String,
    },
    #[error(
        "image {image}@{digest}: signature artifact {signature_name} is damaged ({reason}); expected a signature by {expected}. Remove it and sign or pull again"
    )]
    Tampered {
        image: String,
        digest: Digest,
        signature_name: String,
        expected: String,
        reason: String,
    },
    #[error(
        "image {image}@{digest}: the signature by {key} is for another image ({signed_image}@{signed_digest}); a signature copied from another image is not valid. Sign this image with {key}"
    )]
    OtherImage {
        image: String,
        digest: Digest,
        key: String,
        signed_image: String,
        signed_digest: String,
    },
    #[error(
        "image {image}@{digest} must be signed ({covered_by}), but the trust policy has no keys; add the public key under `trust.keys`"
    )]
    NoKeys {
        image: String,
        digest: Digest,
        covered_by: String,
    },
    #[error(
        "image {image}@{digest} is not covered by the trust policy, and cairn uses no image that no key vouches for. Add a key whose `images` match it under `trust.keys` (packages built on this machine by `cairn pkg build` are signed by its development key: `{{development: true, images: [\"cairn/*\"]}}`), or allow it without a signature with `trust.allow_unsigned: [\"{repo}\"]` or `--allow-unsigned {repo}`"
    )]
    NotCovered {
        image: String,
        digest: Digest,
        repo: String,
    },
    #[error(
        "{origin} names the development key, but {} does not exist on this machine; `cairn pkg build` creates it when it first builds a package without --key", path.display()
    )]
    NoDevelopmentKey { origin: String, path: PathBuf },
    #[error("cannot build the signature for image {image}: {reason}")]
    Encode { image: String, reason: String },
}

impl Classify for TrustError {
    fn class(&self) -> ErrorClass {
        match self {
            TrustError::Store { source, .. } => source.class(),
            TrustError::KeyWrite { source, .. } | TrustError::KeyRead { source, .. } => {
                match source.kind() {
                    io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied => ErrorClass::User,
                    _ => ErrorClass::Environment,
                }
            }
            _ => ErrorClass::User,
        }
    }
}
