//! Images: references, the local OCI image-layout store and the registry client.

pub mod auth;
pub mod digest;
pub mod integrity;
pub mod layer;
pub mod manifest;
mod manifest_get;
pub mod platform;
mod pull;
mod push;
pub mod reference;
pub mod registry;
pub mod resolve;
mod signature_pull;
pub mod store;
pub mod tar_guard;

pub use digest::Digest;
pub use reference::{ImageRef, ReferenceError};
pub use registry::{Pulled, Registry, RegistryError, RegistryOptions};
pub use store::{Store, StoreError};

/// A byte count for people: `512 B`, `1.5 MB`.
pub fn human_bytes(n: u64) -> String {
    // Binary units, the same the progress bars use.
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
