//! The Debian side of `cairn pkg`: where the archive is ([`Sources`]), its
//! verified indexes ([`release`], [`index`]), the dependency closure written
//! to `lock.yml` ([`lock()`], [`Lock`]) and the download cache of pinned
//! .debs ([`DebCache`], [`fetch()`]).
//!
//! Trust flows one way: the archive keyring verifies InRelease (gpgv), the
//! verified InRelease pins each Packages index by sha256, the index pins each
//! .deb by sha256 in the lock, and from then on only the lock counts.

mod date;
mod deb822;
mod error;
mod fetch;
mod http;
pub mod index;
mod lock;
pub mod names;
pub mod packages;
mod parallel;
pub mod release;
mod resolve;
mod sources;
pub mod version;

use std::path::PathBuf;

pub use error::{DebianError, Mismatch};
pub use fetch::{DebCache, fetch, fetch_for};
pub use http::Http;
pub use lock::{Lock, LockRequest, LockedDeb, lock};
pub use resolve::resolve;
pub use sources::{Archive, RELEASE, Sources};

/// `$XDG_CACHE_HOME/cairn`, else `~/.cache/cairn`, else a directory in the
/// system's temporary directory when there is no home.
pub fn cache_home() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .unwrap_or_else(std::env::temp_dir);
    base.join("cairn")
}
