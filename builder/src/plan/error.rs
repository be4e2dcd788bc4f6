//! Why an image could not join the plan. Each variant names the config
//! section and the image as written, and keeps the cause as its source.

use crate::exit::{Classify, ErrorClass};
use crate::oci::{ReferenceError, RegistryError, StoreError};
use crate::trust::TrustError;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("the config's trust policy cannot be used")]
    Policy {
        #[source]
        source: Box<TrustError>,
    },
    #[error("{section} of the config: {image:?} is not an image reference")]
    Reference {
        section: String,
        image: String,
        #[source]
        source: ReferenceError,
    },
    #[error("cannot resolve {section} image {image}")]
    Resolve {
        section: String,
        image: String,
        #[source]
        source: Box<RegistryError>,
    },
    #[error("{section} ({image}) is damaged in the local store")]
    Damaged {
        section: String,
        image: String,
        #[source]
        source: Box<StoreError>,
    },
    #[error("{section} ({image}) is refused")]
    Refused {
        section: String,
        image: String,
        #[source]
        source: Box<TrustError>,
    },
    #[error("{section} ({image}) is not in the local store; build or pull it, or drop --offline")]
    Missing { section: String, image: String },
}

impl Classify for PlanError {
    fn class(&self) -> ErrorClass {
        match self {
            PlanError::Policy { source } | PlanError::Refused { source, .. } => source.class(),
            PlanError::Resolve { source, .. } => source.class(),
            PlanError::Damaged { source, .. } => source.class(),
            PlanError::Reference { .. } | PlanError::Missing { .. } => ErrorClass::User,
        }
    }
}
