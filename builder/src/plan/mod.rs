//! The verified plan: the stage between trust and assembly. Every image a
//! build uses is resolved to a digest in the local store (pulled when
//! missing), re-hashed against its digests, and checked against the trust
//! policy. Assembly takes only a [`Plan`], and a `Plan` can only be made
//! here from a [`Survey`] in which every image passed all three, so an
//! image that was not pinned, checked and trusted cannot reach the output.

mod error;
mod policy;

pub use error::PlanError;
pub use policy::policy_from_config;

use crate::arch::{Arch, Board};
use crate::config::{Config, ImageUse};
use crate::oci::integrity::check_image;
use crate::oci::resolve::resolve;
use crate::oci::{Digest, ImageRef, Registry, RegistryError, Store};
use crate::trust::Verdict;

/// What to plan: a config for one architecture, the boot loader images its
/// output format needs, and images the command line allows unsigned.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub config: &'a Config,
    pub arch: Arch,
    /// The image holding the UEFI stub, when the output format needs one.
    pub stub: Option<String>,
    /// The image holding the BIOS loader, when the output format needs one.
    pub syslinux: Option<String>,
    /// The Raspberry Pi board and firmware image of an `-f rpi` card.
    pub rpi: Option<RpiTarget>,
    /// `--allow-unsigned` patterns, added to the config's `trust.allow_unsigned`.
    pub allow_unsigned: &'a [String],
    /// Report images missing from the store instead of failing on the first
    /// (for `--dry-run --offline`); such a survey never becomes a plan.
    pub tolerate_missing: bool,
}

/// The board a Raspberry Pi card is for and the image with its firmware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpiTarget {
    pub board: Board,
    pub firmware: String,
}

/// An image pinned, checked and trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pinned {
    /// The top-level manifest or index digest: what signatures sign.
    pub digest: Digest,
    /// The image manifest for the target platform.
    pub platform_digest: Digest,
    /// Whether it had to be pulled.
    pub pulled: bool,
    pub trust: Verdict,
}

/// Where one image of the config stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pinned(Pinned),
    /// Not in the store, and no registry was given to fetch it from.
    Missing,
}

/// One image the build needs, as the config names it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub use_: ImageUse,
    pub image: ImageRef,
    pub outcome: Outcome,
}

/// Every image of a request and where it stands; a dry run prints this.
#[derive(Debug)]
pub struct Survey {
    entries: Vec<Entry>,
    config: Config,
    store: Store,
    arch: Arch,
    stub: Option<String>,
    syslinux: Option<String>,
    rpi: Option<RpiTarget>,
}

/// A survey in which every image is pinned, checked and trusted: the only
/// input assembly accepts.
#[derive(Debug)]
pub struct Plan {
    survey: Survey,
}

/// Resolves, checks and verifies every image `request` needs, in config
/// order, stopping at the first that fails.
pub fn survey(
    store: &Store,
    registry: Option<&Registry>,
    request: &Request,
) -> Result<Survey, PlanError> {
    let policy = policy_from_config(&request.config.trust, request.allow_unsigned)?;
    let platform = format!("linux/{}", request.arch.oci_name());
    let mut entries = Vec::new();
    for use_ in uses(request) {
        let image: ImageRef = use_.image.parse().map_err(|source| PlanError::Reference {
            section: use_.section.clone(),
            image: use_.image.clone(),
            source,
        })?;
        let resolved = match resolve(store, registry, &image, &platform) {
            Ok(resolved) => resolved,
            Err(RegistryError::NotLocal { .. })
                if request.tolerate_missing && registry.is_none() =>
            {
                entries.push(Entry {
                    use_,
                    image,
                    outcome: Outcome::Missing,
                });
                continue;
            }
            Err(source) => {
                return Err(PlanError::Resolve {
                    section: use_.section,
                    image: use_.image,
                    source: Box::new(source),
                });
            }
        };
        if let Err(source) = check_image(store, &resolved.digest, Some(&platform)) {
            return Err(PlanError::Damaged {
                section: use_.section,
                image: use_.image,
                source: Box::new(source),
            });
        }
        let trust = match policy.check(store, &image, &resolved.digest) {
            Ok(trust) => trust,
            Err(source) => {
                return Err(PlanError::Refused {
                    section: use_.section,
                    image: use_.image,
                    source: Box::new(source),
                });
            }
        };
        entries.push(Entry {
            use_,
            image,
            outcome: Outcome::Pinned(Pinned {
                digest: resolved.digest,
                platform_digest: resolved.platform_digest,
                pulled: resolved.pulled,
                trust,
            }),
        });
    }
    Ok(Survey {
        entries,
        config: request.config.clone(),
        store: store.clone(),
        arch: request.arch,
        stub: request.stub.clone(),
        syslinux: request.syslinux.clone(),
        rpi: request.rpi.clone(),
    })
}

/// The config's images, then the boot loaders the format needs (unless the
/// config's `kernel` section already names them).
fn uses(request: &Request) -> Vec<ImageUse> {
    let mut uses = request.config.images();
    let firmware = request.rpi.as_ref().map(|r| r.firmware.clone());
    for (section, name, image) in [
        ("kernel.stub", "stub", &request.stub),
        ("kernel.syslinux", "syslinux", &request.syslinux),
        ("rpi.firmware", "firmware", &firmware),
    ] {
        if let Some(image) = image
            && !uses.iter().any(|u| u.section == section)
        {
            uses.push(ImageUse {
                section: section.into(),
                name: name.into(),
                image: image.clone(),
            });
        }
    }
    uses
}

impl Survey {
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// How many images are missing from the store.
    pub fn missing(&self) -> usize {
        (self.entries.iter())
            .filter(|e| e.outcome == Outcome::Missing)
            .count()
    }

    /// The plan, when every image is pinned.
    pub fn into_plan(self) -> Result<Plan, PlanError> {
        if let Some(missing) = (self.entries.iter()).find(|e| e.outcome == Outcome::Missing) {
            return Err(PlanError::Missing {
                section: missing.use_.section.clone(),
                image: missing.use_.image.clone(),
            });
        }
        Ok(Plan { survey: self })
    }
}

impl Plan {
    pub fn config(&self) -> &Config {
        &self.survey.config
    }

    pub fn store(&self) -> &Store {
        &self.survey.store
    }

    pub fn arch(&self) -> Arch {
        self.survey.arch
    }

    pub fn entries(&self) -> &[Entry] {
        &self.survey.entries
    }

    /// The platform manifest digest of an image, as the config writes it.
    pub fn platform_digest(&self, image: &str) -> Option<&Digest> {
        self.entries()
            .iter()
            .filter(|e| e.use_.image == image)
            .find_map(|e| match &e.outcome {
                Outcome::Pinned(p) => Some(&p.platform_digest),
                Outcome::Missing => None,
            })
    }

    /// The image holding the UEFI stub, when the output format needs one.
    pub fn stub(&self) -> Option<&str> {
        self.survey.stub.as_deref()
    }

    /// The image holding the BIOS loader, when the output format needs one.
    pub fn syslinux(&self) -> Option<&str> {
        self.survey.syslinux.as_deref()
    }

    /// The Raspberry Pi board and firmware image, for an `-f rpi` card.
    pub fn rpi(&self) -> Option<&RpiTarget> {
        self.survey.rpi.as_ref()
    }
}
