//! Registry client: copies images between the local store and OCI registries.
//!
//! Built on `oci-client` (async); the public API is blocking and owns a small
//! tokio runtime, because the rest of cairn is synchronous. Every byte that
//! enters the store is checked against the digest that was asked for, and a
//! mismatch is never retried: it means the registry serves wrong content.

use std::path::PathBuf;
use std::time::Duration;

use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;

use super::auth;
use super::digest::Digest;
use super::reference::{ImageRef, host_of};
use super::store::{Store, StoreError};
use crate::exit::{Classify, ErrorClass};

/// The artifact type of cairn's signature manifests.
pub const SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.dev.cairn.signature.v1+json";

/// How often a request is tried before giving up, and the first pause.
pub(super) const TRIES: u32 = 4;
pub(super) const FIRST_BACKOFF: Duration = Duration::from_millis(200);

/// Errors talking to a registry. Each names the image or registry involved.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "could not reach registry {registry}: check that it is running and that the address is right{hint}"
    )]
    Unreachable {
        registry: String,
        hint: &'static str,
        #[source]
        source: Box<OciDistributionError>,
    },
    #[error("image {image} is not in registry {registry}; check the name and tag")]
    NotFound { image: String, registry: String },
    #[error(
        "registry {registry} refused access to {image}: add credentials to ~/.docker/config.json (or $DOCKER_CONFIG) and check the name"
    )]
    Unauthorized {
        image: String,
        registry: String,
        #[source]
        source: Box<OciDistributionError>,
    },
    #[error(
        "image {image}: blob {expected} from registry {registry} has the wrong content (it hashes to {actual}); it was not stored. The registry's copy is damaged or was tampered with"
    )]
    DigestMismatch {
        image: String,
        registry: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("image {image}: transferring {what} with registry {registry} failed; try again")]
    Transfer {
        image: String,
        registry: String,
        what: String,
        #[source]
        source: Box<OciDistributionError>,
    },
    #[error("image {image}: manifest {digest} from registry {registry} is not a valid manifest")]
    BadManifest {
        image: String,
        registry: String,
        digest: Digest,
        #[source]
        source: serde_json::Error,
    },
    #[error("image {image}: {reason}")]
    Unsupported { image: String, reason: String },
    #[error("image {image} has no linux/{wanted} variant; it has: {available}")]
    PlatformMissing {
        image: String,
        wanted: String,
        available: String,
    },
    #[error(
        "image {image} has only some of its platforms in the local store and {target} lacks the others ({missing}); pull them first: `cairn pull --arch amd64,arm64 {image}`"
    )]
    IncompleteIndex {
        image: String,
        target: String,
        missing: String,
    },
    #[error("image {image} is not in the local store and no registry may be used to fetch it")]
    NotLocal { image: String },
    #[error("cannot read registry credentials from {path}: fix or remove the file")]
    BadCredentials {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the network runtime")]
    Runtime(#[source] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Classify for RegistryError {
    fn class(&self) -> ErrorClass {
        match self {
            RegistryError::Unreachable { .. }
            | RegistryError::Transfer { .. }
            | RegistryError::Runtime(_) => ErrorClass::Environment,
            RegistryError::Store(e) => e.class(),
            _ => ErrorClass::User,
        }
    }
}

pub(super) type Result<T> = std::result::Result<T, RegistryError>;

/// Where and how to reach registries.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Registries (`host` or `host:port`) reached over plain HTTP.
    pub insecure: Vec<String>,
    /// The Docker `config.json` with credentials; default `$DOCKER_CONFIG/config.json`
    /// or `~/.docker/config.json`.
    pub docker_config: Option<PathBuf>,
}

/// What `pull` stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The store name (`image.store_name()`).
    pub name: String,
    /// The digest of the top-level manifest or index.
    pub digest: Digest,
    pub media_type: String,
}

