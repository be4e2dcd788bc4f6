//! Image references: `[registry/]repository[:tag][@sha256:digest]`, normalized
//! the way Docker does (`alpine` is `docker.io/library/alpine:latest`).

use std::fmt;
use std::str::FromStr;

use super::digest::Digest;

/// A parsed, normalized image reference.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    inner: oci_client::Reference,
}

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a valid image reference ({reason}); expected [registry/]name[:tag][@sha256:digest]"
)]
pub struct ReferenceError {
    pub input: String,
    pub reason: String,
}

impl FromStr for ImageRef {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<ImageRef, ReferenceError> {
        let err = |reason: String| ReferenceError {
            input: s.to_string(),
            reason,
        };
        if s.is_empty() {
            return Err(err("it is empty".into()));
        }
        if s.trim() != s || s.contains(char::is_whitespace) {
            return Err(err("it contains whitespace".into()));
        }
        let inner = oci_client::Reference::from_str(s).map_err(|e| err(e.to_string()))?;
        if let Some(bad) = inner
            .repository()
            .split('/')
            .find(|c| !valid_path_component(c))
        {
            return Err(err(format!(
                "repository part {bad:?} must be lowercase letters, digits and single separators . _ -"
            )));
        }
        if let Some(d) = inner.digest() {
            d.parse::<Digest>().map_err(|e| err(e.to_string()))?;
        }
        Ok(ImageRef { inner })
    }
}

impl ImageRef {
    /// The registry host (and port), e.g. `docker.io` or `127.0.0.1:5000`.
    pub fn registry(&self) -> &str {
        self.inner.resolve_registry()
    }

    /// The repository within the registry, e.g. `library/alpine`.
    pub fn repository(&self) -> &str {
        self.inner.repository()
    }

    pub fn tag(&self) -> Option<&str> {
        self.inner.tag()
    }

    pub fn digest(&self) -> Option<Digest> {
        self.inner.digest().and_then(|d| d.parse().ok())
    }

    /// `registry/repository`, the part shared by all tags of an image.
    pub fn repo_name(&self) -> String {
        format!("{}/{}", self.inner.registry(), self.inner.repository())
    }

    /// The name the local store files this reference under: the repository
    /// with the tag, or with the digest when there is no tag.
    pub fn store_name(&self) -> String {
        match (self.inner.tag(), self.inner.digest()) {
            (Some(tag), _) => format!("{}:{tag}", self.repo_name()),
            (None, Some(digest)) => format!("{}@{digest}", self.repo_name()),
            (None, None) => format!("{}:latest", self.repo_name()),
        }
    }

    /// The store and registry name of the signatures of `digest` in this
    /// repository: `registry/repository:sha256-<hex>.sig`.
    pub fn signature_name(&self, digest: &Digest) -> String {
        format!("{}:{}", self.repo_name(), digest.signature_tag())
    }

    /// The same repository with another tag and no digest.
    pub fn with_tag(&self, tag: &str) -> ImageRef {
        ImageRef {
            inner: oci_client::Reference::with_tag(
                self.inner.registry().to_string(),
                self.inner.repository().to_string(),
                tag.to_string(),
            ),
        }
    }

    /// The same repository pinned to a digest.
    pub fn with_digest(&self, digest: &Digest) -> ImageRef {
        ImageRef {
            inner: oci_client::Reference::with_digest(
                self.inner.registry().to_string(),
                self.inner.repository().to_string(),
                digest.to_string(),
            ),
        }
    }

    /// Registries on this machine are reached over plain HTTP, as Docker does.
    pub fn is_loopback_registry(&self) -> bool {
        let host = host_of(self.inner.registry());
        host == "localhost"
            || host == "::1"
            || host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The underlying `oci-client` reference.
    pub fn as_oci(&self) -> &oci_client::Reference {
        &self.inner
    }
}

/// A repository path component as the distribution spec defines it:
/// `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
fn valid_path_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if alnum(b) {
            i += 1;
            continue;
        }
        let sep_start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[sep_start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-')) {
            return false;
        }
    }
    true
}

/// The host part of `host[:port]`, without brackets for IPv6.
pub fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    registry.rsplit_once(':').map_or(registry, |(h, _)| h)
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner.whole())
    }
}

impl fmt::Debug for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImageRef({})", self.inner.whole())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_are_normalized_like_docker() {
        let r: ImageRef = "alpine".parse().unwrap();
        assert_eq!(r.store_name(), "docker.io/library/alpine:latest");
        let r: ImageRef = "linuxkit/init:8f1e9a0d".parse().unwrap();
        assert_eq!(r.store_name(), "docker.io/linuxkit/init:8f1e9a0d");
    }

    #[test]
    fn loopback_registries_are_recognized() {
        for s in ["127.0.0.1:5000/a/b:1", "localhost:5000/x", "127.3.4.5/x:y"] {
            assert!(s.parse::<ImageRef>().unwrap().is_loopback_registry(), "{s}");
        }
        assert!(
            !"ghcr.io/a/b:1"
                .parse::<ImageRef>()
                .unwrap()
                .is_loopback_registry()
        );
        assert!(
            !"10.0.0.1:5000/a"
                .parse::<ImageRef>()
                .unwrap()
                .is_loopback_registry()
        );
    }

    #[test]
    fn signature_name_uses_the_cosign_style_tag() {
        let r: ImageRef = "127.0.0.1:5000/cairn/init:latest".parse().unwrap();
        let d = Digest::of(b"x");
        assert_eq!(
            r.signature_name(&d),
            format!("127.0.0.1:5000/cairn/init:sha256-{}.sig", d.hex())
        );
    }

    #[test]
    fn bad_references_are_refused_with_the_input_named() {
        for bad in ["", "UPPER/case", "a b", "x@sha256:short", "x:"] {
            let e = bad.parse::<ImageRef>().unwrap_err();
            assert_eq!(e.input, bad);
        }
    }
}
