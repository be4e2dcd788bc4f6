//! Image reference -> digests for one platform. The local store is the
//! embedded default: an image found there (by digest when the reference pins
//! one, else by name) is used as is; only what is missing is pulled.

use super::digest::Digest;
use super::manifest::Manifest;
use super::platform;
use super::reference::ImageRef;
use super::registry::{Registry, RegistryError};
use super::store::{Store, descriptor_digest};

/// An image pinned for one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The digest of the top-level manifest or index: what a config pins and
    /// what signatures sign.
    pub digest: Digest,
    /// The image manifest for the platform; equal to `digest` for a
    /// single-platform image.
    pub platform_digest: Digest,
    /// Whether anything had to be pulled.
    pub pulled: bool,
}

/// Resolves `image` for `platform` (`linux/<arch>` or `<arch>`), pulling it
/// through `registry` when the store lacks it. With no registry, a missing
/// image is an error.
pub fn resolve(
    store: &Store,
    registry: Option<&Registry>,
    image: &ImageRef,
    platform: &str,
) -> Result<Resolved, RegistryError> {
    if let Some(found) = local(store, image, platform)? {
        tracing::info!(digest = %found.digest, "{image} found in the local store");
        return Ok(found);
    }
    tracing::info!("{image} ({platform}) is not in the local store");
    let Some(registry) = registry else {
        return Err(RegistryError::NotLocal {
            image: image.to_string(),
        });
    };
    registry.pull(store, image, &[platform])?;
    match local(store, image, platform)? {
        Some(found) => Ok(Resolved {
            pulled: true,
            ..found
        }),
        // The pull stored everything it needed, so this is a store failure.
        None => Err(RegistryError::NotLocal {
            image: image.to_string(),
        }),
    }
}

/// The top-level digest the store has for `image`.
fn local_top(store: &Store, image: &ImageRef) -> Result<Option<Digest>, RegistryError> {
    if let Some(d) = image.digest() {
        return Ok(store.contains(&d).then_some(d));
    }
    Ok(store
        .lookup(&image.store_name())?
        .map(|desc| descriptor_digest(&desc)))
}

/// Resolves from the store alone; None when something must be pulled.
fn local(
    store: &Store,
    image: &ImageRef,
    platform: &str,
) -> Result<Option<Resolved>, RegistryError> {
    let Some(top) = local_top(store, image)? else {
        return Ok(None);
    };
    let (platform_digest, manifest) = match store.read_manifest(&top)? {
        Manifest::Index(index) => {
            let Some(entry) = index
                .manifests()
                .iter()
                .find(|d| platform::matches(d, platform))
            else {
                return Err(RegistryError::PlatformMissing {
                    image: image.to_string(),
                    wanted: platform::arch_part(platform).to_string(),
                    available: platform::list(&index),
                });
            };
            let child = descriptor_digest(entry);
            if !store.contains(&child) {
                return Ok(None);
            }
            let manifest = store.read_manifest(&child)?;
            (child, manifest)
        }
        m => (top.clone(), m),
    };
    let Manifest::Image(m) = &manifest else {
        return Err(RegistryError::Unsupported {
            image: image.to_string(),
            reason: format!("the linux/{platform} entry is an index, not an image manifest"),
        });
    };
    if !manifest.children().iter().all(|d| store.contains(d)) {
        return Ok(None);
    }
    if let Some(arch) = config_arch(store, &descriptor_digest(m.config()))
        && arch
            != platform::arch_part(platform)
                .split('/')
                .next()
                .unwrap_or_default()
    {
        return Err(RegistryError::PlatformMissing {
            image: image.to_string(),
            wanted: platform::arch_part(platform).to_string(),
            available: format!("linux/{arch}"),
        });
    }
    Ok(Some(Resolved {
        digest: top,
        platform_digest,
        pulled: false,
    }))
}

/// The architecture an image config declares, if it is readable.
fn config_arch(store: &Store, config: &Digest) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Config {
        architecture: Option<String>,
    }
    let bytes = store.read_blob(config).ok()?;
    serde_json::from_slice::<Config>(&bytes).ok()?.architecture
}