/// A registry client. One instance serves any number of registries.
#[derive(Debug)]
pub struct Registry {
    pub(super) runtime: tokio::runtime::Runtime,
    pub(super) opts: RegistryOptions,
    pub(super) credentials: auth::Credentials,
    /// For the requests cairn makes itself (capped manifest bodies).
    pub(super) http: reqwest::Client,
}

impl Registry {
    pub fn new(opts: RegistryOptions) -> Result<Registry> {
        // reqwest is built without a default TLS provider; cairn picks ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(RegistryError::Runtime)?;
        let credentials = auth::Credentials::load(opts.docker_config.as_deref())?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistryError::Runtime(std::io::Error::other(e)))?;
        Ok(Registry {
            runtime,
            opts,
            credentials,
            http,
        })
    }

    /// Pulls `image` into the store: the top-level manifest or index, for an
    /// index the manifests of `platforms` (`linux/<arch>` or `<arch>`; all of
    /// them when empty) with their config and layers, and its signatures. The
    /// image is named `image.store_name()`.
    pub fn pull(&self, store: &Store, image: &ImageRef, platforms: &[&str]) -> Result<Pulled> {
        let session = self.session(image);
        self.runtime
            .block_on(super::pull::pull(&session, store, image, platforms))
    }

    /// Pushes an image from the store (by name, or by digest when `source` has
    /// one) to `target`, with its child manifests and blobs that the store has,
    /// and its signature artifact if the store has one. Returns the digest.
    pub fn push(&self, store: &Store, source: &ImageRef, target: &ImageRef) -> Result<Digest> {
        let session = self.session(target);
        self.runtime
            .block_on(super::push::push(&session, store, source, target))
    }

    fn session(&self, image: &ImageRef) -> Session {
        let config = ClientConfig {
            protocol: protocol_for(&self.opts, image),
            use_monolithic_push: true,
            platform_resolver: None,
            connect_timeout: Some(Duration::from_secs(10)),
            read_timeout: Some(Duration::from_secs(60)),
            user_agent: concat!("cairn/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        };
        Session {
            client: oci_client::Client::new(config),
            auth: self.credentials.for_registry(image.registry()),
            registry: image.registry().to_string(),
            plain_http: allows_plain_http(&self.opts, image),
            http: self.http.clone(),
        }
    }
}

/// One client bound to one registry, with its credentials.
pub(super) struct Session {
    pub client: oci_client::Client,
    pub auth: RegistryAuth,
    pub registry: String,
    pub plain_http: bool,
    pub http: reqwest::Client,
}

/// Plain HTTP for registries on this machine and those the user named;
/// HTTPS for everything else.
pub fn allows_plain_http(opts: &RegistryOptions, image: &ImageRef) -> bool {
    let registry = image.registry();
    image.is_loopback_registry()
        || opts
            .insecure
            .iter()
            .any(|h| h == registry || h == host_of(registry))
}

/// The `oci-client` protocol setting for `image`'s registry.
pub fn protocol_for(opts: &RegistryOptions, image: &ImageRef) -> ClientProtocol {
    if allows_plain_http(opts, image) {
        ClientProtocol::HttpsExcept(vec![image.registry().to_string()])
    } else {
        ClientProtocol::Https
    }
}

/// Whether trying again may help: the connection failed or the server did.
pub(super) fn is_transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RequestError(r) => !r.is_builder() && !r.is_redirect(),
        OciDistributionError::ServerError { code, .. } => *code >= 500,
        OciDistributionError::IoError(_) => true,
        _ => false,
    }
}

fn is_connect_failure(e: &OciDistributionError) -> bool {
    matches!(e, OciDistributionError::RequestError(r) if r.is_connect())
}

fn is_not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|x| {
            use oci_client::errors::OciErrorCode::*;
            matches!(x.code, ManifestUnknown | NameUnknown | BlobUnknown)
        }),
        OciDistributionError::ServerError { code, .. } => *code == 404,
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        _ => false,
    }
}

