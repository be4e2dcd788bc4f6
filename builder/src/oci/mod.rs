//! Images: references, the local OCI image-layout store and the registry client.

pub mod digest;
pub mod manifest;
pub mod reference;
pub mod registry;
pub mod store;

pub use digest::Digest;
pub use reference::{ImageRef, ReferenceError};
pub use registry::RegistryError;
pub use store::{Store, StoreError};
