//! Manifests and indexes as they come from registries and the store, in both
//! OCI and Docker media types (the JSON shapes are the same).

use oci_spec::image::{Descriptor, ImageIndex, ImageManifest, MediaType};

use super::digest::Digest;
use super::store::descriptor_digest;

pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// A parsed manifest blob.
#[derive(Debug, Clone)]
pub enum Manifest {
    /// A multi-platform index (OCI image index or Docker manifest list).
    Index(Box<ImageIndex>),
    /// A single-platform image manifest (or an artifact such as a signature).
    Image(Box<ImageManifest>),
}

#[derive(serde::Deserialize)]
struct Shape {
    manifests: Option<serde::de::IgnoredAny>,
}

impl Manifest {
    /// Parses an index or an image manifest, deciding by its shape: indexes
    /// have `manifests`, image manifests have `config` and `layers`.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, serde_json::Error> {
        let shape: Shape = serde_json::from_slice(bytes)?;
        if shape.manifests.is_some() {
            serde_json::from_slice(bytes).map(|i| Manifest::Index(Box::new(i)))
        } else {
            serde_json::from_slice(bytes).map(|m| Manifest::Image(Box::new(m)))
        }
    }

    /// The media type to announce for this manifest when none is recorded.
    pub fn media_type(&self) -> MediaType {
        match self {
            Manifest::Index(i) => i.media_type().clone().unwrap_or(MediaType::ImageIndex),
            Manifest::Image(m) => m.media_type().clone().unwrap_or(MediaType::ImageManifest),
        }
    }

    /// Digests of the blobs this manifest refers to (not its subject: a
    /// signature keeps itself alive only through its own name).
    pub fn children(&self) -> Vec<Digest> {
        match self {
            Manifest::Index(i) => i.manifests().iter().map(descriptor_digest).collect(),
            Manifest::Image(m) => std::iter::once(m.config())
                .chain(m.layers().iter())
                .map(descriptor_digest)
                .collect(),
        }
    }

    /// The descriptors this manifest refers to, with their media types.
    pub fn child_descriptors(&self) -> Vec<Descriptor> {
        match self {
            Manifest::Index(i) => i.manifests().clone(),
            Manifest::Image(m) => std::iter::once(m.config().clone())
                .chain(m.layers().iter().cloned())
                .collect(),
        }
    }
}

/// Whether a media type names an index rather than an image manifest.
pub fn is_index_media_type(media_type: &MediaType) -> bool {
    match media_type {
        MediaType::ImageIndex => true,
        MediaType::Other(s) => s == DOCKER_MANIFEST_LIST,
        _ => false,
    }
}

/// A descriptor for a blob of the given type.
pub fn descriptor(media_type: MediaType, digest: &Digest, size: u64) -> Descriptor {
    Descriptor::new(media_type, size, digest.to_oci())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_manifest_list_parses_as_an_index() {
        let list = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST_LIST}","manifests":[{{"mediaType":"{DOCKER_MANIFEST}","digest":"{}","size":7,"platform":{{"architecture":"arm64","os":"linux"}}}}]}}"#,
            Digest::of(b"x")
        );
        let m = Manifest::parse(list.as_bytes()).unwrap();
        assert!(matches!(m, Manifest::Index(_)));
        assert_eq!(m.children(), vec![Digest::of(b"x")]);
        assert!(is_index_media_type(&m.media_type()));
    }

    #[test]
    fn descriptor_round_trips_the_digest() {
        let d = Digest::of(b"abc");
        let desc = descriptor(MediaType::ImageManifest, &d, 3);
        assert_eq!(descriptor_digest(&desc), d);
    }
}