impl Session {
    /// Runs `op` up to [`TRIES`] times while it fails transiently, doubling
    /// the pause between tries.
    pub async fn retry<T, F, Fut>(&self, mut op: F) -> std::result::Result<T, OciDistributionError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, OciDistributionError>>,
    {
        let mut pause = FIRST_BACKOFF;
        let mut tries = 1;
        loop {
            match op().await {
                Err(e) if tries < TRIES && is_transient(&e) => {
                    tracing::info!(registry = %self.registry, error = %e, "retrying in {pause:?}");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    /// Turns a client error into the error the user sees.
    pub fn error(&self, image: &ImageRef, what: &str, e: OciDistributionError) -> RegistryError {
        let image_name = image.to_string();
        if is_connect_failure(&e) {
            let hint = if self.plain_http {
                ""
            } else {
                " (if it serves plain HTTP, pass --insecure-registry HOST)"
            };
            return RegistryError::Unreachable {
                registry: self.registry.clone(),
                hint,
                source: Box::new(e),
            };
        }
        if is_not_found(&e) {
            return RegistryError::NotFound {
                image: image_name,
                registry: self.registry.clone(),
            };
        }
        match e {
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => RegistryError::Unauthorized {
                image: image_name,
                registry: self.registry.clone(),
                source: Box::new(e),
            },
            OciDistributionError::RegistryError { ref envelope, .. }
                if envelope.errors.iter().any(|x| {
                    use oci_client::errors::OciErrorCode::*;
                    matches!(x.code, Unauthorized | Denied)
                }) =>
            {
                RegistryError::Unauthorized {
                    image: image_name,
                    registry: self.registry.clone(),
                    source: Box::new(e),
                }
            }
            e => RegistryError::Transfer {
                image: image_name,
                registry: self.registry.clone(),
                what: what.to_string(),
                source: Box::new(e),
            },
        }
    }

    pub fn mismatch(&self, image: &ImageRef, expected: Digest, actual: Digest) -> RegistryError {
        RegistryError::DigestMismatch {
            image: image.to_string(),
            registry: self.registry.clone(),
            expected,
            actual,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(insecure: &[&str]) -> RegistryOptions {
        RegistryOptions {
            insecure: insecure.iter().map(|s| s.to_string()).collect(),
            docker_config: None,
        }
    }

    fn image(s: &str) -> ImageRef {
        s.parse().unwrap()
    }

    #[test]
    fn plain_http_is_refused_for_a_remote_host_that_was_not_named_insecure() {
        let img = image("10.0.0.7:5000/team/app:1");
        assert_eq!(protocol_for(&opts(&[]), &img), ClientProtocol::Https);
        assert_eq!(
            protocol_for(&opts(&["other:5000"]), &img),
            ClientProtocol::Https
        );
        assert_eq!(
            protocol_for(&opts(&[]), &image("ghcr.io/a/b:1")),
            ClientProtocol::Https
        );
    }

    #[test]
    fn plain_http_is_used_for_loopback_and_named_insecure_registries() {
        let local = image("127.0.0.1:5000/a:1");
        assert_eq!(
            protocol_for(&opts(&[]), &local),
            ClientProtocol::HttpsExcept(vec!["127.0.0.1:5000".into()])
        );
        let remote = image("10.0.0.7:5000/team/app:1");
        for listed in ["10.0.0.7:5000", "10.0.0.7"] {
            assert_eq!(
                protocol_for(&opts(&[listed]), &remote),
                ClientProtocol::HttpsExcept(vec!["10.0.0.7:5000".into()]),
                "{listed}"
            );
        }
    }

    #[test]
    fn server_errors_are_retried_and_client_errors_are_not() {
        let server = OciDistributionError::ServerError {
            code: 503,
            url: "u".into(),
            message: String::new(),
        };
        let client = OciDistributionError::ServerError {
            code: 400,
            url: "u".into(),
            message: String::new(),
        };
        assert!(is_transient(&server));
        assert!(!is_transient(&client));
        assert!(!is_transient(&OciDistributionError::UnauthorizedError {
            url: "u".into()
        }));
    }
}
