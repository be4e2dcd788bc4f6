//! The signed payload: a small JSON document in the style of the "simple
//! signing" format, binding an image's repository name to its manifest
//! digest. The signature covers these exact bytes, so they must be the same
//! for the same image on every run: fields are written in a fixed (sorted)
//! order, compactly, with no trailing newline.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::oci::{Digest, ImageRef};

/// The `critical.type` of every cairn signature payload.
pub const SIGNATURE_TYPE: &str = "cairn container image signature";

/// What a signature vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The normalized repository name (`docker.io/library/alpine`).
    pub reference: String,
    /// The digest of the index or manifest the name points to, as written.
    pub digest: String,
}

// Field order is serialization order; keep it alphabetical so the bytes
// match what a canonical JSON writer would produce.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    critical: Critical,
    #[serde(default)]
    optional: BTreeMap<String, serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Critical {
    identity: Identity,
    image: Image,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Image {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

impl Payload {
    pub fn new(image: &ImageRef, digest: &Digest) -> Payload {
        Payload {
            reference: image.repo_name(),
            digest: digest.to_string(),
        }
    }

    /// The bytes that are signed.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut optional = BTreeMap::new();
        optional.insert("creator".to_string(), serde_json::Value::from("cairn"));
        serde_json::to_vec(&Envelope {
            critical: Critical {
                identity: Identity {
                    docker_reference: self.reference.clone(),
                },
                image: Image {
                    docker_manifest_digest: self.digest.clone(),
                },
                kind: SIGNATURE_TYPE.to_string(),
            },
            optional,
        })
    }

    /// Reads a payload; the error says what is wrong with it.
    pub fn parse(bytes: &[u8]) -> Result<Payload, String> {
        let envelope: Envelope =
            serde_json::from_slice(bytes).map_err(|e| format!("payload is not valid: {e}"))?;
        if envelope.critical.kind != SIGNATURE_TYPE {
            return Err(format!(
                "payload type is {:?}, not {SIGNATURE_TYPE:?}",
                envelope.critical.kind
            ));
        }
        Ok(Payload {
            reference: envelope.critical.identity.docker_reference,
            digest: envelope.critical.image.docker_manifest_digest,
        })
    }

    /// Whether the payload is about this repository and digest.
    pub fn is_for(&self, image: &ImageRef, digest: &Digest) -> bool {
        self.reference == image.repo_name() && self.digest == digest.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> ImageRef {
        "cairn/init:1.0".parse().unwrap()
    }

    #[test]
    fn payload_bytes_are_the_same_on_every_run_and_name_repository_and_digest() {
        let d = Digest::of(b"manifest");
        let a = Payload::new(&image(), &d).to_bytes().unwrap();
        let b = Payload::new(&image(), &d).to_bytes().unwrap();
        assert_eq!(a, b);
        let expected = format!(
            r#"{{"critical":{{"identity":{{"docker-reference":"docker.io/cairn/init"}},"image":{{"docker-manifest-digest":"{d}"}},"type":"cairn container image signature"}},"optional":{{"creator":"cairn"}}}}"#
        );
        assert_eq!(String::from_utf8(a).unwrap(), expected);
    }

    #[test]
    fn tag_does_not_change_the_payload() {
        let d = Digest::of(b"m");
        let other_tag: ImageRef = "docker.io/cairn/init:latest".parse().unwrap();
        assert_eq!(Payload::new(&image(), &d), Payload::new(&other_tag, &d));
    }

    #[test]
    fn payload_round_trips_and_matches_only_its_image_and_digest() {
        let d = Digest::of(b"m");
        let p = Payload::parse(&Payload::new(&image(), &d).to_bytes().unwrap()).unwrap();
        assert!(p.is_for(&image(), &d));
        assert!(!p.is_for(&image(), &Digest::of(b"other")));
        assert!(!p.is_for(&"cairn/getty:1.0".parse().unwrap(), &d));
    }

    #[test]
    fn payload_of_another_type_or_shape_is_refused() {
        let d = Digest::of(b"m");
        let bytes = String::from_utf8(Payload::new(&image(), &d).to_bytes().unwrap()).unwrap();
        let other = bytes.replace(SIGNATURE_TYPE, "atomic container signature");
        assert!(
            Payload::parse(other.as_bytes())
                .unwrap_err()
                .contains("type")
        );
        let extra = bytes.replace(r#""type""#, r#""extra":1,"type""#);
        assert!(Payload::parse(extra.as_bytes()).is_err());
        assert!(Payload::parse(b"not json").is_err());
    }
}
