//! The signature artifact: an OCI image manifest stored (and pushed) under
//! `registry/repo:sha256-<hex>.sig` next to the image it signs.
//!
//! Its config is the OCI empty descriptor, its `subject` points at the signed
//! index or manifest, and each layer is one signature: the blob is the signed
//! payload, the layer annotations carry the base64 signature and the key id.
//! The manifest is written with sorted annotation maps and fixed field order,
//! so signing the same image with the same keys gives the same bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::oci::Digest;

pub const SIGNATURE_MEDIA_TYPE: &str = "application/vnd.dev.cairn.signature.v1+json";
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
pub const EMPTY_BLOB: &[u8] = b"{}";
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// Layer annotation: the base64 (standard alphabet, padded) ed25519 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cairn.signature";
/// Layer annotation: the key id (`sha256:` of the SPKI DER) that signed.
pub const KEY_ANNOTATION: &str = "dev.cairn.key";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureManifest {
    pub schema_version: u32,
    pub media_type: String,
    #[serde(default)]
    pub artifact_type: String,
    pub config: Desc,
    pub layers: Vec<Desc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Desc>,
}

/// An OCI descriptor with ordered annotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Desc {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Desc {
    pub fn new(media_type: &str, digest: Digest, size: u64) -> Desc {
        Desc {
            media_type: media_type.to_string(),
            digest,
            size,
            annotations: BTreeMap::new(),
        }
    }

    /// A signature layer: the payload blob plus who signed it.
    pub fn signature_layer(payload: &[u8], signature_b64: String, key: &str) -> Desc {
        let mut d = Desc::new(
            SIGNATURE_MEDIA_TYPE,
            Digest::of(payload),
            payload.len() as u64,
        );
        d.annotations
            .insert(SIGNATURE_ANNOTATION.to_string(), signature_b64);
        d.annotations
            .insert(KEY_ANNOTATION.to_string(), key.to_string());
        d
    }

    /// The key id a signature layer claims; unverified until its signature is checked.
    pub fn claimed_key(&self) -> Option<&str> {
        self.annotations.get(KEY_ANNOTATION).map(String::as_str)
    }

    pub fn signature(&self) -> Option<&str> {
        self.annotations
            .get(SIGNATURE_ANNOTATION)
            .map(String::as_str)
    }
}

impl SignatureManifest {
    /// An artifact with no signatures yet for `subject`.
    pub fn new(subject: Desc) -> SignatureManifest {
        SignatureManifest {
            schema_version: 2,
            media_type: MANIFEST_MEDIA_TYPE.to_string(),
            artifact_type: SIGNATURE_MEDIA_TYPE.to_string(),
            config: Desc::new(
                EMPTY_MEDIA_TYPE,
                Digest::of(EMPTY_BLOB),
                EMPTY_BLOB.len() as u64,
            ),
            layers: Vec::new(),
            subject: Some(subject),
        }
    }

    /// Adds a signature layer; a key that signed before has its old layer
    /// replaced in place, so re-signing does not grow the artifact.
    pub fn add(&mut self, layer: Desc) {
        let key = layer.claimed_key().map(str::to_string);
        match self
            .layers
            .iter_mut()
            .find(|l| l.claimed_key().is_some() && l.claimed_key().map(str::to_string) == key)
        {
            Some(existing) => *existing = layer,
            None => self.layers.push(layer),
        }
    }

    /// The signature layers (other layers are ignored, not trusted).
    pub fn signatures(&self) -> impl Iterator<Item = &Desc> {
        self.layers
            .iter()
            .filter(|l| l.media_type == SIGNATURE_MEDIA_TYPE)
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::manifest::Manifest;

    fn subject() -> Desc {
        Desc::new(MANIFEST_MEDIA_TYPE, Digest::of(b"image"), 5)
    }

    #[test]
    fn same_key_replaces_its_layer_and_another_key_adds_one() {
        let mut m = SignatureManifest::new(subject());
        m.add(Desc::signature_layer(b"p", "c2ln".into(), "sha256:a"));
        m.add(Desc::signature_layer(b"p", "c2lnMg==".into(), "sha256:b"));
        m.add(Desc::signature_layer(b"p", "bmV3".into(), "sha256:a"));
        let sigs: Vec<_> = m.signatures().map(|l| l.signature().unwrap()).collect();
        assert_eq!(sigs, ["bmV3", "c2lnMg=="]);
    }

    #[test]
    fn artifact_is_a_valid_oci_manifest_the_store_understands() {
        let mut m = SignatureManifest::new(subject());
        m.add(Desc::signature_layer(b"payload", "c2ln".into(), "sha256:a"));
        let bytes = m.to_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(r#""artifactType":"application/vnd.dev.cairn.signature.v1+json""#));
        assert!(text.contains(
            r#""annotations":{"dev.cairn.key":"sha256:a","dev.cairn.signature":"c2ln"}"#
        ));
        let parsed = Manifest::parse(&bytes).unwrap();
        assert_eq!(
            parsed.children(),
            vec![Digest::of(EMPTY_BLOB), Digest::of(b"payload")]
        );
        let back: SignatureManifest = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.to_bytes().unwrap(), bytes);
    }
}
