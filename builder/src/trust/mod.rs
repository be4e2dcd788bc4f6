//! Signing keys, image signatures and the trust policy.
//!
//! Keys are ed25519 (`key`); a signature binds a repository name to a
//! manifest digest (`payload`) and lives in the store as an OCI artifact next
//! to the image (`artifact`, `signature`); the policy from a config's `trust:`
//! section says which images must be signed by which keys (`policy`).

mod artifact;
pub mod development;
mod error;
mod key;
mod pattern;
mod payload;
mod pem;
mod policy;
mod signature;

pub use artifact::{KEY_ANNOTATION, SIGNATURE_ANNOTATION, SIGNATURE_MEDIA_TYPE};
pub use error::TrustError;
pub use key::{KeyFiles, PublicKey, SigningKey};
pub use pattern::normalize as normalize_pattern;
pub use payload::{Payload, SIGNATURE_TYPE};
pub use policy::{AllowUnsigned, Coverage, Policy, Rule, Verdict};
pub use signature::{Signed, Verified, resolve, sign, verify};
